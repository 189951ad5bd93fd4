"""IPortableDevice: open a device, get its facets, cancel, events, raw commands.

Theory of operation
-------------------
A :class:`PortableDevice` is WPD's PortableDevice(FTM) object: ``open(device_id, client_info)``
gives it one handle (:class:`~openwpd.wpd.handle.WpdHandle`) on the device's shared MTP session;
every facet obtained from it (content, properties, resources, capabilities, enumerators,
streams, bulk operations) works through that handle. ``cancel()`` -- on the device or on any of
those objects -- cancels every pending operation of the handle and nothing else; the
recommended pattern of one ``PortableDevice`` per thread therefore gives per-thread cancel,
although all of them share one MTP session. ``close()`` ends the handle (the last one closes the
session); the objects obtained from it then raise E_WPD_DEVICE_NOT_OPEN; ``open`` may be called
again.

Client information: WPD_CLIENT_NAME names us to the device when the session is first opened;
WPD_CLIENT_DESIRED_ACCESS = GENERIC_READ opens a read-only handle (every write raises
E_ACCESSDENIED). Device ids are device URLs (``ptpip://HOST:PORT``).
"""

from __future__ import annotations

from openwpd.client import Quirks
from openwpd.protocol.errors import LocalProtocolError
from openwpd.wpd import bridge
from openwpd.wpd import keys as k
from openwpd.wpd.capabilities import PortableDeviceCapabilities
from openwpd.wpd.content import PortableDeviceContent
from openwpd.wpd.errors import (
    E_INVALIDARG,
    E_WPD_DEVICE_ALREADY_OPENED,
    E_WPD_DEVICE_NOT_OPEN,
    WpdError,
    wpd_error_from,
)
from openwpd.wpd.events import EventDispatcher
from openwpd.wpd.handle import WpdHandle, open_handle
from openwpd.wpd.passthrough import CommandRunner
from openwpd.wpd.values import PortableDeviceValues

#: WPD_CLIENT_DESIRED_ACCESS value for a read-only open.
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
#: WPD_CLIENT_SECURITY_QUALITY_OF_SERVICE value the samples use.
SECURITY_IMPERSONATION = 0x00020000
DEFAULT_CLIENT_NAME = "openwpd"


class PortableDevice:
    """IPortableDevice (see the module docstring). ``quirks`` (not in WPD) is a declarative
    device profile (:class:`openwpd.client.Quirks`: operations not to use, transfer window)
    applied when this object's ``open`` is the one that connects to the device."""

    def __init__(self, *, quirks: Quirks | None = None) -> None:
        self._quirks = quirks
        self._handle: WpdHandle | None = None
        self._events: EventDispatcher | None = None
        self._commands: CommandRunner | None = None

    def _open_handle(self) -> WpdHandle:
        handle = self._handle
        if handle is None or handle.closed:
            raise WpdError(E_WPD_DEVICE_NOT_OPEN)
        return handle

    def open(self, device_id: str, client_info: PortableDeviceValues | None = None) -> None:
        """Open: a handle on ``device_id`` (a device URL). E_WPD_DEVICE_ALREADY_OPENED when this
        object is open; E_INVALIDARG for a malformed id; the connection's error (e.g.
        HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_CONNECTED)) when the device cannot be reached."""
        if self._handle is not None and not self._handle.closed:
            raise WpdError(E_WPD_DEVICE_ALREADY_OPENED)
        if not isinstance(device_id, str):
            raise WpdError(E_INVALIDARG, "the device id is a string")
        info = client_info if client_info is not None else PortableDeviceValues()
        name = info.get(k.WPD_CLIENT_NAME)
        access = info.get(k.WPD_CLIENT_DESIRED_ACCESS)
        read_only = isinstance(access, int) and not access & GENERIC_WRITE and bool(access)
        try:
            handle = bridge.run(
                open_handle(
                    device_id,
                    client_name=name if isinstance(name, str) and name else DEFAULT_CLIENT_NAME,
                    read_only=read_only,
                    quirks=self._quirks,
                )
            )
        except LocalProtocolError as exc:
            raise WpdError(E_INVALIDARG, str(exc)) from exc
        except Exception as exc:
            raise wpd_error_from(exc) from exc
        self._handle = handle
        self._events = EventDispatcher(handle)
        self._commands = CommandRunner(handle)

    def close(self) -> None:
        """Close: end the handle (pending operations are cancelled); idempotent."""
        handle, self._handle = self._handle, None
        if self._events is not None:
            self._events.close()
        if handle is not None:
            handle.close()

    def content(self) -> PortableDeviceContent:
        """Content: the content facet (IPortableDeviceContent2)."""
        return PortableDeviceContent(self._open_handle())

    def capabilities(self) -> PortableDeviceCapabilities:
        """Capabilities: the capabilities facet."""
        return PortableDeviceCapabilities(self._open_handle())

    def cancel(self) -> None:
        """Cancel: every pending operation of this handle raises 0x800704C7; returns when they
        have all stopped. A no-op when nothing is pending; E_WPD_DEVICE_NOT_OPEN when closed."""
        self._open_handle().cancel()

    def advise(self, callback: object, parameters: PortableDeviceValues | None = None) -> str:
        """Advise: deliver device events to ``callback.on_event(values)`` (or ``callback(values)``)
        on a thread of this API; returns the cookie for :meth:`unadvise`."""
        handle = self._open_handle()
        assert self._events is not None
        handle.check_open()
        return self._events.advise(callback, parameters)

    def unadvise(self, cookie: str) -> None:
        """Unadvise: stop delivering events to the callback of ``cookie``."""
        self._open_handle()
        assert self._events is not None
        self._events.unadvise(cookie)

    def send_command(
        self, parameters: PortableDeviceValues, flags: int = 0
    ) -> PortableDeviceValues:
        """SendCommand: WPD_COMMAND_COMMON_RESET_DEVICE and the MTP pass-through commands; the
        command's status is WPD_PROPERTY_COMMON_HRESULT in the results (see
        :mod:`openwpd.wpd.passthrough`)."""
        self._open_handle()
        assert self._commands is not None
        return self._commands.send(parameters)

    def get_pnp_device_id(self) -> str:
        """GetPnPDeviceID: the id this object was opened with."""
        return self._open_handle().pnp_id

    @property
    def handle(self) -> WpdHandle:
        """The open handle (for extensions such as device services)."""
        return self._open_handle()

    def __enter__(self) -> PortableDevice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "DEFAULT_CLIENT_NAME",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "SECURITY_IMPERSONATION",
    "PortableDevice",
]
