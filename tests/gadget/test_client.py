"""openwpd's own USB client against openwpd's device as a USB gadget: the cancel scenarios of
the client suite in both directions (class Cancel request, Get Device Status Busy then OK, no
response, rollback, the session goes on), Device Reset after a cancel past its budget, events
from the interrupt endpoint, and the cable pulled in the middle of a transfer."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gadget_lab import DEVICE_URL, Device, replug, unplug, wait_usbfs_nodes
from usb_mtp import children, download, ok, send_info, storage_ids, upload
from usb_mtp import find as find_now

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import EventCode, OperationCode, ResponseCode
from openwpd.protocol.errors import OpenWpdError, SessionReset
from openwpd.protocol.messages import Event
from openwpd.protocol.transaction import State, Timeouts
from openwpd.protocol.usb_codec import cancel_request
from openwpd.transport.usb import UsbLink, open_usb_link

MiB = 1024 * 1024


@pytest.fixture
async def link(device: Device) -> AsyncIterator[UsbLink]:
    usb_link = await open_usb_link(DEVICE_URL)
    try:
        yield usb_link
    finally:
        await usb_link.aclose()


@pytest.fixture
async def runner(link: UsbLink) -> AsyncIterator[TransactionRunner]:
    r = await _session(link)
    try:
        yield r
    finally:
        if r.broken is None:
            with contextlib.suppress(OpenWpdError):
                await r.transact(OperationCode.CLOSE_SESSION)
        await r.aclose()


async def _session(link: UsbLink) -> TransactionRunner:
    """A runner with an open session. The device keeps a session open while the host keeps
    the device configured, across host programs (as phones do): SessionAlreadyOpen counts."""
    r = TransactionRunner(link, timeouts=Timeouts(response=20.0, cancel_budget=8.0))
    res = await r.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN)
    return r


async def find(runner: TransactionRunner, storage: int, path: str) -> int:
    """The handle of ``path``. What another program just created on disk reaches the device
    through its folder watcher, a moment later: look again for a few seconds."""
    for _ in range(50):
        try:
            return await find_now(runner, storage, path)
        except KeyError:
            await asyncio.sleep(0.2)
    return await find_now(runner, storage, path)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_device_info_and_storage(runner: TransactionRunner) -> None:
    from openwpd.protocol.datasets import DeviceInfo

    info = DeviceInfo.from_bytes((await ok(runner, OperationCode.GET_DEVICE_INFO)).data)
    assert info.manufacturer == "openwpd"
    assert len(await storage_ids(runner)) == 1


async def test_cancel_download_mid_way(runner: TransactionRunner, folder: Path) -> None:
    size = 40 * MiB
    data = os.urandom(MiB) * (size // MiB)
    (folder / "big.bin").write_bytes(data)
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
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 2 * MiB <= received < size
    assert runner.broken is None and runner.machine.state is State.IDLE
    assert await storage_ids(runner) == [storage]
    assert await download(runner, small_handle) == small
    assert await download(runner, handle) == data


async def test_cancel_upload_mid_way_leaves_nothing(
    runner: TransactionRunner, folder: Path
) -> None:
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
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.broken is None and runner.machine.state is State.IDLE
    assert await storage_ids(runner) == [storage]
    assert "partial.bin" not in _leftovers(folder)  # rolled back
    payload = os.urandom(300_000)
    handle = await upload(runner, storage, parent, "after.bin", payload)
    assert (folder / "after.bin").read_bytes() == payload
    assert await download(runner, handle) == payload


async def test_a_second_cancel_is_harmless(
    link: UsbLink, runner: TransactionRunner, folder: Path
) -> None:
    (folder / "f.bin").write_bytes(os.urandom(1000))
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/f.bin")
    tid = runner.machine._tid  # the last transaction: long finished
    for _ in range(2):  # cancels of a finished transaction, twice: nothing to stop
        await link._control(cancel_request(tid, link.info.interface))
    assert await link.request_device_status() == ResponseCode.OK
    assert await download(runner, handle) == (folder / "f.bin").read_bytes()


async def test_cancel_past_the_budget_resets_the_device_and_a_new_session_works(
    link: UsbLink, folder: Path
) -> None:
    (folder / "big.bin").write_bytes(os.urandom(MiB) * 24)
    runner = TransactionRunner(link, timeouts=Timeouts(response=20.0, cancel_budget=0.0))
    res = await runner.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN)
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/big.bin")
    started = asyncio.Event()
    task = asyncio.create_task(
        runner.transact(OperationCode.GET_OBJECT, (handle,), sink=lambda _c: started.set())
    )
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(runner.broken, SessionReset)
    fresh = TransactionRunner(link)
    res = await fresh.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code == ResponseCode.OK  # Device Reset closed the old session
    assert await storage_ids(fresh) == [storage]


async def test_events_arrive_from_the_interrupt_endpoint(
    link: UsbLink, runner: TransactionRunner, folder: Path
) -> None:
    events: list[Event] = []
    link.on_event = events.append
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    await children(runner, storage, parent)
    (folder / "new.txt").write_text("hello")
    handle = None
    for _ in range(200):  # the folder watcher reports it a moment later
        listing = await children(runner, storage, parent)
        if "new.txt" in listing:
            handle = listing["new.txt"][0]
            if any(e.code == EventCode.OBJECT_ADDED and e.params[:1] == (handle,) for e in events):
                break
        await asyncio.sleep(0.1)
    assert handle is not None, "the new file never showed up"
    assert any(e.code == EventCode.OBJECT_ADDED and e.params[:1] == (handle,) for e in events), (
        events
    )


async def _unplug_during(coro_factory: object, started: asyncio.Event) -> None:
    task = asyncio.create_task(coro_factory())  # type: ignore[operator]
    await asyncio.wait_for(started.wait(), 60)
    await asyncio.to_thread(unplug)
    with pytest.raises(OpenWpdError):
        await asyncio.wait_for(task, 60)


async def test_unplug_mid_upload_then_the_next_host_session_works(
    device: Device, folder: Path
) -> None:
    link = await open_usb_link(DEVICE_URL)
    runner = await _session(link)
    size = 60 * MiB
    started = asyncio.Event()
    try:
        storage = (await storage_ids(runner))[0]
        parent = await find(runner, storage, folder.name)

        async def source() -> AsyncIterator[bytes]:
            block = os.urandom(256 * 1024)
            for i in range(size // len(block)):
                if i == 8:
                    started.set()
                yield block
                await asyncio.sleep(0)

        await send_info(runner, storage, parent, "torn.bin", size)
        await _unplug_during(
            lambda: runner.transact(OperationCode.SEND_OBJECT, data=source(), data_length=size),
            started,
        )
    finally:
        await runner.aclose()
    await asyncio.sleep(1)
    assert "torn.bin" not in _leftovers(folder)  # nothing partial on the device
    await asyncio.to_thread(replug)
    await _next_session_works(folder)


async def test_unplug_mid_download_then_the_next_host_session_works(
    device: Device, folder: Path
) -> None:
    (folder / "big.bin").write_bytes(os.urandom(MiB) * 60)
    link = await open_usb_link(DEVICE_URL)
    runner = await _session(link)
    started = asyncio.Event()
    try:
        storage = (await storage_ids(runner))[0]
        handle = await find(runner, storage, f"{folder.name}/big.bin")
        await _unplug_during(
            lambda: runner.transact(
                OperationCode.GET_OBJECT, (handle,), sink=lambda _c: started.set()
            ),
            started,
        )
    finally:
        await runner.aclose()
    await asyncio.to_thread(replug)
    await _next_session_works(folder)


async def _next_session_works(folder: Path) -> None:
    wait_usbfs_nodes()
    link = await open_usb_link(DEVICE_URL)
    runner = TransactionRunner(link)
    try:
        res = await runner.transact(OperationCode.OPEN_SESSION, (1,))
        assert res.code == ResponseCode.OK  # the unplug ended the old session
        storage = (await storage_ids(runner))[0]
        parent = await find(runner, storage, folder.name)
        payload = os.urandom(100_000)
        handle = await upload(runner, storage, parent, "next.bin", payload)
        assert await download(runner, handle) == payload
    finally:
        await runner.aclose()
