"""IPortableDevicePropertiesBulk: queued multi-object property reads and writes.

Theory of operation
-------------------
``queue_*`` records an operation under a fresh context GUID and returns it; nothing happens on
the device until :meth:`PortableDevicePropertiesBulk.start`. Started, the operation runs in a
thread of its own (so the callback may call WPD methods), in batches: each batch is one pending
operation of the handle (one :meth:`~openwpd.wpd.handle.WpdHandle.call`) and its results go to
``callback.on_progress(context, values_collection)``; ``on_start(context)`` comes first and
``on_end(context, hresult)`` last, always.

Each element of a get batch holds WPD_OBJECT_ID and the values read (an object that cannot be
read holds WPD_PROPERTY_COMMON_HRESULT instead); each element of a set batch holds WPD_OBJECT_ID
and one VT_ERROR result per key written.

Ending early: ``on_progress`` returning a failure HRESULT (or raising) abandons the operation
and ``on_end`` gets that HRESULT (E_FAIL for an exception that is not a WpdError).
:meth:`~PortableDevicePropertiesBulk.cancel` is targeted: it stops that operation only -- its
batch on the wire is cancelled the way a handle-wide cancel would -- and ``on_end`` gets
0x800704C7. A handle-wide Cancel stops every bulk operation of the handle the same way.

Depth for ``queue_get_values_by_object_format`` (PortableDeviceApi.h): the parent itself is level 0
(included when its format matches), its children level 1, and so on down to ``depth``; the
root ``""`` is never included itself, so ``("", 1)`` is the device alone and ``("DEVICE", 1)``
the device and its functional objects.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

from openwpd.protocol.errors import OpenWpdError
from openwpd.wpd import commands as c
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.errors import (
    E_FAIL,
    E_INVALIDARG,
    E_UNEXPECTED,
    ERROR_NOT_FOUND,
    HRESULT_CANCELLED,
    HRESULT_FROM_WIN32,
    S_OK,
    WpdError,
    failed,
    wpd_error_from,
)
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import children, resolve
from openwpd.wpd.properties import _keys, read_values, write_values
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDeviceValues,
    PortableDeviceValuesCollection,
    PropVariant,
)

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle

log = logging.getLogger("openwpd.wpd")

#: Objects per on_progress call.
BATCH = 16


class PropertiesBulkCallback(Protocol):
    """IPortableDevicePropertiesBulkCallback (each method is optional)."""

    def on_start(self, context: uuid.UUID) -> object: ...
    def on_progress(
        self, context: uuid.UUID, results: PortableDeviceValuesCollection
    ) -> object: ...
    def on_end(self, context: uuid.UUID, hresult: int) -> object: ...


@dataclass(eq=False)
class _Request:
    kind: str
    callback: object
    ids: list[str] = field(default_factory=list)
    keys: list[PropertyKey] | None = None
    format: uuid.UUID = g.WPD_OBJECT_FORMAT_ALL
    parent_id: str = ""
    depth: int = 0
    values: list[PortableDeviceValues] = field(default_factory=list)


def _failure(exc: OpenWpdError) -> PortableDeviceValues:
    """The element of an object that failed (a cancel is raised instead)."""
    error = wpd_error_from(exc)
    if error.cancelled:
        raise error from exc
    values = PortableDeviceValues()
    values.set_value(c.WPD_PROPERTY_COMMON_HRESULT, PropVariant(VarType.ERROR, error.hresult))
    return values


class _Operation:
    """One queued or running bulk operation: a context of its handle."""

    def __init__(self, handle: WpdHandle, context: uuid.UUID, request: _Request) -> None:
        self.handle = handle
        self.context = context
        self.request = request
        self.aborted = False
        self.thread: threading.Thread | None = None
        self.finished = threading.Event()

    def abort(self) -> None:
        self.aborted = True

    def _notify(self, name: str, *args: object) -> object:
        method = getattr(self.request.callback, name, None)
        return method(self.context, *args) if callable(method) else None

    def run(self) -> None:
        hresult = S_OK
        try:
            self._notify("on_start")
            for batch in self._batches():
                if self.aborted:
                    raise WpdError(HRESULT_CANCELLED)
                answer = self._notify("on_progress", batch)
                if isinstance(answer, int) and not isinstance(answer, bool) and failed(answer):
                    hresult = answer
                    break
            if self.aborted:
                hresult = HRESULT_CANCELLED
        except WpdError as exc:
            hresult = exc.hresult
        except Exception as exc:
            log.info("bulk operation %s: the callback failed: %s", self.context, exc)
            hresult = E_FAIL
        finally:
            self.handle.unregister(self)
            try:
                self._notify("on_end", hresult & 0xFFFFFFFF)
            except Exception as exc:
                log.info("bulk operation %s: on_end failed: %s", self.context, exc)
            self.finished.set()

    def _call(
        self, operation: Callable[[], Awaitable[PortableDeviceValuesCollection]]
    ) -> PortableDeviceValuesCollection:
        if self.aborted:
            raise WpdError(HRESULT_CANCELLED)
        return self.handle.call(operation, tag=self)

    def _batches(self) -> Iterator[PortableDeviceValuesCollection]:
        request = self.request
        if request.kind == "set":
            for start in range(0, len(request.values), BATCH):
                yield self._call(partial(self._set, request.values[start : start + BATCH]))
        elif request.kind == "list":
            for start in range(0, len(request.ids), BATCH):
                yield self._call(partial(self._get, request.ids[start : start + BATCH]))
        else:
            yield from self._by_format()

    async def _get(self, ids: list[str]) -> PortableDeviceValuesCollection:
        out = PortableDeviceValuesCollection()
        for object_id in ids:
            out.add(await self._read(object_id))
        return out

    async def _read(self, object_id: str) -> PortableDeviceValues:
        try:
            values = await read_values(self.handle, object_id, self.request.keys)
        except OpenWpdError as exc:
            values = _failure(exc)
        else:
            values = values.copy()
        values[k.WPD_OBJECT_ID] = object_id
        return values

    async def _set(self, chunk: list[PortableDeviceValues]) -> PortableDeviceValuesCollection:
        out = PortableDeviceValuesCollection()
        for item in chunk:
            object_id = item.get(k.WPD_OBJECT_ID)
            writes = item.copy()
            writes.pop(k.WPD_OBJECT_ID, None)
            if isinstance(object_id, str):
                try:
                    results = await write_values(self.handle, object_id, writes)
                except OpenWpdError as exc:
                    results = _failure(exc)
                results[k.WPD_OBJECT_ID] = object_id
            else:
                results = PortableDeviceValues()
                results.set_value(
                    c.WPD_PROPERTY_COMMON_HRESULT, PropVariant(VarType.ERROR, E_INVALIDARG)
                )
            out.add(results)
        return out

    def _by_format(self) -> Iterator[PortableDeviceValuesCollection]:
        request = self.request
        level0 = [] if request.parent_id == "" else [request.parent_id]
        pending: list[tuple[str, int]] = [(i, 0) for i in level0]
        if not level0:
            pending = [(g.WPD_DEVICE_OBJECT_ID, 1)] if request.depth >= 1 else []
        while pending:
            chunk, pending = pending[:BATCH], pending[BATCH:]
            found, more = self._level(chunk)
            pending.extend(more)
            if len(found):
                yield found

    def _level(
        self, chunk: list[tuple[str, int]]
    ) -> tuple[PortableDeviceValuesCollection, list[tuple[str, int]]]:
        request = self.request
        more: list[tuple[str, int]] = []

        async def step() -> PortableDeviceValuesCollection:
            out = PortableDeviceValuesCollection()
            client = self.handle.client
            for object_id, level in chunk:
                values = await read_values(self.handle, object_id, None)
                if request.format in (g.WPD_OBJECT_FORMAT_ALL, values.get(k.WPD_OBJECT_FORMAT)):
                    selected = values.copy()
                    if request.keys is not None:
                        selected = PortableDeviceValues(
                            (key, values.get_value(key)) for key in request.keys if key in values
                        )
                    selected[k.WPD_OBJECT_ID] = object_id
                    out.add(selected)
                if level < request.depth:
                    node = await resolve(client, object_id)
                    async with aclosing(children(client, node)) as kids:
                        async for child in kids:
                            more.append((child, level + 1))
            return out

        return self._call(step), more


class PortableDevicePropertiesBulk:
    """IPortableDevicePropertiesBulk of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle
        self._operations: dict[uuid.UUID, _Operation] = {}
        self._lock = threading.Lock()

    def _queue(self, request: _Request) -> uuid.UUID:
        self._handle.check_open()
        context = uuid.uuid4()
        with self._lock:
            self._operations[context] = _Operation(self._handle, context, request)
        return context

    def queue_get_values_by_object_list(
        self,
        object_ids: Iterable[object],
        keys: PortableDeviceKeyCollection | Iterable[PropertyKey] | None,
        callback: PropertiesBulkCallback | object,
    ) -> uuid.UUID:
        """QueueGetValuesByObjectList: read ``keys`` (None: all) of each object; returns the
        context GUID (nothing runs before :meth:`start`)."""
        ids = [str(i) for i in object_ids if isinstance(i, str)]
        wanted = None if keys is None else _keys(keys)
        return self._queue(_Request("list", callback, ids=ids, keys=wanted))

    def queue_get_values_by_object_format(
        self,
        object_format: uuid.UUID,
        parent_id: str,
        depth: int,
        keys: PortableDeviceKeyCollection | Iterable[PropertyKey] | None,
        callback: PropertiesBulkCallback | object,
    ) -> uuid.UUID:
        """QueueGetValuesByObjectFormat: objects of ``object_format`` (WPD_OBJECT_FORMAT_ALL:
        every object) under ``parent_id`` down to ``depth`` (see the module docstring)."""
        if not isinstance(object_format, uuid.UUID) or not isinstance(depth, int) or depth < 0:
            raise WpdError(E_INVALIDARG, "bad format or depth")
        wanted = None if keys is None else _keys(keys)
        request = _Request(
            "format", callback, keys=wanted, format=object_format, parent_id=parent_id, depth=depth
        )
        return self._queue(request)

    def queue_set_values_by_object_list(
        self,
        values_collection: PortableDeviceValuesCollection | Iterable[PortableDeviceValues],
        callback: PropertiesBulkCallback | object,
    ) -> uuid.UUID:
        """QueueSetValuesByObjectList: each element names its object with WPD_OBJECT_ID and
        holds the values to write."""
        self._handle.check_writable()
        items = list(values_collection)
        return self._queue(_Request("set", callback, values=items))

    def _operation(self, context: uuid.UUID) -> _Operation:
        with self._lock:
            operation = self._operations.get(context)
        if operation is None:
            raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), f"no bulk operation {context}")
        return operation

    def start(self, context: uuid.UUID) -> None:
        """Start: run the queued operation (asynchronously; the callback reports).
        HRESULT_FROM_WIN32(ERROR_NOT_FOUND) for an unknown context, E_UNEXPECTED if it was
        started already."""
        self._handle.check_open()
        operation = self._operation(context)
        if operation.aborted:
            raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), "the operation was cancelled")
        if operation.thread is not None:
            raise WpdError(E_UNEXPECTED, "the bulk operation was started already")
        self._handle.register(operation)
        operation.thread = threading.Thread(
            target=operation.run, name=f"openwpd bulk {context}", daemon=True
        )
        operation.thread.start()

    def cancel(self, context: uuid.UUID) -> None:
        """Cancel (targeted): stop that operation; ``on_end`` gets 0x800704C7 if it was
        running. HRESULT_FROM_WIN32(ERROR_NOT_FOUND) for an unknown context."""
        self._handle.check_open()
        operation = self._operation(context)
        operation.abort()
        if operation.thread is not None:
            self._handle.cancel_tagged(operation)

    def wait(self, context: uuid.UUID, timeout: float | None = None) -> bool:
        """Not in WPD: block until a started operation ended (``on_end`` returned); False on
        timeout."""
        return self._operation(context).finished.wait(timeout)


__all__ = ["BATCH", "PortableDevicePropertiesBulk", "PropertiesBulkCallback"]
