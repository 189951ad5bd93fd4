"""The virtual device as a camera (``camera=True``) over loopback: DeviceInfo, the camera
properties with their forms, validation, persistence and events, InitiateCapture (file, EXIF,
numbering, events, burst, self-timer, cancel, DeviceBusy), the open capture (timelapse) and
the shutter pressed on the device."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Writer
from openwpd.protocol.codes import (
    DataType,
    DevicePropCode,
    EventCode,
    ObjectFormatCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DeviceInfo, DevicePropDesc, EnumForm, RangeForm
from openwpd.protocol.datatypes import write_value
from openwpd.server import thumbs
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

OP, RC, DP, EC = OperationCode, ResponseCode, DevicePropCode, EventCode
CAPTURE_OPS = {OP.INITIATE_CAPTURE, OP.INITIATE_OPEN_CAPTURE, OP.TERMINATE_OPEN_CAPTURE}


@dataclass
class Initiator:
    runner: TransactionRunner
    events: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)

    async def wait_for(self, code: int, count: int = 1) -> list[tuple[int, ...]]:
        for _ in range(1000):
            found = [p for c, p in self.events if c == code]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"no event {code:#x} in {self.events}")


async def initiator(port: int) -> Initiator:
    events: list[tuple[int, tuple[int, ...]]] = []
    link, _ = await open_ptpip_link(
        "127.0.0.1",
        port,
        identity=InitiatorIdentity(os.urandom(16), "cam-test"),
        on_event=lambda e: events.append((e.code, e.params)),
    )
    who = Initiator(TransactionRunner(link), events)
    assert (await who.runner.transact(OP.OPEN_SESSION, (1,))).code == RC.OK
    return who


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    root.mkdir()
    return root


@pytest.fixture
async def camera(served: Path, tmp_path: Path) -> AsyncIterator[tuple[VirtualDevice, int]]:
    dev = VirtualDevice([StorageSpec(served, "Card")], state_dir=tmp_path / "state", camera=True)
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        yield dev, port
    finally:
        await dev.aclose()


@pytest.fixture
async def cam(camera: tuple[VirtualDevice, int]) -> AsyncIterator[Initiator]:
    who = await initiator(camera[1])
    try:
        yield who
    finally:
        await who.runner.aclose()


def encoded(datatype: int, value: object) -> bytes:
    w = Writer()
    write_value(w, datatype, value)  # type: ignore[arg-type]
    return w.getvalue()


async def set_prop(who: Initiator, code: int, datatype: int, value: object) -> ResponseCode:
    res = await who.runner.transact(
        OP.SET_DEVICE_PROP_VALUE, (code,), data=encoded(datatype, value)
    )
    return ResponseCode(res.code)


async def desc(who: Initiator, code: int) -> DevicePropDesc:
    res = await who.runner.transact(OP.GET_DEVICE_PROP_DESC, (code,))
    assert res.code == RC.OK, hex(res.code)
    return DevicePropDesc.from_bytes(res.data)


def pictures(served: Path) -> list[str]:
    folder = served / "DCIM" / "100OWPD"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def exif_tags(jpeg: bytes) -> dict[int, bytes]:
    """Tag -> raw value bytes (inline or pointed to) of IFD0 and the Exif IFD, read from the
    TIFF layout by hand."""
    assert jpeg[:4] == b"\xff\xd8\xff\xe1"
    tiff = jpeg[4 + 2 + 6 :]
    assert tiff[:4] == b"II*\x00"
    sizes = {2: 1, 3: 2, 4: 4, 5: 8, 10: 8}
    tags: dict[int, bytes] = {}

    def walk(at: int) -> None:
        (count,) = struct.unpack_from("<H", tiff, at)
        for i in range(count):
            tag, kind, n, raw = struct.unpack_from("<HHI4s", tiff, at + 2 + 12 * i)
            size = sizes[kind] * n
            value = raw[:size] if size <= 4 else tiff[(o := struct.unpack("<I", raw)[0]) : o + size]
            tags[tag] = value
            if tag == 0x8769:
                walk(struct.unpack("<I", raw)[0])

    walk(struct.unpack_from("<I", tiff, 4)[0])
    return tags


# -- DeviceInfo --------------------------------------------------------------------------------


async def test_device_info_of_a_camera_and_of_a_plain_device(
    cam: Initiator, runner: TransactionRunner
) -> None:
    info = DeviceInfo.from_bytes((await cam.runner.transact(OP.GET_DEVICE_INFO)).data)
    assert set(info.operations_supported) >= CAPTURE_OPS
    assert EC.CAPTURE_COMPLETE in info.events_supported
    assert info.capture_formats == (ObjectFormatCode.EXIF_JPEG,)
    for code in (DP.F_NUMBER, DP.WHITE_BALANCE, DP.EXPOSURE_INDEX, DP.ARTIST, DP.BATTERY_LEVEL):
        assert code in info.device_properties_supported
    # a device started without camera=True is no camera
    plain = DeviceInfo.from_bytes((await runner.transact(OP.GET_DEVICE_INFO)).data)
    assert not CAPTURE_OPS & set(plain.operations_supported)
    assert plain.capture_formats == ()
    assert DP.F_NUMBER not in plain.device_properties_supported
    res = await runner.transact(OP.INITIATE_CAPTURE, (0, 0))
    assert res.code == RC.OPERATION_NOT_SUPPORTED


# -- properties --------------------------------------------------------------------------------


async def test_property_forms(cam: Initiator) -> None:
    wb = await desc(cam, DP.WHITE_BALANCE)
    assert (wb.datatype, wb.getset, wb.factory_default) == (DataType.UINT16, 1, 2)
    assert isinstance(wb.form, EnumForm) and wb.form.values == (1, 2, 3, 4, 5, 6, 7)
    fnum = await desc(cam, DP.F_NUMBER)
    assert isinstance(fnum.form, EnumForm) and 280 in fnum.form.values and fnum.current == 560
    focal = await desc(cam, DP.FOCAL_LENGTH)
    assert focal.datatype == DataType.UINT32 and focal.form == RangeForm(1800, 5500, 100)
    bias = await desc(cam, DP.EXPOSURE_BIAS_COMPENSATION)
    assert bias.datatype == DataType.INT16 and bias.form == RangeForm(-3000, 3000, 500)
    size = await desc(cam, DP.IMAGE_SIZE)
    assert size.datatype == DataType.STR and isinstance(size.form, EnumForm)
    assert "640x480" in size.form.values
    battery = await desc(cam, DP.BATTERY_LEVEL)
    assert battery.getset == 0 and battery.form == RangeForm(0, 100, 1)


async def test_set_checks_the_form_and_reset_restores(
    cam: Initiator, camera: tuple[VirtualDevice, int]
) -> None:
    assert await set_prop(cam, DP.F_NUMBER, DataType.UINT16, 800) == RC.OK
    assert (await desc(cam, DP.F_NUMBER)).current == 800
    assert await set_prop(cam, DP.F_NUMBER, DataType.UINT16, 801) == RC.INVALID_DEVICE_PROP_VALUE
    assert await set_prop(cam, DP.FOCAL_LENGTH, DataType.UINT32, 1850) == (
        RC.INVALID_DEVICE_PROP_VALUE  # off the range's step
    )
    assert await set_prop(cam, DP.FOCAL_LENGTH, DataType.UINT32, 9900) == (
        RC.INVALID_DEVICE_PROP_VALUE
    )
    assert await set_prop(cam, DP.EXPOSURE_BIAS_COMPENSATION, DataType.INT16, -1500) == RC.OK
    assert await set_prop(cam, DP.IMAGE_SIZE, DataType.STR, "7x7") == (RC.INVALID_DEVICE_PROP_VALUE)
    assert await set_prop(cam, DP.ARTIST, DataType.STR, "Ada") == RC.OK
    assert (await desc(cam, DP.ARTIST)).current == "Ada"
    res = await cam.runner.transact(OP.RESET_DEVICE_PROP_VALUE, (DP.F_NUMBER,))
    assert res.code == RC.OK
    assert (await desc(cam, DP.F_NUMBER)).current == 560
    assert (await desc(cam, DP.EXPOSURE_BIAS_COMPENSATION)).current == -1500
    await cam.runner.transact(OP.RESET_DEVICE_PROP_VALUE, (0xFFFFFFFF,))
    assert (await desc(cam, DP.EXPOSURE_BIAS_COMPENSATION)).current == 0
    assert (await desc(cam, DP.ARTIST)).current == ""


async def test_changes_are_announced_and_kept_across_restarts(
    cam: Initiator, camera: tuple[VirtualDevice, int], served: Path, tmp_path: Path
) -> None:
    other = await initiator(camera[1])
    try:
        assert await set_prop(cam, DP.WHITE_BALANCE, DataType.UINT16, 6) == RC.OK
        assert (DP.WHITE_BALANCE,) in await other.wait_for(EC.DEVICE_PROP_CHANGED)
        camera[0].properties.battery_level = 37  # the device's own side
        await other.wait_for(EC.DEVICE_PROP_CHANGED, 2)
        assert (DP.BATTERY_LEVEL,) in [p for c, p in other.events if c == EC.DEVICE_PROP_CHANGED]
    finally:
        await other.runner.aclose()
    assert await set_prop(cam, DP.EXPOSURE_INDEX, DataType.UINT16, 800) == RC.OK
    await camera[0].aclose()
    again = VirtualDevice([StorageSpec(served)], state_dir=tmp_path / "state", camera=True)
    try:
        assert again.properties.value(DP.WHITE_BALANCE) == 6
        assert again.properties.value(DP.EXPOSURE_INDEX) == 800
        assert again.properties.value(DP.F_NUMBER) == 560
    finally:
        await again.aclose()


# -- capture -----------------------------------------------------------------------------------


async def test_capture_stores_a_picture_with_exif_and_announces_it(
    cam: Initiator, camera: tuple[VirtualDevice, int], served: Path
) -> None:
    (served / "DCIM" / "100OWPD").mkdir(parents=True)
    (served / "DCIM" / "100OWPD" / "IMG_0041.JPG").write_bytes(b"older")
    assert await set_prop(cam, DP.F_NUMBER, DataType.UINT16, 1100) == RC.OK
    assert await set_prop(cam, DP.EXPOSURE_INDEX, DataType.UINT16, 400) == RC.OK
    assert await set_prop(cam, DP.ARTIST, DataType.STR, "Ada Lovelace") == RC.OK
    assert await set_prop(cam, DP.IMAGE_SIZE, DataType.STR, "320x240") == RC.OK
    res = await cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0))
    assert res.code == RC.OK
    (done,) = await cam.wait_for(EC.CAPTURE_COMPLETE)
    assert done == (res.tid,)
    added = [p for c, p in cam.events if c == EC.OBJECT_ADDED]
    codes = [c for c, _ in cam.events if c in (EC.OBJECT_ADDED, EC.CAPTURE_COMPLETE)]
    assert codes[-2:] == [EC.OBJECT_ADDED, EC.CAPTURE_COMPLETE]
    assert pictures(served) == ["IMG_0041.JPG", "IMG_0042.JPG"]
    path = served / "DCIM" / "100OWPD" / "IMG_0042.JPG"
    obj = camera[0].store.get(added[-1][0])
    assert obj.name == "IMG_0042.JPG"
    data = path.read_bytes()
    tags = exif_tags(data)
    assert struct.unpack("<II", tags[0x829D]) == (1100, 100)  # FNumber f/11
    assert struct.unpack("<H", tags[0x8827][:2]) == (400,)  # ISO
    assert tags[0x013B] == b"Ada Lovelace\0"  # Artist
    assert b"\xff\xc0\x00\x11\x08\x00\xf0\x01\x40" in data  # SOF0: 240 x 320
    thumb = thumbs.thumbnail_info(str(path), len(data), path.stat().st_mtime)
    assert thumb is not None and (thumb.width, thumb.height) == (160, 120)


async def test_burst_takes_burst_number_pictures(cam: Initiator, served: Path) -> None:
    for code, value in (
        (DP.STILL_CAPTURE_MODE, 2),
        (DP.BURST_NUMBER, 3),
        (DP.BURST_INTERVAL, 0),
    ):
        assert await set_prop(cam, code, DataType.UINT16, value) == RC.OK
    assert await set_prop(cam, DP.IMAGE_SIZE, DataType.STR, "320x240") == RC.OK
    assert (await cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.OK
    await cam.wait_for(EC.CAPTURE_COMPLETE)
    assert pictures(served) == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    assert len([c for c, _ in cam.events if c == EC.OBJECT_ADDED]) >= 3


async def test_self_timer_capture_is_busy_then_cancellable(
    cam: Initiator, camera: tuple[VirtualDevice, int], served: Path
) -> None:
    assert await set_prop(cam, DP.CAPTURE_DELAY, DataType.UINT32, 10000) == RC.OK
    task = asyncio.create_task(cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0)))
    for _ in range(500):
        if camera[0].camera is not None and camera[0].camera.busy:
            break
        await asyncio.sleep(0.01)
    other = await initiator(camera[1])
    try:
        assert (await other.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.DEVICE_BUSY
        assert (await other.runner.transact(OP.INITIATE_OPEN_CAPTURE, (0, 0))).code == (
            RC.DEVICE_BUSY
        )
    finally:
        await other.runner.aclose()
    task.cancel()  # a cancel on the wire
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pictures(served) == []
    assert not any(c == EC.CAPTURE_COMPLETE for c, _ in cam.events)
    # the session goes on, and the camera is free again
    assert await set_prop(cam, DP.CAPTURE_DELAY, DataType.UINT32, 0) == RC.OK
    assert (await cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.OK
    assert pictures(served) == ["IMG_0001.JPG"]


async def test_bad_capture_parameters(cam: Initiator) -> None:
    res = await cam.runner.transact(OP.INITIATE_CAPTURE, (0x00770001, 0))
    assert res.code == RC.INVALID_STORAGE_ID
    res = await cam.runner.transact(OP.INITIATE_CAPTURE, (0, ObjectFormatCode.PNG))
    assert res.code == RC.INVALID_OBJECT_FORMAT_CODE


async def test_open_capture_runs_until_terminated(cam: Initiator, served: Path) -> None:
    assert await set_prop(cam, DP.TIMELAPSE_NUMBER, DataType.UINT16, 0) == RC.OK
    assert await set_prop(cam, DP.TIMELAPSE_INTERVAL, DataType.UINT32, 100) == RC.OK
    assert await set_prop(cam, DP.IMAGE_SIZE, DataType.STR, "320x240") == RC.OK
    assert (await cam.runner.transact(OP.TERMINATE_OPEN_CAPTURE, (5,))).code == (
        RC.CAPTURE_ALREADY_TERMINATED
    )
    res = await cam.runner.transact(OP.INITIATE_OPEN_CAPTURE, (0, 0))
    assert res.code == RC.OK
    opened = res.tid
    for _ in range(1000):
        if len(pictures(served)) >= 2:
            break
        await asyncio.sleep(0.01)
    assert (await cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.DEVICE_BUSY
    assert (await cam.runner.transact(OP.TERMINATE_OPEN_CAPTURE, (opened + 100,))).code == (
        RC.INVALID_TRANSACTION_ID
    )
    assert (await cam.runner.transact(OP.TERMINATE_OPEN_CAPTURE, (opened,))).code == RC.OK
    (done,) = await cam.wait_for(EC.CAPTURE_COMPLETE)
    assert done == (opened,)
    count = len(pictures(served))
    assert count >= 2
    await asyncio.sleep(0.3)
    assert len(pictures(served)) == count  # it really stopped
    assert (await cam.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.OK


async def test_timelapse_of_n_pictures_ends_by_itself(cam: Initiator, served: Path) -> None:
    assert await set_prop(cam, DP.TIMELAPSE_NUMBER, DataType.UINT16, 2) == RC.OK
    assert await set_prop(cam, DP.TIMELAPSE_INTERVAL, DataType.UINT32, 100) == RC.OK
    assert await set_prop(cam, DP.IMAGE_SIZE, DataType.STR, "320x240") == RC.OK
    assert (await cam.runner.transact(OP.INITIATE_OPEN_CAPTURE, (0, 0))).code == RC.OK
    await cam.wait_for(EC.CAPTURE_COMPLETE)
    assert pictures(served) == ["IMG_0001.JPG", "IMG_0002.JPG"]
    assert (await cam.runner.transact(OP.TERMINATE_OPEN_CAPTURE, (0,))).code == (
        RC.CAPTURE_ALREADY_TERMINATED
    )


async def test_shutter_on_the_device(
    cam: Initiator, camera: tuple[VirtualDevice, int], served: Path
) -> None:
    assert camera[0].camera is not None
    taken = await camera[0].camera.trigger()
    assert [o.name for o in taken] == ["IMG_0001.JPG"]
    assert await cam.wait_for(EC.CAPTURE_COMPLETE) == [(0xFFFFFFFF,)]
    assert (taken[0].handle,) in [p for c, p in cam.events if c == EC.OBJECT_ADDED]


async def test_camera_under_the_ptp_camera_profile(served: Path, tmp_path: Path) -> None:
    """--camera with --profile ptp-camera: still no MTP operations, but capture is offered."""
    from openwpd.protocol.profiles import profile_named

    dev = VirtualDevice(
        [StorageSpec(served, "Card")],
        state_dir=tmp_path / "state2",
        camera=True,
        profile=profile_named("ptp-camera"),
    )
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        who = await initiator(port)
        info = DeviceInfo.from_bytes((await who.runner.transact(OP.GET_DEVICE_INFO)).data)
        assert set(info.operations_supported) >= CAPTURE_OPS
        assert OP.GET_OBJECT_PROP_LIST not in info.operations_supported
        assert info.model == "PTP still camera"
        res = await who.runner.transact(OP.GET_OBJECT_PROP_LIST, (0, 0, 0xDC07, 0, 1))
        assert res.code == RC.OPERATION_NOT_SUPPORTED
        assert (await who.runner.transact(OP.INITIATE_CAPTURE, (0, 0))).code == RC.OK
        assert pictures(served) == ["IMG_0001.JPG"]
        await who.runner.aclose()
    finally:
        await dev.aclose()
