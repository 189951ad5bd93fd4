"""MTP Device Services from the initiator's side: discovery, service properties, methods.

Theory of operation
-------------------
*Discovery.* GetServiceIDs lists the services; :func:`describe` reads what one of them declares
(GetServiceInfo, GetServicePropDesc, GetServiceCapabilities) into a
:class:`ServiceDescription` and caches it per connection. The cache is dropped when the device
says its services changed (ServiceAdded / ServiceRemoved) and does not survive a session reset.

*Service properties* travel as ObjectPropLists with the ServiceID in the handle slot
(GetServicePropList / SetServicePropList / DeleteServicePropList); their data types come from
the service's ServicePropDescs.

*Methods* follow our device-services protocol (``docs/device-services.md``, section 5): the method
object is created with SendObjectPropList (ObjectFormat = the method code, one element per
in-parameter); the device answers at once with the object's handle and runs the method; a
MethodComplete event (p1 = that handle, p2 = the response code) says it ended; the results are
the object's out-parameters (GetObjectPropList); the object is then deleted. A
:class:`MethodInvocation` does all of that in :meth:`MethodInvocation.run`.

MethodComplete may overtake the SendObjectPropList response (PTP/IP events have a connection
of their own), so every connection that invokes methods has one *completion router*: a task
that reads the connection's event stream from before the first method object is created,
hands each completion to the invocation waiting for that handle, and keeps completions nobody
waits for yet (a bounded number) for the invocation about to ask.

*Cancel.* :meth:`MethodInvocation.cancel` (targeted) and :meth:`ServiceHandle.cancel`
(handle-wide) fail the waiting invocation with :class:`~openwpd.protocol.errors.Cancelled`
at once and delete its method object -- which is how a method is cancelled on the device: it
stops and completes with TransactionCancelled. The deletion is a clean-up step that neither
the handle's cancel nor the caller's task cancel can stop; the cancelled caller does not wait
for it. Cancelling the asyncio task running :meth:`MethodInvocation.run` does the same and
lets ``CancelledError`` propagate. The MTP session itself is never involved unless a
transaction of the invocation was on the wire (then the client cancels that transaction as for
every operation); other handles and other invocations go on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from openwpd.client.connection import Connection, OpScope
from openwpd.client.handle import Handle
from openwpd.client.transfer import delete_quietly
from openwpd.protocol.codes import (
    ALL,
    EventCode,
    MethodParameterType,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    DeletePropList,
    DeletePropListElement,
    Form,
    FormatCapability,
    FormatCapabilityList,
    ObjectPropDesc,
    ObjectPropList,
    PropListElement,
    ServiceFormat,
    ServiceInfo,
    ServiceMethod,
    ServiceMethodParameterForm,
    ServiceObjectPropertyForm,
    ServicePropDesc,
    ServicePropDescList,
    ServiceProperty,
    parse_uint32_array,
)
from openwpd.protocol.datatypes import Value
from openwpd.protocol.errors import (
    Cancelled,
    LocalProtocolError,
    OpenWpdError,
    ResponseError,
)

log = logging.getLogger("openwpd.client")

_O = OperationCode

#: Completions kept for invocations that have not asked for them yet.
UNCLAIMED_COMPLETIONS = 1024


# -- what a service declares ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodParam:
    """A method parameter: its property ``code`` (an object property of the method format),
    PROPERTYKEY (``namespace``, ``pid``), ``name``, wire ``datatype``, ``direction``
    (:class:`~openwpd.protocol.codes.MethodParameterType`), 0-based position ``number``, its
    regular ``form`` (None for none) and the description's default value."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str
    datatype: int
    direction: int
    number: int
    form: Form | None = None
    default: Value = 0

    @property
    def is_input(self) -> bool:
        return self.direction in (MethodParameterType.IN, MethodParameterType.IN_OUT)

    @property
    def is_output(self) -> bool:
        return self.direction in (MethodParameterType.OUT, MethodParameterType.IN_OUT)


