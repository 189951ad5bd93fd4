"""Recovery: dropped connections, devices that stop answering, escalation to a new session."""

from __future__ import annotations

import asyncio
import io
import os
import random
from pathlib import Path

import pytest
from client_support import Connect, TrapLink, open_trap_link, tree

from openwpd import Cancelled, DeviceGone, ReadTimeout, SessionReset, TransportError
from openwpd.client import DevicePolicy, Entry, Quirks, open_connection
from openwpd.protocol.codes import OperationCode
from openwpd.protocol.transaction import Timeouts
from openwpd.server.context import OperationContext
from openwpd.server.device import VirtualDevice
from openwpd.server.registry import HANDLERS, Registration
from openwpd.server.session import DeviceSession

MiB = 1024 * 1024
Device = tuple[VirtualDevice, int]


_closing: set[asyncio.Future[None]] = set()


def _drop(device: VirtualDevice) -> None:
    """The device end closes the connection (a cable pulled, the device app killed)."""
    for session in list(device.sessions):
        closing = asyncio.ensure_future(session.link.aclose())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)


@pytest.mark.parametrize("seed", range(6))
async def test_dropped_connection_during_download(
    device: Device, served: Path, tmp_path: Path, seed: int
) -> None:
    (served / "a.bin").write_bytes(os.urandom(8 * MiB))  # about 40 await points
    link = await open_trap_link(device[1])
    async with open_connection(link, quirks=Quirks(window=1 * MiB)) as conn:
        h = conn.open_handle()
        entry = await h.resolve("/Phone/a.bin")
        assert isinstance(entry, Entry)
        link.arm(random.Random(seed).randint(1, 25), lambda: _drop(device[0]))
        dest = tmp_path / "dl"
        dest.mkdir()
        async with asyncio.timeout(10):
            with pytest.raises(TransportError) as info:
                await h.download(entry, dest / "a.bin")
        assert isinstance(info.value, DeviceGone)
        assert os.listdir(dest) == []
        # sticky and typed for every later operation, without waiting
        async with asyncio.timeout(1):
            with pytest.raises(DeviceGone):
                await h.storages()
            with pytest.raises(DeviceGone):
                await conn.open_handle().storages()
        assert isinstance(conn.broken, DeviceGone)


@pytest.mark.parametrize("seed", range(6))
async def test_dropped_connection_during_upload(device: Device, served: Path, seed: int) -> None:
    link = await open_trap_link(device[1])
    async with open_connection(link, quirks=Quirks(window=1 * MiB)) as conn:
        h = conn.open_handle()
        [storage] = await h.storages()
        link.arm(random.Random(seed).randint(1, 30), lambda: _drop(device[0]))
        async with asyncio.timeout(10):
            with pytest.raises(TransportError):
                await h.upload(io.BytesIO(os.urandom(4 * MiB)), storage, name="u.bin")
    # The windowed upload creates the object empty first: a drop after that leaves the empty
    # object (nobody is left to delete it); never a partial one.
    assert "u.bin" not in tree(served) or (served / "u.bin").stat().st_size == 0
    # a new connection works. (The device keeps the dropped session's hidden edit copy,
    # .openwpd-edit-*.part, for now: a device-side issue, reported; not checked here.)
    async with open_connection(f"ptpip://127.0.0.1:{device[1]}") as conn:
        h = conn.open_handle()
        await h.upload(io.BytesIO(b"after"), "/Phone", name="after.txt")
    visible = {n for n in tree(served) if not n.startswith(".openwpd")}
    assert visible in ({"after.txt"}, {"after.txt", "u.bin"})


def _hanging(monkeypatch: pytest.MonkeyPatch, code: OperationCode) -> None:
    """Make the device hang in ``code`` and ignore cancels: it will never answer."""

    async def hang(ctx: OperationContext) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setitem(HANDLERS, code, Registration(code, hang, False, True))
    monkeypatch.setattr(DeviceSession, "_on_cancel", lambda self, tid: None)


async def test_a_device_that_ignores_a_cancel_is_reset_and_reconnected(
    connect: Connect, device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hanging(monkeypatch, OperationCode.GET_NUM_OBJECTS)
    timeouts = Timeouts(response=30, cancel_budget=0.5)
    async with connect(timeouts=timeouts) as conn:
        h1, h2 = conn.open_handle(), conn.open_handle()
        stuck = asyncio.create_task(h1.execute(OperationCode.GET_NUM_OBJECTS, (0xFFFFFFFF,)))
        queued = asyncio.create_task(h2.storages())
        await asyncio.sleep(0.1)
        async with asyncio.timeout(5):
            await h1.cancel()
        with pytest.raises(Cancelled):
            await stuck
        with pytest.raises(SessionReset):
            await queued
        assert conn.generation == 1 and conn.broken is None
        # the new session works for everyone
        assert [s.description for s in await h2.storages()] == ["Phone"]
        assert [s.description for s in await h1.storages()] == ["Phone"]


async def test_a_silent_device_times_out_then_resets(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hanging(monkeypatch, OperationCode.GET_NUM_OBJECTS)
    async with connect(timeouts=Timeouts(response=0.3, cancel_budget=0.3)) as conn:
        h = conn.open_handle()
        async with asyncio.timeout(5):
            with pytest.raises(SessionReset) as info:
                await h.execute(OperationCode.GET_NUM_OBJECTS, (0xFFFFFFFF,))
        assert isinstance(info.value.__cause__, ReadTimeout)
        assert len(await h.storages()) == 1


async def test_a_silent_device_that_recovers_gives_a_read_timeout(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hang(ctx: OperationContext) -> None:
        await asyncio.sleep(3600)

    code = OperationCode.GET_NUM_OBJECTS
    monkeypatch.setitem(HANDLERS, code, Registration(code, hang, False, True))
    async with connect(timeouts=Timeouts(response=0.3, cancel_budget=2)) as conn:
        h = conn.open_handle()
        with pytest.raises(ReadTimeout):
            await h.execute(code, (0xFFFFFFFF,))
        assert conn.generation == 0
        assert len(await h.storages()) == 1


async def test_reset_without_a_way_to_reconnect_is_sticky(
    device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hanging(monkeypatch, OperationCode.GET_NUM_OBJECTS)  # before the device session exists
    trap = await open_trap_link(device[1])
    async with open_connection(trap, timeouts=Timeouts(response=0.3, cancel_budget=0.3)) as conn:
        h = conn.open_handle()
        with pytest.raises(SessionReset):
            await h.execute(OperationCode.GET_NUM_OBJECTS, (0xFFFFFFFF,))
        with pytest.raises(SessionReset):
            await h.storages()
        assert isinstance(conn.broken, SessionReset)


async def test_a_failed_reconnect_is_sticky(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hanging(monkeypatch, OperationCode.GET_NUM_OBJECTS)
    attempts = 0

    async def refuse() -> TrapLink:
        nonlocal attempts
        attempts += 1
        raise DeviceGone("unplugged")

    async with connect(
        timeouts=Timeouts(response=0.3, cancel_budget=0.3),
        reconnect=refuse,
        policy=DevicePolicy(reopen_delays=(0.01, 0.02)),
    ) as conn:
        h = conn.open_handle()
        with pytest.raises(SessionReset):
            await h.execute(OperationCode.GET_NUM_OBJECTS, (0xFFFFFFFF,))
        assert attempts == 3  # the first try and one after each reopen delay
        with pytest.raises(SessionReset, match="could not reopen"):
            await h.storages()
