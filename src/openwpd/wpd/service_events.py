"""IPortableDeviceService::Advise / Unadvise: the events of one service, delivered to callbacks.

Theory of operation
-------------------
The first ``advise`` starts a pump task on the bridge loop that reads the device's events (on
the service handle's internal client handle, which a Cancel never reaches) and a dispatcher
thread that calls the callbacks (``callback.on_event(values)`` or ``callback(values)``), never
on the loop. Only the service's own events are delivered (WPD services):

* ServicePropChanged of this service: the event GUID the service declares for it, the service
  object as WPD_OBJECT_ID and the MTP parameters (ServiceID, property code) as
  WPD_PROPERTY_MTP_EXT_EVENT_PARAMS;
* ObjectAdded / ObjectRemoved / ObjectInfoChanged / ObjectPropChanged of objects in the
  service's storage: WPD_EVENT_OBJECT_ADDED / _REMOVED / _UPDATED with WPD_OBJECT_ID, the
  object's PUID, name and parent (not for a removal: the object is gone) and the service object
  as WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID. A removed object is recognised by its handle
  having been seen in the service (listed, created, added, read);
* ServiceRemoved of this service: WPD_EVENT_OBJECT_REMOVED of the service object.

MethodComplete is never delivered: it is the method machinery's own business (PortableDevice.h).
Every event carries WPD_EVENT_PARAMETER_EVENT_ID and WPD_EVENT_PARAMETER_PNP_DEVICE_ID (the
service's PnP id). ``parameters`` given to ``advise`` may hold WPD_EVENT_PARAMETER_EVENT_ID: that
callback then gets only that event (the natural filter key).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING

from openwpd.client import DeviceEvent, EventStream
from openwpd.protocol.codes import EventCode
from openwpd.protocol.errors import OpenWpdError
from openwpd.wpd import bridge
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import E_INVALIDARG, ERROR_NOT_FOUND, HRESULT_FROM_WIN32, WpdError
from openwpd.wpd.events import EventCallback, event_sink
from openwpd.wpd.keys import VarType
from openwpd.wpd.service_content import object_values
from openwpd.wpd.values import PortableDevicePropVariantCollection, PortableDeviceValues

if TYPE_CHECKING:
    from openwpd.wpd.service_scope import ServiceScope

log = logging.getLogger("openwpd.wpd")


_E = EventCode
_OBJECT_EVENTS: dict[int, uuid.UUID] = {
    _E.OBJECT_ADDED: g.WPD_EVENT_OBJECT_ADDED,
    _E.OBJECT_REMOVED: g.WPD_EVENT_OBJECT_REMOVED,
    _E.OBJECT_INFO_CHANGED: g.WPD_EVENT_OBJECT_UPDATED,
    _E.OBJECT_PROP_CHANGED: g.WPD_EVENT_OBJECT_UPDATED,
}
#: Object properties copied into object events.
EVENT_OBJECT_KEYS = (
    k.WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    k.WPD_OBJECT_NAME,
    k.WPD_OBJECT_ORIGINAL_FILE_NAME,
    k.WPD_OBJECT_PARENT_ID,
    k.WPD_OBJECT_FORMAT,
    k.WPD_OBJECT_CONTENT_TYPE,
)


class ServiceEventDispatcher:
    """The advised callbacks of one service handle and what feeds them."""

    def __init__(self, scope: ServiceScope) -> None:
        self._scope = scope
        self._lock = threading.Lock()
        self._sinks: dict[str, tuple[EventCallback, uuid.UUID | None]] = {}
        self._queue: queue.SimpleQueue[PortableDeviceValues | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pump: asyncio.Task[None] | None = None

    def advise(self, callback: object, parameters: PortableDeviceValues | None = None) -> str:
        """Register ``callback`` (filtered by WPD_EVENT_PARAMETER_EVENT_ID in
        ``parameters`` when present); returns its cookie."""
        self._scope.handle.check_open()
        sink = event_sink(callback)
        wanted: uuid.UUID | None = None
        if parameters is not None:
            if not isinstance(parameters, PortableDeviceValues):
                raise WpdError(E_INVALIDARG, "parameters is a PortableDeviceValues")
            event = parameters.get(k.WPD_EVENT_PARAMETER_EVENT_ID)
            if event is not None and not isinstance(event, uuid.UUID):
                raise WpdError(E_INVALIDARG, "WPD_EVENT_PARAMETER_EVENT_ID is a GUID")
            wanted = event
        cookie = "{" + str(uuid.uuid4()).upper() + "}"
        with self._lock:
            self._sinks[cookie] = (sink, wanted)
            start = self._thread is None
            if start:
                self._thread = threading.Thread(
                    target=self._dispatch, name="openwpd service events", daemon=True
                )
                self._thread.start()
        if start:
            bridge.run(self._start())
        return cookie

    def unadvise(self, cookie: str) -> None:
        """Unregister the callback of ``cookie`` (HRESULT_FROM_WIN32(ERROR_NOT_FOUND) for an
        unknown cookie)."""
        self._scope.handle.check_open()
        with self._lock:
            if self._sinks.pop(cookie, None) is None:
                raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), f"no callback {cookie!r}")

    def close(self) -> None:
        """Stop the pump and the dispatcher thread."""
        with self._lock:
            self._sinks.clear()
            thread, self._thread = self._thread, None
        pump = self._pump
        if pump is not None:
            bridge.get_loop().call_soon_threadsafe(pump.cancel)
        if thread is not None:
            self._queue.put(None)

    # -- loop side ------------------------------------------------------------------------------

    async def _start(self) -> None:
        stream = self._scope.handle.aux.events()
        self._pump = asyncio.create_task(self._run(stream), name="openwpd service event pump")

    async def _run(self, stream: EventStream) -> None:
        try:
            async for event in stream:
                try:
                    values = await self.convert(event)
                except OpenWpdError as exc:  # the device went away meanwhile
                    log.info("service event 0x%04X dropped: %s", event.code, exc)
                    continue
                if values is not None:
                    self._queue.put(values)
        finally:
            await stream.aclose()

    def _base(self, event_id: uuid.UUID) -> PortableDeviceValues:
        values = PortableDeviceValues()
        values[k.WPD_EVENT_PARAMETER_EVENT_ID] = event_id
        values[k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID] = self._scope.pnp_id
        return values

    async def convert(self, event: DeviceEvent) -> PortableDeviceValues | None:
        """The WPD parameters of a device event, or None when it is not this service's."""
        scope = self._scope
        params = event.params
        if not params:
            return None
        if event.code == _E.SERVICE_PROP_CHANGED and params[0] == scope.service_id:
            desc = await scope.service.description()
            declared = {e.code: e.guid for e in desc.info.events}
            values = self._base(declared.get(event.code, g.vendor_event_guid(event.code)))
            values[k.WPD_OBJECT_ID] = scope.object_id
            values[k.WPD_PROPERTY_MTP_EXT_EVENT_PARAMS] = PortableDevicePropVariantCollection(
                params, vt=VarType.UI4
            )
            return values
        if event.code == _E.SERVICE_REMOVED and params[0] == scope.service_id:
            values = self._base(g.WPD_EVENT_OBJECT_REMOVED)
            values[k.WPD_OBJECT_ID] = scope.object_id
            return values
        if event.code in _OBJECT_EVENTS:
            return await self._object_event(event.code, params[0])
        return None

    async def _object_event(self, code: int, handle: int) -> PortableDeviceValues | None:
        scope = self._scope
        if code == _E.OBJECT_REMOVED:
            if handle not in scope.known:
                return None
            scope.known.discard(handle)
            props = None
        else:
            desc = await scope.service.description()
            entry = await scope.handle.aux.entry(handle)
            if not desc.info.storage_id or entry.storage_id != desc.info.storage_id:
                return None
            scope.known.add(handle)
            props = await object_values(scope, entry)
        values = self._base(_OBJECT_EVENTS[code])
        values[k.WPD_OBJECT_ID] = m.object_id_for_handle(handle)
        values[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] = scope.object_id
        for key in EVENT_OBJECT_KEYS:
            if props is not None and key in props:
                values.set_value(key, props.get_value(key))
        return values

    # -- dispatcher thread ----------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            values = self._queue.get()
            if values is None:
                return
            event_id = values.get(k.WPD_EVENT_PARAMETER_EVENT_ID)
            with self._lock:
                sinks = list(self._sinks.items())
            for cookie, (sink, wanted) in sinks:
                if wanted is not None and wanted != event_id:
                    continue
                with self._lock:
                    if cookie not in self._sinks:
                        continue
                try:
                    sink(values)
                except Exception:
                    log.warning("a service event callback failed", exc_info=True)


__all__ = ["EVENT_OBJECT_KEYS", "EventCallback", "ServiceEventDispatcher"]
