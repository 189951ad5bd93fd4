"""Device services: IPortableDeviceServiceManager and IPortableDeviceService.

Theory of operation
-------------------
*Naming* (``docs/architecture.md``). A service's PnP id is its device's id (a device
URL) plus ``#service/{SERVICE-GUID}/{service object id}``; the service object id is ``"v"`` and
the MTP ServiceID in upper-case hex (``"v1"``), in the style of the device handle's ``"s…"`` /
``"o…"`` ids. ServiceIDs are the device's names for its services within a session; openwpd's
virtual device keeps them fixed.

:class:`PortableDeviceServiceManager` lists the services of a device by category -- the service
GUID, or one of the abstract services it implements (its UsedServices, e.g.
SERVICE_FullEnumSync, as Windows registers an interface for each), or
GUID_DEVINTERFACE_WPD_SERVICE for all -- and maps a service back to its device.

:class:`PortableDeviceService` is one open of a service. It is a handle of its own (a client
handle of its own on the device's shared MTP session, :mod:`openwpd.wpd.service_scope`):
``cancel()`` -- or the cancel of any object obtained from it -- fails every pending operation of
*this* service handle with 0x800704C7 (method invocations, enumerations, property reads,
transfers of its content) and nothing else; the device handle and other service handles go on.
``close()`` ends the handle; objects obtained from it then raise E_WPD_SERVICE_NOT_OPEN.
"""

from __future__ import annotations

import re
import uuid

from openwpd.client import parse_device_url
from openwpd.client.services import describe, service_ids
from openwpd.protocol.errors import LocalProtocolError, ResponseError
from openwpd.wpd import bridge
from openwpd.wpd import commands as c
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.device import DEFAULT_CLIENT_NAME, GENERIC_WRITE
from openwpd.wpd.errors import (
    E_INVALIDARG,
    E_WPD_SERVICE_ALREADY_OPENED,
    E_WPD_SERVICE_NOT_OPEN,
    ERROR_NOT_FOUND,
    HRESULT_FROM_WIN32,
    S_OK,
    WpdError,
    wpd_error_from,
)
from openwpd.wpd.handle import WpdHandle, open_handle
from openwpd.wpd.keys import VarType
from openwpd.wpd.manager import PortableDeviceManager
from openwpd.wpd.passthrough import CommandRunner
from openwpd.wpd.service_capabilities import PortableDeviceServiceCapabilities
from openwpd.wpd.service_content import PortableDeviceServiceContent
from openwpd.wpd.service_events import ServiceEventDispatcher
from openwpd.wpd.service_methods import PortableDeviceServiceMethods
from openwpd.wpd.service_scope import ServiceScope
from openwpd.wpd.values import PortableDeviceValues, PropVariant

#: What separates the device id from the service part of a service PnP id.
SERVICE_MARK = "#service/"
NOT_FOUND = HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
_SERVICE_PART = re.compile(r"\{([0-9A-Fa-f-]{36})\}/v([0-9A-F]{1,8})")


def service_object_id(service_id: int) -> str:
    """``"v1"`` for ServiceID 1."""
    return f"v{service_id:X}"


def service_pnp_id(device_id: str, service_guid: uuid.UUID, service_id: int) -> str:
    """The PnP id of service ``service_id`` (type ``service_guid``) of ``device_id``."""
    guid = str(service_guid).upper()
    return f"{device_id}{SERVICE_MARK}{{{guid}}}/{service_object_id(service_id)}"


def parse_service_pnp_id(pnp_id: str) -> tuple[str, uuid.UUID, int]:
    """(device id, service GUID, ServiceID) of a service PnP id; WpdError(E_INVALIDARG) when
    ``pnp_id`` is not one."""
    if not isinstance(pnp_id, str) or SERVICE_MARK not in pnp_id:
        raise WpdError(E_INVALIDARG, f"not a service PnP id: {pnp_id!r}")
    device_id, _, rest = pnp_id.rpartition(SERVICE_MARK)
    match = _SERVICE_PART.fullmatch(rest)
    if match is None or not device_id:
        raise WpdError(E_INVALIDARG, f"not a service PnP id: {pnp_id!r}")
    try:
        parse_device_url(device_id)
    except LocalProtocolError as exc:
        raise WpdError(E_INVALIDARG, str(exc)) from exc
    return device_id, uuid.UUID(match.group(1)), int(match.group(2), 16)


