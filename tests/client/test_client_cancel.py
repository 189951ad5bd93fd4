"""Cancel injected at every await point of every transaction shape, against the real device.

The connection runs over a link wrapper that fires at its N-th await point (each send, receive
or cancel of the link); N walks from 1 until the operation completes without reaching it. At that
point either ``handle.cancel()`` (WPD's Cancel: the operation raises Cancelled) or a cancel of the
operation's task (targeted: CancelledError) is injected. After each: the same handle and another
handle work, the session was never reset, and neither the device folder nor the local folder
holds a partial file.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from client_support import TrapLink, open_trap_link, tree

from openwpd import Cancelled
from openwpd.client import Connection, Entry, Handle, Quirks, open_connection
from openwpd.client.policy import EDIT_OPERATIONS
from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.server.device import VirtualDevice
from openwpd.server.store import StoreEvent, StoreEventKind

MiB = 1024 * 1024
WINDOW = 1 * MiB
MAX_POINTS = 400


@pytest.fixture
async def trap(device: tuple[VirtualDevice, int]) -> AsyncIterator[TrapLink]:
    link = await open_trap_link(device[1])
    yield link


async def _sweep(
    trap: TrapLink,
    conn: Connection,
    h: Handle,
    operation: Callable[[], Awaitable[object]],
    check: Callable[[bool], Awaitable[None]],
    *,
    targeted: bool,
) -> tuple[int, int]:
    """Inject the cancel at point 1, 2, ... until the operation completes first. Returns (points,
    cancelled) counts. ``check(cancelled)`` verifies the state after each run."""
    h2 = conn.open_handle()
    cancelled_runs = 0
    for n in range(1, MAX_POINTS):
        task = asyncio.ensure_future(operation())
        pending: list[asyncio.Future[None]] = []

        def fire(
            task: asyncio.Future[object] = task, pending: list[asyncio.Future[None]] = pending
        ) -> None:
            if targeted:
                task.cancel()
            else:
                pending.append(asyncio.ensure_future(h.cancel()))

        trap.arm(n, fire)
        cancelled = False
        try:
            await task
        except Cancelled:
            assert not targeted
            cancelled = True
        except asyncio.CancelledError:
            assert targeted
            cancelled = True
        for p in pending:
            await p
        trap.disarm()
        cancelled_runs += cancelled
        assert conn.generation == 0, f"the session was reset after a cancel at point {n}"
        await check(cancelled)
        # the session goes on: the same handle and another one
        assert [s.description for s in await h.storages()] == ["Phone"]
        res = await h2.execute(OperationCode.GET_NUM_OBJECTS, (ALL, 0, ALL))
        assert res.code == ResponseCode.OK
        if not trap.fired:
            return n, cancelled_runs
    raise AssertionError("the operation never completed")


@pytest.mark.parametrize("targeted", [False, True], ids=["handle-cancel", "task-cancel"])
async def test_cancel_no_data_phase(trap: TrapLink, served: Path, targeted: bool) -> None:
    async with open_connection(trap) as conn:
        h = conn.open_handle()

        async def operation() -> object:
            return await h.execute(OperationCode.GET_NUM_OBJECTS, (ALL, 0, ALL))

        async def check(cancelled: bool) -> None:
            assert tree(served) == set()

        points, cancelled = await _sweep(trap, conn, h, operation, check, targeted=targeted)
        assert points >= 3 and cancelled >= 1


@pytest.mark.parametrize("targeted", [False, True], ids=["handle-cancel", "task-cancel"])
async def test_cancel_data_in_at_every_point(
    trap: TrapLink, served: Path, tmp_path: Path, targeted: bool
) -> None:
    payload = os.urandom(3 * MiB + 1234)
    (served / "in.bin").write_bytes(payload)
    dest = tmp_path / "downloads"
    dest.mkdir()
    async with open_connection(trap, quirks=Quirks(window=WINDOW)) as conn:
        h = conn.open_handle()
        entry = await h.resolve("/Phone/in.bin")
        assert isinstance(entry, Entry)

        async def operation() -> object:
            return await h.download(entry, dest / "in.bin")

        async def check(cancelled: bool) -> None:
            names = os.listdir(dest)
            if cancelled:
                assert names == [], "a cancelled download left a file"
            else:
                assert names == ["in.bin"]
                assert (dest / "in.bin").read_bytes() == payload
                (dest / "in.bin").unlink()
            assert tree(served) == {"in.bin"}

        points, cancelled = await _sweep(trap, conn, h, operation, check, targeted=targeted)
        assert points > 12 and cancelled > 10  # every window's phases were hit


@pytest.mark.parametrize("targeted", [False, True], ids=["handle-cancel", "task-cancel"])
@pytest.mark.parametrize("windowed", [True, False], ids=["edit-windows", "send-object"])
async def test_cancel_data_out_at_every_point(
    trap: TrapLink, served: Path, targeted: bool, windowed: bool
) -> None:
    payload = os.urandom(3 * MiB + 77)
    disabled = frozenset() if windowed else frozenset(EDIT_OPERATIONS)
    quirks = Quirks(window=WINDOW, disabled_operations=disabled)
    async with open_connection(trap, quirks=quirks) as conn:
        assert conn.policy.windowed_upload is windowed
        h = conn.open_handle()
        [storage] = await h.storages()

        async def operation() -> object:
            return await h.upload(io.BytesIO(payload), storage, name="out.bin")

        async def check(cancelled: bool) -> None:
            if cancelled:
                assert tree(served) == set(), "a cancelled upload left something"
            else:
                assert tree(served) == {"out.bin"}
                assert (served / "out.bin").read_bytes() == payload
                await h.delete("/Phone/out.bin")

        points, cancelled = await _sweep(trap, conn, h, operation, check, targeted=targeted)
        assert points > 8 and cancelled > 5


@pytest.mark.parametrize("targeted", [False, True], ids=["handle-cancel", "task-cancel"])
async def test_a_cancelled_upload_never_commits_its_partial_data(
    trap: TrapLink, device: tuple[VirtualDevice, int], served: Path, targeted: bool
) -> None:
    """Where edits work on a copy, the clean-up of a cancelled windowed upload deletes the
    object without ending its edit first: ending it would commit the partial data, which would
    stay if the client died before the delete."""
    payload = os.urandom(3 * MiB + 77)
    store = device[0].store
    committed: list[int] = []  # sizes the object had when it changed

    def watch(event: StoreEvent) -> None:
        if event.kind is StoreEventKind.OBJECT_INFO_CHANGED:
            committed.append(store.get(event.target).size)

    unsubscribe = store.subscribe(watch)
    async with open_connection(trap, quirks=Quirks(window=WINDOW, edits_on_copy=True)) as conn:
        h = conn.open_handle()
        [storage] = await h.storages()

        async def operation() -> object:
            committed.clear()
            return await h.upload(io.BytesIO(payload), storage, name="out.bin")

        async def check(cancelled: bool) -> None:
            if cancelled:
                assert tree(served) == set(), "a cancelled upload left something"
                # (a cancel after EndEditObject, in DateModified, finds the data complete)
                partial = [size for size in committed if size != len(payload)]
                assert partial == [], "the partial data was committed before the delete"
            else:
                assert (served / "out.bin").read_bytes() == payload
                await h.delete("/Phone/out.bin")

        points, cancelled = await _sweep(trap, conn, h, operation, check, targeted=targeted)
        assert points > 8 and cancelled > 5
    unsubscribe()


async def test_cancel_listing_at_every_point(trap: TrapLink, served: Path) -> None:
    for i in range(2000):
        (served / f"file-{i:04}.txt").write_bytes(b"")
    async with open_connection(trap) as conn:
        h = conn.open_handle()
        [storage] = await h.storages()

        async def operation() -> object:
            return [e async for e in h.list(storage)]

        async def check(cancelled: bool) -> None:
            assert len(tree(served)) == 2000

        _points, cancelled = await _sweep(trap, conn, h, operation, check, targeted=False)
        assert cancelled >= 3
