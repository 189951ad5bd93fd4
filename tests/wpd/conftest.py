"""Fixtures for the WPD API: a virtual device served from a thread of its own.

The WPD API is synchronous and runs the client on its own background loop, so the device must
not live on the test's event loop (a blocking WPD call would stop it): :class:`ThreadedDevice`
runs a :class:`~openwpd.server.device.VirtualDevice` on a loop in a separate thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wpd_support import ThreadedDevice, client_info

from openwpd.wpd import PortableDevice


@pytest.fixture
def vdev(tmp_path: Path) -> Iterator[ThreadedDevice]:
    root = tmp_path / "served"
    root.mkdir()
    dev = ThreadedDevice(root, tmp_path / "state")
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def opened(vdev: ThreadedDevice) -> Iterator[PortableDevice]:
    """A PortableDevice open on ``vdev``."""
    device = PortableDevice()
    device.open(vdev.url, client_info())
    try:
        yield device
    finally:
        device.close()
