"""Cancel on the wire over USB (USB Still Image class) against umtprd: class Cancel request, Get
Device Status until OK, drain; the session stays usable and the next transfers are
byte-identical. Past the cancel budget the runner escalates (Device Reset) and a new session
works on the same link. Also: device events from the interrupt pipe."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from usb_mtp import children, download, find, ok, send_info, storage_ids, upload

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import EventCode, OperationCode, ResponseCode
from openwpd.protocol.errors import SessionReset
from openwpd.protocol.messages import Event
from openwpd.protocol.transaction import State, Timeouts
from openwpd.transport.usb import UsbLink

MiB = 1024 * 1024


def big_file(path: Path, size: int) -> bytes:
    data = os.urandom(MiB) * (size // MiB) + os.urandom(size % MiB)
    path.write_bytes(data)
    return data


async def test_cancel_download_mid_way(runner: TransactionRunner, folder: Path) -> None:
    size = 40 * MiB
    big_file(folder / "big.bin", size)
    small = os.urandom(700_000)
    (folder / "small.bin").write_bytes(small)
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/big.bin")
    small_handle = await find(runner, storage, f"{folder.name}/small.bin")
    received = 0
    started = asyncio.Event()

    def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)
        if received >= 2 * MiB:
            started.set()

    task = asyncio.create_task(runner.transact(OperationCode.GET_OBJECT, (handle,), sink=sink))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 2 * MiB <= received < size
    assert runner.broken is None and runner.machine.state is State.IDLE
    # the same session goes on, with no stale data in the pipe
    assert await storage_ids(runner) == [storage]
    assert await download(runner, small_handle) == small
    # and the cancelled object can be read whole afterwards
    got = await download(runner, handle)
    assert (
        hashlib.sha256(got).digest() == hashlib.sha256((folder / "big.bin").read_bytes()).digest()
    )


async def test_cancel_upload_mid_way(runner: TransactionRunner, folder: Path) -> None:
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    size = 40 * MiB
    started = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        block = os.urandom(256 * 1024)
        for i in range(size // len(block)):
            if i == 8:
                started.set()
            yield block
            await asyncio.sleep(0)

    await send_info(runner, storage, parent, "partial.bin", size)
    task = asyncio.create_task(
        runner.transact(OperationCode.SEND_OBJECT, data=source(), data_length=size)
    )
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.broken is None and runner.machine.state is State.IDLE
    # the next operations on the same session work, uploads included
    assert await storage_ids(runner) == [storage]
    payload = os.urandom(300_000)
    handle = await upload(runner, storage, parent, "after.bin", payload)
    assert (folder / "after.bin").read_bytes() == payload
    assert await download(runner, handle) == payload


async def test_cancel_past_the_budget_escalates_and_a_new_session_works(
    link: UsbLink, folder: Path
) -> None:
    big_file(folder / "big.bin", 24 * MiB)
    # a budget no device can meet: the cancel fails, the runner resets the device (class
    # Device Reset) and reports SessionReset
    runner = TransactionRunner(link, timeouts=Timeouts(response=20.0, cancel_budget=0.0))
    await ok(runner, OperationCode.OPEN_SESSION, (1,))
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/big.bin")
    started = asyncio.Event()
    task = asyncio.create_task(
        runner.transact(OperationCode.GET_OBJECT, (handle,), sink=lambda _c: started.set())
    )
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(runner.broken, SessionReset)
    with pytest.raises(SessionReset):
        await runner.transact(OperationCode.GET_STORAGE_IDS)
    # the device is idle again: a new session on the same link
    fresh = TransactionRunner(link)
    res = await fresh.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN)
    assert await storage_ids(fresh) == [storage]
    small = os.urandom(5000)
    (folder / "s.bin").write_bytes(small)
    assert await download(fresh, await find(fresh, storage, f"{folder.name}/s.bin")) == small


async def test_usb_port_reset_then_new_session(link: UsbLink) -> None:
    await link.usb_reset()
    runner = TransactionRunner(link)
    res = await runner.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN)
    assert len(await storage_ids(runner)) == 1


async def test_events_arrive_from_the_interrupt_pipe(
    link: UsbLink, runner: TransactionRunner, folder: Path
) -> None:
    events: list[Event] = []
    link.on_event = events.append
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    await children(runner, storage, parent)  # umtprd watches the folders it has listed
    (folder / "new.txt").write_text("hello")
    for _ in range(100):
        if any(e.code == EventCode.OBJECT_ADDED for e in events):
            break
        await asyncio.sleep(0.1)
    added = [e for e in events if e.code == EventCode.OBJECT_ADDED]
    assert added, events
    info = (await children(runner, storage, parent))["new.txt"]
    assert added[0].params[0] == info[0]
