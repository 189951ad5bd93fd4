"""Running ``wpd serve`` as a user does (the console script next to the test interpreter, in a
subprocess) and running the gphoto2 CLI against it. Shared by tests/interop and tests/cli;
importable as ``wpd_process`` (pytest puts tests/ on the path).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import nameless_files

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


def temp_files(root: Path, pid: int | None = None) -> list[Path]:
    """Every file or folder under ``root`` that looks like one of the device's temp files, and
    (given the device's ``pid``) its nameless open temp files there (``/proc/PID/fd/N``)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if TEMP_FILE.match(name) or name.startswith(".openwpd"):
                found.append(Path(dirpath) / name)
    if pid is not None:
        found += [Path(link) for link in nameless_files(root, pid)]
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


def spawn_wpd(args: list[str], log: Path) -> subprocess.Popen[str]:
    """``wpd ARGS...`` with stdout piped (text) and stderr going to ``log``."""
    with open(log, "wb") as err:
        return subprocess.Popen(
            [str(wpd_script()), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )


def first_line(proc: subprocess.Popen[str], timeout: float = START_TIMEOUT) -> str:
    """The first line ``proc`` prints ("" if it printed none within ``timeout`` or exited)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().rstrip("\n") if ready else ""


def start_wpd(
    served: Path, state_dir: Path, log: Path, *extra: str, read_only: bool = False
) -> WpdServer:
    """Start ``wpd serve SERVED:Phone[:ro] --port 0`` (stderr to ``log``) and wait for its
    first line."""
    spec = f"{served}:Phone" + (":ro" if read_only else "")
    proc = spawn_wpd(["serve", spec, "--port", "0", "--state-dir", str(state_dir), *extra], log)
    line = first_line(proc)
    match = FIRST_LINE.match(line)
    if match is None:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        pytest.fail(
            f"wpd serve did not start: first line {line!r}; stderr:\n"
            + log.read_text(errors="replace")
        )
    return WpdServer(proc, int(match.group(1)), served, log)


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
