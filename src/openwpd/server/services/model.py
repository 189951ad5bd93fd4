"""What a device service is made of: properties, formats, methods, events -- and the service-level
operations every service shares.

Theory of operation: a :class:`Service` is declarative. Its service properties
(:class:`ServicePropDef`), object formats (:class:`FormatDef`, whose properties are
:class:`ObjectPropDef`) and methods (:class:`MethodDef`, whose parameters are :class:`ParamDef`)
are data; from them the class derives every dataset the wire needs -- ServiceInfo,
ServicePropDescList, the service property list, and the FormatCapabilityList in which object
properties carry their PROPERTYKEY in the 0x81 form and method parameters theirs in the 0x82
form (MTP Device Services). Service property values live in the service; a change made from
any side (an initiator's SetServicePropList, the Python API of a test rig, a timer) goes through
:meth:`Service.set_value`, which calls the ``on_change`` hook so the device can raise
ServicePropChanged. Values are checked against their data type and form with
:func:`check_value` before anything changes: a SetServicePropList either applies completely or
not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openwpd.protocol._buffer import Writer
from openwpd.protocol.codes import ALL, DataType, GetSet, ResponseCode, ServiceType
from openwpd.protocol.datasets import (
    DateTimeForm,
    DeletePropListElement,
    EnumForm,
    FormatCapability,
    FormatCapabilityList,
    ObjectIdForm,
    ObjectPropDesc,
    ObjectPropList,
    PropListElement,
    RangeForm,
    RegexForm,
    ServiceEvent,
    ServiceFormat,
    ServiceInfo,
    ServiceMethod,
    ServiceMethodParameterForm,
    ServiceObjectPropertyForm,
    ServicePropDesc,
    ServicePropDescList,
    ServiceProperty,
)
from openwpd.protocol.datatypes import Value, write_value
from openwpd.protocol.errors import LocalProtocolError
from openwpd.server.context import MtpError
from openwpd.server.services.codes import NAMESPACE_SERVICES

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice

#: The regular forms a definition may use (no service extension forms: those are derived).
PlainForm = RangeForm | EnumForm | DateTimeForm | RegexForm | ObjectIdForm


def check_value(datatype: int, form: PlainForm | None, value: Value) -> ResponseCode | None:
    """None if ``value`` is encodable as ``datatype`` and allowed by ``form``; otherwise the
    response code to fail with (INVALID_OBJECT_PROP_FORMAT for a type mismatch,
    INVALID_OBJECT_PROP_VALUE for a value outside the form)."""
    try:
        write_value(Writer(), datatype, value)
    except LocalProtocolError:
        return ResponseCode.INVALID_OBJECT_PROP_FORMAT
    if isinstance(form, RangeForm):
        assert isinstance(value, int) and isinstance(form.min, int)
        assert isinstance(form.max, int) and isinstance(form.step, int)
        if not form.min <= value <= form.max or (form.step and (value - form.min) % form.step):
            return ResponseCode.INVALID_OBJECT_PROP_VALUE
    elif isinstance(form, EnumForm) and value not in form.values:
        return ResponseCode.INVALID_OBJECT_PROP_VALUE
    return None


@dataclass(frozen=True, slots=True)
class ServicePropDef:
    """A service property: its code, PROPERTYKEY, name, type, access, form and default."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str
    datatype: DataType
    writable: bool
    default: Value
    form: PlainForm | None = None