class PortableDeviceServiceManager:
    """IPortableDeviceServiceManager (obtained from a :class:`PortableDeviceManager` in WPD by
    QueryInterface; here constructed, optionally with the manager it belongs to)."""

    def __init__(self, manager: PortableDeviceManager | None = None) -> None:
        self.manager = manager

    def get_device_services(self, device_id: str, service_category: uuid.UUID) -> list[str]:
        """GetDeviceServices: the PnP ids of the services of ``device_id`` of
        ``service_category`` (a service GUID, an abstract service a service implements, or
        GUID_DEVINTERFACE_WPD_SERVICE for all), in ServiceID order. E_INVALIDARG for a
        malformed id or category; the connection's error when the device cannot be reached."""
        if not isinstance(device_id, str):
            raise WpdError(E_INVALIDARG, "the device id is a string")
        if not isinstance(service_category, uuid.UUID):
            raise WpdError(E_INVALIDARG, "the service category is a GUID")
        try:
            return bridge.run(_device_services(device_id, service_category))
        except LocalProtocolError as exc:
            raise WpdError(E_INVALIDARG, str(exc)) from exc
        except Exception as exc:
            raise wpd_error_from(exc) from exc

    def get_device_for_service(self, service_id: str) -> str:
        """GetDeviceForService: the device id of a service PnP id (E_INVALIDARG if it is not
        one)."""
        return parse_service_pnp_id(service_id)[0]


async def _device_services(device_id: str, category: uuid.UUID) -> list[str]:
    shared = await bridge.POOL.acquire(device_id, client_name="openwpd service manager")
    try:
        async with shared.conn.open_handle() as client:
            found = []
            for sid in await service_ids(client):
                info = (await describe(client, sid)).info
                if category in (g.GUID_DEVINTERFACE_WPD_SERVICE, info.guid) or (
                    category in info.used_services
                ):
                    found.append(service_pnp_id(device_id, info.guid, sid))
            return found
    finally:
        await bridge.POOL.release(shared)


