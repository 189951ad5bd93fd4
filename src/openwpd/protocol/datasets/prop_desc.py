"""Property descriptions: DevicePropDesc (PTP), ObjectPropDesc (MTP 1.1), ServicePropDesc (MTP
Device Services) and their forms (MTP 1.1, MTP Device Services).

Theory of operation
-------------------
All three descriptions end in a *form*: a u8 FormFlag followed by flag-specific data typed by
the property's DataType. Each form is a small frozen dataclass; "no form" (flag 0) is ``None``.
:func:`parse_form` / :func:`build_form` are shared by the three descriptions and by the
service extension forms, which wrap one nested regular form.

Forms peers disagree on -- FixedLengthArray (0x04), ByteArray (0x06), LongString (0xFF) -- and
any flag we do not know are parsed *defensively*: we cannot know how long their data is, so the
parser keeps every remaining byte of the dataset in an :class:`OpaqueForm` and stops there. This
is exact for GetObjectPropDesc / GetDevicePropDesc, whose form is the last thing in the data
phase; inside a list (ServicePropDescList, FormatCapabilityList) anything after an opaque form
is consumed by it, so the list then fails with RemoteProtocolError. The builder refuses to emit
an :class:`OpaqueForm` (LocalProtocolError): forms peers disagree on are never sent.

A service extension form (0x81, 0x82) inside another service extension form is rejected both
ways; besides being meaningless it would let a hostile peer nest forms until Python's
recursion limit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import FormFlag, GetSet
from openwpd.protocol.datasets._base import Dataset, read_count, read_count16
from openwpd.protocol.datatypes import (
    Value,
    min_wire_size,
    read_guid,
    read_string,
    read_value,
    write_guid,
    write_string,
    write_value,
)
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "DateTimeForm",
    "DevicePropDesc",
    "EnumForm",
    "Form",
    "ObjectIdForm",
    "ObjectPropDesc",
    "OpaqueForm",
    "RangeForm",
    "RegexForm",
    "ServiceMethodParameterForm",
    "ServiceObjectPropertyForm",
    "ServicePropDesc",
    "ServicePropDescList",
    "build_form",
    "parse_form",
]


@dataclass(frozen=True, slots=True)
class RangeForm:
    """Range form (0x01): minimum, maximum and step, each of the property's DataType."""

    flag: ClassVar[int] = FormFlag.RANGE
    min: Value
    max: Value
    step: Value


@dataclass(frozen=True, slots=True)
class EnumForm:
    """Enumeration form (0x02): the allowed values. The wire count is a **u16** (arrays use u32)."""

    flag: ClassVar[int] = FormFlag.ENUMERATION
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class DateTimeForm:
    """DateTime form (0x03): marks a STR property holding a DateTime; no form data."""

    flag: ClassVar[int] = FormFlag.DATE_TIME


@dataclass(frozen=True, slots=True)
class RegexForm:
    """Regular expression form (0x05): the pattern values must match, as a PTP string."""

    flag: ClassVar[int] = FormFlag.REGULAR_EXPRESSION
    pattern: str


@dataclass(frozen=True, slots=True)
class ObjectIdForm:
    """ObjectID form (0x83): marks a UINT32 property whose value is an object handle."""

    flag: ClassVar[int] = FormFlag.OBJECT_ID


@dataclass(frozen=True, slots=True)
class ServiceObjectPropertyForm:
    """ServiceObjectPropertyExtension form (0x81, MTP Device Services): the PROPERTYKEY (namespace
    GUID + pid) and name of a service format's property, wrapping its regular form (None for
    none)."""

    flag: ClassVar[int] = FormFlag.SERVICE_OBJECT_PROPERTY
    namespace: uuid.UUID
    pid: int
    name: str
    form: Form | None = None


@dataclass(frozen=True, slots=True)
class ServiceMethodParameterForm:
    """ServiceMethodParameterExtension form (0x82, MTP Device Services): a method parameter's
    PROPERTYKEY, name, direction (:class:`~openwpd.protocol.codes.MethodParameterType`) and
    position,
    wrapping its regular form (None for none)."""

    flag: ClassVar[int] = FormFlag.SERVICE_METHOD_PARAMETER
    namespace: uuid.UUID
    pid: int
    name: str
    param_type: int
    param_number: int
    form: Form | None = None


