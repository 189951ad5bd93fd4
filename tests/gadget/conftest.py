"""Fixtures of the gadget suite: openwpd's virtual device as the lab VM's USB gadget (umtprd is
stopped meanwhile), its storage folder, and helpers to run the host programs.

Outside the VM nothing here is collected: the suite runs through `tools/usbvm/usbvm test`.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from gadget_lab import Device, wpd

IN_VM = os.environ.get("OPENWPD_USBVM") == "1"

if not IN_VM:
    collect_ignore_glob = ["test_*.py"]

STORE = Path("/srv/openwpd-store")
RESPONDER = Path(__file__).resolve().parents[2] / "tools" / "usbvm" / "guest" / "responder.sh"


@pytest.fixture(scope="session")
def device() -> Iterator[Device]:
    """Our device on the bus (started once; a test that kills it gets a fresh one)."""
    subprocess.run(["sh", str(RESPONDER), "down"], check=False, timeout=60)
    STORE.mkdir(parents=True, exist_ok=True)
    up = wpd("gadget", "up")
    assert "up" in up.stdout, up.stderr
    dev = Device(STORE, Path("/tmp/openwpd-gadget/state"))
    dev.state.mkdir(parents=True, exist_ok=True)
    dev.start()
    try:
        yield dev
    finally:
        dev.stop()
        down = wpd("gadget", "down", check=False)
        assert down.returncode == 0, down.stderr


@pytest.fixture(autouse=True)
def _device_survives(request: pytest.FixtureRequest) -> Iterator[None]:
    if "device" not in request.fixturenames:
        yield
        return
    dev: Device = request.getfixturevalue("device")
    if not dev.alive():
        dev.start()
    yield
    if not dev.alive():
        tail = dev.log.read_text()[-3000:] if dev.log.exists() else ""
        dev.start()
        pytest.fail(f"the device died during this test:\n{tail}")


@pytest.fixture
def folder(device: Device) -> Path:
    """A fresh folder of this test in the device's storage."""
    path = STORE / f"t-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path
