"""Transfer windows: the policy's window while other handles wait for turns, a larger solo window
while none does (fewer round trips when nobody needs the turns)."""

from __future__ import annotations

import asyncio

import pytest

from openwpd.client.policy import DEFAULT_WINDOW, SOLO_WINDOW, DevicePolicy, Quirks
from openwpd.client.scheduler import Scheduler
from openwpd.protocol.datasets import DeviceInfo

MiB = 1024 * 1024


def test_solo_window_defaults() -> None:
    assert DevicePolicy(DeviceInfo()).solo_window == SOLO_WINDOW > DEFAULT_WINDOW
    assert DevicePolicy(DeviceInfo(), Quirks(window=1 * MiB)).solo_window == 1 * MiB  # by hand
    chosen = Quirks(window=1 * MiB, solo_window=2 * MiB)
    assert DevicePolicy(DeviceInfo(), chosen).solo_window == 2 * MiB
    with pytest.raises(ValueError):
        DevicePolicy(DeviceInfo(), Quirks(solo_window=0))


async def test_others_waiting() -> None:
    scheduler = Scheduler()
    a, b = object(), object()
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold(owner: object) -> None:
        async with scheduler.turn(owner):
            held.set()
            await release.wait()

    first = asyncio.create_task(hold(a))
    await held.wait()
    assert not scheduler.others_waiting(a)  # a holds the turn, nobody waits
    second = asyncio.create_task(hold(b))
    await asyncio.sleep(0)
    assert scheduler.others_waiting(a)  # b waits for a turn: a must use small windows
    assert not scheduler.others_waiting(b)
    release.set()
    await asyncio.gather(first, second)
    assert not scheduler.others_waiting(a)


async def test_the_window_of_a_lone_download_and_of_a_shared_one(conn, served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    h1, h2 = conn.open_handle(), conn.open_handle()
    assert conn.window_for(h1) == conn.policy.solo_window
    (served / "a.bin").write_bytes(b"a" * (3 * MiB))
    blocker = asyncio.Event()

    async def slow_listing() -> None:
        async with conn._scheduler.turn(h2):  # h2 holds the turn...
            await blocker.wait()

    task = asyncio.create_task(slow_listing())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(h1.storages())  # ...and h1 now waits for one
    await asyncio.sleep(0)
    assert conn.window_for(h2) == conn.policy.window  # someone waits: small windows
    blocker.set()
    await asyncio.gather(task, waiting)
    assert conn.window_for(h2) == conn.policy.solo_window