@dataclass(frozen=True, slots=True)
class OpaqueForm:
    """A form whose layout peers disagree on (0x04, 0x06, 0xFF) or that we do not know.

    ``raw`` is every byte from after the flag to the end of the data. Produced by the parser
    only; :func:`build_form` refuses it.
    """

    flag: int
    raw: bytes


Form: TypeAlias = (
    RangeForm
    | EnumForm
    | DateTimeForm
    | RegexForm
    | ObjectIdForm
    | ServiceObjectPropertyForm
    | ServiceMethodParameterForm
    | OpaqueForm
)

_SERVICE_FLAGS = (FormFlag.SERVICE_OBJECT_PROPERTY, FormFlag.SERVICE_METHOD_PARAMETER)


def parse_form(reader: Reader, datatype: int) -> Form | None:
    """Read a u8 FormFlag and its form data for a property of wire type ``datatype``.

    Returns None for flag 0. Disputed and unknown flags give an :class:`OpaqueForm` holding the
    rest of the data. Raises RemoteProtocolError on truncation, a hostile enumeration count, a
    bad data type, or a service form nested in a service form.
    """
    return _parse_form(reader, datatype, nested=False)


def _parse_form(reader: Reader, datatype: int, *, nested: bool) -> Form | None:
    flag = reader.u8("FormFlag")
    if flag == FormFlag.NONE:
        return None
    if flag == FormFlag.RANGE:
        return RangeForm(
            read_value(reader, datatype), read_value(reader, datatype), read_value(reader, datatype)
        )
    if flag == FormFlag.ENUMERATION:
        count = read_count16(reader, min_wire_size(datatype), "enumeration")
        return EnumForm(tuple(read_value(reader, datatype) for _ in range(count)))
    if flag == FormFlag.DATE_TIME:
        return DateTimeForm()
    if flag == FormFlag.REGULAR_EXPRESSION:
        return RegexForm(read_string(reader))
    if flag == FormFlag.OBJECT_ID:
        return ObjectIdForm()
    if flag in _SERVICE_FLAGS:
        if nested:
            raise RemoteProtocolError(f"service form 0x{flag:02X} nested in a service form")
        namespace = read_guid(reader)
        pid = reader.u32("PropertyKeyID")
        name = read_string(reader)
        if flag == FormFlag.SERVICE_OBJECT_PROPERTY:
            inner = _parse_form(reader, datatype, nested=True)
            return ServiceObjectPropertyForm(namespace, pid, name, inner)
        param_type = reader.u8("ParameterType")
        param_number = reader.u8("ParameterNumber")
        inner = _parse_form(reader, datatype, nested=True)
        return ServiceMethodParameterForm(namespace, pid, name, param_type, param_number, inner)
    return OpaqueForm(flag, reader.read_rest())


def build_form(writer: Writer, datatype: int, form: Form | None) -> None:
    """Write the FormFlag and form data of ``form`` (None = flag 0).

    Raises LocalProtocolError for an :class:`OpaqueForm`, a nested service form, more than
    65535 enumeration values or values that do not fit ``datatype``.
    """
    _build_form(writer, datatype, form, nested=False)


def _build_form(writer: Writer, datatype: int, form: Form | None, *, nested: bool) -> None:
    if form is None:
        writer.u8(FormFlag.NONE)
        return
    if isinstance(form, OpaqueForm):
        raise LocalProtocolError(
            f"form 0x{form.flag:02X} has no agreed layout and is never emitted"
        )
    if nested and isinstance(form, ServiceObjectPropertyForm | ServiceMethodParameterForm):
        raise LocalProtocolError("a service form cannot wrap another service form")
    writer.u8(form.flag, "FormFlag")
    if isinstance(form, RangeForm):
        for value in (form.min, form.max, form.step):
            write_value(writer, datatype, value)
    elif isinstance(form, EnumForm):
        writer.u16(len(form.values), "enumeration count")
        for value in form.values:
            write_value(writer, datatype, value)
    elif isinstance(form, RegexForm):
        write_string(writer, form.pattern)
    elif isinstance(form, ServiceObjectPropertyForm | ServiceMethodParameterForm):
        write_guid(writer, form.namespace)
        writer.u32(form.pid, "PropertyKeyID")
        write_string(writer, form.name)
        if isinstance(form, ServiceMethodParameterForm):
            writer.u8(form.param_type, "ParameterType")
            writer.u8(form.param_number, "ParameterNumber")
        _build_form(writer, datatype, form.form, nested=True)
    # DateTimeForm and ObjectIdForm carry no data.


