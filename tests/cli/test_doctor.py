"""``wpd doctor`` and ``wpd udev-rules`` on this machine: the checks that run here (PTP/IP
reachability against our own device, processes known to grab devices, FUSE, udev rules) and the
rules text. The USB checks against a real device run in the lab VM (tests/usb/test_doctor.py)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Phone
from click.testing import CliRunner

from openwpd.cli import main
from openwpd.client.doctor import Status, check_fuse, check_grabbers, check_usb_visible
from openwpd.transport.udev import udev_rules


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doctor(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["doctor", *args], env={"OPENWPD_DEVICES": "", **(env or {})})


def test_doctor_reaches_a_configured_ptpip_device(phone: Phone) -> None:
    result = _doctor("-d", phone.url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"OK    {phone.url}: TCP port reachable" in lines
    assert any(line.startswith("OK    libusb: libusb 1.") for line in lines)
    # one line per check, each OK, WARN or FAIL
    assert all(line.split()[0] in ("OK", "WARN", "FAIL") for line in lines)


def test_doctor_fails_for_an_unreachable_device() -> None:
    url = f"ptpip://127.0.0.1:{_closed_port()}"
    result = _doctor(env={"OPENWPD_DEVICE": url})
    assert result.exit_code == 1, result.output
    assert any(
        line.startswith(f"FAIL  {url}: not reachable") and "PTP/IP enabled" in line
        for line in result.output.splitlines()
    )
    assert "wpd: 1 check(s) failed" in result.output


def test_doctor_json(phone: Phone) -> None:
    result = _doctor("--json", "-d", phone.url)
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)
    names = [c["name"] for c in checks]
    for name in ("libusb", "usb devices", "udev rules", "device grabbers", "fuse", phone.url):
        assert name in names
    assert {c["status"] for c in checks} <= {"OK", "WARN", "FAIL"}


@pytest.fixture
def gvfsd_mtp(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process named like GNOME's MTP backend (a copy of sleep)."""
    program = tmp_path / "gvfsd-mtp"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    proc = subprocess.Popen([str(program), "60"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_grabbers_names_a_running_file_manager_service(
    gvfsd_mtp: subprocess.Popen[bytes],
) -> None:
    deadline = time.monotonic() + 10  # a loaded machine may show the new process late
    while (check := check_grabbers()).status is not Status.WARN and time.monotonic() < deadline:
        time.sleep(0.05)
    assert check.status is Status.WARN
    assert f"pid {gvfsd_mtp.pid} gvfsd-mtp (GNOME's MTP backend" in check.detail
    assert "unmount" in check.hint
    gvfsd_mtp.kill()
    gvfsd_mtp.wait()
    assert f"pid {gvfsd_mtp.pid} " not in check_grabbers().detail


def test_fuse_and_usb_checks_say_what_is_missing(tmp_path: Path) -> None:
    fuse = check_fuse(tmp_path / "fuse")
    assert fuse.status is Status.WARN
    assert "wpd mount" in fuse.detail
    usb = check_usb_visible([], tmp_path / "bus")
    assert usb.status is Status.WARN
    assert str(tmp_path / "bus") in usb.detail
    assert check_usb_visible([], tmp_path).status is Status.WARN  # a bus, but no devices


def test_udev_rules_prints_and_installs(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(main, ["udev-rules"])
    assert printed.exit_code == 0
    assert printed.output == udev_rules()
    grouped = runner.invoke(main, ["udev-rules", "--group", "plugdev", "--mode", "0664"])
    assert grouped.output == udev_rules(mode="0664", group="plugdev")
    target = tmp_path / "69-openwpd.rules"
    installed = runner.invoke(main, ["udev-rules", "--install", "--output", str(target)])
    assert installed.exit_code == 0, installed.output
    assert target.read_text() == udev_rules()
    assert "udevadm control --reload" in installed.output


def test_udev_rules_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["udev-rules", "--mode", "777"])
    assert bad.exit_code == 2
    assert "four octal digits" in bad.output
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    nowhere = runner.invoke(main, ["udev-rules", "--install", "--output", str(a_file / "x")])
    assert nowhere.exit_code == 6
    assert f"cannot write {a_file / 'x'}" in nowhere.output
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        denied = runner.invoke(
            main, ["udev-rules", "--install", "--output", str(locked / "x.rules")]
        )
    finally:
        locked.chmod(0o700)
    if denied.exit_code == 0:
        pytest.skip("running as root: the folder is writable anyway")
    assert denied.exit_code == 6
    assert "sudo wpd udev-rules --install" in denied.output
    assert list(locked.iterdir()) == []
    assert a_file.read_text() == ""
