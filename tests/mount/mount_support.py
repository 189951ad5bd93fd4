"""Helpers for the mount tests: a virtual device served from a thread of the test process and a
real ``wpd mount`` program mounting it with the kernel's FUSE."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cli.cli_support import DeviceThread, wpd_exe
from openwpd.server.device import StorageSpec


def fuse_missing() -> str | None:
    """Why a FUSE mount cannot be tested here (None when it can)."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (apt-get install fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"mfusepy cannot load libfuse3: {exc}"
    return None


def is_mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


class OperationCounter(logging.Handler):
    """Counts the operations the device runs (its verbose log line per operation)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and isinstance(record.args, tuple) and len(record.args) == 3:
            self.counts[str(record.args[1])] += 1


@dataclass
class Rig:
    """The served folders, the device and the mount."""

    phone: Path
    card: Path
    mnt: Path
    server: DeviceThread
    cache: Path
    process: subprocess.Popen[str] | None = None
    status: str = ""
    log_path: Path | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def storage(self) -> object:
        return self.server.device.store.storages[0]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("OPENWPD_DEVICES", None)
        env["OPENWPD_DEVICE"] = self.url
        env["XDG_CACHE_HOME"] = str(self.cache)
        return env

    def mount(self, *args: str, timeout: float = 30) -> None:
        """Start ``wpd mount`` and wait for its status line (the mount is ready then)."""
        assert self.log_path is not None
        log = open(self.log_path, "a")  # noqa: SIM115 - the program's stderr, closed in unmount
        self.process = subprocess.Popen(
            [*wpd_exe(), "mount", str(self.mnt), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=self.env(),
        )
        log.close()
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
        self.status = line.strip()
        assert self.status.startswith("mounted "), self.log()
        assert is_mounted(self.mnt)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Stop the mount program with ``sig``; returns its exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self._forget_process()
        return code

    def _forget_process(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def unmount(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(["fusermount3", "-u", str(self.mnt)], timeout=30, check=False)
                self.process.wait(60)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self._forget_process()
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", str(self.mnt)], timeout=30, check=False)


def make_rig(tmp_path: Path) -> Rig:
    phone = tmp_path / "phone"
    card = tmp_path / "card"
    mnt = tmp_path / "mnt"
    for folder in (phone, card, mnt):
        folder.mkdir()
    (card / "readme.txt").write_text("read-only card\n")
    server = DeviceThread(
        [StorageSpec(phone, "Phone"), StorageSpec(card, "Card", read_only=True)],
        tmp_path / "state",
    )
    rig = Rig(phone, card, mnt, server, tmp_path / "cache", log_path=tmp_path / "mount.log")
    return rig


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_random(path: Path, size: int, seed: int = 0) -> None:
    """``size`` pseudo-random bytes: a random 1 MiB block repeated, each copy numbered."""
    block = random.Random(seed).randbytes(1 << 20)
    with open(path, "wb") as f:
        n = 0
        while n * len(block) < size:
            piece = (n.to_bytes(8, "little") + block[8:])[: size - n * len(block)]
            f.write(piece)
            n += 1


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if ".openwpd" in p.name]
