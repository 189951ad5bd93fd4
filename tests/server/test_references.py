"""GetObjectReferences / SetObjectReferences over loopback (AUINT32 built by hand)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

OP = OperationCode
RC = ResponseCode
PHONE = 0x00010001


def auint32(*values: int) -> bytes:
    return struct.pack(f"<I{len(values)}I", len(values), *values)


def handles(device: VirtualDevice) -> dict[str, int]:
    return {o.name: o.handle for o in device.store.children(PHONE)}


@pytest.fixture
def tree(served: Path) -> Path:
    for name in ("list.m3u", "one.mp3", "two.mp3", "three.mp3"):
        (served / name).write_bytes(b"")
    return served


async def refs(runner: TransactionRunner, handle: int) -> bytes:
    res = await runner.transact(OP.GET_OBJECT_REFERENCES, (handle,))
    assert res.code == RC.OK
    return res.data


async def test_round_trip(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handles(device[0])
    playlist = h["list.m3u"]
    assert await refs(runner, playlist) == auint32()
    order = (h["two.mp3"], h["one.mp3"], h["three.mp3"], h["one.mp3"])  # order and repeats kept
    res = await runner.transact(OP.SET_OBJECT_REFERENCES, (playlist,), data=auint32(*order))
    assert res.code == RC.OK
    assert await refs(runner, playlist) == auint32(*order)
    # other objects have none
    assert await refs(runner, h["one.mp3"]) == auint32()
    # a deleted object drops out of the answer
    assert (await runner.transact(OP.DELETE_OBJECT, (h["one.mp3"],))).code == RC.OK
    assert await refs(runner, playlist) == auint32(h["two.mp3"], h["three.mp3"])
    # replacing, then clearing
    res = await runner.transact(OP.SET_OBJECT_REFERENCES, (playlist,), data=auint32(h["two.mp3"]))
    assert res.code == RC.OK
    assert await refs(runner, playlist) == auint32(h["two.mp3"])
    res = await runner.transact(OP.SET_OBJECT_REFERENCES, (playlist,), data=auint32())
    assert res.code == RC.OK
    assert await refs(runner, playlist) == auint32()


async def test_references_are_per_device_not_per_session(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev, port = device
    h = handles(dev)
    data = auint32(h["one.mp3"])
    assert (
        await runner.transact(OP.SET_OBJECT_REFERENCES, (h["list.m3u"],), data=data)
    ).code == RC.OK
    other = await connect(port)
    try:
        assert await refs(other, h["list.m3u"]) == data
    finally:
        await other.aclose()


@pytest.mark.parametrize(
    ("target", "data", "expected"),
    [
        (None, auint32(), RC.INVALID_OBJECT_HANDLE),
        ("list.m3u", auint32(0x7777), RC.INVALID_OBJECT_REFERENCE),
        ("list.m3u", auint32(0), RC.INVALID_OBJECT_REFERENCE),
        ("list.m3u", b"\x05\x00\x00\x00\x01\x00", RC.INVALID_DATASET),
        ("list.m3u", b"", RC.INVALID_DATASET),
    ],
)
async def test_set_errors(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    target: str | None,
    data: bytes,
    expected: int,
) -> None:
    h = handles(device[0])
    handle = h[target] if target else 0x7777
    res = await runner.transact(OP.SET_OBJECT_REFERENCES, (handle,), data=data)
    assert res.code == expected
    assert await refs(runner, h["list.m3u"]) == auint32()


async def test_get_invalid_handle(runner: TransactionRunner) -> None:
    res = await runner.transact(OP.GET_OBJECT_REFERENCES, (0x7777,))
    assert res.code == RC.INVALID_OBJECT_HANDLE


async def test_read_only_storage(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    (root / "a").write_bytes(b"")
    (root / "b").write_bytes(b"")
    dev = VirtualDevice([StorageSpec(root, "RO", read_only=True)], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        h = handles(dev)
        res = await runner.transact(OP.SET_OBJECT_REFERENCES, (h["a"],), data=auint32(h["b"]))
        assert res.code == RC.STORE_READ_ONLY
        assert await refs(runner, h["a"]) == auint32()
    finally:
        await runner.aclose()
        await dev.aclose()
