"""Device properties of the virtual device (GetDevicePropDesc/Value, Set..., Reset...).

BatteryLevel (read-only, settable from Python so test rigs can simulate a draining battery),
DeviceFriendlyName, SynchronizationPartner and DateTime (read/write, as Android exposes the first
two; DateTime is kept as an offset from the host clock so the device's clock keeps running).
Values are typed per PTP/MTP; a set with a value of the wrong shape answers
InvalidDevicePropValue; every change raises DevicePropChanged in every session.

DeviceFriendlyName and SynchronizationPartner are remembered: a value a client sets is saved
through ``save`` and comes back through ``load`` when a device starts on the same state
directory (Windows and Android keep the name a user gave a phone, and the partner it syncs
with). A saved friendly name wins over the one the device is started with, which stays the
factory default that ResetDevicePropValue returns to (and a reset forgets the saved value).

With ``camera_state`` (``wpd serve --camera``) the standard camera properties of
:mod:`openwpd.server.camera` join them: a value outside the property's range or enumeration
answers InvalidDevicePropValue, and their values are saved in that directory on every change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType, DevicePropCode, GetSet, ResponseCode
from openwpd.protocol.datasets import DevicePropDesc, EnumForm, RangeForm
from openwpd.protocol.datatypes import (
    Value,
    format_datetime,
    parse_datetime,
    read_value,
    write_value,
)
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.server.camera import (
    CAMERA_PROPS,
    CameraProp,
    check_value,
    saved_value,
)
from openwpd.server.context import MtpError


@dataclass
class _Prop:
    code: DevicePropCode
    datatype: DataType
    writable: bool
    default: Value
    form: RangeForm | EnumForm | None = None


class DeviceProperties:
    """The device's properties and their current values."""

    def __init__(
        self,
        friendly_name: str,
        on_change: Callable[[int], None],
        *,
        load: Callable[[str], str | None] | None = None,
        save: Callable[[str, str | None], None] | None = None,
        camera: bool = False,
    ) -> None:
        self._on_change = on_change
        self._save = save
        self._props: dict[int, _Prop] = {
            p.code: p
            for p in (
                _Prop(
                    DevicePropCode.BATTERY_LEVEL, DataType.UINT8, False, 100, RangeForm(0, 100, 1)
                ),
                _Prop(DevicePropCode.DEVICE_FRIENDLY_NAME, DataType.STR, True, friendly_name),
                _Prop(DevicePropCode.SYNCHRONIZATION_PARTNER, DataType.STR, True, ""),
                _Prop(DevicePropCode.DATE_TIME, DataType.STR, True, ""),
            )
        }
        self._camera: dict[int, CameraProp] = {}
        if camera:
            for cp in CAMERA_PROPS:
                self._camera[cp.code] = cp
                self._props[cp.code] = _Prop(cp.code, cp.datatype, cp.writable, cp.default, cp.form)
        self._values: dict[int, Value] = {code: p.default for code, p in self._props.items()}
        if load is not None:
            for code in _REMEMBERED:
                saved = load(_setting_key(code))
                if saved is not None and (saved or code != DevicePropCode.DEVICE_FRIENDLY_NAME):
                    self._values[code] = saved
            for cp in self._camera.values():
                text = load(_setting_key(cp.code))
                value = None if text is None else saved_value(cp, text)
                if value is not None:
                    self._values[cp.code] = value
        self._clock_offset = timedelta()

    def supported(self) -> tuple[int, ...]:
        return tuple(sorted(self._props))

    @property
    def friendly_name(self) -> str:
        return str(self._values[DevicePropCode.DEVICE_FRIENDLY_NAME])

    @property
    def battery_level(self) -> int:
        return int(self._values[DevicePropCode.BATTERY_LEVEL])  # type: ignore[arg-type]

    @battery_level.setter
    def battery_level(self, level: int) -> None:
        """Simulate the battery (0..100); raises ValueError outside that range."""
        if not 0 <= level <= 100:
            raise ValueError("battery level is 0..100")
        self._set(DevicePropCode.BATTERY_LEVEL, level)

    def _prop(self, code: int) -> _Prop:
        prop = self._props.get(code)
        if prop is None:
            raise MtpError(ResponseCode.DEVICE_PROP_NOT_SUPPORTED, f"property 0x{code:04X}")
        return prop

    def value(self, code: int) -> Value:
        self._prop(code)
        if code == DevicePropCode.DATE_TIME:
            return format_datetime(datetime.now() + self._clock_offset)
        return self._values[code]

    def desc(self, code: int) -> DevicePropDesc:
        prop = self._prop(code)
        return DevicePropDesc(
            code=code,
            datatype=prop.datatype,
            getset=GetSet.GET_SET if prop.writable else GetSet.GET,
            factory_default=prop.default,
            current=self.value(code),
            form=prop.form,
        )

    def value_bytes(self, code: int) -> bytes:
        writer = Writer()
        write_value(writer, self._prop(code).datatype, self.value(code))
        return writer.getvalue()

    def set_from_wire(self, code: int, data: bytes) -> None:
        """SetDevicePropValue: decode ``data`` per the property's type and apply it."""
        prop = self._prop(code)
        if not prop.writable:
            raise MtpError(ResponseCode.ACCESS_DENIED, f"{prop.code.name} is read-only")
        try:
            value = read_value(Reader(data), prop.datatype)
        except RemoteProtocolError as exc:
            raise MtpError(ResponseCode.INVALID_DEVICE_PROP_FORMAT, str(exc)) from None
        if code == DevicePropCode.DATE_TIME:
            assert isinstance(value, str)
            try:
                when = parse_datetime(value)
            except RemoteProtocolError as exc:
                raise MtpError(ResponseCode.INVALID_DEVICE_PROP_VALUE, str(exc)) from None
            if when is None:
                raise MtpError(ResponseCode.INVALID_DEVICE_PROP_VALUE, "empty date")
            if when.tzinfo is not None:
                when = when.astimezone().replace(tzinfo=None)
            self._clock_offset = when - datetime.now()
            self._on_change(code)
            return
        if code == DevicePropCode.DEVICE_FRIENDLY_NAME and not value:
            raise MtpError(ResponseCode.INVALID_DEVICE_PROP_VALUE, "empty friendly name")
        camera_prop = self._camera.get(code)
        if camera_prop is not None:
            check_value(camera_prop, value)
        self._set(code, value)

    def reset(self, code: int) -> None:
        """ResetDevicePropValue (0xFFFFFFFF = every property)."""
        codes = list(self._props) if code == 0xFFFFFFFF else [self._prop(code).code]
        for c in codes:
            if c == DevicePropCode.DATE_TIME:
                self._clock_offset = timedelta()
                self._on_change(c)
            elif self._props[c].writable:
                self._set(c, self._props[c].default)

    def _set(self, code: int, value: Value) -> None:
        if (code in _REMEMBERED or code in self._camera) and self._save is not None:
            # a reset to the factory default forgets the saved value; camera values are kept
            # as JSON (numbers and strings), the others as their string
            default = value == self._props[code].default
            text = json.dumps(value) if code in self._camera else str(value)
            self._save(_setting_key(code), None if default else text)
        if self._values.get(code) != value:
            self._values[code] = value
            self._on_change(code)


#: properties a client sets that outlive the device process
_REMEMBERED = (DevicePropCode.DEVICE_FRIENDLY_NAME, DevicePropCode.SYNCHRONIZATION_PARTNER)


def _setting_key(code: int) -> str:
    return f"property:0x{code:04X}"
