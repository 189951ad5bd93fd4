"""Shared fixtures: a virtual device on an ephemeral loopback port over a temp folder, and a raw
initiator (transaction runner) connected to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

# Tests never send to the machine's network, multicast included: a `wpd serve` started by any
# test (fixtures of every scope, subprocesses too) makes no DNS-SD announcement, and nothing
# browses, unless a test says otherwise inside a network namespace of its own
# (tests/cli/test_discovery.py).
os.environ["OPENWPD_NO_ADVERTISE"] = "1"
os.environ["OPENWPD_BROWSE_SECONDS"] = "0"


@pytest.fixture(autouse=True)
def _no_browsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing devices browses the network for PTP/IP devices (DNS-SD); tests must not touch
    the machine's network, so browsing is off unless a test (tests/cli/test_discovery.py, inside
    its own network namespace) turns it on."""
    monkeypatch.setenv("OPENWPD_BROWSE_SECONDS", "0")


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The folder the device serves (storage "Phone")."""
    root = tmp_path / "served"
    root.mkdir()
    return root


@pytest.fixture
async def device(served: Path, tmp_path: Path) -> AsyncIterator[tuple[VirtualDevice, int]]:
    dev = VirtualDevice(
        [StorageSpec(served, "Phone")], state_dir=tmp_path / "state", friendly_name="test device"
    )
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        yield dev, port
    finally:
        await dev.aclose()


@pytest.fixture
async def runner(device: tuple[VirtualDevice, int]) -> AsyncIterator[TransactionRunner]:
    r = await connect(device[1])
    try:
        yield r
    finally:
        await r.aclose()
