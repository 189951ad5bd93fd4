"""Events reach every session: for changes made through MTP by another session, and for changes
made to the served folder on disk by other programs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import EventCode, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo, parse_uint32_array
from openwpd.protocol.messages import Event
from openwpd.server.device import EVENT_SLICE, VirtualDevice
from openwpd.server.store import StoreEvent, StoreEventKind
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

ROOT = 0xFFFFFFFF
PHONE = 0x00010001


async def watcher(port: int) -> tuple[TransactionRunner, asyncio.Queue[Event]]:
    """A session whose events land in a queue as they arrive (no transaction needed)."""
    events: asyncio.Queue[Event] = asyncio.Queue()
    link, _ = await open_ptpip_link(
        "127.0.0.1",
        port,
        identity=InitiatorIdentity(os.urandom(16), "watcher"),
        on_event=events.put_nowait,
    )
    runner = TransactionRunner(link)
    assert (await runner.transact(OperationCode.OPEN_SESSION, (1,))).code == ResponseCode.OK
    return runner, events


async def next_event(events: asyncio.Queue[Event], code: int) -> Event:
    async with asyncio.timeout(5):
        while True:
            event = await events.get()
            if event.code == code:
                return event


async def test_changes_through_another_session(
    device: tuple[VirtualDevice, int], runner: TransactionRunner, served: Path
) -> None:
    other, events = await watcher(device[1])
    try:
        info = ObjectInfo(object_format=ObjectFormatCode.TEXT, compressed_size=3, filename="e.txt")
        res = await runner.transact(
            OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=info.to_bytes()
        )
        handle = res.params[2]
        await runner.transact(OperationCode.SEND_OBJECT, data=b"abc")
        added = await next_event(events, EventCode.OBJECT_ADDED)
        assert added.params == (handle,)
        await next_event(events, EventCode.STORAGE_INFO_CHANGED)
        assert (
            await runner.transact(OperationCode.DELETE_OBJECT, (handle,))
        ).code == ResponseCode.OK
        removed = await next_event(events, EventCode.OBJECT_REMOVED)
        assert removed.params == (handle,)
        assert not (served / "e.txt").exists()
    finally:
        await other.aclose()


async def test_changes_on_disk_by_another_program(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    other, events = await watcher(device[1])
    try:
        # list the root first: the device watches the folders an initiator has seen
        res = await other.transact(OperationCode.GET_OBJECT_HANDLES, (PHONE, 0, ROOT))
        assert parse_uint32_array(res.data) == ()
        (served / "from-elsewhere.txt").write_text("hi", encoding="utf-8")
        added = await next_event(events, EventCode.OBJECT_ADDED)
        res = await other.transact(OperationCode.GET_OBJECT_INFO, added.params)
        assert ObjectInfo.from_bytes(res.data).filename == "from-elsewhere.txt"
        (served / "from-elsewhere.txt").unlink()
        removed = await next_event(events, EventCode.OBJECT_REMOVED)
        assert removed.params == added.params
    finally:
        await other.aclose()


async def test_a_burst_of_store_events_from_another_thread_lets_the_loop_run_between_slices(
    device: tuple[VirtualDevice, int],
) -> None:
    # Another program deleting 50,000 files: the watcher's thread reports 50,000 store events.
    # Each used to be its own loop callback, all run in one loop pass (half a second here, a
    # cancel waiting behind it). They are broadcast EVENT_SLICE at a time now, in order, with
    # the loop's own work in between.
    dev, _ = device
    seen: list[object] = []
    dev.broadcast = lambda code, params=(): seen.append(params[0])  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    ticking = True

    def tick() -> None:  # a loop callback that re-arms itself: marks each loop pass
        seen.append("tick")
        if ticking:
            loop.call_soon(tick)

    tick()
    count = 5 * EVENT_SLICE + 7
    await asyncio.to_thread(
        lambda: [
            dev._on_store_event(StoreEvent(StoreEventKind.OBJECT_REMOVED, handle))
            for handle in range(count)
        ]
    )
    async with asyncio.timeout(5):
        while sum(1 for x in seen if x != "tick") < count:
            await asyncio.sleep(0)
    ticking = False
    assert [x for x in seen if x != "tick"] == list(range(count))
    run = longest = 0
    for x in seen:
        run = 0 if x == "tick" else run + 1
        longest = max(longest, run)
    assert longest <= EVENT_SLICE
