"""Transfer windows: the policy's window while other handles wait for turns, a larger solo window
while none does (fewer round trips when nobody needs the turns)."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from openwpd.client.policy import (
    DEFAULT_WINDOW,
    MAX_SOLO_WINDOW,
    SOLO_WINDOW,
    DevicePolicy,
)
from openwpd.client.scheduler import Scheduler
from openwpd.protocol.datasets import DeviceInfo

MiB = 1024 * 1024


def test_solo_window_defaults() -> None:
    assert DevicePolicy().solo_window_at(None) == SOLO_WINDOW > DEFAULT_WINDOW
    assert DevicePolicy(window=1 * MiB).solo_window_at(None) == 1 * MiB  # by hand
    chosen = DevicePolicy(window=1 * MiB, solo_window=2 * MiB)
    assert chosen.solo_window_at(None) == 2 * MiB
    with pytest.raises(ValueError):
        DevicePolicy(solo_window=0)


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
    assert conn.window_for(h1) == conn.policy.solo_window_at(None)
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
    assert conn.window_for(h2) == conn.policy.solo_window_at(None)


def test_the_solo_window_grows_with_the_throughput_on_a_fast_link_only() -> None:
    policy = DevicePolicy().for_device(DeviceInfo())
    assert policy.adaptive
    assert policy.solo_window_at(None) == SOLO_WINDOW  # nothing measured yet
    assert policy.solo_window_at(35e6) == SOLO_WINDOW  # USB 2.0: 0.1 s is less than the floor
    grown = policy.solo_window_at(1e9)  # 1 GB/s: ~0.1 s worth, in whole MiB
    assert grown % MiB == 0 and 95 * MiB <= grown <= 100e6
    assert policy.solo_window_at(1e11) == MAX_SOLO_WINDOW
    # a window chosen by hand is kept as it is
    assert DevicePolicy(window=1 * MiB).solo_window_at(1e11) == 1 * MiB
    fixed = DevicePolicy(solo_window=2 * MiB)
    assert not fixed.adaptive and fixed.solo_window_at(1e11) == 2 * MiB


async def test_a_connection_measures_its_windows(conn, served) -> None:  # type: ignore[no-untyped-def]
    h = conn.open_handle()
    assert conn.window_for(h) == SOLO_WINDOW
    conn.window_done(512 * 1024, 0.000001)  # under 1 MiB: the round trip, not the link
    assert conn.window_for(h) == SOLO_WINDOW
    conn.window_done(64 * MiB, 0.05)  # 1.34 GB/s
    first = conn.window_for(h)
    assert first == conn.policy.solo_window_at(64 * MiB / 0.05) > SOLO_WINDOW
    conn.window_done(64 * MiB, 0.5)  # slower now: the estimate follows, averaged
    assert SOLO_WINDOW <= conn.window_for(h) < first
    # a real windowed download feeds it too
    (served / "big.bin").write_bytes(os.urandom(8 * MiB))
    before = conn._rate
    got = io.BytesIO()
    await h.download("/Phone/big.bin", got)
    assert got.getvalue() == (served / "big.bin").read_bytes()
    assert conn._rate != before