@dataclass(frozen=True, slots=True)
class FormatProperty:
    """A property of a service format: its code, PROPERTYKEY, name and the whole description
    (type, access, regular form in ``form``)."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str
    desc: ObjectPropDesc
    form: Form | None = None


def _method_param(desc: ObjectPropDesc) -> MethodParam | None:
    form = desc.form
    if not isinstance(form, ServiceMethodParameterForm):
        return None
    return MethodParam(
        desc.code,
        form.namespace,
        form.pid,
        form.name,
        desc.datatype,
        form.param_type,
        form.param_number,
        form.form,
        desc.factory_default,
    )


def _format_property(desc: ObjectPropDesc) -> FormatProperty | None:
    form = desc.form
    if not isinstance(form, ServiceObjectPropertyForm):
        return None
    return FormatProperty(desc.code, form.namespace, form.pid, form.name, desc, form.form)


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    """What one service declares: its ServiceInfo, the descriptions of its service properties
    (by code) and the capabilities of its formats and method formats (by code)."""

    info: ServiceInfo
    prop_descs: Mapping[int, ServicePropDesc] = field(default_factory=lambda: MappingProxyType({}))
    capabilities: Mapping[int, FormatCapability] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def service_id(self) -> int:
        return self.info.service_id

    def property(self, code: int) -> ServiceProperty:
        """The service property ``code``; LocalProtocolError if the service has none."""
        for prop in self.info.properties:
            if prop.code == code:
                return prop
        raise LocalProtocolError(f"service {self.info.name!r} has no property 0x{code:04X}")

    def property_by_key(self, namespace: uuid.UUID, pid: int) -> ServiceProperty | None:
        """The service property with PROPERTYKEY (``namespace``, ``pid``), or None."""
        for prop in self.info.properties:
            if prop.namespace == namespace and prop.pid == pid:
                return prop
        return None

    def method(self, method: int | uuid.UUID) -> ServiceMethod:
        """A method by code or GUID; LocalProtocolError if the service has no such method."""
        for m in self.info.methods:
            if method in (m.code, m.guid):
                return m
        raise LocalProtocolError(f"service {self.info.name!r} has no method {method}")

    def format(self, fmt: int | uuid.UUID) -> ServiceFormat:
        """A format by code or GUID; LocalProtocolError if the service has no such format."""
        for f in self.info.formats:
            if fmt in (f.code, f.guid):
                return f
        raise LocalProtocolError(f"service {self.info.name!r} has no format {fmt}")

    def params(self, method_code: int) -> tuple[MethodParam, ...]:
        """The parameters of a method, by position."""
        cap = self.capabilities.get(method_code)
        found = [p for p in map(_method_param, cap.prop_descs if cap else ()) if p is not None]
        return tuple(sorted(found, key=lambda p: p.number))

    def format_properties(self, format_code: int) -> tuple[FormatProperty, ...]:
        """The properties objects of a format carry (those described with a PROPERTYKEY)."""
        cap = self.capabilities.get(format_code)
        found = map(_format_property, cap.prop_descs if cap else ())
        return tuple(p for p in found if p is not None)


@dataclass(frozen=True, slots=True)
class MethodOutcome:
    """How a method ended: the MethodComplete response ``code`` and the out-parameters."""

    code: int
    results: Mapping[int, Value]


# -- the per-connection state: description cache and completion router ------------------------


class ServiceState:
    """Per connection: cached descriptions and the MethodComplete router (module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.descriptions: dict[tuple[int, int], ServiceDescription] = {}
        self._waiters: dict[int, asyncio.Future[int]] = {}
        self._unclaimed: OrderedDict[int, int] = OrderedDict()
        self._abandoned: set[int] = set()
        self.cleanups: set[asyncio.Task[None]] = set()
        self._stream = conn.events()
        self._ended = False
        self._pump = asyncio.get_running_loop().create_task(
            self._run(), name=f"{conn.name} service events"
        )

    async def _run(self) -> None:
        try:
            async for event in self._stream:
                if event.code == EventCode.METHOD_COMPLETE and len(event.params) >= 2:
                    self._complete(event.params[0], event.params[1])
                elif event.code in (EventCode.SERVICE_ADDED, EventCode.SERVICE_REMOVED):
                    self.descriptions.clear()
        finally:
            self._ended = True
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_exception(self._closed_error())
            self._waiters.clear()

    def _closed_error(self) -> OpenWpdError:
        broken = self.conn.broken
        if broken is not None:
            return type(broken)(str(broken))
        return LocalProtocolError(f"{self.conn.name}: connection closed")

    def _complete(self, handle: int, code: int) -> None:
        waiter = self._waiters.pop(handle, None)
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(code)
            return
        if handle in self._abandoned:
            self._abandoned.discard(handle)
            return
        self._unclaimed[handle] = code
        while len(self._unclaimed) > UNCLAIMED_COMPLETIONS:
            self._unclaimed.popitem(last=False)

    def expect(self, handle: int) -> asyncio.Future[int]:
        """A future for the completion code of method object ``handle`` (already resolved when
        the completion arrived first)."""
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if handle in self._unclaimed:
            waiter.set_result(self._unclaimed.pop(handle))
        elif self._ended:
            waiter.set_exception(self._closed_error())
        else:
            self._waiters[handle] = waiter
        return waiter

    def abandon(self, handle: int) -> None:
        """Nobody waits for ``handle`` any more: drop its completion when it comes."""
        waiter = self._waiters.pop(handle, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if self._unclaimed.pop(handle, None) is None:
            self._abandoned.add(handle)
            while len(self._abandoned) > UNCLAIMED_COMPLETIONS:
                self._abandoned.pop()

    def delete_later(self, op: OpScope, handle: int) -> None:
        """Delete method object ``handle`` in the background (a clean-up no cancel stops)."""
        task = asyncio.get_running_loop().create_task(
            delete_quietly(op, handle), name=f"delete method object 0x{handle:08X}"
        )
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)


def _state(conn: Connection) -> ServiceState:
    """The connection's device-services state (``conn.service_state``), made on first use."""
    if conn.service_state is None:
        conn.service_state = ServiceState(conn)
    return conn.service_state


async def drain_cleanups(conn: Connection) -> None:
    """Wait until every background deletion of method objects of ``conn`` has finished."""
    state = conn.service_state
    while state is not None and state.cleanups:
        await asyncio.wait(list(state.cleanups))


# -- discovery and service properties -----------------------------------------------------------


async def service_ids(handle: Handle) -> tuple[int, ...]:
    """The ServiceIDs of the device (GetServiceIDs)."""
    res = await handle._op().run(_O.GET_SERVICE_IDS)
    return parse_uint32_array(res.data)


async def describe(handle: Handle, service_id: int, *, refresh: bool = False) -> ServiceDescription:
    """What service ``service_id`` declares (cached per connection; ``refresh`` reads it
    again). Raises ResponseError(INVALID_SERVICE_ID) for an unknown service."""
    conn = handle.connection
    state = _state(conn)
    key = (conn.generation, service_id)
    cached = state.descriptions.get(key)
    if cached is not None and not refresh:
        return cached
    op = handle._op()
    info = ServiceInfo.from_bytes((await op.run(_O.GET_SERVICE_INFO, (service_id,))).data)
    descs: dict[int, ServicePropDesc] = {}
    if info.properties:
        res = await op.run(_O.GET_SERVICE_PROP_DESC, (service_id, 0))
        descs = {d.code: d for d in ServicePropDescList.from_bytes(res.data).descs}
    caps: dict[int, FormatCapability] = {}
    if info.formats or info.methods:
        res = await op.run(_O.GET_SERVICE_CAPABILITIES, (service_id, 0))
        caps = {c.format_code: c for c in FormatCapabilityList.from_bytes(res.data).formats}
    found = ServiceDescription(info, MappingProxyType(descs), MappingProxyType(caps))
    state.descriptions[key] = found
    return found


async def services(handle: Handle, guid: uuid.UUID | None = None) -> list[ServiceDescription]:
    """Every service of the device (of type ``guid`` when given), in ServiceID order."""
    found = [await describe(handle, sid) for sid in await service_ids(handle)]
    return [d for d in found if guid is None or d.info.guid == guid]


def _element(handle_slot: int, code: int, datatype: int, value: Value) -> PropListElement:
    return PropListElement(handle_slot, code, datatype, value)


async def get_service_props(handle: Handle, service_id: int, code: int = 0) -> dict[int, Value]:
    """The values of the service's properties (``code`` 0 = all of them)."""
    res = await handle._op().run(_O.GET_SERVICE_PROP_LIST, (service_id, code))
    return {e.code: e.value for e in ObjectPropList.from_bytes(res.data).elements}


async def set_service_props(handle: Handle, service_id: int, values: Mapping[int, Value]) -> None:
    """Set service properties (SetServicePropList: all or none). Raises LocalProtocolError for
    a code the service does not describe or a value that does not fit its type, and
    ResponseError (``params[0]`` = index of the refused element) when the device refuses."""
    desc = await describe(handle, service_id)
    elements = []
    for code, value in values.items():
        prop = desc.prop_descs.get(code)
        if prop is None:
            raise LocalProtocolError(f"service {service_id} has no property 0x{code:04X}")
        elements.append(_element(service_id, code, prop.datatype, value))
    data = ObjectPropList(tuple(elements)).to_bytes()
    await handle._op().run(_O.SET_SERVICE_PROP_LIST, (service_id,), data=data)


async def delete_service_props(handle: Handle, service_id: int, codes: Iterable[int]) -> None:
    """Return service properties to their defaults (DeleteServicePropList). ResponseError with
    the refused element's index in ``params[0]``."""
    data = DeletePropList(
        tuple(DeletePropListElement(service_id, code) for code in codes)
    ).to_bytes()
    await handle._op().run(_O.DELETE_SERVICE_PROP_LIST, (service_id,), data=data)


# -- methods ----------------------------------------------------------------------------------


class MethodInvocation:
    """One call of a service method; :meth:`run` performs it, :meth:`cancel` cancels it (see
    the module docstring). ``object_handle`` is the method object's handle once created."""

    def __init__(
        self,
        service: ServiceHandle,
        method: int | uuid.UUID,
        params: Mapping[int, Value] | None = None,
    ) -> None:
        self.service = service
        self.method = method
        self.params: dict[int, Value] = dict(params or {})
        self.object_handle: int | None = None
        self._started = False
        self._cancelled = False
        self._waiter: asyncio.Future[int] | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Cancel the invocation: :meth:`run` raises Cancelled (at once if it waits for the
        method to complete, else at its next step) and the method object is deleted, which
        cancels the method on the device. A no-op once the invocation is over."""
        self._cancelled = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(Cancelled("the method invocation was cancelled"))

    def _check(self) -> None:
        if self._cancelled:
            raise Cancelled("the method invocation was cancelled")

    async def run(self) -> MethodOutcome:
        """Invoke the method and return how it ended (code OK with the out-parameters, or the
        method's error code with no results). Raises Cancelled when cancelled, ResponseError
        when the device refuses the call (``params[3]`` = index of the refused parameter),
        LocalProtocolError for a parameter the method does not take or a value that does not
        fit; transport errors as every operation. Runs once."""
        if self._started:
            raise LocalProtocolError("a method invocation runs once")
        self._started = True
        self.service._active.add(self)
        try:
            return await self._run()
        finally:
            self.service._active.discard(self)

    async def _run(self) -> MethodOutcome:
        self._check()
        client = self.service.handle
        sid = self.service.service_id
        desc = await describe(client, sid)
        method = desc.method(self.method)
        specs = {p.code: p for p in desc.params(method.code) if p.is_input}
        elements = []
        for code, value in self.params.items():
            spec = specs.get(code)
            if spec is None:
                raise LocalProtocolError(f"{method.name} has no in-parameter 0x{code:04X}")
            elements.append(_element(0, code, spec.datatype, value))
        data = ObjectPropList(tuple(elements)).to_bytes()
        state = _state(client.connection)  # listening before the object exists
        op = client._op()
        self._check()

        async def create(scope: OpScope) -> int:
            res = await scope.run(
                _O.SEND_OBJECT_PROP_LIST, (desc.info.storage_id, ALL, method.code, 0, 0), data=data
            )
            if len(res.params) < 3:
                raise ResponseError(ResponseCode.GENERAL_ERROR, "no method object handle")
            return res.params[2]

        obj, interrupted = await op.protected(create)
        self.object_handle = obj
        self._waiter = state.expect(obj)
        try:
            if interrupted is not None:
                raise interrupted
            self._check()
            code = await self._waiter
            results: dict[int, Value] = {}
            if code == ResponseCode.OK:
                outs = {p.code for p in desc.params(method.code) if p.is_output}
                res = await op.run(_O.GET_OBJECT_PROP_LIST, (obj, 0, ALL, 0, 0))
                results = {
                    e.code: e.value
                    for e in ObjectPropList.from_bytes(res.data).elements
                    if e.code in outs
                }
            self._check()
        except BaseException:
            # the method may still run: deleting its object cancels it; nobody waits for that
            state.abandon(obj)
            state.delete_later(op, obj)
            raise
        await delete_quietly(op, obj)
        return MethodOutcome(code, MappingProxyType(results))


class ServiceHandle:
    """A client :class:`~openwpd.client.Handle` used for one service: its method invocations
    and a cancel that reaches them (see the module docstring). Opening it reads the service's
    description (ResponseError(INVALID_SERVICE_ID) for an unknown service)."""

    def __init__(self, handle: Handle, service_id: int) -> None:
        self.handle = handle
        self.service_id = service_id
        self._active: set[MethodInvocation] = set()

    async def description(self, *, refresh: bool = False) -> ServiceDescription:
        """The service's description (cached per connection)."""
        return await describe(self.handle, self.service_id, refresh=refresh)

    async def get_props(self, code: int = 0) -> dict[int, Value]:
        """The service's property values by code (``code`` 0 = all)."""
        return await get_service_props(self.handle, self.service_id, code)

    async def set_props(self, values: Mapping[int, Value]) -> None:
        """Set service properties, all or none (see :func:`set_service_props`)."""
        await set_service_props(self.handle, self.service_id, values)

    async def delete_props(self, codes: Iterable[int]) -> None:
        """Return service properties to their defaults."""
        await delete_service_props(self.handle, self.service_id, codes)

    def invocation(
        self, method: int | uuid.UUID, params: Mapping[int, Value] | None = None
    ) -> MethodInvocation:
        """A new (not yet started) invocation of ``method`` (code or GUID)."""
        return MethodInvocation(self, method, params)

    async def invoke(
        self, method: int | uuid.UUID, params: Mapping[int, Value] | None = None
    ) -> dict[int, Value]:
        """Invoke ``method`` and return its out-parameters by code. A method that ends with
        another code than OK raises ResponseError(code); see :meth:`MethodInvocation.run`."""
        outcome = await self.invocation(method, params).run()
        if outcome.code != ResponseCode.OK:
            raise ResponseError(outcome.code, "the method failed")
        return dict(outcome.results)

    @property
    def invocations(self) -> frozenset[MethodInvocation]:
        """The invocations running now."""
        return frozenset(self._active)

    async def cancel(self) -> None:
        """Cancel every running invocation and every pending operation of the handle; returns
        when the handle's transaction (if any) is finished. Never raises."""
        for invocation in list(self._active):
            invocation.cancel()
        await self.handle.cancel()

    async def aclose(self) -> None:
        """Cancel what is pending and close the handle."""
        for invocation in list(self._active):
            invocation.cancel()
        await self.handle.aclose()


async def open_service(conn: Connection, service_id: int) -> ServiceHandle:
    """A :class:`ServiceHandle` on a new client handle of ``conn``. Raises
    ResponseError(INVALID_SERVICE_ID) for an unknown service (the handle is then closed)."""
    handle = conn.open_handle()
    service = ServiceHandle(handle, service_id)
    try:
        await service.description()
    except BaseException:
        await handle.aclose()
        raise
    return service


__all__ = [
    "UNCLAIMED_COMPLETIONS",
    "FormatProperty",
    "MethodInvocation",
    "MethodOutcome",
    "MethodParam",
    "ServiceDescription",
    "ServiceHandle",
    "delete_service_props",
    "describe",
    "drain_cleanups",
    "get_service_props",
    "open_service",
    "service_ids",
    "services",
    "set_service_props",
]
