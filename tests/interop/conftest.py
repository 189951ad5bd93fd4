"""Fixtures for interop tests: ``wpd serve`` as a user runs it, and the real gphoto2 CLI.

The device runs in a subprocess started through the ``wpd`` console script that sits next to
the test interpreter; it is stopped with SIGTERM and must exit 0 promptly, leaving no temporary
file in the folder it served. gphoto2 runs with a fresh ``HOME`` per test (it keeps its PTP/IP
GUID in ``$HOME/.gphoto/settings``) and ``LANG=C.UTF-8``.

In CI (``CI=true``) a missing gphoto2 is a failure, never a skip: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: How long the device may take to print its first line / to exit after SIGTERM.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
#: gphoto2 runs are short; this only stops a hung one from eating the test timeout.
GPHOTO_TIMEOUT = 60.0

FIRST_LINE = re.compile(r"^serving ptpip://127\.0\.0\.1:(\d+)$")
TEMP_FILE = re.compile(r"^\.openwpd-.*\.part$")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def wpd_script() -> Path:
    """The ``wpd`` console script of the interpreter running the tests."""
    script = Path(sys.executable).parent / "wpd"
    if not script.exists():  # pragma: no cover - a broken install
        pytest.fail(f"the wpd console script is missing next to {sys.executable}")
    return script


@pytest.fixture(scope="session")
def gphoto2_bin() -> str:
    found = shutil.which("gphoto2")
    if found is None:
        if in_ci():
            pytest.fail(
                "gphoto2 is not installed: the interop tests must run in CI "
                "(.ci/run installs it with apt-get install gphoto2)"
            )
        pytest.skip("gphoto2 is not installed (apt-get install gphoto2)")
    return found


def temp_files(root: Path) -> list[Path]:
    """Every file or folder under ``root`` that looks like one of the device's temp files."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if TEMP_FILE.match(name) or name.startswith(".openwpd"):
                found.append(Path(dirpath) / name)
    return found


@dataclass
class WpdServer:
    """A running ``wpd serve`` subprocess."""

    proc: subprocess.Popen[str]
    port: int
    served: Path
    log: Path

    def stop(self) -> None:
        """SIGTERM; the device must exit 0 promptly and leave no temp file behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"wpd serve did not exit within {STOP_TIMEOUT} s of SIGTERM")
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        stderr = self.log.read_text(errors="replace")
        assert rc == 0, f"wpd serve exited with {rc}; stderr:\n{stderr}"
        assert temp_files(self.served) == [], "temp files left in the served folder"


def start_wpd(
    served: Path, state_dir: Path, log: Path, *extra: str, read_only: bool = False
) -> WpdServer:
    """Start ``wpd serve SERVED:Phone[:ro] --port 0`` (stderr to ``log``) and wait for its
    first line."""
    spec = f"{served}:Phone" + (":ro" if read_only else "")
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [
                str(wpd_script()),
                "serve",
                spec,
                "--port",
                "0",
                "--state-dir",
                str(state_dir),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    match = FIRST_LINE.match(line.rstrip("\n"))
    if match is None:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        pytest.fail(
            f"wpd serve did not start: first line {line!r}; stderr:\n"
            + log.read_text(errors="replace")
        )
    return WpdServer(proc, int(match.group(1)), served, log)


@pytest.fixture
def wpd_factory(tmp_path: Path) -> Iterator[Callable[..., WpdServer]]:
    """Call ``wpd_factory(served)`` (after populating ``served``) to start the device; it is
    stopped and checked at teardown."""
    servers: list[WpdServer] = []

    def start(served: Path, *extra: str, read_only: bool = False) -> WpdServer:
        log = tmp_path / f"wpd-serve-{len(servers)}.log"
        server = start_wpd(served, tmp_path / "state", log, *extra, read_only=read_only)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class Gphoto:
    """Runs gphoto2 against one device port with its own HOME."""

    binary: str
    port: int
    home: Path
    cwd: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [
            self.binary,
            "--camera",
            "PTP/IP Camera",
            "--port",
            f"ptpip:127.0.0.1:{self.port}:{self.port}",
            *args,
        ]
        env = dict(os.environ, HOME=str(self.home), LANG="C.UTF-8", LC_ALL="C.UTF-8")
        done = subprocess.run(
            cmd,
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            timeout=GPHOTO_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"gphoto2 {' '.join(args)} failed ({done.returncode}):\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done


@pytest.fixture
def gphoto_factory(gphoto2_bin: str, tmp_path: Path) -> Callable[[int], Gphoto]:
    """``gphoto_factory(port)``: a gphoto2 runner with a fresh HOME; it downloads into
    ``tmp_path / "download"``."""

    def make(port: int) -> Gphoto:
        home = tmp_path / "home"
        cwd = tmp_path / "download"
        home.mkdir(exist_ok=True)
        cwd.mkdir(exist_ok=True)
        return Gphoto(gphoto2_bin, port, home, cwd)

    return make
