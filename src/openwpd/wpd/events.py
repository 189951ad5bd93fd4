"""Advise/Unadvise: device events delivered to callbacks as WPD event parameters.

Theory of operation
-------------------
The first ``advise`` on a handle starts two things: a *pump* task on the bridge loop that reads
the connection's event stream (events reach the client the moment the device sends them, whether
or not a transaction runs) and turns each MTP event into a :class:`PortableDeviceValues` of WPD
event parameters, and a *dispatcher* thread that hands each of them to every advised callback
(``callback.on_event(values)``, or the callable itself). Callbacks run on that thread, never on
the loop, so they may call blocking WPD methods.

Parameters: WPD_EVENT_PARAMETER_EVENT_ID and WPD_EVENT_PARAMETER_PNP_DEVICE_ID always; for
object events WPD_OBJECT_ID, and -- except for removals, whose object is gone -- the object's
PUID, name, original file name, parent, format and content type (read through the handle's
internal client handle, so a Cancel of the handle never loses them); for storage events
WPD_OBJECT_ID of the storage and its functional category; for events without a WPD meaning the
vendor GUID and WPD_PROPERTY_MTP_EXT_EVENT_PARAMS. When the connection to the device breaks,
every callback gets WPD_EVENT_DEVICE_REMOVED.

``unadvise`` removes a callback: nothing is delivered to it once ``unadvise`` has returned,
except an event it was being given at that very moment.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from openwpd.client import DeviceEvent
from openwpd.protocol.codes import EventCode
from openwpd.protocol.errors import OpenWpdError
from openwpd.wpd import bridge
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import E_INVALIDARG, ERROR_NOT_FOUND, HRESULT_FROM_WIN32, WpdError
from openwpd.wpd.keys import VarType
from openwpd.wpd.objects import entry_values
from openwpd.wpd.values import PortableDevicePropVariantCollection, PortableDeviceValues

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle

log = logging.getLogger("openwpd.wpd")

EventCallback = Callable[[PortableDeviceValues], object]

#: Object properties copied into object events.
EVENT_OBJECT_KEYS = (
    k.WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    k.WPD_OBJECT_NAME,
    k.WPD_OBJECT_ORIGINAL_FILE_NAME,
    k.WPD_OBJECT_PARENT_ID,
    k.WPD_OBJECT_FORMAT,
    k.WPD_OBJECT_CONTENT_TYPE,
    k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID,
)


def event_sink(callback: object) -> EventCallback:
    """The callable behind an advise() callback: its ``on_event`` method, or itself."""
    method: object = getattr(callback, "on_event", None)
    if not callable(method):
        method = callback
    if callable(method):
        return cast(EventCallback, method)
    raise WpdError(E_INVALIDARG, "the callback has no on_event method")


class EventDispatcher:
    """The advised callbacks of one handle and the machinery that feeds them."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        self._sinks: dict[str, EventCallback] = {}
        self._queue: queue.SimpleQueue[PortableDeviceValues | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing = False

    def advise(self, callback: object, parameters: PortableDeviceValues | None = None) -> str:
        """Register ``callback``; returns its cookie. ``parameters`` is ignored (no filtering
        on a device handle, as in WPD)."""
        self._handle.check_open()
        sink = event_sink(callback)
        cookie = "{" + str(uuid.uuid4()).upper() + "}"
        with self._lock:
            self._sinks[cookie] = sink
            start = self._thread is None
            if start:
                self._thread = threading.Thread(
                    target=self._dispatch, name="openwpd events", daemon=True
                )
                self._thread.start()
        if start:
            bridge.run(self._start())
        return cookie

    def unadvise(self, cookie: str) -> None:
        """Unregister the callback of ``cookie``; HRESULT_FROM_WIN32(ERROR_NOT_FOUND) for an
        unknown cookie."""
        self._handle.check_open()
        with self._lock:
            if self._sinks.pop(cookie, None) is None:
                raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), f"no callback {cookie!r}")

    def close(self) -> None:
        """Stop the pump and the dispatcher thread (pending events are dropped)."""
        self._closing = True
        with self._lock:
            self._sinks.clear()
            thread = self._thread
        if self._pump is not None:
            pump = self._pump
            bridge.get_loop().call_soon_threadsafe(pump.cancel)
        if thread is not None:
            self._queue.put(None)

    # -- loop side -----------------------------------------------------------------------------

    async def _start(self) -> None:
        stream = self._handle.aux.events()
        self._pump = asyncio.create_task(self._run(stream), name="openwpd event pump")

    async def _run(self, stream: object) -> None:
        from openwpd.client import EventStream

        assert isinstance(stream, EventStream)
        try:
            async for event in stream:
                self._queue.put(await self.convert(event))
        finally:
            await stream.aclose()
        if not self._closing and self._handle.conn.broken is not None:
            self._queue.put(self.removed())

    def removed(self) -> PortableDeviceValues:
        """WPD_EVENT_DEVICE_REMOVED parameters."""
        values = PortableDeviceValues()
        values[k.WPD_EVENT_PARAMETER_EVENT_ID] = g.WPD_EVENT_DEVICE_REMOVED
        values[k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID] = self._handle.pnp_id
        return values

    async def convert(self, event: DeviceEvent) -> PortableDeviceValues:
        """The WPD event parameters of an MTP event (see the module docstring)."""
        values = PortableDeviceValues()
        values[k.WPD_EVENT_PARAMETER_EVENT_ID] = m.event_guid(event.code)
        values[k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID] = self._handle.pnp_id
        if event.code in m.OBJECT_EVENTS and event.params:
            values[k.WPD_OBJECT_ID] = m.object_id_for_handle(event.params[0])
            if event.code != EventCode.OBJECT_REMOVED:
                await self._describe(values, event.params[0])
        elif event.code in m.STORAGE_EVENTS and event.params:
            values[k.WPD_OBJECT_ID] = m.storage_object_id(event.params[0])
            values[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT
            values[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] = g.WPD_FUNCTIONAL_CATEGORY_STORAGE
        elif event.code not in m.EVENT_GUIDS:
            values[k.WPD_PROPERTY_MTP_EXT_EVENT_PARAMS] = PortableDevicePropVariantCollection(
                event.params, vt=VarType.UI4
            )
        return values

    async def _describe(self, values: PortableDeviceValues, handle: int) -> None:
        aux = self._handle.aux
        try:
            props = await entry_values(aux, await aux.entry(handle))
        except OpenWpdError as exc:
            log.info("event for 0x%08X: the object cannot be read: %s", handle, exc)
            return
        for key in EVENT_OBJECT_KEYS:
            if key in props:
                values.set_value(key, props.get_value(key))

    # -- dispatcher thread ---------------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            values = self._queue.get()
            if values is None:
                return
            with self._lock:
                cookies = list(self._sinks)
            for cookie in cookies:
                with self._lock:
                    sink = self._sinks.get(cookie)
                if sink is None:
                    continue
                try:
                    sink(values)
                except Exception:
                    log.warning("an event callback failed", exc_info=True)


__all__ = ["EVENT_OBJECT_KEYS", "EventCallback", "EventDispatcher"]
