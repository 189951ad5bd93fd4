"""The ``umtprd`` device profile (openwpd.protocol.profiles) against the real umtprd 1.3.10:
every behaviour the profile's imitation claims is probed here on the real device and compared
with the profile data, so ``wpd serve --profile umtprd`` stays an honest imitation."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from usb_lab import responder
from usb_mtp import find, ok, storage_ids

from openwpd.client.quirks import policy_for_usb
from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo, ObjectPropList
from openwpd.protocol.profiles import PROP_LIST_DEPTH_IGNORED, profile_named
from openwpd.protocol.transaction import Timeouts

PROFILE = profile_named("umtprd")
IMITATION = PROFILE.device
assert IMITATION is not None
Op = OperationCode


async def test_device_info_outside_a_session(link: object) -> None:
    runner = TransactionRunner(link, timeouts=Timeouts(response=20.0, cancel_budget=8.0))  # type: ignore[arg-type]
    res = await runner.transact(Op.GET_DEVICE_INFO)
    refused = res.code == ResponseCode.SESSION_NOT_OPEN
    assert refused is IMITATION.device_info_needs_session, f"GetDeviceInfo -> 0x{res.code:04X}"


async def test_identity_and_operations(runner: TransactionRunner) -> None:
    info = DeviceInfo.from_bytes((await ok(runner, Op.GET_DEVICE_INFO)).data)
    # the client recognises it (on its USB identity and on DeviceInfo) ...
    assert "umtprd" in policy_for_usb(0x1D6B, 0x0100, info.manufacturer).profiles
    assert any(m.matches(None, None, info.manufacturer, "", "") for m in PROFILE.matches)
    # ... and the imitation says what it says
    assert info.manufacturer == IMITATION.manufacturer
    assert IMITATION.vendor_extensions is not None
    for name, _version in IMITATION.vendor_extensions:
        assert name in info.vendor_extension_desc
    for op in IMITATION.withheld:
        assert op not in info.operations_supported, Op(op).name


async def test_prop_list_depth(runner: TransactionRunner, folder: Path) -> None:
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, folder.name)
    res = await ok(runner, Op.GET_OBJECT_PROP_LIST, (handle, 0, ALL, 0, 1))
    listed = {e.handle for e in ObjectPropList.from_bytes(res.data).elements}
    ignored = listed == {handle}  # the folder's own properties instead of its children's
    assert ignored is (IMITATION.prop_list == PROP_LIST_DEPTH_IGNORED), listed


async def test_all_storage_listing_stalls(link: object) -> None:
    """Run last in this file: it wedges umtprd, which is restarted afterwards."""
    runner = TransactionRunner(link, timeouts=Timeouts(response=5.0, cancel_budget=3.0))  # type: ignore[arg-type]
    try:
        await ok(runner, Op.OPEN_SESSION, (1,))
        storage = (await storage_ids(runner))[0]
        stalled = False
        try:
            async with asyncio.timeout(30):
                await runner.transact(Op.GET_OBJECT_HANDLES, (ALL, 0, ALL))
                # the mutex it leaves locked stalls the next listing
                await runner.transact(Op.GET_OBJECT_HANDLES, (storage, 0, ALL))
        except Exception:  # a timeout of some kind: the listing never came
            stalled = True
        assert stalled is IMITATION.all_storages_stall
    finally:
        with contextlib.suppress(Exception):
            await runner.aclose()
        responder("restart")
