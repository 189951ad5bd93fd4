"""The virtual device as a still camera (``wpd serve --camera``).

:data:`CAMERA_PROPS` are the standard PTP camera device properties with the forms a real camera
gives them (PTP 1.0, section 13): enumerations for the ones a camera offers a list of (white
balance, aperture, shutter speed, ISO, flash, focus, image size...), ranges for the numeric
ones (focal length, exposure bias, capture delay, burst and timelapse counts). Their values are
kept with the device's other settings in its state directory (see
:class:`openwpd.server.properties.DeviceProperties`), so a camera keeps them across restarts.

:class:`Camera` takes the pictures. Behaviour choices:

* InitiateCapture answers once every picture of the capture is stored: the self-timer
  (CaptureDelay) and the burst (BurstNumber pictures BurstInterval ms apart; StillCaptureMode
  burst) run inside the operation, so the initiator can cancel a pending capture like any other
  operation (nothing is stored then; pictures already stored by a burst stay). Each picture
  is announced with ObjectAdded as it is stored, then CaptureComplete (parameter: the
  capture's TransactionID) goes to the session that asked.
* InitiateOpenCapture starts a timelapse in the background: TimelapseNumber pictures (0 = until
  TerminateOpenCapture) TimelapseInterval ms apart, the first at once; CaptureComplete when it
  ends. TerminateOpenCapture with another TransactionID answers InvalidTransactionID, with no
  open capture CaptureAlreadyTerminated.
* One capture at a time for the whole device: another InitiateCapture or InitiateOpenCapture
  meanwhile (from any session) answers DeviceBusy.
* Pictures go to ``DCIM/100OWPD/IMG_NNNN.JPG`` on the first writable storage, numbered on from
  the highest number already there; each is a generated JPEG of the ImageSize setting whose
  EXIF carries the settings (aperture, shutter, ISO, bias, focal length, flash, white balance,
  exposure program, artist, copyright, the device's date) and a 160x120 thumbnail.
* :meth:`Camera.trigger` is the shutter button on the device: a capture no initiator asked for
  (ObjectAdded to every session, then CaptureComplete with TransactionID 0xFFFFFFFF).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from openwpd.protocol.codes import DataType, DevicePropCode, EventCode, ResponseCode
from openwpd.protocol.datasets import EnumForm, RangeForm
from openwpd.protocol.datatypes import Value, parse_datetime
from openwpd.protocol.messages import Event
from openwpd.server import samples
from openwpd.server.context import MtpError
from openwpd.server.store import ROOT, StoredObject

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice
    from openwpd.server.session import DeviceSession

log = logging.getLogger("openwpd.server")

DP = DevicePropCode
#: The file in the state directory that keeps the camera's settings.
#: The capture folder, under the first writable storage.
CAPTURE_PATH = ("DCIM", "100OWPD")
#: TransactionID of CaptureComplete for a capture made on the device itself.
DEVICE_SIDE_TID = 0xFFFFFFFF

WHITE_BALANCE = {1: "Manual", 2: "Automatic", 3: "One-push Automatic", 4: "Daylight",
                 5: "Fluorescent", 6: "Tungsten", 7: "Flash"}  # fmt: skip
EXPOSURE_PROGRAM = {1: "Manual", 2: "Automatic", 3: "Aperture Priority",
                    4: "Shutter Priority"}  # fmt: skip
FLASH_MODE = {1: "Auto flash", 2: "Flash off", 3: "Fill flash", 4: "Red eye auto",
              5: "Red eye fill"}  # fmt: skip
FOCUS_MODE = {1: "Manual", 2: "Automatic", 3: "Automatic Macro"}
STILL_CAPTURE_MODE = {1: "Normal", 2: "Burst", 3: "Timelapse"}
IMAGE_SIZES = ("320x240", "640x480", "1024x768", "1600x1200")
F_NUMBERS = (280, 400, 560, 800, 1100, 1600)  # f/2.8 .. f/16, in hundredths
#: 1/1000 s .. 1 s in units of 0.0001 s
EXPOSURE_TIMES = (10, 20, 40, 80, 167, 333, 667, 1250, 2500, 5000, 10000)
ISO_VALUES = (100, 200, 400, 800, 1600, 3200)


@dataclass(frozen=True, slots=True)
class CameraProp:
    """One camera setting: its type, whether initiators may set it, default and form."""

    code: DevicePropCode
    datatype: DataType
    writable: bool
    default: Value
    form: RangeForm | EnumForm | None = None


def as_int(value: Value) -> int:
    """A numeric property value (they are all ints)."""
    if not isinstance(value, int):
        raise TypeError(f"{value!r} is not a number")
    return value


def _enum(values: tuple[Value, ...] | dict[int, str]) -> EnumForm:
    return EnumForm(tuple(values))


#: Every camera property (BatteryLevel and DateTime are the device's own: see properties.py).
CAMERA_PROPS: tuple[CameraProp, ...] = (
    CameraProp(DP.IMAGE_SIZE, DataType.STR, True, "640x480", _enum(IMAGE_SIZES)),
    CameraProp(DP.COMPRESSION_SETTING, DataType.UINT8, True, 2, RangeForm(1, 3, 1)),
    CameraProp(DP.WHITE_BALANCE, DataType.UINT16, True, 2, _enum(WHITE_BALANCE)),
    CameraProp(DP.F_NUMBER, DataType.UINT16, True, 560, _enum(F_NUMBERS)),
    CameraProp(DP.FOCAL_LENGTH, DataType.UINT32, True, 3500, RangeForm(1800, 5500, 100)),
    CameraProp(DP.FOCUS_MODE, DataType.UINT16, True, 2, _enum(FOCUS_MODE)),
    CameraProp(DP.FLASH_MODE, DataType.UINT16, True, 2, _enum(FLASH_MODE)),
    CameraProp(DP.EXPOSURE_TIME, DataType.UINT32, True, 80, _enum(EXPOSURE_TIMES)),
    CameraProp(DP.EXPOSURE_PROGRAM_MODE, DataType.UINT16, True, 2, _enum(EXPOSURE_PROGRAM)),
    CameraProp(DP.EXPOSURE_INDEX, DataType.UINT16, True, 100, _enum(ISO_VALUES)),
    CameraProp(DP.EXPOSURE_BIAS_COMPENSATION, DataType.INT16, True, 0, RangeForm(-3000, 3000, 500)),
    CameraProp(DP.CAPTURE_DELAY, DataType.UINT32, True, 0, RangeForm(0, 10000, 500)),
    CameraProp(DP.STILL_CAPTURE_MODE, DataType.UINT16, True, 1, _enum(STILL_CAPTURE_MODE)),
    CameraProp(DP.BURST_NUMBER, DataType.UINT16, True, 1, RangeForm(1, 10, 1)),
    CameraProp(DP.BURST_INTERVAL, DataType.UINT16, True, 100, RangeForm(0, 1000, 100)),
    CameraProp(DP.TIMELAPSE_NUMBER, DataType.UINT16, True, 3, RangeForm(0, 100, 1)),
    CameraProp(DP.TIMELAPSE_INTERVAL, DataType.UINT32, True, 1000, RangeForm(100, 60000, 100)),
    CameraProp(DP.ARTIST, DataType.STR, True, ""),
    CameraProp(DP.COPYRIGHT_INFO, DataType.STR, True, ""),
)


def check_value(prop: CameraProp, value: Value) -> None:
    """Raise MtpError(InvalidDevicePropValue) unless ``value`` is allowed by the form."""
    form = prop.form
    if isinstance(form, EnumForm):
        if value not in form.values:
            raise MtpError(ResponseCode.INVALID_DEVICE_PROP_VALUE, f"{value!r} is not offered")
    elif isinstance(form, RangeForm):
        if not isinstance(value, int):
            raise MtpError(ResponseCode.INVALID_DEVICE_PROP_FORMAT, "not a number")
        lo, hi, step = as_int(form.min), as_int(form.max), as_int(form.step)
        if not lo <= value <= hi or (step and (value - lo) % step):
            raise MtpError(
                ResponseCode.INVALID_DEVICE_PROP_VALUE, f"{value} is not in {lo}..{hi} by {step}"
            )
    elif prop.datatype == DataType.STR and isinstance(value, str) and len(value) > 254:
        raise MtpError(ResponseCode.INVALID_DEVICE_PROP_VALUE, "too long")


def saved_value(prop: CameraProp, text: str) -> Value | None:
    """The value kept as ``text`` (JSON) for ``prop``, or None when it is no longer valid
    (a broken or outdated record is ignored, not fatal)."""
    try:
        value = json.loads(text)
        check_value(prop, value)
    except (ValueError, MtpError, AssertionError, TypeError):
        return None
    if not isinstance(value, int | str) or isinstance(value, str) != (
        prop.datatype == DataType.STR
    ):
        return None
    return value


# -- the picture ---------------------------------------------------------------------------

_ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 2, 3, 4, 5, 10


def _ascii(text: str) -> bytes:
    return text.encode("ascii", "replace") + b"\0"


def _ifd_size(count: int) -> int:
    return 2 + 12 * count + 4


def camera_exif(
    thumbnail: bytes, settings: dict[int, Value], *, taken: datetime, model: str
) -> bytes:
    """An APP1 Exif segment: IFD0 (Make, Model, DateTime, Artist, Copyright), the Exif IFD
    (exposure time, f-number, ISO, bias, focal length, flash, white balance, program) and IFD1
    with the thumbnail."""

    def setting(code: DevicePropCode) -> int:
        return as_int(settings[code])

    flash_fired = 0 if setting(DP.FLASH_MODE) == 2 else 1
    exif_entries = [
        (0x829A, _RATIONAL, 1, struct.pack("<II", setting(DP.EXPOSURE_TIME), 10000)),
        (0x829D, _RATIONAL, 1, struct.pack("<II", setting(DP.F_NUMBER), 100)),
        (0x8822, _SHORT, 1, struct.pack("<H", min(setting(DP.EXPOSURE_PROGRAM_MODE), 4))),
        (0x8827, _SHORT, 1, struct.pack("<H", setting(DP.EXPOSURE_INDEX))),
        (0x9204, _SRATIONAL, 1, struct.pack("<ii", setting(DP.EXPOSURE_BIAS_COMPENSATION), 1000)),
        (0x9209, _SHORT, 1, struct.pack("<H", flash_fired)),
        (0x920A, _RATIONAL, 1, struct.pack("<II", setting(DP.FOCAL_LENGTH), 100)),
        (0xA403, _SHORT, 1, struct.pack("<H", 0 if setting(DP.WHITE_BALANCE) == 2 else 1)),
    ]
    ifd0_at = 8
    ifd0_count = 6 + bool(settings[DP.ARTIST]) + bool(settings[DP.COPYRIGHT_INFO])
    exif_at = ifd0_at + _ifd_size(ifd0_count)
    ifd1_at = exif_at + _ifd_size(len(exif_entries))
    data_at = ifd1_at + _ifd_size(3)
    ifd0_entries = [
        (0x010F, _ASCII, 8, _ascii("openwpd")),
        (0x0110, _ASCII, len(_ascii(model)), _ascii(model)),
        (0x0112, _SHORT, 1, struct.pack("<H", 1)),
        (0x0132, _ASCII, 20, _ascii(taken.strftime("%Y:%m:%d %H:%M:%S"))),
        (0x8769, _LONG, 1, struct.pack("<I", exif_at)),
    ]
    for tag, code in ((0x013B, DP.ARTIST), (0x8298, DP.COPYRIGHT_INFO)):
        if settings[code]:
            text = _ascii(str(settings[code]))
            ifd0_entries.append((tag, _ASCII, len(text), text))
    ifd0_entries.append((0x0131, _ASCII, 8, _ascii("openwpd")))  # Software
    ifd0, data0 = samples._tiff_ifd(ifd0_entries, data_at, ifd1_at)
    exif, data1 = samples._tiff_ifd(exif_entries, data_at + len(data0), 0)
    # the Exif IFD's next-IFD field must be 0 and IFD0 points at IFD1 (already done above)
    thumb_at = data_at + len(data0) + len(data1)
    ifd1_entries = [
        (0x0103, _SHORT, 1, struct.pack("<H", 6)),
        (0x0201, _LONG, 1, struct.pack("<I", thumb_at)),
        (0x0202, _LONG, 1, struct.pack("<I", len(thumbnail))),
    ]
    ifd1, _ = samples._tiff_ifd(ifd1_entries, thumb_at, 0)
    tiff = b"II" + struct.pack("<HI", 42, ifd0_at) + ifd0 + exif + ifd1 + data0 + data1
    payload = b"Exif\0\0" + tiff + thumbnail
    return samples._segment(0xE1, payload)


def make_picture(number: int, settings: dict[int, Value], taken: datetime, model: str) -> bytes:
    """Picture ``number``: a JPEG of the ImageSize setting with EXIF and a thumbnail."""
    width, height = (int(x) for x in str(settings[DP.IMAGE_SIZE]).split("x"))
    scene = samples._scene(number)
    thumb = samples.make_jpeg(160, 120, lambda bx, by: scene(bx / 20, by / 15))
    app1 = camera_exif(thumb, settings, taken=taken, model=model)
    bw, bh = width // 8, height // 8
    return samples.make_jpeg(width, height, lambda bx, by: scene(bx / bw, by / bh), app1=app1)


_IMG = re.compile(r"IMG_(\d{4})\.JPG", re.IGNORECASE)


class Camera:
    """The still-image function of a :class:`VirtualDevice` (see the module docstring)."""

    def __init__(self, device: VirtualDevice) -> None:
        self._device = device
        self._busy = False
        self._open: asyncio.Task[None] | None = None
        self._open_tid = 0
        self._open_session: DeviceSession | None = None
        self._after_trigger: asyncio.Task[None] | None = None
        self.on_capture: Callable[[list[StoredObject]], None] | None = None

    @property
    def busy(self) -> bool:
        """A capture or an open capture is running."""
        return self._busy

    def _settings(self) -> dict[int, Value]:
        props = self._device.properties
        return {p.code: props.value(p.code) for p in CAMERA_PROPS}

    def _taken(self) -> datetime:
        text = self._device.properties.value(DP.DATE_TIME)
        assert isinstance(text, str)
        when = parse_datetime(text)
        return when if when is not None else datetime.now()

    # -- the capture folder ------------------------------------------------------------------

    def _folder(self) -> tuple[int, int]:
        """(storage ID, handle) of the capture folder, made if missing."""
        store = self._device.store
        storage = next((s for s in store.storages if not s.read_only), None)
        if storage is None:
            raise MtpError(ResponseCode.STORE_READ_ONLY, "no writable storage for pictures")
        parent = ROOT
        for name in CAPTURE_PATH:
            kids = store.children(storage.id, parent)
            found = next((o for o in kids if o.name == name and o.is_folder), None)
            if found is None:
                found = store.create_folder(storage.id, parent, name)
            parent = found.handle
        return storage.id, parent

    def _next_number(self, storage_id: int, folder: int) -> int:
        numbers = [
            int(m.group(1))
            for o in self._device.store.children(storage_id, folder)
            if (m := _IMG.fullmatch(o.name))
        ]
        number = max(numbers, default=0) + 1
        if number > 9999:
            raise MtpError(ResponseCode.STORE_FULL, "the capture folder is full (IMG_9999)")
        return number

    async def _take_one(self) -> StoredObject:
        storage_id, folder = self._folder()
        number = self._next_number(storage_id, folder)
        settings = self._settings()
        data = await asyncio.to_thread(
            make_picture, number, settings, self._taken(), self._device.model
        )
        store = self._device.store
        pending = store.begin_create(storage_id, folder, f"IMG_{number:04d}.JPG", len(data))
        try:
            pending.write(data)
            obj = pending.commit()  # announces ObjectAdded to every session
        except BaseException:
            pending.abort()
            raise
        return obj

    # -- captures ----------------------------------------------------------------------------

    def _claim(self) -> None:
        if self._busy:
            raise MtpError(ResponseCode.DEVICE_BUSY, "a capture is running")
        self._busy = True

    async def capture(self) -> list[StoredObject]:
        """One InitiateCapture: the self-timer, then one picture (or a burst). Raises
        MtpError(DeviceBusy) while another capture runs."""
        self._claim()
        try:
            props = self._device.properties
            delay = as_int(props.value(DP.CAPTURE_DELAY))
            if delay:
                await asyncio.sleep(delay / 1000)
            count = 1
            if props.value(DP.STILL_CAPTURE_MODE) == 2:
                count = as_int(props.value(DP.BURST_NUMBER))
            gap = as_int(props.value(DP.BURST_INTERVAL)) / 1000
            taken: list[StoredObject] = []
            for i in range(count):
                if i and gap:
                    await asyncio.sleep(gap)
                taken.append(await self._take_one())
            return taken
        finally:
            self._busy = False

    def open_capture(self, session: DeviceSession, tid: int) -> None:
        """InitiateOpenCapture: start the timelapse in the background."""
        self._claim()
        self._open_tid = tid
        self._open_session = session
        self._open = asyncio.create_task(self._timelapse(), name="timelapse")

    async def _timelapse(self) -> None:
        props = self._device.properties
        number = as_int(props.value(DP.TIMELAPSE_NUMBER))
        interval = as_int(props.value(DP.TIMELAPSE_INTERVAL)) / 1000
        taken = 0
        try:
            while number == 0 or taken < number:
                if taken:
                    await asyncio.sleep(interval)
                try:
                    await self._take_one()
                except MtpError as exc:  # e.g. the folder is full: the timelapse ends
                    log.warning("timelapse stopped: %s", exc)
                    break
                taken += 1
        finally:
            self._busy = False
            self._open = None
            session, self._open_session = self._open_session, None
            if session is not None:
                session.post_event(Event(EventCode.CAPTURE_COMPLETE, (self._open_tid,)))

    async def terminate_open_capture(self, tid: int) -> None:
        """TerminateOpenCapture(``tid``)."""
        task = self._open
        if task is None:
            raise MtpError(ResponseCode.CAPTURE_ALREADY_TERMINATED)
        if tid != self._open_tid:
            raise MtpError(ResponseCode.INVALID_TRANSACTION_ID, f"no open capture {tid}")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    def session_ended(self, session: DeviceSession) -> None:
        """An open capture belongs to its session: it ends with it."""
        if self._open is not None and self._open_session is session:
            self._open_session = None
            self._open.cancel()

    async def trigger(self) -> list[StoredObject]:
        """The shutter button on the device (DeviceBusy as MtpError while a capture runs)."""
        taken = await self.capture()
        self._device.broadcast(EventCode.CAPTURE_COMPLETE, (DEVICE_SIDE_TID,))
        return taken

    async def aclose(self) -> None:
        if self._open is not None:
            self._open.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._open