@dataclass(frozen=True, slots=True)
class ObjectPropDef:
    """A property of the objects of a service format, with its PROPERTYKEY (0x81 form)."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str
    datatype: DataType
    writable: bool = True
    form: PlainForm | None = None

    def desc(self) -> ObjectPropDesc:
        default: Value = "" if self.datatype == DataType.STR else 0
        return ObjectPropDesc(
            self.code,
            self.datatype,
            GetSet.GET_SET if self.writable else GetSet.GET,
            default,
            0,
            ServiceObjectPropertyForm(self.namespace, self.pid, self.name, self.form),
        )


@dataclass(frozen=True, slots=True)
class FormatDef:
    """A format a service stores: code, GUID, name, base format, MIME type, properties."""

    code: int
    guid: uuid.UUID
    name: str
    base_format: int = 0
    mime_type: str = ""
    props: tuple[ObjectPropDef, ...] = ()


@dataclass(frozen=True, slots=True)
class ParamDef:
    """A method parameter: an object property of the method format, described by the 0x82
    form (direction from :class:`~openwpd.protocol.codes.MethodParameterType`, 0-based
    position ``number``). ``required`` in-parameters must be present in the method object."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str
    datatype: DataType
    direction: int
    number: int
    form: PlainForm | None = None
    required: bool = True

    def desc(self) -> ObjectPropDesc:
        default: Value = "" if self.datatype == DataType.STR else 0
        return ObjectPropDesc(
            self.code,
            self.datatype,
            GetSet.GET_SET,
            default,
            0,
            ServiceMethodParameterForm(
                self.namespace, self.pid, self.name, self.direction, self.number, self.form
            ),
        )


@dataclass(frozen=True, slots=True)
class MethodCall:
    """What a running method sees: the device, its service, its in-parameters by code."""

    device: VirtualDevice
    service: Service
    params: Mapping[int, Value]


#: A method's body: returns its out-parameters by code. Raising MtpError (or a StoreError)
#: completes the method with that response code; cancellation completes it with
#: TransactionCancelled.
MethodBody = Callable[[MethodCall], Awaitable[dict[int, Value]]]


@dataclass(frozen=True, slots=True)
class MethodDef:
    """A service method: code (also its method objects' format), GUID, name, associated
    format (0 = none), parameters, body."""

    code: int
    guid: uuid.UUID
    name: str
    body: MethodBody
    params: tuple[ParamDef, ...] = ()
    associated_format: int = 0

    def capability(self) -> FormatCapability:
        return FormatCapability(self.code, tuple(p.desc() for p in self.params))


@dataclass(frozen=True, slots=True)
class EventDef:
    """An event a service declares in ServiceInfo."""

    code: int
    guid: uuid.UUID
    name: str


