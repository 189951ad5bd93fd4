"""Values of device services between MTP and WPD: service properties, method parameters and
format properties, each typed by an MTP data type and form.

Theory of operation
-------------------
A service describes every value it has -- a service property (ServicePropDesc), a method
parameter or a format property (ObjectPropDesc with a 0x82 / 0x81 form) -- by an MTP data type
and a regular form. That pair decides the WPD face (Windows' MTP driver, with what services add):

* UINT8/16/32 -> VT_UI4, INT8/16/32 -> VT_I4, UINT64 -> VT_UI8, INT64 -> VT_I8;
* UINT128 -> VT_CLSID: services use 128-bit values for GUIDs (FullEnumSync replica ids,
  SyncFormat), which travel in the Windows layout (Windows GUID layout);
* STR -> VT_LPWSTR, or VT_DATE with a DateTime form;
* UINT32 with an ObjectID form -> VT_LPWSTR object id (``"o1A"``);
* arrays -> a VT_UI4 (VT_I4) PropVariant collection.

:func:`to_variant` and :func:`from_variant` convert both ways (WpdError(E_INVALIDARG) for a WPD
value that cannot be written as that type). :func:`attributes` gives the WPD attribute set of a
described value: WPD_PROPERTY_ATTRIBUTE_* for properties, WPD_PARAMETER_ATTRIBUTE_* for method
parameters.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from openwpd.protocol.codes import DataType, GetSet, ObjectPropCode
from openwpd.protocol.datasets import (
    DateTimeForm,
    EnumForm,
    Form,
    ObjectIdForm,
    RangeForm,
    RegexForm,
)
from openwpd.protocol.datatypes import Value
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import E_INVALIDARG, WpdError
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import (
    FORM_ENUMERATION,
    FORM_OBJECT_IDENTIFIER,
    FORM_RANGE,
    FORM_REGULAR_EXPRESSION,
    FORM_UNSPECIFIED,
)
from openwpd.wpd.values import (
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PropVariant,
)

_D = DataType
_SIGNED_SMALL = (_D.INT8, _D.INT16, _D.INT32)
_UNSIGNED_SMALL = (_D.UINT8, _D.UINT16, _D.UINT32)
_ARRAY_BIT = 0x4000


def _is_array(datatype: int) -> bool:
    return datatype != _D.STR and bool(datatype & _ARRAY_BIT)


def guid_from_uint128(value: int) -> uuid.UUID:
    """The GUID whose Windows-layout bytes are the UINT128 ``value``."""
    return uuid.UUID(bytes_le=(value & ((1 << 128) - 1)).to_bytes(16, "little"))


def uint128_from_guid(guid: uuid.UUID) -> int:
    """The UINT128 that travels as ``guid`` in the Windows layout."""
    return int.from_bytes(guid.bytes_le, "little")


def vartype_for(datatype: int, form: Form | None = None) -> VarType:
    """The VARTYPE of values of MTP ``datatype`` with ``form`` (see the module docstring)."""
    if isinstance(form, ObjectIdForm) or datatype == _D.STR:
        return VarType.DATE if isinstance(form, DateTimeForm) else VarType.LPWSTR
    if _is_array(datatype):
        return VarType.UNKNOWN
    if datatype in _UNSIGNED_SMALL:
        return VarType.UI4
    if datatype in _SIGNED_SMALL:
        return VarType.I4
    if datatype == _D.UINT64:
        return VarType.UI8
    if datatype == _D.INT64:
        return VarType.I8
    if datatype in (_D.UINT128, _D.INT128):
        return VarType.CLSID
    return VarType.UNKNOWN


def to_variant(datatype: int, form: Form | None, value: Value) -> PropVariant:
    """An MTP value of ``datatype``/``form`` as WPD shows it."""
    if isinstance(form, ObjectIdForm) and isinstance(value, int):
        return PropVariant(VarType.LPWSTR, m.object_id_for_handle(value) if value else "")
    if isinstance(form, DateTimeForm) and isinstance(value, str):
        return m.mtp_to_variant(m.Conv.DATE, value)
    if datatype in (_D.UINT128, _D.INT128) and isinstance(value, int):
        return PropVariant(VarType.CLSID, guid_from_uint128(value))
    return m.mtp_to_variant(m.Conv.PLAIN, value, datatype=datatype)


def from_variant(datatype: int, form: Form | None, value: object) -> Value:
    """A WPD value (a Python value or a PropVariant) to write as MTP ``datatype``/``form``.
    Raises WpdError(E_INVALIDARG) when it does not fit."""
    if isinstance(value, PropVariant):
        value = value.value
    if isinstance(form, ObjectIdForm) and isinstance(value, str):
        ref = m.parse_object_id(value)
        if ref.kind is not m.Kind.OBJECT:
            raise WpdError(E_INVALIDARG, f"{value!r} is not an object")
        return ref.number
    if datatype == _D.STR:
        if isinstance(value, datetime):
            return m.mtp_date_text(value)
        if isinstance(value, str):
            return value
    elif datatype in (_D.UINT128, _D.INT128) and isinstance(value, uuid.UUID):
        return uint128_from_guid(value)
    elif _is_array(datatype) and isinstance(value, PortableDevicePropVariantCollection):
        items = list(value)
        if all(isinstance(i, int) and not isinstance(i, bool) for i in items):
            return tuple(int(i) for i in items)  # type: ignore[call-overload]
    elif isinstance(value, bool):
        return int(value)
    elif isinstance(value, int) and not _is_array(datatype):
        return value
    raise WpdError(E_INVALIDARG, f"{value!r} does not fit MTP data type 0x{datatype:04X}")


def _form_attributes(
    form: Form | None, datatype: int, values: PortableDeviceValues, *, parameter: bool
) -> None:
    a = _ParamKeys if parameter else _PropKeys
    if isinstance(form, RangeForm):
        values[a.FORM] = FORM_RANGE
        for key, item in ((a.MIN, form.min), (a.MAX, form.max), (a.STEP, form.step)):
            values.set_value(key, to_variant(datatype, None, item))
    elif isinstance(form, EnumForm):
        values[a.FORM] = FORM_ENUMERATION
        elements = PortableDevicePropVariantCollection()
        for item in form.values:
            elements.add(to_variant(datatype, None, item))
        values[a.ENUM] = elements
    elif isinstance(form, RegexForm):
        values[a.FORM] = FORM_REGULAR_EXPRESSION
        values[a.REGEX] = form.pattern
    elif isinstance(form, ObjectIdForm):
        values[a.FORM] = FORM_OBJECT_IDENTIFIER
    else:
        values[a.FORM] = FORM_UNSPECIFIED


class _PropKeys:
    FORM = k.WPD_PROPERTY_ATTRIBUTE_FORM
    MIN = k.WPD_PROPERTY_ATTRIBUTE_RANGE_MIN
    MAX = k.WPD_PROPERTY_ATTRIBUTE_RANGE_MAX
    STEP = k.WPD_PROPERTY_ATTRIBUTE_RANGE_STEP
    ENUM = k.WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS
    REGEX = k.WPD_PROPERTY_ATTRIBUTE_REGULAR_EXPRESSION


class _ParamKeys:
    FORM = k.WPD_PARAMETER_ATTRIBUTE_FORM
    MIN = k.WPD_PARAMETER_ATTRIBUTE_RANGE_MIN
    MAX = k.WPD_PARAMETER_ATTRIBUTE_RANGE_MAX
    STEP = k.WPD_PARAMETER_ATTRIBUTE_RANGE_STEP
    ENUM = k.WPD_PARAMETER_ATTRIBUTE_ENUMERATION_ELEMENTS
    REGEX = k.WPD_PARAMETER_ATTRIBUTE_REGULAR_EXPRESSION


#: The VARTYPEs objects show for generic format properties whose WPD face is not their MTP
#: type (the device view's mapping, :mod:`openwpd.wpd.mapping`: ids as strings, formats as GUIDs).
GENERIC_VARTYPES: dict[int, VarType] = {
    ObjectPropCode.STORAGE_ID: VarType.LPWSTR,
    ObjectPropCode.OBJECT_FORMAT: VarType.CLSID,
    ObjectPropCode.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER: VarType.LPWSTR,
}


def property_attributes(
    datatype: int,
    getset: int,
    form: Form | None,
    *,
    name: str = "",
    default: Value | None = None,
    vartype: VarType | None = None,
) -> PortableDeviceValues:
    """WPD_PROPERTY_ATTRIBUTE_* of a service property or a format property (``vartype``
    overrides the VARTYPE derived from the data type)."""
    values = PortableDeviceValues()
    values[k.WPD_PROPERTY_ATTRIBUTE_CAN_READ] = True
    values[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] = getset == GetSet.GET_SET
    values[k.WPD_PROPERTY_ATTRIBUTE_CAN_DELETE] = getset == GetSet.GET_SET
    values[k.WPD_PROPERTY_ATTRIBUTE_VARTYPE] = int(vartype or vartype_for(datatype, form))
    _form_attributes(form, datatype, values, parameter=False)
    if name:
        values[k.WPD_PROPERTY_ATTRIBUTE_NAME] = name
    if default is not None and default != "":
        values.set_value(
            k.WPD_PROPERTY_ATTRIBUTE_DEFAULT_VALUE, to_variant(datatype, form, default)
        )
    return values


def parameter_attributes(
    name: str, number: int, usage: int, datatype: int, form: Form | None, default: Value
) -> PortableDeviceValues:
    """WPD_PARAMETER_ATTRIBUTE_* of a method parameter. MTP's ParameterType (1 in, 2 out,
    3 in/out) has the values of WPD's usage (WPD_PARAMETER_USAGE_IN/OUT/INOUT)."""
    values = PortableDeviceValues()
    values[k.WPD_PARAMETER_ATTRIBUTE_NAME] = name
    values[k.WPD_PARAMETER_ATTRIBUTE_ORDER] = number
    values[k.WPD_PARAMETER_ATTRIBUTE_USAGE] = usage
    values[k.WPD_PARAMETER_ATTRIBUTE_VARTYPE] = int(vartype_for(datatype, form))
    _form_attributes(form, datatype, values, parameter=True)
    if default != "" and not isinstance(form, ObjectIdForm):
        values.set_value(
            k.WPD_PARAMETER_ATTRIBUTE_DEFAULT_VALUE, to_variant(datatype, form, default)
        )
    return values


def key_of(namespace: uuid.UUID, pid: int) -> PropertyKey:
    """The PROPERTYKEY (``namespace``, ``pid``) a service declares."""
    return PropertyKey(namespace, pid)


__all__ = [
    "GENERIC_VARTYPES",
    "from_variant",
    "guid_from_uint128",
    "key_of",
    "parameter_attributes",
    "property_attributes",
    "to_variant",
    "uint128_from_guid",
    "vartype_for",
]
