"""Protocol-level cancel against the real virtual device over loopback TCP."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo, parse_uint32_array
from openwpd.server.device import VirtualDevice


async def _handle_of(runner: TransactionRunner, name: str) -> int:
    res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (0xFFFFFFFF, 0, 0xFFFFFFFF))
    for handle in parse_uint32_array(res.data):
        info = await runner.transact(OperationCode.GET_OBJECT_INFO, (handle,))
        if name.encode("utf-16-le") in info.data:
            return handle
    raise AssertionError(f"{name} not found")


async def test_cancel_during_get_object_then_session_keeps_working(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    payload = os.urandom(64 * 1024 * 1024)
    (served / "big.bin").write_bytes(payload)
    handle = await _handle_of(runner, "big.bin")
    got = 0
    started = asyncio.Event()

    def sink(chunk: bytes) -> None:
        nonlocal got
        got += len(chunk)
        started.set()

    task = asyncio.create_task(runner.transact(OperationCode.GET_OBJECT, (handle,), sink=sink))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < got < len(payload)
    # the same session goes on: device info, then the whole object
    info = DeviceInfo.from_bytes((await runner.transact(OperationCode.GET_DEVICE_INFO)).data)
    assert info.manufacturer == "openwpd"
    res = await runner.transact(OperationCode.GET_OBJECT, (handle,))
    assert res.code == ResponseCode.OK
    assert hashlib.sha256(res.data).digest() == hashlib.sha256(payload).digest()


async def test_cancel_during_send_object_leaves_nothing(
    runner: TransactionRunner, served: Path
) -> None:
    from openwpd.protocol.datasets import ObjectInfo

    info = ObjectInfo(object_format=0x3000, compressed_size=32 * 1024 * 1024, filename="up.bin")
    res = await runner.transact(
        OperationCode.SEND_OBJECT_INFO, (0x00010001, 0xFFFFFFFF), data=info.to_bytes()
    )
    assert res.code == ResponseCode.OK
    sent = asyncio.Event()

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield b"\x00" * (1024 * 1024)
            sent.set()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(
        runner.transact(OperationCode.SEND_OBJECT, data=chunks(), data_length=32 * 1024 * 1024)
    )
    await sent.wait()
    await asyncio.sleep(0.03)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(p.name for p in served.iterdir()) == []
    res = await runner.transact(OperationCode.GET_STORAGE_IDS)
    assert parse_uint32_array(res.data) == (0x00010001,)


async def test_a_second_cancel_during_the_cancel_flow_keeps_the_session_in_step(
    runner: TransactionRunner, served: Path
) -> None:
    """The task is cancelled again while its transaction is being cancelled on the wire: the
    runner still finishes the flow before it lets go, so the next transaction finds the
    session idle (before, it found it 'cancelling' and failed)."""
    (served / "big.bin").write_bytes(os.urandom(32 * 1024 * 1024))
    handle = await _handle_of(runner, "big.bin")
    for _ in range(5):
        started = asyncio.Event()
        task = asyncio.create_task(
            runner.transact(OperationCode.GET_OBJECT, (handle,), sink=lambda _c, s=started: s.set())
        )
        await started.wait()
        task.cancel()
        await asyncio.sleep(0)  # the task is now in its cancel flow
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        res = await runner.transact(OperationCode.GET_STORAGE_IDS)
        assert parse_uint32_array(res.data) == (0x00010001,)
