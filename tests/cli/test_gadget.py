"""``wpd gadget up|down`` and ``wpd serve --usb`` on a machine that cannot be a USB device
(this one: no USB Device Controller): one ``wpd:`` line saying what is missing, exit code 4,
nothing created. (Where they work is shown in the lab VM: tests/gadget.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openwpd.transport import configfs

pytestmark = pytest.mark.skipif(
    bool(configfs.udcs()) and os.geteuid() == 0,
    reason="this machine could really become a USB gadget",
)


def _wpd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openwpd.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 4, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wpd: "), result.stderr
    return lines[0]


def test_gadget_up_says_what_is_missing(tmp_path: Path) -> None:
    line = _one_line(_wpd("gadget", "up", "--ffs-dir", str(tmp_path / "ffs")))
    assert "root" in line or "configfs" in line or "USB Device Controller" in line
    assert not (tmp_path / "ffs").exists()


def test_serve_usb_without_functionfs_says_what_is_missing(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    line = _one_line(_wpd("serve", "--usb", "--ffs-dir", str(tmp_path / "nothing"), str(served)))
    assert "no FunctionFS at" in line and "wpd gadget up" in line
    line = _one_line(_wpd("serve", "--usb", str(served)))
    assert "root" in line or "configfs" in line or "USB Device Controller" in line


def test_gadget_options_are_checked() -> None:
    result = _wpd("gadget", "up", "--vid", "xyz")
    assert result.returncode == 2 and "hexadecimal" in result.stderr
