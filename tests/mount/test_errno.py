"""The errno each failure of the client becomes (what a program using the mount sees)."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from openwpd.mount.tree import FsError, errno_of
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import Cancelled, DeviceGone, ResponseError


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (ResponseCode.INVALID_OBJECT_HANDLE, errno.ENOENT),
        (ResponseCode.INVALID_PARENT_OBJECT, errno.ENOENT),
        (ResponseCode.INVALID_STORAGE_ID, errno.ENOENT),
        (ResponseCode.STORE_READ_ONLY, errno.EROFS),
        (ResponseCode.STORE_FULL, errno.ENOSPC),
        (ResponseCode.ACCESS_DENIED, errno.EACCES),
        (ResponseCode.OBJECT_WRITE_PROTECTED, errno.EACCES),
        (ResponseCode.OBJECT_TOO_LARGE, errno.EFBIG),
    ],
)
def test_device_responses_map_to_errno(code: ResponseCode, expected: int) -> None:
    assert errno_of(ResponseError(code), "/Phone/x") == expected


def test_other_responses_are_eio_with_a_log_line_naming_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="openwpd.mount"):
        assert errno_of(ResponseError(ResponseCode.GENERAL_ERROR), "/Phone/x") == errno.EIO
    assert "/Phone/x" in caplog.text and "GENERAL_ERROR (0x2002)" in caplog.text


def test_cancels_local_errors_and_a_lost_device() -> None:
    assert errno_of(Cancelled(), "x") == errno.EINTR
    assert errno_of(asyncio.CancelledError(), "x") == errno.EINTR
    assert errno_of(FsError(errno.ENOTEMPTY), "x") == errno.ENOTEMPTY
    assert errno_of(DeviceGone("unplugged"), "x") == errno.EIO
