"""IPortableDeviceManager: which devices there are, and what they are called.

Theory of operation
-------------------
Device ids are device URLs. The list is a snapshot taken when the manager is created and again
by :meth:`PortableDeviceManager.refresh_device_list`, in this order, without duplicates (URLs
are compared in their normal form, ``ptpip://host`` = ``ptpip://host:15740``):

1. the ``devices`` given to the constructor;
2. the ``OPENWPD_DEVICES`` environment variable, comma-separated URLs;
3. devices found on the transports present: USB MTP/PTP devices (``usb://VID:PID/SERIAL``),
   then PTP/IP devices announced by DNS-SD (``_ptp._tcp``, e.g. ``wpd serve``) that answer
   within ``browse_seconds`` (default ``$OPENWPD_BROWSE_SECONDS``, else 1 s; 0 turns browsing
   off, so a snapshot never waits for the network).

An entry that is not a device URL is left out. The names (friendly name, description,
manufacturer) need the device: the first request connects (through the process-wide connection
pool, so a device that is open anyway is not connected twice), reads DeviceInfo and the
DeviceFriendlyName property, and caches them until the next refresh.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from openwpd.client import discover_devices, parse_device_url
from openwpd.protocol.codes import DevicePropCode, OperationCode
from openwpd.protocol.errors import LocalProtocolError, OpenWpdError
from openwpd.wpd import bridge
from openwpd.wpd.errors import (
    E_INVALIDARG,
    ERROR_FILE_NOT_FOUND,
    HRESULT_FROM_WIN32,
    WpdError,
    wpd_error_from,
)
from openwpd.wpd.objects import device_type

log = logging.getLogger("openwpd.wpd")

#: The environment variable naming devices (comma-separated URLs).
ENV_DEVICES = "OPENWPD_DEVICES"


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """What the manager reports about a device without opening it for the caller."""

    friendly_name: str
    description: str
    manufacturer: str
    device_type: int


def discover(browse_seconds: float | None = None) -> list[str]:
    """Devices found on the transports present: USB MTP/PTP devices and PTP/IP devices
    announced by DNS-SD within ``browse_seconds`` (None: ``$OPENWPD_BROWSE_SECONDS``, else
    1 s)."""
    return discover_devices(browse_seconds)


def _discover_checked(browse_seconds: float | None) -> list[str]:
    try:
        return discover(browse_seconds)
    except LocalProtocolError as exc:  # a malformed $OPENWPD_BROWSE_SECONDS
        raise WpdError(E_INVALIDARG, str(exc)) from exc


class PortableDeviceManager:
    """IPortableDeviceManager (see the module docstring)."""

    def __init__(
        self,
        devices: Iterable[str] | None = None,
        *,
        discover: Callable[[], list[str]] | None = None,
        browse_seconds: float | None = None,
    ) -> None:
        self._configured = list(devices or [])
        self._discover = discover or (lambda: _discover_checked(browse_seconds))
        self._devices: list[str] = []
        self._summaries: dict[str, DeviceSummary] = {}
        self.refresh_device_list()

    def refresh_device_list(self) -> None:
        """RefreshDeviceList: take the list again (the environment is read again)."""
        env = os.environ.get(ENV_DEVICES, "")
        candidates = [*self._configured, *env.split(","), *self._discover()]
        seen: dict[str, str] = {}
        for text in candidates:
            text = text.strip()
            if not text:
                continue
            try:
                key = str(parse_device_url(text))
            except LocalProtocolError as exc:
                log.warning("ignoring %r: %s", text, exc)
                continue
            seen.setdefault(key, text)
        self._devices = list(seen.values())
        self._summaries = {}

    def get_devices(self) -> list[str]:
        """GetDevices: the device ids of the last snapshot."""
        return list(self._devices)

    def get_private_devices(self) -> list[str]:
        """GetPrivateDevices: devices for vendor-specific clients only -- MTP transports have
        none."""
        return []

    def _summary(self, device_id: str) -> DeviceSummary:
        if not isinstance(device_id, str):
            raise WpdError(E_INVALIDARG, "the device id is a string")
        cached = self._summaries.get(device_id)
        if cached is not None:
            return cached
        try:
            summary = bridge.run(_read_summary(device_id))
        except LocalProtocolError as exc:
            raise WpdError(E_INVALIDARG, str(exc)) from exc
        except Exception as exc:
            raise wpd_error_from(exc) from exc
        self._summaries[device_id] = summary
        return summary

    def get_device_friendly_name(self, device_id: str) -> str:
        """GetDeviceFriendlyName: DeviceFriendlyName, else the model."""
        return self._summary(device_id).friendly_name

    def get_device_description(self, device_id: str) -> str:
        """GetDeviceDescription: the model as the device names it."""
        return self._summary(device_id).description

    def get_device_manufacturer(self, device_id: str) -> str:
        """GetDeviceManufacturer."""
        return self._summary(device_id).manufacturer

    def get_device_property(self, device_id: str, name: str) -> int | str:
        """GetDeviceProperty: the registry-style values WPD names -- ``PortableDeviceType``
        (a WPD_DEVICE_TYPES value), ``PortableDeviceIsMassStorage`` and
        ``PortableDeviceNameSpaceExcludeFromShell`` (0). Others raise
        HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)."""
        if name == "PortableDeviceType":
            return self._summary(device_id).device_type
        if name in ("PortableDeviceIsMassStorage", "PortableDeviceNameSpaceExcludeFromShell"):
            self._summary(device_id)
            return 0
        raise WpdError(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), f"no device property {name!r}")


async def _read_summary(device_id: str) -> DeviceSummary:
    shared = await bridge.POOL.acquire(device_id, client_name="openwpd manager")
    try:
        info = shared.conn.device_info
        name = info.model
        supported = info.device_properties_supported
        if DevicePropCode.DEVICE_FRIENDLY_NAME in supported and shared.conn.supports(
            OperationCode.GET_DEVICE_PROP_VALUE
        ):
            async with shared.conn.open_handle() as client:
                try:
                    value = await client.get_device_property(DevicePropCode.DEVICE_FRIENDLY_NAME)
                    name = value if isinstance(value, str) and value else name
                except OpenWpdError as exc:
                    log.info("%s: no friendly name: %s", device_id, exc)
        return DeviceSummary(name, info.model, info.manufacturer, device_type(info))
    finally:
        await bridge.POOL.release(shared)


__all__ = ["ENV_DEVICES", "DeviceSummary", "PortableDeviceManager", "discover"]
