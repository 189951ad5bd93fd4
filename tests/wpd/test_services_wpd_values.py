"""Service values between MTP and WPD (openwpd.wpd.service_values): VARTYPEs, conversions both
ways and attribute sets, without a device."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from openwpd.protocol.codes import DataType, GetSet
from openwpd.protocol.datasets import DateTimeForm, EnumForm, ObjectIdForm, RangeForm, RegexForm
from openwpd.wpd import (
    E_INVALIDARG,
    WPD_PARAMETER_ATTRIBUTE_DEFAULT_VALUE,
    WPD_PARAMETER_ATTRIBUTE_FORM,
    WPD_PARAMETER_ATTRIBUTE_REGULAR_EXPRESSION,
    WPD_PROPERTY_ATTRIBUTE_CAN_DELETE,
    WPD_PROPERTY_ATTRIBUTE_DEFAULT_VALUE,
    WPD_PROPERTY_ATTRIBUTE_FORM,
    WPD_PROPERTY_ATTRIBUTE_RANGE_MIN,
    WPD_PROPERTY_ATTRIBUTE_RANGE_STEP,
    WPD_PROPERTY_ATTRIBUTE_VARTYPE,
    PortableDevicePropVariantCollection,
    PropVariant,
    VarType,
    WpdError,
)
from openwpd.wpd.service_values import (
    from_variant,
    guid_from_uint128,
    parameter_attributes,
    property_attributes,
    to_variant,
    uint128_from_guid,
    vartype_for,
)

D = DataType


@pytest.mark.parametrize(
    ("datatype", "form", "vt"),
    [
        (D.UINT8, None, VarType.UI4),
        (D.UINT32, None, VarType.UI4),
        (D.INT16, None, VarType.I4),
        (D.UINT64, None, VarType.UI8),
        (D.INT64, None, VarType.I8),
        (D.UINT128, None, VarType.CLSID),
        (D.INT128, None, VarType.CLSID),
        (D.STR, None, VarType.LPWSTR),
        (D.STR, DateTimeForm(), VarType.DATE),
        (D.UINT32, ObjectIdForm(), VarType.LPWSTR),
        (D.AUINT16, None, VarType.UNKNOWN),
        (0x000B, None, VarType.UNKNOWN),  # a type services never use
    ],
)
def test_vartypes(datatype: int, form: object, vt: VarType) -> None:
    assert vartype_for(datatype, form) == vt  # type: ignore[arg-type]


def test_guids_travel_in_the_windows_layout() -> None:
    guid = uuid.UUID("BB830000-AE6C-4804-98BA-C57B46965FE7")
    # Data1 little-endian first: the low byte of the UINT128 is Data1's low byte
    value = uint128_from_guid(guid)
    assert value & 0xFFFFFFFF == 0xBB830000
    assert guid_from_uint128(value) == guid
    assert to_variant(D.UINT128, None, value) == PropVariant(VarType.CLSID, guid)
    assert from_variant(D.UINT128, None, guid) == value
    assert from_variant(D.UINT128, None, 5) == 5


def test_conversions_both_ways() -> None:
    assert to_variant(D.UINT32, ObjectIdForm(), 0x1A) == PropVariant(VarType.LPWSTR, "o1A")
    assert to_variant(D.UINT32, ObjectIdForm(), 0) == PropVariant(VarType.LPWSTR, "")
    assert to_variant(D.STR, DateTimeForm(), "19061209T000000").value == datetime(1906, 12, 9)
    assert to_variant(D.STR, DateTimeForm(), "").value == ""
    assert to_variant(D.UINT8, None, 3) == PropVariant(VarType.UI4, 3)
    assert to_variant(D.AUINT16, None, (1, 2)).vt == VarType.UNKNOWN
    assert from_variant(D.UINT32, ObjectIdForm(), "o1A") == 0x1A
    assert from_variant(D.UINT32, ObjectIdForm(), 7) == 7
    assert from_variant(D.STR, None, "x") == "x"
    assert from_variant(D.STR, None, PropVariant(VarType.LPWSTR, "y")) == "y"
    assert from_variant(D.STR, DateTimeForm(), datetime(2024, 1, 2, 3, 4, 5)) == "20240102T030405"
    assert from_variant(D.UINT8, None, True) == 1
    assert from_variant(D.UINT16, None, 9) == 9
    ints = PortableDevicePropVariantCollection([1, 2], vt=VarType.UI4)
    assert from_variant(D.AUINT16, None, ints) == (1, 2)
    for datatype, form, value in (
        (D.UINT32, ObjectIdForm(), "DEVICE"),
        (D.UINT32, ObjectIdForm(), "s10001"),
        (D.STR, None, 5),
        (D.UINT32, None, "5"),
        (D.AUINT16, None, 5),
        (D.AUINT16, None, PortableDevicePropVariantCollection(["a"])),
        (D.UINT128, None, "guid"),
    ):
        with pytest.raises(WpdError) as err:
            from_variant(datatype, form, value)
        assert err.value.hresult == E_INVALIDARG


def test_attribute_sets() -> None:
    ranged = property_attributes(D.UINT8, GetSet.GET_SET, RangeForm(0, 100, 5), default=50)
    assert ranged[WPD_PROPERTY_ATTRIBUTE_FORM] == 1
    assert ranged[WPD_PROPERTY_ATTRIBUTE_RANGE_MIN] == 0
    assert ranged[WPD_PROPERTY_ATTRIBUTE_RANGE_STEP] == 5
    assert ranged[WPD_PROPERTY_ATTRIBUTE_DEFAULT_VALUE] == 50
    assert ranged[WPD_PROPERTY_ATTRIBUTE_CAN_DELETE] is True
    read_only = property_attributes(D.STR, GetSet.GET, RegexForm("^a"), default="")
    assert read_only[WPD_PROPERTY_ATTRIBUTE_CAN_DELETE] is False
    assert WPD_PROPERTY_ATTRIBUTE_DEFAULT_VALUE not in read_only
    assert read_only[WPD_PROPERTY_ATTRIBUTE_FORM] == 3
    forced = property_attributes(D.UINT16, GetSet.GET, None, vartype=VarType.CLSID)
    assert forced[WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.CLSID
    param = parameter_attributes("Pattern", 0, 1, D.STR, RegexForm("[a-z]+"), "abc")
    assert param[WPD_PARAMETER_ATTRIBUTE_FORM] == 3
    assert param[WPD_PARAMETER_ATTRIBUTE_REGULAR_EXPRESSION] == "[a-z]+"
    assert param[WPD_PARAMETER_ATTRIBUTE_DEFAULT_VALUE] == "abc"
    enum = parameter_attributes("Mode", 1, 1, D.UINT8, EnumForm((1, 2)), 0)
    assert enum[WPD_PARAMETER_ATTRIBUTE_FORM] == 2
    no_default = parameter_attributes("Object", 0, 1, D.UINT32, ObjectIdForm(), 0)
    assert WPD_PARAMETER_ATTRIBUTE_DEFAULT_VALUE not in no_default
