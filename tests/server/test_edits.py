"""Android edits over loopback: BeginEditObject, SendPartialObject, TruncateObject,
EndEditObject; the original stays untouched until EndEditObject and whenever an edit is
aborted (cancel, disconnect, CloseSession, errors)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect, device_temp_files

OP = OperationCode
RC = ResponseCode
PHONE = 0x00010001
ORIGINAL = b"0123456789"


def handle_of(device: VirtualDevice, name: str) -> int:
    (obj,) = [o for o in device.store.children(PHONE) if o.name == name]
    return obj.handle


def temp_files(root: Path) -> list[str]:
    return device_temp_files(root)  # the device runs in this process


def no_temp_files(root: Path, expected: int = 0, wait: float = 5.0) -> list[str]:
    """The temp files left in ``root`` once discarded ones are closed: a discarded temp file
    is closed on a short thread (openwpd._files), so a loaded machine may still show it open
    for a moment. Waits up to ``wait`` seconds for at most ``expected`` to remain."""
    deadline = time.monotonic() + wait
    while len(left := temp_files(root)) > expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


@pytest.fixture
def tree(served: Path) -> Path:
    (served / "f.bin").write_bytes(ORIGINAL)
    (served / "dir").mkdir()
    return served


async def begin(runner: TransactionRunner, handle: int) -> None:
    assert (await runner.transact(OP.BEGIN_EDIT_OBJECT, (handle,))).code == RC.OK


async def write(runner: TransactionRunner, handle: int, offset: int, data: bytes) -> int:
    res = await runner.transact(
        OP.SEND_PARTIAL_OBJECT, (handle, offset & 0xFFFFFFFF, offset >> 32, len(data)), data=data
    )
    assert res.code == RC.OK, hex(res.code)
    return res.params[0]


async def test_edit_cycle(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    assert await write(runner, h, 2, b"AB") == 2
    assert await write(runner, h, 10, b"xyz") == 3  # appending at the end
    assert (tree / "f.bin").read_bytes() == ORIGINAL  # untouched until EndEditObject
    # reading through the device still gives the original too
    res = await runner.transact(OP.GET_OBJECT, (h,))
    assert res.data == ORIGINAL
    assert (await runner.transact(OP.TRUNCATE_OBJECT, (h, 12, 0))).code == RC.OK
    assert await write(runner, h, 0, b"") == 0
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert (tree / "f.bin").read_bytes() == b"01AB456789xy"
    assert device[0].store.get(h).size == 12
    assert no_temp_files(tree) == []
    # the edit is over
    res = await runner.transact(OP.END_EDIT_OBJECT, (h,))
    assert res.code == RC.GENERAL_ERROR
    # and a new one can begin
    await begin(runner, h)
    assert (await runner.transact(OP.TRUNCATE_OBJECT, (h, 0, 0))).code == RC.OK
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert (tree / "f.bin").read_bytes() == b""


async def test_truncate_extends_with_zeros_64_bit(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    size = (1 << 32) + 5
    res = await runner.transact(OP.TRUNCATE_OBJECT, (h, 5, 1))
    if res.code == RC.STORE_FULL:  # pragma: no cover - depends on the disk
        pytest.skip("not enough free space for a 4 GiB sparse file")
    assert res.code == RC.OK
    # a write at a 64-bit offset (offset high word in p3)
    assert await write(runner, h, (1 << 32) + 1, b"HI") == 2
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert os.path.getsize(tree / "f.bin") == size
    with open(tree / "f.bin", "rb") as f:
        assert f.read(10) == ORIGINAL
        f.seek((1 << 32) - 1)
        assert f.read() == b"\x00\x00HI\x00\x00"
    os.unlink(tree / "f.bin")


async def test_write_past_the_end_is_refused(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    for offset in (11, 1 << 32):  # the high word counts: 1 << 32 is not 0
        res = await runner.transact(
            OP.SEND_PARTIAL_OBJECT, (h, offset & 0xFFFFFFFF, offset >> 32, 3), data=b"abc"
        )
        assert res.code == RC.INVALID_PARAMETER
    # the edit is still open and usable
    assert await write(runner, h, 0, b"Z") == 1
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert (tree / "f.bin").read_bytes() == b"Z123456789"


async def test_operations_without_an_edit(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    res = await runner.transact(OP.SEND_PARTIAL_OBJECT, (h, 0, 0, 3), data=b"abc")
    assert res.code == RC.GENERAL_ERROR
    assert (await runner.transact(OP.TRUNCATE_OBJECT, (h, 0, 0))).code == RC.GENERAL_ERROR
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
    assert (await runner.transact(OP.END_EDIT_OBJECT, (0x7777,))).code == RC.GENERAL_ERROR
    assert (tree / "f.bin").read_bytes() == ORIGINAL


@pytest.mark.parametrize(
    ("target", "expected"),
    [("dir", RC.INVALID_PARAMETER), (None, RC.INVALID_OBJECT_HANDLE)],
)
async def test_begin_errors(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    target: str | None,
    expected: int,
) -> None:
    h = handle_of(device[0], target) if target else 0x7777
    assert (await runner.transact(OP.BEGIN_EDIT_OBJECT, (h,))).code == expected


async def test_begin_twice(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    assert (await runner.transact(OP.BEGIN_EDIT_OBJECT, (h,))).code == RC.DEVICE_BUSY
    assert await write(runner, h, 0, b"!") == 1  # the first edit is intact
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert (tree / "f.bin").read_bytes() == b"!123456789"


async def test_an_edit_belongs_to_its_session(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev, port = device
    h = handle_of(dev, "f.bin")
    await begin(runner, h)
    other = await connect(port)
    try:
        res = await other.transact(OP.SEND_PARTIAL_OBJECT, (h, 0, 0, 1), data=b"X")
        assert res.code == RC.GENERAL_ERROR
        assert (await other.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
        assert (await other.transact(OP.BEGIN_EDIT_OBJECT, (h,))).code == RC.DEVICE_BUSY
    finally:
        await other.aclose()
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    assert (tree / "f.bin").read_bytes() == ORIGINAL


async def test_disconnect_aborts_the_edit(device: tuple[VirtualDevice, int], tree: Path) -> None:
    dev, port = device
    h = handle_of(dev, "f.bin")
    first = await connect(port)
    await begin(first, h)
    await write(first, h, 0, b"LOST")
    assert len(temp_files(tree)) == 1
    await first.aclose()
    for _ in range(100):  # the device notices the disconnect
        if not dev.sessions:
            break
        await asyncio.sleep(0.01)
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    second = await connect(port)
    try:
        # the abandoned edit is aborted, so the file can be edited again
        await begin(second, h)
        assert len(temp_files(tree)) == 1
        assert (await second.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.OK
    finally:
        await second.aclose()
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    assert no_temp_files(tree) == []


async def test_close_session_aborts_the_edit(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    await write(runner, h, 0, b"LOST")
    assert (await runner.transact(OP.CLOSE_SESSION)).code == RC.OK
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    assert (await runner.transact(OP.OPEN_SESSION, (2,))).code == RC.OK
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
    assert no_temp_files(tree) == []
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    await begin(runner, h)


async def test_closing_a_session_aborts_its_edits_at_once(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    (tree / "g.bin").write_bytes(b"g")
    (tree / "o.bin").write_bytes(b"o")
    h, g, o = handle_of(dev, "f.bin"), handle_of(dev, "g.bin"), handle_of(dev, "o.bin")
    await begin(runner, h)
    await begin(runner, g)
    other = await connect(device[1])  # another session's edit is not touched
    try:
        await begin(other, o)
        assert len(temp_files(tree)) == 3
        assert (await runner.transact(OP.CLOSE_SESSION)).code == RC.OK
        assert len(no_temp_files(tree, 1)) == 1  # no further edit operation needed
        assert (await other.transact(OP.END_EDIT_OBJECT, (o,))).code == RC.OK
    finally:
        await other.aclose()
    assert no_temp_files(tree) == []
    assert (await runner.transact(OP.OPEN_SESSION, (2,))).code == RC.OK
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
    assert (tree / "f.bin").read_bytes() == ORIGINAL


async def test_cancelled_partial_write_aborts_the_edit(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "f.bin")
    await begin(runner, h)
    sent = asyncio.Event()
    total = 16 * 1024 * 1024

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"\x55" * (1024 * 1024)
            sent.set()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(
        runner.transact(OP.SEND_PARTIAL_OBJECT, (h, 0, 0, total), data=chunks(), data_length=total)
    )
    await sent.wait()
    await asyncio.sleep(0.03)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the edit is gone: a cut transfer can never be committed
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    assert no_temp_files(tree) == []


async def test_a_full_disk_aborts_the_edit(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    h = handle_of(dev, "f.bin")
    storage = dev.store.storages[0]
    await begin(runner, h)
    # 1 MiB left: room for the small edits below, not for 8 MiB; other programs writing or
    # freeing a little disk space meanwhile changes nothing
    storage.reserve_bytes = storage.free_bytes + storage.reserve_bytes - (1 << 20)
    big = 8 << 20  # far more than is left
    res = await runner.transact(OP.SEND_PARTIAL_OBJECT, (h, 0, 0, big), data=b"x" * big)
    assert res.code == RC.STORE_FULL
    assert (await runner.transact(OP.END_EDIT_OBJECT, (h,))).code == RC.GENERAL_ERROR
    await begin(runner, h)
    res = await runner.transact(OP.TRUNCATE_OBJECT, (h, 1 << 30, 0))
    assert res.code == RC.STORE_FULL
    assert (await runner.transact(OP.TRUNCATE_OBJECT, (h, 1, 0))).code == RC.GENERAL_ERROR
    assert (tree / "f.bin").read_bytes() == ORIGINAL
    assert no_temp_files(tree) == []


async def test_read_only_storage(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    (root / "keep.bin").write_bytes(ORIGINAL)
    dev = VirtualDevice([StorageSpec(root, "RO", read_only=True)], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        h = handle_of(dev, "keep.bin")
        assert (await runner.transact(OP.BEGIN_EDIT_OBJECT, (h,))).code == RC.STORE_READ_ONLY
        res = await runner.transact(OP.SEND_PARTIAL_OBJECT, (h, 0, 0, 1), data=b"X")
        assert res.code == RC.GENERAL_ERROR
    finally:
        await runner.aclose()
        await dev.aclose()
    assert os.listdir(root) == ["keep.bin"]
    assert (root / "keep.bin").read_bytes() == ORIGINAL