class PortableDeviceService:
    """IPortableDeviceService (see the module docstring)."""

    def __init__(self) -> None:
        self._scope: ServiceScope | None = None
        self._events: ServiceEventDispatcher | None = None
        self._commands: CommandRunner | None = None

    def _open_scope(self) -> ServiceScope:
        scope = self._scope
        if scope is None or scope.handle.closed:
            raise WpdError(E_WPD_SERVICE_NOT_OPEN)
        return scope

    def open(self, service_id: str, client_info: PortableDeviceValues | None = None) -> None:
        """Open: a handle on the service ``service_id`` (a service PnP id).
        E_WPD_SERVICE_ALREADY_OPENED when this object is open; E_INVALIDARG for a malformed id;
        HRESULT_FROM_WIN32(ERROR_NOT_FOUND) when the device has no such service; the
        connection's error when the device cannot be reached. WPD_CLIENT_DESIRED_ACCESS =
        GENERIC_READ gives a read-only handle."""
        if self._scope is not None and not self._scope.handle.closed:
            raise WpdError(E_WPD_SERVICE_ALREADY_OPENED)
        device_id, guid, sid = parse_service_pnp_id(service_id)
        info = client_info if client_info is not None else PortableDeviceValues()
        if not isinstance(info, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, "client_info is a PortableDeviceValues")
        name = info.get(k.WPD_CLIENT_NAME)
        access = info.get(k.WPD_CLIENT_DESIRED_ACCESS)
        read_only = isinstance(access, int) and bool(access) and not access & GENERIC_WRITE
        try:
            handle = _open_service(
                device_id,
                guid,
                sid,
                client_name=name if isinstance(name, str) and name else DEFAULT_CLIENT_NAME,
                read_only=read_only,
            )
        except LocalProtocolError as exc:
            raise WpdError(E_INVALIDARG, str(exc)) from exc
        except WpdError:
            raise
        except Exception as exc:
            raise wpd_error_from(exc) from exc
        scope = ServiceScope(
            handle, service_id=sid, object_id=service_object_id(sid), pnp_id=service_id
        )
        self._scope = scope
        self._events = ServiceEventDispatcher(scope)
        self._commands = CommandRunner(handle)

    def close(self) -> None:
        """Close: end the service handle (pending operations are cancelled); idempotent."""
        scope, self._scope = self._scope, None
        if self._events is not None:
            self._events.close()
            self._events = None
        if scope is not None:
            scope.close()

    def capabilities(self) -> PortableDeviceServiceCapabilities:
        """Capabilities: the service's capabilities facet."""
        return PortableDeviceServiceCapabilities(self._open_scope())

    def content(self) -> PortableDeviceServiceContent:
        """Content: the service's content (IPortableDeviceContent2, scoped to the service)."""
        return PortableDeviceServiceContent(self._open_scope())

    def methods(self) -> PortableDeviceServiceMethods:
        """Methods: the service's methods facet."""
        return PortableDeviceServiceMethods(self._open_scope())

    def cancel(self) -> None:
        """Cancel: every pending operation of this service handle -- method invocations
        (synchronous and asynchronous), enumerations, property reads and writes, transfers --
        ends with 0x800704C7; returns when they have. The device handle and other service
        handles are not touched. E_WPD_SERVICE_NOT_OPEN when closed."""
        self._open_scope().cancel()

    def get_service_object_id(self) -> str:
        """GetServiceObjectID: the id of the service's functional object (read its
        properties through ``content().properties()``)."""
        return self._open_scope().object_id

    def get_pnp_service_id(self) -> str:
        """GetPnPServiceID: the id this object was opened with."""
        return self._open_scope().pnp_id

    def advise(self, callback: object, parameters: PortableDeviceValues | None = None) -> str:
        """Advise: deliver the service's events to ``callback.on_event(values)`` (or
        ``callback(values)``); ``parameters`` may hold WPD_EVENT_PARAMETER_EVENT_ID to receive
        only that event. Returns the cookie for :meth:`unadvise`."""
        self._open_scope()
        assert self._events is not None
        return self._events.advise(callback, parameters)

    def unadvise(self, cookie: str) -> None:
        """Unadvise: stop delivering events to the callback of ``cookie``."""
        self._open_scope()
        assert self._events is not None
        self._events.unadvise(cookie)

    def send_command(
        self, parameters: PortableDeviceValues, flags: int = 0
    ) -> PortableDeviceValues:
        """SendCommand on the service handle: WPD_COMMAND_SERVICE_COMMON_GET_SERVICE_OBJECT_ID
        (result WPD_PROPERTY_SERVICE_OBJECT_ID) and the MTP pass-through commands of
        :mod:`openwpd.wpd.passthrough`; the command's status is WPD_PROPERTY_COMMON_HRESULT."""
        scope = self._open_scope()
        if not isinstance(parameters, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, "parameters is a PortableDeviceValues")
        category = parameters.get(c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY)
        command_id = parameters.get(c.WPD_PROPERTY_COMMON_COMMAND_ID)
        if (
            category == c.WPD_COMMAND_SERVICE_COMMON_GET_SERVICE_OBJECT_ID.fmtid
            and command_id == c.WPD_COMMAND_SERVICE_COMMON_GET_SERVICE_OBJECT_ID.pid
        ):
            results = PortableDeviceValues()
            results[c.WPD_PROPERTY_SERVICE_OBJECT_ID] = scope.object_id
            results.set_value(c.WPD_PROPERTY_COMMON_HRESULT, PropVariant(VarType.ERROR, S_OK))
            return results
        assert self._commands is not None
        return self._commands.send(parameters)

    def __enter__(self) -> PortableDeviceService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _open_service(
    device_id: str, guid: uuid.UUID, service_id: int, *, client_name: str, read_only: bool
) -> WpdHandle:
    handle = bridge.run(open_handle(device_id, client_name=client_name, read_only=read_only))
    handle.not_open = E_WPD_SERVICE_NOT_OPEN
    try:
        try:
            info = handle.call(lambda: describe(handle.client, service_id)).info
        except WpdError as exc:
            if isinstance(exc.__cause__, ResponseError):
                raise WpdError(NOT_FOUND, f"no service {service_id}") from exc
            raise
        if info.guid != guid:
            raise WpdError(NOT_FOUND, f"service {service_id} is not {{{str(guid).upper()}}}")
    except BaseException:
        handle.close()
        raise
    return handle


__all__ = [
    "SERVICE_MARK",
    "PortableDeviceService",
    "PortableDeviceServiceManager",
    "parse_service_pnp_id",
    "service_object_id",
    "service_pnp_id",
]
