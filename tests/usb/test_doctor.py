"""``wpd devices`` and ``wpd doctor`` against a real USB MTP device (umtprd): a device that
opens, one held by another process (named), one this user may not open (run as nobody)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from usb_mtp import DEVICE_URL

#: each test starts `wpd` two or three times, a few seconds each under the VM's emulation
pytestmark = pytest.mark.timeout(300)

CHECKOUT = Path(__file__).resolve().parents[2]
NOBODY = 65534

HOLDER = """
import sys, time, usb1
ctx = usb1.USBContext().open()
handle = ctx.openByVendorIDAndProductID(0x1D6B, 0x0100)
handle.claimInterface(0)
print("holding", flush=True)
time.sleep(120)
"""


def wpd(*args: str, user: int | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The checkout's ``wpd`` in a process of its own (as ``user`` when given)."""
    env = dict(
        os.environ,
        PYTHONPATH=str(CHECKOUT / "src"),
        XDG_STATE_HOME=str(tmp / "state"),
        HOME=str(tmp),
        OPENWPD_DEVICES="",
        OPENWPD_DEVICE="",
    )

    def drop() -> None:
        if user is not None:
            os.setgroups([])
            os.setgid(user)
            os.setuid(user)

    return subprocess.run(
        [sys.executable, "-m", "openwpd.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp,
        preexec_fn=drop,
    )


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A folder the unprivileged runs can use too (pytest's tmp_path is under a 0700 folder)."""
    path = Path(tempfile.mkdtemp(prefix="openwpd-doctor-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "--pretend-to-be-a-file-manager"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "holding"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        time.sleep(0.2)


def _line(output: str, start: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(start)]
    assert lines, output
    return lines[0]


def test_devices_and_doctor_see_umtprd(tmp: Path) -> None:
    devices = wpd("devices", tmp=tmp)
    assert devices.returncode == 0, devices.stderr
    line = _line(devices.stdout, DEVICE_URL)
    assert "unreachable" not in line
    doctor = wpd("doctor", tmp=tmp)
    assert _line(doctor.stdout, "OK    libusb: libusb 1.")
    assert _line(doctor.stdout, "OK    mtp/ptp devices: 1 MTP/PTP device(s)")
    assert _line(doctor.stdout, f"OK    {DEVICE_URL} (").endswith("can be opened")
    assert "FAIL" not in doctor.stdout, doctor.stdout
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_devices_and_doctor_name_the_process_holding_it(
    tmp: Path, holder: subprocess.Popen[str]
) -> None:
    devices = wpd("devices", tmp=tmp)
    line = _line(devices.stdout, DEVICE_URL)
    assert "in use by another program" in line
    assert f"pid {holder.pid}" in line
    doctor = wpd("doctor", tmp=tmp)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    line = _line(doctor.stdout, f"FAIL  {DEVICE_URL} (")
    assert f"held by pid {holder.pid}" in line
    assert "--pretend-to-be-a-file-manager" in line
    assert f"kill {holder.pid}" in line
    assert "wpd: 1 check(s) failed" in doctor.stderr


def test_devices_and_doctor_say_permission_denied(tmp: Path) -> None:
    devices = wpd("devices", user=NOBODY, tmp=tmp)
    # without permission the serial number cannot be read: the device is named by bus:address
    line = _line(devices.stdout, "usb://")
    assert "unreachable: " in line
    assert "permission denied on /dev/bus/usb/" in line
    doctor = wpd("doctor", user=NOBODY, tmp=tmp)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    line = _line(doctor.stdout, "FAIL  usb://")
    assert "permission denied on /dev/bus/usb/" in line
    assert "wpd udev-rules --install" in line
