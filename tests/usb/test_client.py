"""The async client (openwpd.client) over usb:// against umtprd: storages, listing, downloads
and uploads, folders, rename, delete; a cancel on one handle while another handle keeps
working; and the WPD sample flow (examples/wpd_api_sample.py) over usb://."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from usb_lab import responder, umtprd_alive
from usb_mtp import DEVICE_URL, STORE

from openwpd.client import open_connection
from openwpd.client.quirks import policy_for_usb
from openwpd.protocol.errors import Cancelled

STORAGE = "/shared folder"
MiB = 1024 * 1024
CHECKOUT = Path(__file__).resolve().parents[2]
#: What the client applies to umtprd (GetObjectPropList ignores Depth there): the profiles'
#: policy for its USB identity (links made by hand carry no USB identity to match on).
QUIRKS = policy_for_usb(0x1D6B, 0x0100, "Viveris Technologies")


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def test_content_through_the_client(folder: Path, tmp_path: Path) -> None:
    payload = os.urandom(2 * MiB + 123)
    (folder / "photo.jpg").write_bytes(payload)
    (folder / "notes ✓.txt").write_text("notes")
    (folder / "sub").mkdir()
    async with open_connection(DEVICE_URL, quirks=QUIRKS) as conn:
        assert conn.device_info.manufacturer == "Viveris Technologies"
        async with conn.open_handle() as h:
            assert [s.description for s in await h.storages()] == ["shared folder"]
            base = f"{STORAGE}/{folder.name}"
            listing = {e.name: e async for e in h.list(base)}
            assert set(listing) == {"photo.jpg", "notes ✓.txt", "sub"}
            assert listing["sub"].is_folder and listing["photo.jpg"].size == len(payload)
            dest = tmp_path / "photo.jpg"
            assert await h.download(f"{base}/photo.jpg", dest) == len(payload)
            assert sha(dest.read_bytes()) == sha(payload)
            assert await h.read(f"{base}/photo.jpg", 1000, 5000) == payload[1000:6000]
            up = tmp_path / "up.bin"
            up.write_bytes(os.urandom(MiB + 7))
            entry = await h.upload(up, f"{base}/sub")
            assert (folder / "sub" / "up.bin").read_bytes() == up.read_bytes()
            made = await h.mkdir(base, "made")
            assert (folder / "made").is_dir() and made.is_folder
            renamed = await h.rename(entry, "renamed.bin")
            assert (folder / "sub" / "renamed.bin").exists()
            await h.delete(renamed)
            assert not (folder / "sub" / "renamed.bin").exists()


async def test_cancel_on_one_handle_while_another_works(folder: Path, tmp_path: Path) -> None:
    big = os.urandom(MiB) * 40
    (folder / "big.bin").write_bytes(big)
    small = os.urandom(300_000)
    (folder / "small.bin").write_bytes(small)
    base = f"{STORAGE}/{folder.name}"
    async with open_connection(DEVICE_URL, quirks=QUIRKS) as conn:
        h1, h2 = conn.open_handle(), conn.open_handle()
        started = asyncio.Event()

        def progress(done: int, total: int | None) -> None:
            if done >= 2 * MiB:
                started.set()

        dest = tmp_path / "big.bin"
        download = asyncio.create_task(h1.download(f"{base}/big.bin", dest, progress=progress))
        reads = asyncio.create_task(h2.read(f"{base}/small.bin"))
        await asyncio.wait_for(started.wait(), 60)
        await h1.cancel()
        with pytest.raises(Cancelled):
            await download
        assert not dest.exists()  # a cancelled download leaves nothing
        assert await reads == small
        # both handles go on, on the same session
        assert await h1.read(f"{base}/small.bin") == small
        assert [e.name async for e in h2.list(base)] != []
        got = await h2.read(f"{base}/big.bin", 30 * MiB, MiB)
        assert got == big[30 * MiB : 31 * MiB]


def _demo_files() -> None:
    """What the sample looks for: notes.txt, and big.bin + DCIM/Camera/IMG_0001.jpg for its
    cancel demo (in the storage root; created once per VM boot)."""
    root = STORE
    if not (root / "notes.txt").exists():
        (root / "notes.txt").write_text("notes from the USB lab\n")
        (root / "big.bin").write_bytes(os.urandom(MiB) * 24)
        (root / "DCIM" / "Camera").mkdir(parents=True, exist_ok=True)
        (root / "DCIM" / "Camera" / "IMG_0001.jpg").write_bytes(os.urandom(200_000))


def _run_sample(tmp_path: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    _demo_files()
    env = dict(os.environ, PYTHONPATH=str(CHECKOUT / "src"), HOME=str(tmp_path))
    return subprocess.run(
        [sys.executable, *prefix, str(CHECKOUT / "examples" / "wpd_api_sample.py"), DEVICE_URL],
        check=False,
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        cwd=tmp_path,
    )


NO_MOVE = "the device cannot move objects"


def test_wpd_sample_flow_over_usb(tmp_path: Path) -> None:
    """Microsoft's WpdApiSample flow (examples/wpd_api_sample.py) over usb://, quirk profile
    applied by the connection itself (umtprd: no GetObjectPropList, no MoveObject)."""
    run = _run_sample(tmp_path)
    if not umtprd_alive():
        # umtprd 1.3.10 has been seen to die (USB disconnect) once in several runs of this
        # flow, a device-side crash; a fresh responder and a second run tell a crash of the
        # device from a fault of ours, which would fail again
        responder("restart")
        run = _run_sample(tmp_path)
    out = run.stdout
    # enumerate, properties, read a resource, create from a file, create a folder, events
    for step in (
        "sFFFF0001  shared folder",
        "IMG_0001.jpg",
        "WPD_OBJECT_NAME = notes.txt",
        "read o",
        "created o",
        "created folder o",
        "the device cannot move objects (E_NOTIMPL)",
        "cancel: A -> 0x800704C7",
    ):
        assert step in out, (step, out[-3000:], run.stderr[-3000:])
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    assert "cancel demo skipped" not in out
