"""Handle.write / truncate / overwrite: in place (same object, same persistent ID) on devices
with the Android edit operations, download-patch-replace elsewhere; a cancelled in-place edit
is ended, never left open on the device. Against the virtual device imitating each profile."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client_support import open_trap_link

from openwpd import Cancelled
from openwpd.client import DevicePolicy, Entry, open_connection
from openwpd.protocol.profiles import profile_named
from openwpd.server.device import StorageSpec, VirtualDevice

MiB = 1024 * 1024


@pytest.fixture(params=["android", None])
async def editing_device(
    request: pytest.FixtureRequest, served: Path, tmp_path: Path
) -> AsyncIterator[tuple[VirtualDevice, int]]:
    """A device with the edit operations: Android's (in place) or openwpd's own (on a copy)."""
    name = request.param
    dev = VirtualDevice(
        [StorageSpec(served, "Phone")],
        state_dir=tmp_path / "state",
        profile=profile_named(name) if name else None,
    )
    _, port = await dev.serve("127.0.0.1", 0)
    yield dev, port
    await dev.aclose()


@pytest.fixture
async def camera(served: Path, tmp_path: Path) -> AsyncIterator[tuple[VirtualDevice, int]]:
    dev = VirtualDevice(
        [StorageSpec(served, "Phone")],
        state_dir=tmp_path / "state",
        profile=profile_named("ptp-camera"),
    )
    _, port = await dev.serve("127.0.0.1", 0)
    yield dev, port
    await dev.aclose()


async def _listed(h: object, path: str) -> Entry:
    """The entry as a listing gives it (with its persistent unique ID when the device has one)."""
    parent, name = path.rsplit("/", 1)
    async for entry in h.list(parent):  # type: ignore[attr-defined]
        if entry.name == name:
            assert isinstance(entry, Entry)
            return entry
    raise AssertionError(f"{path} not listed")


async def test_write_and_truncate_edit_in_place(
    editing_device: tuple[VirtualDevice, int], served: Path
) -> None:
    (served / "f.bin").write_bytes(b"0123456789")
    async with open_connection(f"ptpip://127.0.0.1:{editing_device[1]}") as conn:
        h = conn.open_handle()
        assert h.edits
        before = await _listed(h, "/Phone/f.bin")
        after = await h.write("/Phone/f.bin", 4, b"abc")
        assert (served / "f.bin").read_bytes() == b"0123abc789"
        assert after.handle == before.handle
        after = await h.write(after, 12, b"Z")  # past the end: grows (a hole of zeros)
        assert (served / "f.bin").read_bytes() == b"0123abc789\0\0Z"
        after = await h.truncate(after, 3)
        assert (served / "f.bin").read_bytes() == b"012"
        assert after.handle == before.handle
        new = b"brand new content"
        after = await h.overwrite(after, io.BytesIO(new), len(new))
        assert (served / "f.bin").read_bytes() == new
        listed = await _listed(h, "/Phone/f.bin")
        assert (listed.handle, listed.puid) == (before.handle, before.puid)
        assert before.puid is not None


async def test_without_edit_operations_write_replaces_the_object(
    camera: tuple[VirtualDevice, int], served: Path
) -> None:
    (served / "f.bin").write_bytes(b"0123456789")
    async with open_connection(f"ptpip://127.0.0.1:{camera[1]}") as conn:
        h = conn.open_handle()
        assert not h.edits
        before = await h.resolve("/Phone/f.bin")
        assert isinstance(before, Entry)
        after = await h.write("/Phone/f.bin", 4, b"abc")
        assert (served / "f.bin").read_bytes() == b"0123abc789"
        assert after.handle != before.handle  # replaced: a new object
        after = await h.truncate(after, 2)
        assert (served / "f.bin").read_bytes() == b"01"
        assert sorted(os.listdir(served)) == ["f.bin"]


async def test_a_cancelled_in_place_write_does_not_leave_the_edit_open(
    served: Path, tmp_path: Path
) -> None:
    (served / "f.bin").write_bytes(b"x" * MiB)
    dev = VirtualDevice(
        [StorageSpec(served, "Phone")],
        state_dir=tmp_path / "state",
        profile=profile_named("android"),
    )
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        trap = await open_trap_link(port)
        policy = DevicePolicy(window=MiB, solo_window=MiB, cancel_in_flight_safe=False)
        async with open_connection(trap, policy=policy) as conn:
            h = conn.open_handle()
            entry = await h.resolve("/Phone/f.bin")
            assert isinstance(entry, Entry) and h.edits
            cancels: list[asyncio.Task[None]] = []
            trap.arm(4, lambda: cancels.append(asyncio.ensure_future(h.cancel())))
            with pytest.raises(Cancelled):
                await h.write(entry, 0, b"y" * (8 * MiB))
            await asyncio.gather(*cancels)
            assert trap.fired
            assert dev.open_edits == {}  # the edit was ended, not left open
            # the object is free for the next edit, and the session works
            await h.write(entry, 0, b"z")
            assert (served / "f.bin").read_bytes()[:1] == b"z"
            assert conn.generation == 0
    finally:
        await dev.aclose()
