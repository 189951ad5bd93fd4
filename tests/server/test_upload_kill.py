"""Whatever dies in the middle of an upload, the device ends with the old file or the new one.

Real processes throughout: ``wpd serve`` as a user starts it, and an upload client process per
run (forked by tests/upload_child.py) doing what ``wpd put`` does -- a new file (created empty,
then filled through an edit; one in four with SendObject instead), or onto an existing file.
Each run stops one side at a random point:

* (a) the client is SIGKILLed,
* (b) ``wpd serve`` is SIGKILLed, then started again on the same state directory and folder,
* (c) the connection is cut (reset) after a random number of the client's bytes, by a proxy
  between the two.

The points are random offsets in the data (the client freezes once that many bytes were sent,
and is then killed or its device is) or, in a third of the runs of (a) and (b), random moments
of the whole upload (connecting, creating the object, ending the edit...). After each run the
served tree is compared with the expected one: every other file as it was, the target either
as before (absent, or the old content) or the complete new content, and nothing else -- no
empty placeholder, no temp file, no nameless temp file still open in the device. The tree must
stay so when ``wpd serve`` is started again on the same state directory (which removes what
a killed device recorded as its leftovers).

The seed is fixed (13) and printed; set OPENWPD_KILL_SEED to try others.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import nameless_files
from wpd_process import WpdServer, start_wpd

RUNS = 50
PIECE = 16 * 1024  # bytes per data-phase piece of the client: progress comes that often
SETTLE_TIMEOUT = 15.0  # the device notices a dead peer at once; this only bounds a failure
FLAG_TIMEOUT = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

Signature = tuple[int, int, int]  # ino, size, mtime_ns


@pytest.fixture(scope="module")
def seed() -> int:
    value = int(os.environ.get("OPENWPD_KILL_SEED") or "13")
    print(f"\nOPENWPD_KILL_SEED={value}")
    return value


class Forker:
    """tests/upload_child.py: forks an upload process per job."""

    def __init__(self, log: Path) -> None:
        script = Path(__file__).resolve().parent.parent / "upload_child.py"
        self._err = open(log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self.log = log

    def start(self, job: dict[str, object]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._err.close()


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def wait_flag(flag: Path, forker: Forker, what: str) -> str:
    deadline = time.monotonic() + FLAG_TIMEOUT
    while time.monotonic() < deadline:
        if flag.exists() and (text := flag.read_text()):
            return text
        time.sleep(0.002)
    pytest.fail(f"{what}: the client never got there; its log:\n{forker.log.read_text()}")


def snapshot(root: Path) -> dict[str, Signature | None]:
    """Every entry below ``root`` (hidden ones too): files with their signature, folders None."""
    found: dict[str, Signature | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = None
        for name in filenames:
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue  # removed by the device while we looked: the next look settles it
            found[os.path.relpath(os.path.join(dirpath, name), root)] = (
                info.st_ino,
                info.st_size,
                info.st_mtime_ns,
            )
    return found


@dataclass
class Tree:
    """The served folder and what it must hold."""

    root: Path
    expected: dict[str, Signature | None] = field(default_factory=dict)

    def problems(self, targets: dict[str, list[bytes | None]], pid: int | None) -> str:
        """What is wrong with the tree, given the runs' ``targets`` (name -> the contents
        allowed, None for "absent"); "" when nothing is."""
        actual = snapshot(self.root)
        others = {k: v for k, v in actual.items() if k not in targets}
        wanted = {k: v for k, v in self.expected.items() if k not in targets}
        if others != wanted:
            extra = sorted(set(others) - set(wanted))
            missing = sorted(set(wanted) - set(others))
            changed = sorted(k for k in set(others) & set(wanted) if others[k] != wanted[k])
            return f"extra {extra}, missing {missing}, changed {changed}"
        for target, allowed in targets.items():
            if target in actual:
                try:
                    data = (self.root / target).read_bytes()
                except FileNotFoundError:
                    return f"{target} went while being read"  # the device is cleaning up
                if data not in allowed:
                    return f"{target} holds {len(data)} bytes, neither the old nor the new"
            elif None not in allowed:
                return f"{target} is gone"
        if pid is not None and (open_temps := nameless_files(self.root, pid)):
            return f"the device still holds temp files {sorted(open_temps)}"
        return ""

    def settle(self, targets: dict[str, list[bytes | None]], pid: int | None, what: str) -> None:
        """Wait until the device has cleaned up after the runs (it does at once when the peer
        is gone), then take the tree as the expected one."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while problem := self.problems(targets, pid):
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: {problem}")
            time.sleep(0.01)
        self.expected = snapshot(self.root)

    def unchanged(self, what: str) -> None:
        actual = snapshot(self.root)
        assert actual == self.expected, f"{what}: the tree changed: {actual} != {self.expected}"


