"""The Status service: battery, signal, network and counters as service properties that change.

Theory of operation: every property of ``StatusDeviceService.h`` is a read-only service property
(initiators only read them; the device changes them). They change two ways, both raising
ServicePropChanged for each property whose value really changed:

* :meth:`StatusService.set` -- the Python API for test rigs (``device.services.status.set(
  battery_life=40, roaming=1)``);
* a *ticker* that simulates a living phone while any session is open: every
  :attr:`StatusService.tick_interval` seconds the battery drains by one percent (and "charges"
  back to 100 when it hits 5) and the signal strength steps through 1..4. The ticker is a
  ``loop.call_later`` chain, not a task, so nothing is left pending when the loop closes; it is
  started by :meth:`StatusService.start_ticking` (the device does so at the first
  device-services operation of a session) and stops by itself when no session is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from openwpd.protocol.codes import DataType, EventCode
from openwpd.protocol.datasets import EnumForm, RangeForm
from openwpd.protocol.datatypes import Value
from openwpd.server.services.codes import (
    EVENT_SERVICE_PROP_CHANGED,
    NAMESPACE_STATUS,
    SERVICE_STATUS,
    ServiceId,
    ServicePropCode,
)
from openwpd.server.services.model import (
    EventDef,
    PlainForm,
    Service,
    ServicePropDef,
    check_value,
    display_name_prop,
)

_C = ServicePropCode
_T = DataType
_TRISTATE = EnumForm((0, 1, 2))  # inactive, active, unknown


def _p(
    code: int,
    pid: int,
    name: str,
    datatype: DataType,
    default: Value,
    form: PlainForm | None = None,
) -> ServicePropDef:
    return ServicePropDef(code, NAMESPACE_STATUS, pid, name, datatype, False, default, form)


STATUS_PROPS: tuple[ServicePropDef, ...] = (
    display_name_prop(_C.STATUS_DISPLAY_NAME, "Status"),
    _p(_C.STATUS_SIGNAL_STRENGTH, 2, "SignalStrength", _T.UINT8, 4, RangeForm(0, 4, 1)),
    _p(_C.STATUS_TEXT_MESSAGES, 3, "TextMessages", _T.UINT8, 0),
    _p(_C.STATUS_NEW_PICTURES, 4, "NewPictures", _T.UINT16, 0),
    _p(_C.STATUS_MISSED_CALLS, 5, "MissedCalls", _T.UINT8, 0),
    _p(_C.STATUS_VOICE_MAIL, 6, "VoiceMail", _T.UINT8, 0),
    _p(_C.STATUS_NETWORK_NAME, 7, "NetworkName", _T.STR, "openwpd"),
    _p(_C.STATUS_NETWORK_TYPE, 8, "NetworkType", _T.STR, "UMTS"),
    _p(_C.STATUS_ROAMING, 9, "Roaming", _T.UINT8, 0, _TRISTATE),
    _p(_C.STATUS_BATTERY_LIFE, 10, "BatteryLife", _T.UINT8, 100, RangeForm(0, 100, 1)),
    _p(_C.STATUS_CHARGING_STATE, 11, "ChargingState", _T.UINT8, 0, _TRISTATE),
    _p(_C.STATUS_STORAGE_CAPACITY, 12, "StorageCapacity", _T.UINT64, 0),
    _p(_C.STATUS_STORAGE_FREE_SPACE, 13, "StorageFreeSpace", _T.UINT64, 0),
)

#: Keyword names accepted by :meth:`StatusService.set`.
STATUS_KEYWORDS: dict[str, int] = {
    "signal_strength": _C.STATUS_SIGNAL_STRENGTH,
    "text_messages": _C.STATUS_TEXT_MESSAGES,
    "new_pictures": _C.STATUS_NEW_PICTURES,
    "missed_calls": _C.STATUS_MISSED_CALLS,
    "voice_mail": _C.STATUS_VOICE_MAIL,
    "network_name": _C.STATUS_NETWORK_NAME,
    "network_type": _C.STATUS_NETWORK_TYPE,
    "roaming": _C.STATUS_ROAMING,
    "battery_life": _C.STATUS_BATTERY_LIFE,
    "charging_state": _C.STATUS_CHARGING_STATE,
    "storage_capacity": _C.STATUS_STORAGE_CAPACITY,
    "storage_free_space": _C.STATUS_STORAGE_FREE_SPACE,
}


@dataclass
class StatusService(Service):
    """The Status service (SERVICE_Status). ``is_active()`` tells the ticker whether any
    session is open; ``tick_interval`` is in seconds."""

    tick_interval: float = 5.0
    is_active: Callable[[], bool] = lambda: False
    _timer: asyncio.TimerHandle | None = field(default=None, init=False)

    def set(self, **values: Value) -> None:
        """Set status values by keyword (see :data:`STATUS_KEYWORDS`); each real change raises
        ServicePropChanged. Raises TypeError for an unknown keyword, ValueError for a value
        outside the property's type or form (nothing is changed then)."""
        codes = {}
        for key, value in values.items():
            code = STATUS_KEYWORDS.get(key)
            if code is None:
                raise TypeError(f"unknown status value {key!r}")
            codes[code] = value
        for code, value in codes.items():
            self.check(code, value)
        for code, value in codes.items():
            self.set_value(code, value)

    def check(self, code: int, value: Value) -> None:
        """Raise ValueError if ``value`` is not valid for property ``code``."""
        prop = self.prop(code)
        if check_value(prop.datatype, prop.form, value) is not None:
            raise ValueError(f"{value!r} is not a valid {prop.name}")

    # -- the ticker --------------------------------------------------------------------------

    @property
    def ticking(self) -> bool:
        return self._timer is not None

    def start_ticking(self) -> None:
        """Start the simulation (idempotent; call on the event loop)."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.tick_interval, self._tick)

    def stop_ticking(self) -> None:
        """Stop the simulation (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        if not self.is_active():
            return
        battery = self.value(_C.STATUS_BATTERY_LIFE)
        signal = self.value(_C.STATUS_SIGNAL_STRENGTH)
        assert isinstance(battery, int) and isinstance(signal, int)
        self.set_value(_C.STATUS_BATTERY_LIFE, 100 if battery <= 5 else battery - 1)
        self.set_value(_C.STATUS_SIGNAL_STRENGTH, signal % 4 + 1)
        self.start_ticking()


def status_service(tick_interval: float, is_active: Callable[[], bool]) -> StatusService:
    """The Status service; it has no storage, formats or methods."""
    return StatusService(
        service_id=ServiceId.STATUS,
        guid=SERVICE_STATUS,
        name="Status",
        props=STATUS_PROPS,
        events=(
            EventDef(
                EventCode.SERVICE_PROP_CHANGED, EVENT_SERVICE_PROP_CHANGED, "ServicePropChanged"
            ),
        ),
        tick_interval=tick_interval,
        is_active=is_active,
    )
