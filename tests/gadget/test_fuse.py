"""The FUSE file systems over MTP: jmtpfs (libmtp) and go-mtpfs (its own MTP code), mounted
on our device as a USB gadget: find, read every file byte-identical, write through jmtpfs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gadget_lab import Device, run


@pytest.fixture(scope="module", autouse=True)
def _fuse() -> None:
    subprocess.run(["modprobe", "fuse"], check=False, capture_output=True)
    if not Path("/dev/fuse").exists():
        pytest.fail("no /dev/fuse in the VM (the fuse module is missing from the image)")


def _wait_mounted(mnt: Path, proc: subprocess.Popen[str] | None = None) -> None:
    for _ in range(300):
        if os.path.ismount(mnt):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the mount ended early: {proc.communicate()}")
        time.sleep(0.1)
    raise AssertionError(f"{mnt} was not mounted")


def _unmount(mnt: Path) -> None:
    for _ in range(50):
        if not os.path.ismount(mnt):
            return
        subprocess.run(["fusermount", "-u", str(mnt)], check=False, capture_output=True)
        time.sleep(0.2)


def _files(folder: Path) -> dict[str, bytes]:
    sub = folder / "sub"
    sub.mkdir()
    found = {
        "a.txt": b"alpha\n",
        "Größe.bin": os.urandom(70_001),
        "sub/b.dat": os.urandom(512),
        "sub/c.dat": os.urandom(1024 * 1024 + 3),
    }
    for rel, data in found.items():
        (folder / rel).write_bytes(data)
    return found


@contextlib.contextmanager
def _mounted(cmd: list[str], mnt: Path, *, foreground: bool) -> Iterator[Path]:
    mnt.mkdir(parents=True, exist_ok=True)
    proc = None
    if foreground:
        proc = subprocess.Popen(
            [*cmd, str(mnt)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    else:
        run(*cmd, str(mnt), timeout=120)
    try:
        _wait_mounted(mnt, proc)
        yield mnt
    finally:
        _unmount(mnt)
        if proc is not None:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()


def _storage_root(mnt: Path) -> Path:
    roots = [p for p in mnt.iterdir() if p.is_dir()]
    assert len(roots) == 1, roots
    return roots[0]


def test_jmtpfs_find_read_and_write(device: Device, folder: Path, tmp_path: Path) -> None:
    expected = _files(folder)
    with _mounted(["jmtpfs"], tmp_path / "jmtpfs", foreground=False) as mnt:
        root = _storage_root(mnt) / folder.name
        found = run("find", str(root)).stdout.splitlines()
        for rel, data in expected.items():
            assert str(root / rel) in found, found
            assert (root / rel).read_bytes() == data
        payload = os.urandom(300_000)
        (root / "written.bin").write_bytes(payload)
    assert (folder / "written.bin").read_bytes() == payload


def test_go_mtpfs_find_and_read(device: Device, folder: Path, tmp_path: Path) -> None:
    expected = _files(folder)
    with _mounted(["go-mtpfs"], tmp_path / "gomtpfs", foreground=True) as mnt:
        root = None
        for _ in range(100):  # go-mtpfs fills the tree in the background
            with contextlib.suppress(OSError, AssertionError):
                root = _storage_root(mnt) / folder.name
                if root.is_dir():
                    break
            time.sleep(0.2)
        assert root is not None and root.is_dir()
        found = run("find", str(root)).stdout.splitlines()
        for rel, data in expected.items():
            assert str(root / rel) in found, found
            assert (root / rel).read_bytes() == data
