"""Strict PTP strings: what a device uses for names it will act on."""

from __future__ import annotations

import pytest

from openwpd.protocol._buffer import Reader
from openwpd.protocol.datasets import ObjectInfo
from openwpd.protocol.datatypes import read_string
from openwpd.protocol.errors import RemoteProtocolError


def wire(units: bytes) -> bytes:
    return bytes([len(units) // 2]) + units


@pytest.mark.parametrize(
    ("units", "text"),
    [
        ("ab\x00".encode("utf-16-le"), "ab"),
        (b"\x00\x00", ""),  # gphoto's empty string
        ("ab".encode("utf-16-le"), "ab"),  # no terminator: accepted
        ("ab\x00\x00".encode("utf-16-le"), "ab"),  # trailing padding NULs
        ("\U0001f600\x00".encode("utf-16-le"), "\U0001f600"),
    ],
)
def test_clean_strings_pass(units: bytes, text: str) -> None:
    assert read_string(Reader(wire(units), strict_strings=True)) == text


@pytest.mark.parametrize(
    "units",
    [
        "a\x00b\x00".encode("utf-16-le"),
        "bad".encode("utf-16-le") + b"\x00\xd8" + b"\x00\x00",  # lone high surrogate
        b"\x00\xdc\x00\x00",  # lone low surrogate
    ],
)
def test_dirty_strings_are_refused_strictly_and_rewritten_leniently(units: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        read_string(Reader(wire(units), strict_strings=True))
    assert isinstance(read_string(Reader(wire(units))), str)


def test_strict_object_info() -> None:
    good = ObjectInfo(filename="ok.txt").to_bytes()
    assert ObjectInfo.from_bytes(good, strict_strings=True).filename == "ok.txt"
    bad = bytearray(good)
    bad[53:55] = b"\x00\x00"  # first filename unit becomes NUL: "\x00k.txt"
    with pytest.raises(RemoteProtocolError):
        ObjectInfo.from_bytes(bytes(bad), strict_strings=True)
    assert ObjectInfo.from_bytes(bytes(bad)).filename == ""
