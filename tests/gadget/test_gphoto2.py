"""gphoto2 (libgphoto2's PTP/MTP driver over USB) against our device as a USB gadget."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from gadget_lab import Device, run


def _folder_path(folder: Path) -> str:
    """gphoto2's path of a test folder: /store_<storage ID>/<name>."""
    out = run("gphoto2", "--list-folders").stdout
    for line in out.splitlines():
        if line.strip().startswith("- store_"):
            return f"/{line.strip()[2:]}/{folder.name}"
    raise AssertionError(out)


def test_auto_detect(device: Device) -> None:
    out = run("gphoto2", "--auto-detect").stdout
    assert "usb:" in out, out


def test_list_and_get_all_files(device: Device, folder: Path, tmp_path: Path) -> None:
    payloads = {f"p{i}.jpg": os.urandom(1000 * i + 1) for i in range(5)}
    for name, data in payloads.items():
        (folder / name).write_bytes(data)
    where = _folder_path(folder)
    listing = run("gphoto2", "--list-files", "--folder", where).stdout
    for name in payloads:
        assert name in listing, listing
    run("gphoto2", "--get-all-files", "--folder", where, "--no-recurse", cwd=tmp_path)
    for name, data in payloads.items():
        assert (tmp_path / name).read_bytes() == data


def test_upload_and_delete(device: Device, folder: Path, tmp_path: Path) -> None:
    local = tmp_path / "up.bin"
    local.write_bytes(os.urandom(70_000))
    where = _folder_path(folder)
    run("gphoto2", "--folder", where, "--upload-file", str(local))
    assert (folder / "up.bin").read_bytes() == local.read_bytes()
    run("gphoto2", "--folder", where, "--delete-file", "1")
    assert not (folder / "up.bin").exists()


def test_wait_event_sees_a_file_another_program_added(device: Device, folder: Path) -> None:
    where = _folder_path(folder)
    run("gphoto2", "--list-files", "--folder", where)  # the folder is known to the device

    def add_later() -> None:
        time.sleep(4)
        (folder / "late.txt").write_text("added by another program")

    adder = threading.Thread(target=add_later)
    adder.start()
    proc = subprocess.run(
        ["gphoto2", "--wait-event=15s"], capture_output=True, text=True, timeout=120, check=False
    )
    adder.join()
    assert "FILEADDED" in proc.stdout and "late.txt" in proc.stdout, proc.stdout + proc.stderr