@dataclass(frozen=True, slots=True)
class DevicePropDesc(Dataset):
    """The answer to GetDevicePropDesc (PTP): code, type, access, default, current, form."""

    code: int
    datatype: int
    getset: int = GetSet.GET
    factory_default: Value = 0
    current: Value = 0
    form: Form | None = None

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a DevicePropDesc; raises RemoteProtocolError if malformed."""
        code = reader.u16("DevicePropertyCode")
        datatype = reader.u16("DataType")
        getset = reader.u8("GetSet")
        default = read_value(reader, datatype)
        current = read_value(reader, datatype)
        return cls(code, datatype, getset, default, current, parse_form(reader, datatype))

    def build(self, writer: Writer) -> None:
        """Write the DevicePropDesc; raises LocalProtocolError if a value does not fit."""
        writer.u16(self.code, "DevicePropertyCode")
        writer.u16(self.datatype, "DataType")
        writer.u8(self.getset, "GetSet")
        write_value(writer, self.datatype, self.factory_default)
        write_value(writer, self.datatype, self.current)
        build_form(writer, self.datatype, self.form)


@dataclass(frozen=True, slots=True)
class ObjectPropDesc(Dataset):
    """The answer to GetObjectPropDesc (MTP 1.1): code, type, access, default, group, form."""

    #: Fewest bytes an ObjectPropDesc occupies (1-byte default value, no form data).
    MIN_SIZE: ClassVar[int] = 11

    code: int
    datatype: int
    getset: int = GetSet.GET
    factory_default: Value = 0
    group_code: int = 0
    form: Form | None = None

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read an ObjectPropDesc; raises RemoteProtocolError if malformed."""
        code = reader.u16("PropertyCode")
        datatype = reader.u16("DataType")
        getset = reader.u8("GetSet")
        default = read_value(reader, datatype)
        group = reader.u32("GroupCode")
        return cls(code, datatype, getset, default, group, parse_form(reader, datatype))

    def build(self, writer: Writer) -> None:
        """Write the ObjectPropDesc; raises LocalProtocolError if a value does not fit."""
        writer.u16(self.code, "PropertyCode")
        writer.u16(self.datatype, "DataType")
        writer.u8(self.getset, "GetSet")
        write_value(writer, self.datatype, self.factory_default)
        writer.u32(self.group_code, "GroupCode")
        build_form(writer, self.datatype, self.form)


@dataclass(frozen=True, slots=True)
class ServicePropDesc(Dataset):
    """One service property description (MTP Device Services): no default value and no group
    code."""

    #: Fewest bytes a ServicePropDesc occupies.
    MIN_SIZE: ClassVar[int] = 6

    code: int
    datatype: int
    getset: int = GetSet.GET
    form: Form | None = None

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a ServicePropDesc; raises RemoteProtocolError if malformed."""
        code = reader.u16("ServicePropertyCode")
        datatype = reader.u16("DataType")
        getset = reader.u8("GetSet")
        return cls(code, datatype, getset, parse_form(reader, datatype))

    def build(self, writer: Writer) -> None:
        """Write the ServicePropDesc; raises LocalProtocolError if a field does not fit."""
        writer.u16(self.code, "ServicePropertyCode")
        writer.u16(self.datatype, "DataType")
        writer.u8(self.getset, "GetSet")
        build_form(writer, self.datatype, self.form)


@dataclass(frozen=True, slots=True)
class ServicePropDescList(Dataset):
    """The answer to GetServicePropDesc (MTP Device Services): u32 count, then that many
    ServicePropDescs."""

    descs: tuple[ServicePropDesc, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the list; raises RemoteProtocolError if malformed or the count is hostile."""
        count = read_count(reader, ServicePropDesc.MIN_SIZE, "ServicePropDesc")
        return cls(tuple(ServicePropDesc.parse(reader) for _ in range(count)))

    def build(self, writer: Writer) -> None:
        """Write the list; raises LocalProtocolError if an element cannot be encoded."""
        writer.u32(len(self.descs), "ServicePropDesc count")
        for desc in self.descs:
            desc.build(writer)
