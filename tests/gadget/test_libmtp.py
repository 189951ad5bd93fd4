"""libmtp's tools (what most Linux desktops use) against our device as a USB gadget."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from gadget_lab import Device, run

MiB = 1024 * 1024


def _files() -> dict[str, tuple[int, int]]:
    """mtp-files: every file on the device as {name: (id, size)}."""
    out = run("mtp-files", timeout=300).stdout
    found: dict[str, tuple[int, int]] = {}
    for block in out.split("File ID: ")[1:]:
        ident = int(block.split("\n", 1)[0])
        name = re.search(r"Filename: (.*)\n", block)
        size = re.search(r"File size (\d+)", block)
        assert name and size, block
        found[name.group(1)] = (ident, int(size.group(1)))
    return found


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def test_mtp_detect_sees_device_info_and_storage(device: Device) -> None:
    out = run("mtp-detect", timeout=120).stdout
    assert "Manufacturer: openwpd" in out
    assert "Model: Virtual MTP Device" in out
    assert "StorageDescription: Phone" in out
    assert "MTP extended compat ID" not in out or "MTP" in out


def test_mtp_files_lists_every_file_with_unicode_names(device: Device, folder: Path) -> None:
    names = ["plain.txt", "Grüße.txt", "日本語.txt", "emoji-🎉.bin", "space name.dat"]
    for i, name in enumerate(names):
        (folder / name).write_bytes(os.urandom(100 + i))
    files = _files()
    for i, name in enumerate(names):
        assert name in files, sorted(files)
        assert files[name][1] == 100 + i


def test_getfile_and_sendfile_are_byte_identical(
    device: Device, folder: Path, tmp_path: Path
) -> None:
    for size in (0, 1, 511, 512, 513, 4096 * 3, 3 * MiB + 17):  # short packets and ZLPs
        (folder / f"down-{size}.bin").write_bytes(os.urandom(size))
    files = _files()
    for size in (0, 1, 511, 512, 513, 4096 * 3, 3 * MiB + 17):
        target = tmp_path / f"got-{size}.bin"
        out = run("mtp-getfile", str(files[f"down-{size}.bin"][0]), str(target)).stdout
        assert "Error" not in out, out
        assert target.read_bytes() == (folder / f"down-{size}.bin").read_bytes()
    for size in (0, 500, 512, 1024, 2 * MiB + 512 - 12, 2 * MiB + 3):
        local = tmp_path / f"up-{size}.bin"
        local.write_bytes(os.urandom(size))
        out = run("mtp-sendfile", str(local), f"/{folder.name}").stdout
        assert "New file ID" in out, out
        assert (folder / local.name).read_bytes() == local.read_bytes()


def test_delfile_and_newfolder(device: Device, folder: Path) -> None:
    (folder / "doomed.txt").write_text("bye")
    files = _files()
    out = run("mtp-delfile", "-n", str(files["doomed.txt"][0])).stdout
    assert "Failed" not in out, out
    assert not (folder / "doomed.txt").exists()
    out = run("mtp-newfolder", "Neuer Ordner", "0", "0").stdout
    assert "New folder created with ID" in out, out
    assert (folder.parent / "Neuer Ordner").is_dir()


def test_many_small_files_in_one_session(device: Device, folder: Path, tmp_path: Path) -> None:
    args = []
    for i in range(40):
        local = tmp_path / f"small-{i:03d}.txt"
        local.write_bytes(os.urandom(i * 37))
        args += ["--sendfile", f"{local},/{folder.name}"]
    out = run("mtp-connect", *args, timeout=300).stdout
    assert "Error" not in out, out
    for i in range(40):
        assert (folder / f"small-{i:03d}.txt").read_bytes() == (
            tmp_path / f"small-{i:03d}.txt"
        ).read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("OPENWPD_GADGET_4GIB") != "1",
    reason="opt-in (OPENWPD_GADGET_4GIB=1): over TCG's dummy_hcd 8 GiB of transfers take hours",
)
def test_a_file_over_4_gib_both_ways(device: Device, folder: Path, tmp_path: Path) -> None:
    size = 4 * 1024 * MiB + 4097  # over the 32-bit container length
    big = folder / "big.bin"
    with big.open("wb") as f:  # sparse, with a few real bytes at the far end
        f.seek(size - 11)
        f.write(b"end-of-file")
    files = _files()
    assert files["big.bin"][1] == size
    target = tmp_path / "big.bin"
    out = run("mtp-getfile", str(files["big.bin"][0]), str(target), timeout=1800).stdout
    assert "Error" not in out, out
    assert target.stat().st_size == size and _sha(target) == _sha(big)
    big.unlink()
    up = tmp_path / "up-big.bin"
    target.rename(up)
    out = run("mtp-sendfile", str(up), f"/{folder.name}", timeout=1800).stdout
    assert "New file ID" in out, out
    assert (folder / "up-big.bin").stat().st_size == size
    assert _sha(folder / "up-big.bin") == _sha(up)
