"""First contact: find umtprd on the bus, open a session, read DeviceInfo and the storages."""

from __future__ import annotations

from usb_mtp import DEVICE_URL, ok, storage_ids, storage_info

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.usb_codec import MtpMatch
from openwpd.transport.usb import list_usb_devices, open_usb_link


def test_list_usb_devices_finds_umtprd() -> None:
    devices = list_usb_devices()
    umtprd = [d for d in devices if (d.vid, d.pid) == (0x1D6B, 0x0100)]
    assert len(umtprd) == 1, devices
    dev = umtprd[0]
    assert dev.url == DEVICE_URL
    assert dev.serial == "01234567"
    assert dev.match is MtpMatch.STILL_IMAGE
    assert dev.interface_name == "MTP"
    assert dev.manufacturer == "Viveris Technologies"
    assert dev.node.startswith("/dev/bus/usb/")


async def test_session_device_info_storages(runner: TransactionRunner) -> None:
    info = DeviceInfo.from_bytes((await ok(runner, OperationCode.GET_DEVICE_INFO)).data)
    assert info.manufacturer == "Viveris Technologies"
    ids = await storage_ids(runner)
    assert len(ids) == 1
    assert (await storage_info(runner, ids[0])).storage_description == "shared folder"


async def test_device_info_outside_a_session_is_refused() -> None:
    # umtprd 1.3.10 quirk: GetDeviceInfo only inside a session (0x2003 outside)
    link = await open_usb_link(DEVICE_URL)
    runner = TransactionRunner(link)
    try:
        res = await runner.transact(OperationCode.GET_DEVICE_INFO)
        assert res.code == ResponseCode.SESSION_NOT_OPEN
    finally:
        await runner.aclose()


async def test_open_by_bus_address() -> None:
    dev = next(d for d in list_usb_devices() if d.vid == 0x1D6B)
    link = await open_usb_link(f"usb://{dev.bus}:{dev.address}")
    try:
        assert link.info.serial == "01234567"
    finally:
        await link.aclose()


def test_the_wpd_manager_lists_usb_devices_beside_named_ones() -> None:
    from openwpd.wpd import PortableDeviceManager

    manager = PortableDeviceManager(devices=["ptpip://127.0.0.1:1"])
    devices = manager.get_devices()
    assert devices[0] == "ptpip://127.0.0.1:1"  # named devices first, then the ones found
    assert DEVICE_URL in devices