@dataclass
class Run:
    index: int
    name: str
    src: Path
    new: bytes
    old: bytes | None
    pause_at: int | None  # None: stopped at a random moment instead
    moment: float  # that moment, as a fraction of a whole upload's time
    send_object: bool = False  # SendObjectPropList + SendObject rather than an edit

    @property
    def allowed(self) -> list[bytes | None]:
        return [self.old, self.new]

    def job(self, url: str, flag: Path) -> dict[str, object]:
        return {
            "url": url,
            "src": str(self.src),
            "folder": "/Phone",
            "name": self.name,
            "replace": self.old is not None,
            "piece": PIECE,
            "pause_at": self.pause_at,
            "send_object": self.send_object,
            "flag": str(flag),
        }

    def describe(self, mode: str, seed: int) -> str:
        where = (
            f"after {self.pause_at} of {len(self.new)} bytes"
            if self.pause_at is not None
            else f"at {self.moment:.0%} of an upload's time"
        )
        kind = "onto an existing file" if self.old is not None else "a new file"
        if self.send_object:
            kind += " with SendObject"
        return f"seed {seed}, {mode} run {self.index} ({kind}, {where})"


def plan(rng: random.Random, served: Path, local: Path, *, moments: bool) -> list[Run]:
    """RUNS uploads, every other one onto an existing file (made now, before the device
    starts), one new file in four through SendObject instead of an edit. ``moments``: a third
    of the runs stop at a random moment instead of an offset."""
    runs = []
    for i in range(RUNS):
        size = rng.randrange(64 * 1024, 768 * 1024)
        new = rng.randbytes(size)
        old: bytes | None = None
        name = f"new-{i}.bin"
        if i % 2:
            name = f"old-{i}.bin"
            old = rng.randbytes(rng.randrange(1, 512 * 1024))
            (served / name).write_bytes(old)
        src = local / name
        src.write_bytes(new)
        at_moment = moments and i % 3 == 2
        runs.append(
            Run(
                i,
                name,
                src,
                new,
                old,
                None if at_moment else rng.randrange(0, size + 1),
                rng.random(),
                send_object=i % 4 == 0,
            )
        )
    return runs


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Path, Path, Forker]]:
    served, local, state = tmp_path / "served", tmp_path / "local", tmp_path / "state"
    for folder in (served, local, state):
        folder.mkdir()
    (served / "keep").mkdir()
    (served / "keep" / "other.txt").write_bytes(b"never touched\n")
    forker = Forker(tmp_path / "client.log")
    try:
        yield served, local, state, forker
    finally:
        forker.close()


def calibrate(server: WpdServer, forker: Forker, local: Path, tree: Tree, tmp: Path) -> float:
    """One upload that is not stopped: it must arrive whole; returns how long it took."""
    data = random.Random(0).randbytes(512 * 1024)
    src = local / "calibrate.bin"
    src.write_bytes(data)
    run = Run(-1, "calibrate.bin", src, data, None, None, 0.0)
    flag = tmp / "calibrate.flag"
    started = time.monotonic()
    forker.start(run.job(f"ptpip://127.0.0.1:{server.port}", flag))
    assert wait_flag(flag, forker, "calibration") == "done"
    duration = time.monotonic() - started
    tree.settle({run.name: [data]}, server.proc.pid, "calibration")
    return duration


def restart(server: WpdServer, served: Path, state: Path, log: Path) -> WpdServer:
    server.stop()
    return start_wpd(served, state, log)


def test_killing_the_client_leaves_the_old_file_or_the_new(
    setup: tuple[Path, Path, Path, Forker], tmp_path: Path, seed: int
) -> None:
    served, local, state, forker = setup
    rng = random.Random(seed)
    tree = Tree(served)
    runs = plan(rng, served, local, moments=True)
    server = start_wpd(served, state, tmp_path / "serve.log")
    try:
        tree.expected = snapshot(served)
        duration = calibrate(server, forker, local, tree, tmp_path)
        for run in runs:
            what = run.describe("client-kill", seed)
            flag = tmp_path / f"a{run.index}.flag"
            pid = forker.start(run.job(f"ptpip://127.0.0.1:{server.port}", flag))
            if run.pause_at is not None:
                assert wait_flag(flag, forker, what) == "paused", what
            else:
                time.sleep(run.moment * duration * 1.2)
            kill(pid)
            tree.settle({run.name: run.allowed}, server.proc.pid, what)
        server = restart(server, served, state, tmp_path / "serve2.log")
        tree.unchanged(f"seed {seed}, client-kill: after restarting the device")
    finally:
        server.stop()


#: uploads under way at once when the device is killed (each stopped at its own point), so
#: that the 50 runs take 10 restarts of the device, not 50
BATCH = 5


