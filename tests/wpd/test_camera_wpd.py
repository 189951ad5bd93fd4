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
