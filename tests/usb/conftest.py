"""Fixtures of the USB suite: umtprd (a real third-party USB MTP device, Debian's umtp-responder
1.3.10) on the lab VM's dummy_hcd bus, its storage folder, and raw links/runners on it.

Outside the VM (the host's `make test` collects tests/) nothing here is collected: the suite runs
through `tools/usbvm/usbvm test`, which says so when it cannot run and fails under CI.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from usb_lab import responder, umtprd_alive

IN_VM = os.environ.get("OPENWPD_USBVM") == "1"

if not IN_VM:
    collect_ignore_glob = ["test_*.py"]

DEVICE_URL = "usb://1d6b:0100/01234567"  # as in usb_mtp (imported lazily: it needs openwpd)
STORE = Path("/var/lib/umtp")


@pytest.fixture(autouse=True)
def _umtprd_survives() -> Iterator[None]:
    """Every test must leave umtprd alive; if it died, this test is blamed and a fresh one is
    started for the next test (so one crash does not fail the rest of the suite)."""
    if not umtprd_alive():
        responder("restart")
    yield
    if not umtprd_alive():
        responder("restart")
        pytest.fail("umtprd died during this test (see dmesg.log / umtprd.log of the VM job)")


@pytest.fixture
def folder() -> Path:
    """A fresh folder of this test in umtprd's storage root.

    It is left in place afterwards: umtprd 1.3.10 segfaults when a folder it watches (inotify)
    is deleted from under it, and the VM's root file system is thrown away anyway.
    """
    path = STORE / f"t-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


@pytest.fixture
async def link() -> AsyncIterator[object]:
    from openwpd.transport.usb import open_usb_link

    usb_link = await open_usb_link(DEVICE_URL)
    try:
        yield usb_link
    finally:
        await usb_link.aclose()


@pytest.fixture
async def runner(link: object) -> AsyncIterator[object]:
    """A TransactionRunner with an open session (umtprd wants one before GetDeviceInfo)."""
    from openwpd.client.wire import TransactionRunner
    from openwpd.protocol.codes import OperationCode, ResponseCode
    from openwpd.protocol.transaction import Timeouts

    r = TransactionRunner(link, timeouts=Timeouts(response=20.0, cancel_budget=8.0))  # type: ignore[arg-type]
    res = await r.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN)
    try:
        yield r
    finally:
        if r.broken is None:
            with contextlib.suppress(Exception):
                await r.transact(OperationCode.CLOSE_SESSION)
        await r.aclose()