@dataclass
class Service:
    """One device service instance. Subclasses fill in the definitions; see the module doc.

    ``on_change(service, code)`` is set by the device and called after a property value
    changed. ``storage_id`` is 0 when the service has no storage.
    """

    service_id: int
    guid: uuid.UUID
    name: str
    props: tuple[ServicePropDef, ...] = ()
    formats: tuple[FormatDef, ...] = ()
    methods: tuple[MethodDef, ...] = ()
    events: tuple[EventDef, ...] = ()
    used_services: tuple[uuid.UUID, ...] = ()
    storage_id: int = 0
    version: int = 100
    service_type: int = ServiceType.NORMAL
    puid: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=0))
    on_change: Callable[[Service, int], None] | None = None
    _values: dict[int, Value] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._values = {p.code: p.default for p in self.props}

    # -- lookups ---------------------------------------------------------------------------

    def prop(self, code: int) -> ServicePropDef:
        """The definition of service property ``code``; raises MtpError
        INVALID_SERVICE_PROP_CODE if the service has none."""
        for p in self.props:
            if p.code == code:
                return p
        raise MtpError(ResponseCode.INVALID_SERVICE_PROP_CODE, f"service property 0x{code:04X}")

    def method(self, code: int) -> MethodDef | None:
        return next((m for m in self.methods if m.code == code), None)

    def format(self, code: int) -> FormatDef | None:
        return next((f for f in self.formats if f.code == code), None)

    def value(self, code: int) -> Value:
        """The current value of service property ``code`` (MtpError if unknown)."""
        return self._values[self.prop(code).code]

    def set_value(self, code: int, value: Value) -> None:
        """Change a property from the device side (any access); raises ValueError if the
        value does not fit its type or form. A real change calls ``on_change``."""
        prop = self.prop(code)
        if check_value(prop.datatype, prop.form, value) is not None:
            raise ValueError(f"{value!r} is not a valid {prop.name}")
        if self._values[code] != value:
            self._values[code] = value
            if self.on_change is not None:
                self.on_change(self, code)

    # -- datasets --------------------------------------------------------------------------

    def info(self) -> ServiceInfo:
        """The ServiceInfo dataset (MTP Device Services)."""
        return ServiceInfo(
            service_id=self.service_id,
            storage_id=self.storage_id,
            puid=self.puid,
            version=self.version,
            guid=self.guid,
            name=self.name,
            service_type=self.service_type,
            base_service_id=0,
            used_services=self.used_services,
            properties=tuple(
                ServiceProperty(p.code, p.namespace, p.pid, p.name) for p in self.props
            ),
            formats=tuple(
                ServiceFormat(f.code, f.guid, f.name, f.base_format, f.mime_type)
                for f in self.formats
            ),
            methods=tuple(
                ServiceMethod(m.code, m.guid, m.name, m.associated_format) for m in self.methods
            ),
            events=tuple(ServiceEvent(e.code, e.guid, e.name) for e in self.events),
        )

    def capabilities(self, format_code: int = 0) -> FormatCapabilityList:
        """GetServiceCapabilities: the formats and method formats of the service (0 = all).
        Raises MtpError INVALID_OBJECT_FORMAT_CODE for a format the service does not have."""
        caps = [FormatCapability(f.code, tuple(p.desc() for p in f.props)) for f in self.formats]
        caps += [m.capability() for m in self.methods]
        if format_code:
            caps = [c for c in caps if c.format_code == format_code]
            if not caps:
                raise MtpError(
                    ResponseCode.INVALID_OBJECT_FORMAT_CODE, f"format 0x{format_code:04X}"
                )
        return FormatCapabilityList(tuple(caps))

    def _selected(self, code: int) -> list[ServicePropDef]:
        return list(self.props) if code in (0, ALL) else [self.prop(code)]

    def prop_descs(self, code: int = 0) -> ServicePropDescList:
        """GetServicePropDesc (0 or 0xFFFFFFFF = all)."""
        return ServicePropDescList(
            tuple(
                ServicePropDesc(
                    p.code, p.datatype, GetSet.GET_SET if p.writable else GetSet.GET, p.form
                )
                for p in self._selected(code)
            )
        )

    def prop_list(self, code: int = 0) -> ObjectPropList:
        """GetServicePropList (0 or 0xFFFFFFFF = all); the handle field is the ServiceID."""
        return ObjectPropList(
            tuple(
                PropListElement(self.service_id, p.code, p.datatype, self._values[p.code])
                for p in self._selected(code)
            )
        )

    # -- changes from the initiator --------------------------------------------------------

    def apply_prop_list(self, elements: Sequence[PropListElement]) -> None:
        """SetServicePropList: all elements are checked first, then applied. On failure raises
        MtpError with the zero-based index of the failing element as p1."""
        for index, e in enumerate(elements):
            code = self._check_set(e)
            if code is not None:
                raise MtpError(code, f"element {index}", (index,))
        for e in elements:
            self.set_value(e.code, e.value)

    def _check_set(self, e: PropListElement) -> ResponseCode | None:
        if e.handle != self.service_id:
            return ResponseCode.INVALID_SERVICE_ID
        try:
            prop = self.prop(e.code)
        except MtpError as exc:
            return exc.code
        if not prop.writable:
            return ResponseCode.ACCESS_DENIED
        if e.datatype != prop.datatype:
            return ResponseCode.INVALID_OBJECT_PROP_FORMAT
        return check_value(prop.datatype, prop.form, e.value)

    def delete_props(self, elements: Iterable[DeletePropListElement]) -> None:
        """DeleteServicePropList: a deleted property returns to its default value. Only
        writable properties can be deleted. Failure: MtpError with the failing index as p1."""
        items = list(elements)
        for index, e in enumerate(items):
            code: ResponseCode | None = None
            if e.handle != self.service_id:
                code = ResponseCode.INVALID_SERVICE_ID
            else:
                try:
                    if not self.prop(e.code).writable:
                        code = ResponseCode.ACCESS_DENIED
                except MtpError as exc:
                    code = exc.code
            if code is not None:
                raise MtpError(code, f"element {index}", (index,))
        for e in items:
            self.set_value(e.code, self.prop(e.code).default)


def display_name_prop(code: int, name: str) -> ServicePropDef:
    """PKEY_Services_ServiceDisplayName (read-only string), which every service has."""
    return ServicePropDef(
        code, NAMESPACE_SERVICES, 2, "ServiceDisplayName", DataType.STR, False, name
    )
