"""Method objects: how a service method is invoked, runs, completes and is cancelled.

Theory of operation (our protocol; see ``docs/device-services.md``):

1. The initiator creates a *method object* with SendObjectPropList whose ObjectFormat is the
   method code and whose elements are the in-parameters (property code = parameter code).
   :meth:`MethodObjects.create` checks them (unknown code, wrong type, value outside the form,
   missing required parameter -> MtpError carrying the failing element index, nothing created),
   hands out a handle ``0x80000000 | n`` and starts the method body as an asyncio task. The
   SendObjectPropList response comes back at once: methods run asynchronously.
2. When the body ends the device raises **MethodComplete** (0xC304) with p1 = the method
   object's handle, p2 = the response code (OK, the body's error code, or
   TransactionCancelled), p3 = the ServiceID. The object keeps its in-parameters and, on
   success, gains its out-parameters; the initiator reads them with GetObjectPropList /
   GetObjectPropValue on the handle.
3. The initiator deletes the method object (DeleteObject). Deleting it while the method runs
   cancels the method: its task is cancelled at its next ``await``, MethodComplete is raised with
   TransactionCancelled (its p1 names the handle that no longer exists), and the service goes on
   serving. Cancelling a method never touches the MTP session.

Method objects are not stored anywhere: they live in memory, are never listed by
GetObjectHandles, and vanish with the device. At most :data:`MAX_METHOD_OBJECTS` exist at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openwpd.protocol.codes import (
    ALL,
    DataType,
    EventCode,
    MethodParameterType,
    ObjectPropCode,
    ResponseCode,
)
from openwpd.protocol.datasets import PropListElement
from openwpd.protocol.datatypes import Value
from openwpd.server.context import MtpError
from openwpd.server.services.codes import METHOD_HANDLE_BIT
from openwpd.server.services.model import MethodCall, MethodDef, Service, check_value
from openwpd.server.store import StoreError

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice

log = logging.getLogger("openwpd.server.services")

#: Live method objects allowed at once; one more is refused with StoreFull.
MAX_METHOD_OBJECTS = 1024

Broadcast = Callable[[EventCode, tuple[int, ...]], None]


def is_method_handle(handle: int) -> bool:
    """True for handles in the method-object range (0x80000001..0xFFFFFFFE)."""
    return bool(handle & METHOD_HANDLE_BIT) and handle != ALL


@dataclass(eq=False)
class MethodObject:
    """One invocation. ``code`` is None while running, then its response code."""

    handle: int
    service: Service
    method: MethodDef
    storage_id: int
    parent: int
    params: dict[int, Value]
    results: dict[int, Value] = field(default_factory=dict)
    code: ResponseCode | None = None
    task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.code is None

    def props(self, code: int = ALL) -> list[PropListElement]:
        """The object's properties: StorageID, ObjectFormat, ParentObject, then every
        parameter that has a value (in-parameters always; out-parameters once complete)."""
        h = self.handle
        elements = [
            PropListElement(h, ObjectPropCode.STORAGE_ID, DataType.UINT32, self.storage_id),
            PropListElement(h, ObjectPropCode.OBJECT_FORMAT, DataType.UINT16, self.method.code),
            PropListElement(h, ObjectPropCode.PARENT_OBJECT, DataType.UINT32, self.parent),
        ]
        values = {**self.params, **self.results}
        for p in self.method.params:
            if p.code in values:
                elements.append(PropListElement(h, p.code, p.datatype, values[p.code]))
        if code in (0, ALL):
            return elements
        return [e for e in elements if e.code == code]


class MethodObjects:
    """Every live method object of the device."""

    def __init__(self, device: VirtualDevice, broadcast: Broadcast) -> None:
        self._device = device
        self._broadcast = broadcast
        self._objects: dict[int, MethodObject] = {}
        self._next = 1
        #: called with the finished object (the Diagnostics service counts completions)
        self.on_complete: Callable[[MethodObject], None] | None = None

    def get(self, handle: int) -> MethodObject | None:
        return self._objects.get(handle)

    def __len__(self) -> int:
        return len(self._objects)

    def _alloc(self) -> int:
        while True:
            handle = METHOD_HANDLE_BIT | self._next
            self._next = self._next + 1 if self._next < 0x7FFFFFFE else 1
            if handle not in self._objects:
                return handle

    def create(
        self,
        service: Service,
        method: MethodDef,
        storage_id: int,
        parent: int,
        elements: Sequence[PropListElement],
    ) -> MethodObject:
        """Check the in-parameters, create the object and start the method (see the module
        doc). Raises MtpError (p1 = failing element index where one is to blame) or StoreFull
        when too many method objects exist. Must be called on the event loop."""
        if len(self._objects) >= MAX_METHOD_OBJECTS:
            raise MtpError(ResponseCode.STORE_FULL, "too many method objects")
        ins = {
            p.code: p
            for p in method.params
            if p.direction in (MethodParameterType.IN, MethodParameterType.IN_OUT)
        }
        params: dict[int, Value] = {}
        for index, e in enumerate(elements):
            spec = ins.get(e.code)
            if spec is None:
                raise MtpError(ResponseCode.INVALID_OBJECT_PROP_CODE, f"element {index}", (index,))
            bad = (
                ResponseCode.INVALID_OBJECT_PROP_FORMAT
                if e.datatype != spec.datatype
                else check_value(spec.datatype, spec.form, e.value)
            )
            if bad is not None:
                raise MtpError(bad, f"element {index}", (index,))
            params[e.code] = e.value
        missing = [p for p in ins.values() if p.required and p.code not in params]
        if missing:
            raise MtpError(ResponseCode.INVALID_DATASET, f"missing parameter {missing[0].name}")
        obj = MethodObject(self._alloc(), service, method, storage_id, parent, params)
        self._objects[obj.handle] = obj
        obj.task = asyncio.get_running_loop().create_task(
            self._run(obj), name=f"method-{method.name}-0x{obj.handle:08X}"
        )
        obj.task.add_done_callback(lambda task: self._on_task_done(obj, task))
        return obj

    async def _run(self, obj: MethodObject) -> None:
        call = MethodCall(self._device, obj.service, dict(obj.params))
        try:
            results = await obj.method.body(call)
        except asyncio.CancelledError:
            self._finish(obj, ResponseCode.TRANSACTION_CANCELLED)
        except MtpError as exc:
            self._finish(obj, exc.code)
        except StoreError as exc:
            self._finish(obj, exc.code)
        except Exception:
            log.exception("method %s failed", obj.method.name)
            self._finish(obj, ResponseCode.GENERAL_ERROR)
        else:
            self._finish(obj, ResponseCode.OK, results)

    def _on_task_done(self, obj: MethodObject, task: asyncio.Task[None]) -> None:
        # a task cancelled before its first step never enters _run's try block
        if obj.running and task.cancelled():
            self._finish(obj, ResponseCode.TRANSACTION_CANCELLED)

    def _finish(
        self, obj: MethodObject, code: ResponseCode, results: dict[int, Value] | None = None
    ) -> None:
        obj.results = results or {}
        obj.code = code
        self._broadcast(EventCode.METHOD_COMPLETE, (obj.handle, code, obj.service.service_id))
        if self.on_complete is not None:
            self.on_complete(obj)

    def delete(self, handle: int) -> bool:
        """Forget method object ``handle``, cancelling its method if it still runs. False if
        there is no such object."""
        obj = self._objects.pop(handle, None)
        if obj is None:
            return False
        if obj.task is not None and not obj.task.done():
            obj.task.cancel()
        return True

    def delete_for_service(self, service_id: int) -> None:
        """Drop every method object of a service that goes away (its methods are cancelled)."""
        for handle, obj in list(self._objects.items()):
            if obj.service.service_id == service_id:
                self.delete(handle)

    async def aclose(self) -> None:
        """Cancel every running method and wait for it; forget every object."""
        tasks = [o.task for o in self._objects.values() if o.task is not None]
        self._objects.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
