"""Camera device properties as people read them: names, value labels, parsing.

:class:`DeviceProperty` is a DevicePropDesc with a readable name (gphoto2's where it has one:
``f-number``, ``iso``, ``whitebalance``, ``shutterspeed``...) and the values of its form.
:func:`label` shows a value as a camera does (``f/5.6``, ``1/125``, ``35 mm``, ``-1.5 EV``,
``Tungsten``); :func:`parse_value` accepts such a label (case-insensitive), or a raw number, and
raises ValueError for anything the property's type or form rules out.
"""

from __future__ import annotations

from dataclasses import dataclass

from openwpd.protocol.codes import DataType, DevicePropCode, GetSet, describe
from openwpd.protocol.datasets import DevicePropDesc, EnumForm, RangeForm
from openwpd.protocol.datatypes import Value

DP = DevicePropCode

#: Readable names (gphoto2's for the standard PTP properties).
NAMES: dict[int, str] = {
    DP.BATTERY_LEVEL: "batterylevel",
    DP.FUNCTIONAL_MODE: "functionalmode",
    DP.IMAGE_SIZE: "imagesize",
    DP.COMPRESSION_SETTING: "imagequality",
    DP.WHITE_BALANCE: "whitebalance",
    DP.F_NUMBER: "f-number",
    DP.FOCAL_LENGTH: "focallength",
    DP.FOCUS_DISTANCE: "focusdistance",
    DP.FOCUS_MODE: "focusmode",
    DP.EXPOSURE_METERING_MODE: "exposuremetermode",
    DP.FLASH_MODE: "flashmode",
    DP.EXPOSURE_TIME: "shutterspeed",
    DP.EXPOSURE_PROGRAM_MODE: "expprogram",
    DP.EXPOSURE_INDEX: "iso",
    DP.EXPOSURE_BIAS_COMPENSATION: "exposurecompensation",
    DP.DATE_TIME: "datetime",
    DP.CAPTURE_DELAY: "capturedelay",
    DP.STILL_CAPTURE_MODE: "capturemode",
    DP.BURST_NUMBER: "burstnumber",
    DP.BURST_INTERVAL: "burstinterval",
    DP.TIMELAPSE_NUMBER: "timelapsenumber",
    DP.TIMELAPSE_INTERVAL: "timelapseinterval",
    DP.ARTIST: "artist",
    DP.COPYRIGHT_INFO: "copyright",
    DP.DEVICE_FRIENDLY_NAME: "friendlyname",
    DP.SYNCHRONIZATION_PARTNER: "syncpartner",
}