def test_killing_the_device_leaves_the_old_file_or_the_new(
    setup: tuple[Path, Path, Path, Forker], tmp_path: Path, seed: int
) -> None:
    served, local, state, forker = setup
    rng = random.Random(seed + 1)
    tree = Tree(served)
    runs = plan(rng, served, local, moments=True)
    log = tmp_path / "serve.log"
    server = start_wpd(served, state, log)
    try:
        tree.expected = snapshot(served)
        duration = calibrate(server, forker, local, tree, tmp_path)
        for first in range(0, len(runs), BATCH):
            batch = runs[first : first + BATCH]
            url = f"ptpip://127.0.0.1:{server.port}"
            pids = []
            for run in batch:
                if run.pause_at is not None:
                    flag = tmp_path / f"b{run.index}.flag"
                    pids.append(forker.start(run.job(url, flag)))
                    what = run.describe("device-kill", seed)
                    assert wait_flag(flag, forker, what) == "paused", what
            # the others start so that the kill comes at their moment
            delays = {run.index: run.moment * duration * 1.2 for run in batch}
            timed = sorted(
                (run for run in batch if run.pause_at is None), key=lambda r: -delays[r.index]
            )
            kill_at = time.monotonic() + max((delays[r.index] for r in timed), default=0.0)
            for run in timed:
                time.sleep(max(0.0, kill_at - delays[run.index] - time.monotonic()))
                pids.append(forker.start(run.job(url, tmp_path / f"b{run.index}.flag")))
            time.sleep(max(0.0, kill_at - time.monotonic()))
            server.proc.kill()
            server.proc.wait()
            assert server.proc.stdout is not None
            server.proc.stdout.close()
            for pid in pids:
                kill(pid)
            # what the killed device left is removed when it starts again (before it serves)
            server = start_wpd(served, state, log)
            what = "; ".join(run.describe("device-kill", seed) for run in batch)
            tree.settle({run.name: run.allowed for run in batch}, server.proc.pid, what)
        tree.unchanged(f"seed {seed}, device-kill: at the end")
    finally:
        server.stop()


class CuttingProxy:
    """Forwards TCP connections to ``upstream`` and, once ``cut_at`` bytes went from the
    client to the device (both PTP/IP connections together), resets every connection."""

    def __init__(self, upstream: int, cut_at: int) -> None:
        self.upstream = upstream
        self.cut_at = cut_at
        self.forwarded = 0
        self.cut = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        peer: dict[socket.socket, tuple[socket.socket, bool]] = {}
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.02):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        client, _ = sock.accept()
                        if self.cut:
                            self._reset(client)
                            continue
                        device = socket.create_connection(("127.0.0.1", self.upstream))
                        peer[client] = (device, True)
                        peer[device] = (client, False)
                        sel.register(client, selectors.EVENT_READ)
                        sel.register(device, selectors.EVENT_READ)
                        continue
                    if sock not in peer:
                        continue
                    other, to_device = peer[sock]
                    try:
                        data = sock.recv(256 * 1024)
                    except OSError:
                        data = b""
                    if to_device and data and self.forwarded + len(data) >= self.cut_at:
                        data = data[: self.cut_at - self.forwarded]
                        self._send(other, data)
                        self.forwarded += len(data)
                        self.cut = True
                        for s in list(peer):
                            sel.unregister(s)
                            self._reset(s)
                        peer.clear()
                        continue
                    if not data:
                        for s in (sock, other):
                            sel.unregister(s)
                            peer.pop(s, None)
                            s.close()
                        continue
                    if to_device:
                        self.forwarded += len(data)
                    self._send(other, data)
        finally:
            for s in peer:
                s.close()
            sel.close()
            self._listener.close()

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the other side is gone: its recv() says so
            sock.sendall(data)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # SO_LINGER 0: close() sends a RST, as a cut cable's timeout or a dead NAT would
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()


def test_cutting_the_connection_leaves_the_old_file_or_the_new(
    setup: tuple[Path, Path, Path, Forker], tmp_path: Path, seed: int
) -> None:
    served, local, state, forker = setup
    rng = random.Random(seed + 2)
    tree = Tree(served)
    runs = plan(rng, served, local, moments=False)
    server = start_wpd(served, state, tmp_path / "serve.log")
    try:
        tree.expected = snapshot(served)
        for run in runs:
            assert run.pause_at is not None
            # the client's bytes: the handshake and the operations (a few KiB), then the data
            cut_at = rng.randrange(0, len(run.new) + 8 * 1024)
            what = run.describe("connection-cut", seed) + f", cut after {cut_at} bytes"
            proxy = CuttingProxy(server.port, cut_at)
            flag = tmp_path / f"c{run.index}.flag"
            job = run.job(f"ptpip://127.0.0.1:{proxy.port}", flag)
            job["pause_at"] = None
            try:
                pid = forker.start(job)
                outcome = wait_flag(flag, forker, what)
            finally:
                proxy.close()
            kill(pid)
            if not proxy.cut:
                assert outcome == "done", f"{what}: {outcome}"
            tree.settle({run.name: run.allowed}, server.proc.pid, what)
        server = restart(server, served, state, tmp_path / "serve2.log")
        tree.unchanged(f"seed {seed}, connection-cut: after restarting the device")
    finally:
        server.stop()
