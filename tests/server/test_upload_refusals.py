"""Uploads the device must refuse or answer at once rather than after the data (or never): a
name the served file system cannot hold is refused at SendObjectInfo; a SendObject whose
initiator goes on to its next request, or sends End Data alone, is answered and the session
goes on. The device over loopback; raw packets where the framing is the point."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol import ptpip
from openwpd.protocol.codes import ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo
from openwpd.server.device import VirtualDevice
from ptpip_raw import RawInitiator

PHONE = 0x00010001
ROOT = 0xFFFFFFFF
OP, RC = OperationCode, ResponseCode


def info(name: str, size: int, fmt: int = ObjectFormatCode.TEXT) -> bytes:
    return ObjectInfo(object_format=fmt, compressed_size=size, filename=name).to_bytes()


@pytest.mark.parametrize("folder", [False, True], ids=["file", "folder"])
async def test_a_name_too_long_for_the_file_system_is_refused_at_send_object_info(
    runner: TransactionRunner, served: Path, folder: bool
) -> None:
    limit = os.pathconf(served, "PC_NAME_MAX")
    # 2 bytes per character on disk, 1 UTF-16 unit on the wire: fits MTP's 254 units, not
    # the file system
    name = "é" * (limit // 2 + 1)
    assert len(name) <= 254 < len(name.encode())
    fmt = ObjectFormatCode.ASSOCIATION if folder else ObjectFormatCode.TEXT
    res = await runner.transact(OP.SEND_OBJECT_INFO, (PHONE, ROOT), data=info(name, 5, fmt))
    assert res.code == RC.INVALID_DATASET
    # nothing is pending: the data is not taken only to be thrown away
    res = await runner.transact(OP.SEND_OBJECT, data=b"hello")
    assert res.code == RC.NO_VALID_OBJECT_INFO
    assert os.listdir(served) == []
    # the longest name that fits is fine
    fits = "é" * (limit // 2 - 2) + ".txt"
    res = await runner.transact(OP.SEND_OBJECT_INFO, (PHONE, ROOT), data=info(fits, 5))
    assert res.code == RC.OK
    assert (await runner.transact(OP.SEND_OBJECT, data=b"hello")).code == RC.OK
    assert (served / fits).read_bytes() == b"hello"


@pytest.fixture
async def raw(device: tuple[VirtualDevice, int]) -> AsyncIterator[RawInitiator]:
    r = await RawInitiator.connect(device[1])
    try:
        assert (await r.transact(OP.OPEN_SESSION, 0, (1,))).code == RC.OK
        yield r
    finally:
        await r.close()


async def announce(raw: RawInitiator, tid: int, size: int = 5) -> None:
    res = await raw.transact(OP.SEND_OBJECT_INFO, tid, (PHONE, ROOT), data=info("up.txt", size))
    assert res.code == RC.OK


async def test_send_object_followed_by_the_next_request_is_answered(
    raw: RawInitiator, served: Path
) -> None:
    await announce(raw, 1)
    await raw.cmd.send(
        raw.request(OP.SEND_OBJECT, 2, data_out=True) + raw.request(OP.GET_STORAGE_IDS, 3)
    )
    assert (await raw.read_reply(2)).code == RC.INCOMPLETE_TRANSFER
    reply = await raw.read_reply(3)  # the next request is served as usual
    assert reply.code == RC.OK and reply.data[4:8] == PHONE.to_bytes(4, "little")
    assert os.listdir(served) == []
    # the session goes on: an upload now works
    await announce(raw, 4)
    assert (await raw.transact(OP.SEND_OBJECT, 5, data=b"hello")).code == RC.OK
    assert (served / "up.txt").read_bytes() == b"hello"


async def test_send_object_with_end_data_alone_is_answered(
    raw: RawInitiator, served: Path
) -> None:
    await announce(raw, 1)
    await raw.cmd.send(raw.request(OP.SEND_OBJECT, 2, data_out=True) + ptpip.EndData(2).build())
    assert (await raw.read_reply(2)).code == RC.INCOMPLETE_TRANSFER  # 0 of 5 bytes
    assert os.listdir(served) == []
    assert (await raw.transact(OP.GET_STORAGE_IDS, 3)).code == RC.OK


async def test_an_empty_file_then_send_object_without_data_is_fine(
    raw: RawInitiator, served: Path
) -> None:
    # SendObjectInfo of an empty file creates it; a SendObject with no data phase after it
    # has nothing to add
    await announce(raw, 1, size=0)
    await raw.cmd.send(
        raw.request(OP.SEND_OBJECT, 2, data_out=True) + raw.request(OP.GET_STORAGE_IDS, 3)
    )
    assert (await raw.read_reply(2)).code == RC.OK
    assert (await raw.read_reply(3)).code == RC.OK
    assert (served / "up.txt").read_bytes() == b""
