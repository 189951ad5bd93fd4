"""WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE through PortableDevice.send_command against the
virtual device as a camera: the picture, its WPD_EVENT_OBJECT_ADDED through Advise, Cancel()
of a pending capture, a device that is no camera."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wpd_support import ThreadedDevice, client_info

from openwpd import wpd as w
from openwpd.protocol.codes import DevicePropCode
from openwpd.wpd import PortableDeviceValues
from openwpd.wpd import commands as c
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k

CANCELLED = 0x800704C7


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[ThreadedDevice]:
    root = tmp_path / "card"
    root.mkdir()
    dev = ThreadedDevice(root, tmp_path / "state", camera=True)
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def opened_camera(camera: ThreadedDevice) -> Iterator[w.PortableDevice]:
    device = w.PortableDevice()
    device.open(camera.url, client_info())
    try:
        yield device
    finally:
        device.close()


def capture_params() -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = (
        c.WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE.fmtid
    )
    params[c.WPD_PROPERTY_COMMON_COMMAND_ID] = c.WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE.pid
    return params


def pictures(root: Path) -> list[str]:
    folder = root / "DCIM" / "100OWPD"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_capture_through_send_command_and_its_event(
    camera: ThreadedDevice, opened_camera: w.PortableDevice
) -> None:
    caps = opened_camera.capabilities()
    categories = list(caps.get_functional_categories())
    assert g.WPD_FUNCTIONAL_CATEGORY_STILL_IMAGE_CAPTURE in categories
    events: list[PortableDeviceValues] = []
    arrived = threading.Event()

    def sink(values: PortableDeviceValues) -> None:
        events.append(values)
        arrived.set()

    cookie = opened_camera.advise(sink)
    done = opened_camera.send_command(capture_params())
    assert done.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.S_OK
    assert pictures(camera.root) == ["IMG_0001.JPG"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = [
            v.get(k.WPD_OBJECT_NAME)
            for v in events
            if v[k.WPD_EVENT_PARAMETER_EVENT_ID] == g.WPD_EVENT_OBJECT_ADDED
        ]
        if "IMG_0001.JPG" in names:
            break
        arrived.wait(0.1)
        arrived.clear()
    else:
        raise AssertionError(f"no WPD_EVENT_OBJECT_ADDED for the picture in {events}")
    opened_camera.unadvise(cookie)


def test_cancel_of_a_pending_capture(
    camera: ThreadedDevice, opened_camera: w.PortableDevice
) -> None:
    async def set_delay(ms: int) -> None:
        camera.device.properties.set_from_wire(DevicePropCode.CAPTURE_DELAY, struct.pack("<I", ms))

    camera.run(set_delay(10000))
    outcome: list[BaseException | None] = []

    def job() -> None:
        try:
            opened_camera.send_command(capture_params())
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    assert camera.device.camera is not None
    while not camera.device.camera.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert camera.device.camera.busy
    opened_camera.cancel()
    worker.join(5)
    assert not worker.is_alive()
    (error,) = outcome
    assert isinstance(error, w.WpdError) and error.hresult == CANCELLED, error
    assert pictures(camera.root) == []
    camera.run(set_delay(0))
    done = opened_camera.send_command(capture_params())
    assert done.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.S_OK
    assert pictures(camera.root) == ["IMG_0001.JPG"]


def test_a_device_that_is_no_camera(opened: w.PortableDevice) -> None:
    done = opened.send_command(capture_params())
    assert done.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.E_NOTIMPL


def test_camera_settings_on_the_device_object(
    camera: ThreadedDevice, opened_camera: w.PortableDevice
) -> None:
    """The settings are the DEVICE object's WPD_STILL_IMAGE_* properties (vendor-extended
    keys for those WPD has none for), with their forms as attributes."""
    props = opened_camera.content().properties()
    fnum = k.WPD_STILL_IMAGE_FNUMBER
    focal = k.WPD_STILL_IMAGE_FOCAL_LENGTH
    copyright_ = k.vendor_device_property_key(DevicePropCode.COPYRIGHT_INFO)
    values = props.get_values(g.WPD_DEVICE_OBJECT_ID, [fnum, focal, copyright_])
    assert (values[fnum], values[focal], values[copyright_]) == (560, 3500, "")
    every = props.get_values(g.WPD_DEVICE_OBJECT_ID)
    assert every[k.WPD_STILL_IMAGE_WHITE_BALANCE] == 2
    assert every[k.WPD_STILL_IMAGE_CAPTURE_RESOLUTION] == "640x480"
    assert every[k.WPD_STILL_IMAGE_EXPOSURE_BIAS_COMPENSATION] == 0
    assert k.vendor_device_property_key(DevicePropCode.F_NUMBER) not in every
    attrs = props.get_property_attributes(g.WPD_DEVICE_OBJECT_ID, fnum)
    assert attrs[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    assert 800 in list(attrs[k.WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS])
    attrs = props.get_property_attributes(g.WPD_DEVICE_OBJECT_ID, focal)
    assert attrs[k.WPD_PROPERTY_ATTRIBUTE_RANGE_MIN] == 1800
    results = props.set_values(g.WPD_DEVICE_OBJECT_ID, PortableDeviceValues({fnum: 800}))
    assert results.get_error_value(fnum) == e.S_OK
    assert camera.device.properties.value(DevicePropCode.F_NUMBER) == 800
    results = props.set_values(g.WPD_DEVICE_OBJECT_ID, PortableDeviceValues({fnum: 801}))
    assert results.get_error_value(fnum) != e.S_OK
    assert camera.device.properties.value(DevicePropCode.F_NUMBER) == 800