#: Enumerated values with names (PTP 1.0, section 13).
VALUE_NAMES: dict[int, dict[int, str]] = {
    DP.WHITE_BALANCE: {1: "Manual", 2: "Automatic", 3: "One-push Automatic", 4: "Daylight",
                       5: "Fluorescent", 6: "Tungsten", 7: "Flash"},
    DP.FOCUS_MODE: {1: "Manual", 2: "Automatic", 3: "Automatic Macro"},
    DP.FLASH_MODE: {1: "Auto", 2: "Off", 3: "Fill", 4: "Red eye auto", 5: "Red eye fill",
                    6: "External sync"},
    DP.EXPOSURE_PROGRAM_MODE: {1: "Manual", 2: "Automatic", 3: "Aperture Priority",
                               4: "Shutter Priority", 5: "Creative", 6: "Action",
                               7: "Portrait"},
    DP.STILL_CAPTURE_MODE: {1: "Normal", 2: "Burst", 3: "Timelapse"},
    DP.EXPOSURE_METERING_MODE: {1: "Average", 2: "Center Weighted", 3: "Multi Spot",
                                4: "Center Spot"},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeviceProperty:
    """A device property's description as a camera tool shows it."""

    code: int
    name: str
    datatype: int
    writable: bool
    current: Value
    default: Value
    #: "range", "enum" or "none"
    form: str
    #: the allowed values of an enumeration (else ())
    choices: tuple[Value, ...] = ()
    #: (min, max, step) of a range (else None)
    range: tuple[int, int, int] | None = None

    @classmethod
    def from_desc(cls, desc: DevicePropDesc) -> DeviceProperty:
        form = desc.form
        if isinstance(form, EnumForm):
            return cls(*_common(desc), "enum", tuple(form.values))
        if isinstance(form, RangeForm):
            lo, hi, step = form.min, form.max, form.step
            if isinstance(lo, int) and isinstance(hi, int) and isinstance(step, int):
                return cls(*_common(desc), "range", (), (lo, hi, step))
        return cls(*_common(desc), "none")

    def label(self, value: Value) -> str:
        return label(self.code, value)


def _common(desc: DevicePropDesc) -> tuple[int, str, int, bool, Value, Value]:
    return (
        desc.code,
        property_name(desc.code),
        desc.datatype,
        desc.getset == GetSet.GET_SET,
        desc.current,
        desc.factory_default,
    )


def property_name(code: int) -> str:
    """The readable name, else the spec name in lower case, else the hex code."""
    if code in NAMES:
        return NAMES[code]
    spec = describe(DevicePropCode, code)
    return spec.lower() if not spec.startswith("0x") else f"{code:04x}"


def property_code(name: str) -> int:
    """A property's code from its readable name, its spec name or a hex code (``0x5007``,
    ``5007``); raises ValueError."""
    text = name.strip().lower()
    for code, known in NAMES.items():
        if known == text:
            return code
    for member in DevicePropCode:
        if member.name.lower().replace("_", "") == text.replace("_", "").replace("-", ""):
            return int(member)
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError(f"no device property {name!r}") from None


def _trim(number: float) -> str:
    return f"{number:.2f}".rstrip("0").rstrip(".")


def label(code: int, value: Value) -> str:
    """``value`` as a camera shows it (numbers without a known unit as they are)."""
    if not isinstance(value, int):
        return str(value)
    names = VALUE_NAMES.get(code)
    if names is not None and value in names:
        return names[value]
    if code == DP.F_NUMBER:
        return f"f/{_trim(value / 100)}"
    if code == DP.FOCAL_LENGTH:
        return f"{_trim(value / 100)} mm"
    if code == DP.EXPOSURE_TIME:
        seconds = value / 10000
        if 0 < seconds < 1:
            return f"1/{round(1 / seconds)}"
        return f"{_trim(seconds)} s"
    if code == DP.EXPOSURE_BIAS_COMPENSATION:
        return f"{'+' if value > 0 else ''}{_trim(value / 1000)} EV"
    if code in (DP.CAPTURE_DELAY, DP.BURST_INTERVAL, DP.TIMELAPSE_INTERVAL):
        return f"{value} ms"
    if code == DP.BATTERY_LEVEL:
        return f"{value}%"
    return str(value)


_INT_RANGES = {
    DataType.INT8: (-(1 << 7), (1 << 7) - 1),
    DataType.UINT8: (0, (1 << 8) - 1),
    DataType.INT16: (-(1 << 15), (1 << 15) - 1),
    DataType.UINT16: (0, (1 << 16) - 1),
    DataType.INT32: (-(1 << 31), (1 << 31) - 1),
    DataType.UINT32: (0, (1 << 32) - 1),
    DataType.INT64: (-(1 << 63), (1 << 63) - 1),
    DataType.UINT64: (0, (1 << 64) - 1),
}


def parse_value(prop: DeviceProperty, text: str) -> Value:
    """The value ``text`` names for ``prop``: one of its labels, or a raw value. Raises
    ValueError when it is none of the choices or outside the range."""
    if prop.datatype == DataType.STR:
        value: Value = text
    else:
        if prop.datatype not in _INT_RANGES:
            raise ValueError(f"{prop.name}: values of this type cannot be set here")
        wanted = text.strip().lower()
        candidates = list(prop.choices)
        if prop.range is not None:
            lo, hi, step = prop.range
            if step and (hi - lo) // step <= 4096:
                candidates = list(range(lo, hi + 1, step))
        matched = [c for c in candidates if label(prop.code, c).lower() == wanted]
        if matched:
            value = matched[0]
        else:
            try:
                value = int(wanted, 0)
            except ValueError:
                raise ValueError(f"{prop.name}: {text!r} is not a value of it") from None
            lo_t, hi_t = _INT_RANGES[DataType(prop.datatype)]
            if not lo_t <= value <= hi_t:
                raise ValueError(f"{prop.name}: {value} does not fit its type")
    if prop.form == "enum" and value not in prop.choices:
        shown = ", ".join(label(prop.code, c) for c in prop.choices)
        raise ValueError(f"{prop.name}: {text!r} is not one of {shown}")
    if prop.range is not None:
        assert isinstance(value, int)
        lo, hi, step = prop.range
        if not lo <= value <= hi or (step and (value - lo) % step):
            raise ValueError(f"{prop.name}: {value} is not in {lo}..{hi} (step {step})")
    return value
