"""Handle.capture() and Handle.device_properties() against the virtual device as a camera."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client import open_connection
from openwpd.client.camera import DeviceProperty, label, parse_value, property_code
from openwpd.protocol.codes import DataType, DevicePropCode, ResponseCode
from openwpd.protocol.errors import Cancelled, ResponseError
from openwpd.server.device import StorageSpec, VirtualDevice

DP = DevicePropCode


@pytest.fixture
async def camera(tmp_path: Path) -> AsyncIterator[tuple[VirtualDevice, str, Path]]:
    card = tmp_path / "card"
    card.mkdir()
    dev = VirtualDevice([StorageSpec(card, "Card")], state_dir=tmp_path / "state", camera=True)
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        yield dev, f"ptpip://127.0.0.1:{port}", card
    finally:
        await dev.aclose()


async def test_capture_returns_the_new_pictures(camera: tuple[VirtualDevice, str, Path]) -> None:
    _, url, card = camera
    async with open_connection(url, client_name="pytest") as conn, conn.open_handle() as h:
        await h.set_device_property(DP.IMAGE_SIZE, "320x240")
        (one,) = await h.capture()
        assert one.name == "IMG_0001.JPG" and not one.is_folder
        assert one.size == (card / "DCIM" / "100OWPD" / "IMG_0001.JPG").stat().st_size
        await h.set_device_property(DP.STILL_CAPTURE_MODE, 2)
        await h.set_device_property(DP.BURST_NUMBER, 3)
        burst = await h.capture()
        assert [e.name for e in burst] == ["IMG_0002.JPG", "IMG_0003.JPG", "IMG_0004.JPG"]
        assert await h.read(burst[0]) == (card / "DCIM/100OWPD/IMG_0002.JPG").read_bytes()


async def test_cancel_of_a_pending_capture(camera: tuple[VirtualDevice, str, Path]) -> None:
    dev, url, card = camera
    async with open_connection(url, client_name="pytest") as conn:
        h = conn.open_handle()
        await h.set_device_property(DP.CAPTURE_DELAY, 10000)
        task = asyncio.create_task(h.capture())
        assert dev.camera is not None
        for _ in range(500):
            if dev.camera.busy:
                break
            await asyncio.sleep(0.01)
        # the camera is one for every session: a second connection finds it busy
        async with open_connection(url, client_name="other") as second:
            with pytest.raises(ResponseError) as busy:
                await second.open_handle().capture()
        assert busy.value.code == ResponseCode.DEVICE_BUSY
        await h.cancel()
        with pytest.raises(Cancelled):
            await task
        assert not (card / "DCIM" / "100OWPD").exists() or not any(
            (card / "DCIM" / "100OWPD").iterdir()
        )
        assert not dev.camera.busy
        await h.set_device_property(DP.CAPTURE_DELAY, 0)
        assert [e.name for e in await h.capture()] == ["IMG_0001.JPG"]


async def test_a_device_that_is_no_camera(device: tuple[VirtualDevice, int]) -> None:
    async with open_connection(f"ptpip://127.0.0.1:{device[1]}", client_name="t") as conn:
        with pytest.raises(ResponseError) as refused:
            await conn.open_handle().capture()
        assert refused.value.code == ResponseCode.OPERATION_NOT_SUPPORTED


async def test_device_properties_are_described(camera: tuple[VirtualDevice, str, Path]) -> None:
    _, url, _ = camera
    async with open_connection(url, client_name="pytest") as conn, conn.open_handle() as h:
        await h.set_device_property(DP.F_NUMBER, 800)
        props = {p.name: p for p in await h.device_properties()}
        fnum = props["f-number"]
        assert (fnum.code, fnum.datatype, fnum.writable, fnum.form) == (
            DP.F_NUMBER, DataType.UINT16, True, "enum",
        )  # fmt: skip
        assert (fnum.current, fnum.default) == (800, 560)
        assert fnum.label(fnum.current) == "f/8" and 280 in fnum.choices
        assert props["focallength"].range == (1800, 5500, 100)
        assert props["batterylevel"].writable is False
        assert props["whitebalance"].label(6) == "Tungsten"
        await h.reset_device_property(DP.F_NUMBER)
        assert await h.get_device_property(DP.F_NUMBER) == 560


def test_labels_and_parsing() -> None:
    shutter = DeviceProperty(DP.EXPOSURE_TIME, "shutterspeed", DataType.UINT32, True, 80, 80,
                             "enum", (10, 80, 10000))  # fmt: skip
    assert [label(DP.EXPOSURE_TIME, v) for v in shutter.choices] == ["1/1000", "1/125", "1 s"]
    assert parse_value(shutter, "1/125") == 80
    assert parse_value(shutter, "10000") == 10000
    with pytest.raises(ValueError):
        parse_value(shutter, "1/3")
    bias = DeviceProperty(DP.EXPOSURE_BIAS_COMPENSATION, "exposurecompensation", DataType.INT16,
                          True, 0, 0, "range", (), (-3000, 3000, 500))  # fmt: skip
    assert parse_value(bias, "-1.5 EV") == -1500
    assert label(DP.EXPOSURE_BIAS_COMPENSATION, 500) == "+0.5 EV"
    with pytest.raises(ValueError):
        parse_value(bias, "-1499")
    with pytest.raises(ValueError):
        parse_value(bias, "40000")
    assert property_code("f-number") == property_code("0x5007") == DP.F_NUMBER
    assert property_code("FNumber") == DP.F_NUMBER
    with pytest.raises(ValueError):
        property_code("no such")
