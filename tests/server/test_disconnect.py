"""Initiators that vanish mid-transfer: the sockets are reset after N bytes of an upload (request,
Start Data, data, anywhere) or of a download. The device must leave no partial or temporary
file, release the upload's name, end that session, and keep serving new connections."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

import pytest

from openwpd.protocol.codes import ALL, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo, parse_uint32_array
from openwpd.server.device import VirtualDevice
from ptpip_raw import RawInitiator
from support import connect

PHONE = 0x00010001
MIB = 1 << 20
UPLOAD = 4 * MIB + 123
DOWNLOAD = 16 * MIB

_rng = random.Random(20261126)


def tree(root: Path) -> set[str]:
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


async def sessions_gone(dev: VirtualDevice, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while dev.sessions:
            await asyncio.sleep(0.01)


async def opened(port: int) -> RawInitiator:
    raw = await RawInitiator.connect(port)
    assert (await raw.transact(OperationCode.OPEN_SESSION, 0, (1,))).code == ResponseCode.OK
    return raw


def upload_info(size: int) -> bytes:
    return ObjectInfo(
        object_format=ObjectFormatCode.UNDEFINED, compressed_size=size, filename="cut.bin"
    ).to_bytes()


# SendObject as bytes on the command connection: the request (22 bytes for no parameters:
# 18 + 4 * 0, PTP/IP, CIPA DC-005), Start Data (20 bytes), then Data packets of 64 KiB and End Data.
_REQ = 18
_START = 20
UPLOAD_CUTS = sorted(
    {
        0,  # nothing of SendObject at all
        7,  # inside the request's header
        _REQ,  # the whole request, no data
        _REQ + 9,  # inside Start Data
        _REQ + _START,  # Start Data, no payload
        _REQ + _START + 12,  # inside the first Data packet's header
        *(_rng.randrange(_REQ + _START, UPLOAD) for _ in range(6)),
        UPLOAD + 100,  # all but the last bytes (of the End Data packet)
    }
)


@pytest.mark.parametrize("cut", UPLOAD_CUTS)
async def test_upload_cut_at_byte_offset_leaves_nothing(
    device: tuple[VirtualDevice, int], served: Path, cut: int
) -> None:
    dev, port = device
    data = os.urandom(UPLOAD)
    raw = await opened(port)
    reply = await raw.transact(OperationCode.SEND_OBJECT_INFO, 1, (PHONE, ALL), upload_info(UPLOAD))
    assert reply.code == ResponseCode.OK
    wire = raw.request(OperationCode.SEND_OBJECT, 2, data_out=True) + raw.data_phase(2, data)
    assert len(wire[:_REQ]) == _REQ and cut < len(wire)
    await raw.cmd.send(wire[:cut])
    await asyncio.sleep(0.02)  # let the device take in what was sent
    raw.abort()
    await sessions_gone(dev)
    assert tree(served) == set()
    # a new initiator can upload under the same name: nothing of the dead upload is reserved
    runner = await connect(port)
    try:
        res = await runner.transact(
            OperationCode.SEND_OBJECT_INFO, (PHONE, ALL), data=upload_info(UPLOAD)
        )
        assert res.code == ResponseCode.OK
        res = await runner.transact(OperationCode.SEND_OBJECT, data=data)
        assert res.code == ResponseCode.OK
    finally:
        await runner.aclose()
    assert tree(served) == {"cut.bin"}
    assert (served / "cut.bin").read_bytes() == data


DOWNLOAD_CUTS = sorted(
    {
        0,
        5,  # inside Start Data
        20,  # Start Data only
        *(_rng.randrange(20, DOWNLOAD) for _ in range(5)),
        DOWNLOAD,  # nearly everything
    }
)


@pytest.mark.parametrize("cut", DOWNLOAD_CUTS)
async def test_download_cut_at_byte_offset(
    device: tuple[VirtualDevice, int], served: Path, cut: int
) -> None:
    dev, port = device
    payload = os.urandom(DOWNLOAD)
    (served / "source.bin").write_bytes(payload)
    raw = await opened(port)
    reply = await raw.transact(OperationCode.GET_OBJECT_HANDLES, 1, (PHONE, 0, ALL))
    (handle,) = parse_uint32_array(reply.data)
    await raw.cmd.send(raw.request(OperationCode.GET_OBJECT, 2, (handle,)))
    if cut:
        await raw.cmd.reader.readexactly(cut)
    raw.abort()
    await sessions_gone(dev)
    assert tree(served) == {"source.bin"}
    runner = await connect(port)
    try:
        res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (PHONE, 0, ALL))
        (handle,) = parse_uint32_array(res.data)
        res = await runner.transact(OperationCode.GET_OBJECT, (handle,))
        assert res.code == ResponseCode.OK
        assert hashlib.sha256(res.data).digest() == hashlib.sha256(payload).digest()
    finally:
        await runner.aclose()


async def test_initiator_that_stops_reading_then_vanishes(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    """The device is blocked writing into a full TCP window when the initiator resets."""
    dev, port = device
    (served / "source.bin").write_bytes(os.urandom(DOWNLOAD))
    raw = await opened(port)
    reply = await raw.transact(OperationCode.GET_OBJECT_HANDLES, 1, (PHONE, 0, ALL))
    (handle,) = parse_uint32_array(reply.data)
    await raw.cmd.send(raw.request(OperationCode.GET_OBJECT, 2, (handle,)))
    await asyncio.sleep(0.3)  # the device fills the socket buffers and waits
    assert dev.sessions
    raw.abort()
    await sessions_gone(dev)
    runner = await connect(port)
    try:
        assert (await runner.transact(OperationCode.GET_STORAGE_IDS)).code == ResponseCode.OK
    finally:
        await runner.aclose()


async def test_vanishing_between_send_object_info_and_send_object(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev, port = device
    raw = await opened(port)
    reply = await raw.transact(OperationCode.SEND_OBJECT_INFO, 1, (PHONE, ALL), upload_info(10))
    assert reply.code == ResponseCode.OK
    await raw.close()  # an orderly close this time
    await sessions_gone(dev)
    assert tree(served) == set()
