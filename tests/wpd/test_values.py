"""PROPVARIANTs, PortableDeviceValues and the collections; keys, GUIDs, HRESULTs, names.

Golden values (GUIDs, pids, HRESULTs) are copied by hand from
PortableDeviceTypes.h/PortableDevice.h.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from datetime import datetime

import pytest

import openwpd.wpd as wpd
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import Cancelled, ConnectError, ResponseError
from openwpd.wpd import commands as c
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PortableDeviceValuesCollection,
    PropVariant,
    WpdKeyError,
    convert,
    infer_vartype,
)

VT = k.VarType


def hr(exc_info: pytest.ExceptionInfo[wpd.WpdError]) -> int:
    return exc_info.value.hresult


# --- golden constants -------------------------------------------------------------------------


def test_keys_from_the_reference() -> None:
    assert k.PropertyKey(uuid.UUID("EF6B490D-5CD8-437A-AFFC-DA8B60EE4A3C"), 4) == k.WPD_OBJECT_NAME
    assert (
        k.PropertyKey(uuid.UUID("01A3057A-74D6-4E80-BEA7-DC4C212CE50A"), 4)
        == k.WPD_STORAGE_CAPACITY
    )
    assert k.WPD_DEVICE_FRIENDLY_NAME.pid == 12
    assert k.WPD_CLIENT_DESIRED_ACCESS.pid == 9
    assert (
        k.PropertyKey(uuid.UUID("E81E79BE-34F0-41BF-B53F-F1A06AE87842"), 0)
        == k.WPD_RESOURCE_DEFAULT
    )
    assert k.WPD_EVENT_PARAMETER_EVENT_ID.fmtid == uuid.UUID("15AB1953-F817-4FEF-A921-5676E838F6E0")
    assert k.WPD_PROPERTY_ATTRIBUTE_VARTYPE.pid == 3
    assert k.PKEY_GenericObj_Name == k.WPD_OBJECT_NAME
    assert k.WPD_MEDIA_WIDTH.pid == 22
    assert k.KEY_TYPES[k.WPD_OBJECT_SIZE] is VT.UI8
    assert k.KEY_TYPES[k.WPD_OBJECT_CONTENT_TYPE] is VT.CLSID


def test_commands_from_the_reference() -> None:
    common = uuid.UUID("F0422A9C-5DC8-4440-B5BD-5DF28835658A")
    assert k.PropertyKey(common, 2) == c.WPD_COMMAND_COMMON_RESET_DEVICE
    assert k.PropertyKey(common, 1003) == c.WPD_PROPERTY_COMMON_HRESULT
    assert c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY.pid == 1001
    mtp = uuid.UUID("4D545058-1A2E-4106-A357-771E0819FC56")
    assert k.PropertyKey(mtp, 12) == c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE
    assert k.PropertyKey(mtp, 1014) == c.WPD_PROPERTY_MTP_EXT_VENDOR_EXTENSION_DESCRIPTION
    assert c.WPD_PROPERTY_MTP_EXT_NUM_BYTES_TO_READ.pid == 1008
    assert c.WPD_OPTION_OBJECT_MANAGEMENT_RECURSIVE_DELETE_SUPPORTED.pid == 5001
    assert c.WPD_PROPERTY_SERVICE_METHOD_CONTEXT.pid == 1004
    assert c.PARAMETER_TYPES[c.WPD_PROPERTY_OBJECT_RESOURCES_SEEK_OFFSET] is VT.I8


def test_guids_from_the_reference() -> None:
    assert g.WPD_DEVICE_OBJECT_ID == "DEVICE"
    assert uuid.UUID("27E2E392-A111-48E0-AB0C-E17705A05F85") == g.WPD_CONTENT_TYPE_FOLDER
    assert uuid.UUID("23F05BBC-15DE-4C2A-A55B-A9AF5CE412EF") == g.WPD_FUNCTIONAL_CATEGORY_STORAGE
    assert uuid.UUID("A726DA95-E207-4B02-8D44-BEF2E86CBFFC") == g.WPD_EVENT_OBJECT_ADDED
    assert uuid.UUID("38010000-AE6C-4804-98BA-C57B46965FE7") == g.WPD_OBJECT_FORMAT_EXIF
    assert uuid.UUID("30090000-AE6C-4804-98BA-C57B46965FE7") == g.WPD_OBJECT_FORMAT_MP3
    assert uuid.UUID("C1F62EB2-4BB3-479C-9CFA-05B5F3A57B22") == g.WPD_OBJECT_FORMAT_ALL
    assert uuid.UUID("EF1E43DD-A9ED-4341-8BCC-186192AEA089") == g.WPD_CATEGORY_OBJECT_MANAGEMENT
    assert uuid.UUID("6AC27878-A6FA-4155-BA85-F98F491D4F33") == g.GUID_DEVINTERFACE_WPD
    assert g.SERVICE_Contacts == uuid.UUID("DD04D5FC-9D6E-4F76-9DCF-ECA6339B7389")
    assert g.vendor_event_guid(0xC801) == uuid.UUID("C8010000-5738-4FF2-8445-BE3126691059")


def test_hresults_from_the_reference() -> None:
    assert e.E_WPD_DEVICE_NOT_OPEN == 0x802A0002
    assert e.E_WPD_DEVICE_ALREADY_OPENED == 0x802A0001
    assert e.HRESULT_FROM_WIN32(e.ERROR_CANCELLED) == 0x800704C7 == e.HRESULT_CANCELLED
    assert e.HRESULT_FROM_WIN32(e.ERROR_NOT_FOUND) == 0x80070490
    assert e.HRESULT_FROM_WIN32(e.ERROR_INVALID_OPERATION) == 0x800710DD
    assert e.HRESULT_FROM_WIN32(e.ERROR_DIR_NOT_EMPTY) == 0x80070091
    assert e.DISP_E_TYPEMISMATCH == 0x80020005
    assert wpd.E_WPD_SERVICE_NOT_OPEN == 0x802A00C9


def test_package_exports() -> None:
    for name in (
        "WPD_OBJECT_NAME",
        "WPD_CONTENT_TYPE_FOLDER",
        "E_WPD_DEVICE_NOT_OPEN",
        "STGM_READ",
        "STREAM_SEEK_END",
        "PORTABLE_DEVICE_DELETE_NO_RECURSION",
        "WPD_COMMAND_COMMON_RESET_DEVICE",
        "PortableDevice",
        "WpdError",
    ):
        assert name in wpd.__all__
        assert hasattr(wpd, name)
    assert wpd.STGM_READWRITE == 2
    assert wpd.PORTABLE_DEVICE_DELETE_WITH_RECURSION == 1


# --- PropertyKey and names --------------------------------------------------------------------


def test_property_key_text_and_names() -> None:
    key = k.WPD_OBJECT_NAME
    assert str(key) == "{EF6B490D-5CD8-437A-AFFC-DA8B60EE4A3C}.4"
    assert k.PropertyKey.parse(str(key)) == key
    assert k.PropertyKey.parse("EF6B490D-5CD8-437A-AFFC-DA8B60EE4A3C 4") == key
    assert key.name == "WPD_OBJECT_NAME"
    assert c.WPD_COMMAND_COMMON_RESET_DEVICE.name == "WPD_COMMAND_COMMON_RESET_DEVICE"
    odd = k.PropertyKey(uuid.UUID(int=7), 3)
    assert odd.name == str(odd)
    assert wpd.guid_name(g.WPD_CONTENT_TYPE_FOLDER) == "WPD_CONTENT_TYPE_FOLDER"
    assert wpd.guid_name(uuid.UUID(int=5)).startswith("{00000000")
    assert sorted([k.WPD_OBJECT_SIZE, k.WPD_OBJECT_ID])[0] == k.WPD_OBJECT_ID


@pytest.mark.parametrize("bad", ["nonsense", "{EF6B490D}.4", ""])
def test_property_key_parse_rejects(bad: str) -> None:
    with pytest.raises(wpd.WpdError) as info:
        k.PropertyKey.parse(bad)
    assert hr(info) == e.E_INVALIDARG


def test_property_key_validates() -> None:
    with pytest.raises(wpd.WpdError):
        k.PropertyKey("not a guid", 1)  # type: ignore[arg-type]
    with pytest.raises(wpd.WpdError):
        k.PropertyKey(uuid.UUID(int=0), -1)
    with pytest.raises(wpd.WpdError):
        k.PropertyKey(uuid.UUID(int=0), 1 << 32)


# --- PropVariant --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "vt"),
    [
        (None, VT.EMPTY),
        (True, VT.BOOL),
        (5, VT.UI4),
        (-5, VT.I4),
        (1 << 40, VT.UI8),
        (-(1 << 40), VT.I8),
        (1.5, VT.R8),
        ("x", VT.LPWSTR),
        (uuid.UUID(int=1), VT.CLSID),
        (b"ab", VT.VECTOR_UI1),
        (bytearray(b"ab"), VT.VECTOR_UI1),
        (datetime(2020, 1, 2), VT.DATE),
        (k.WPD_OBJECT_ID, VT.UNKNOWN),
        (PortableDeviceValues(), VT.UNKNOWN),
    ],
)
def test_infer_vartype(value: object, vt: k.VarType) -> None:
    assert infer_vartype(value) is vt
    assert PropVariant.of(value).vt is vt


def test_infer_rejects() -> None:
    with pytest.raises(wpd.WpdError):
        infer_vartype(1 << 70)
    with pytest.raises(wpd.WpdError):
        infer_vartype(object())


def test_prop_variant_checks_values() -> None:
    assert PropVariant(VT.R4, 2).value == 2.0
    assert PropVariant(VT.ERROR, -2147024809).value == e.E_INVALIDARG
    assert PropVariant(VT.VECTOR_UI1, memoryview(b"q")).value == b"q"
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.UI4, -1)
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.UI1, 256)
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.LPWSTR, 3)
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.BOOL, 1)
    with pytest.raises(wpd.WpdError):
        PropVariant(999, 1)  # type: ignore[arg-type]
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.NULL, 0)
    with pytest.raises(wpd.WpdError):
        PropVariant(VT.UNKNOWN, "x")
    assert PropVariant.of(PropVariant(VT.I2, 3)).vt is VT.I2
    assert PropVariant.of("x", VT.UI4).vt is VT.LPWSTR  # does not fit the hint: inferred


def test_convert() -> None:
    assert convert(PropVariant(VT.UI4, 7), VT.LPWSTR).value == "7"
    assert convert(PropVariant(VT.CLSID, uuid.UUID(int=1)), VT.LPWSTR).value == (
        "{00000000-0000-0000-0000-000000000001}"
    )
    assert convert(PropVariant(VT.LPWSTR, "0x10"), VT.UI8).value == 16
    assert convert(PropVariant(VT.LPWSTR, "1.5"), VT.R8).value == 1.5
    assert convert(PropVariant(VT.LPWSTR, str(uuid.UUID(int=2))), VT.CLSID).value == uuid.UUID(
        int=2
    )
    assert convert(PropVariant(VT.UI4, 3), VT.R4).value == 3.0
    assert convert(PropVariant(VT.R8, 3.0), VT.I8).value == 3
    same = PropVariant(VT.UI4, 1)
    assert convert(same, VT.UI4) is same
    for item, vt in [
        (PropVariant(VT.UI4, 300), VT.UI1),
        (PropVariant(VT.LPWSTR, "x"), VT.UI4),
        (PropVariant(VT.VECTOR_UI1, b"x"), VT.LPWSTR),
        (PropVariant(VT.R8, 1.5), VT.UI4),
        (PropVariant(VT.UNKNOWN, k.WPD_OBJECT_ID), VT.LPWSTR),
        (PropVariant(VT.BOOL, True), VT.UI4),
    ]:
        with pytest.raises(wpd.WpdError) as info:
            convert(item, vt)
        assert hr(info) == e.DISP_E_TYPEMISMATCH


# --- PortableDeviceValues -----------------------------------------------------------------


def test_values_mapping_and_declared_types() -> None:
    v = PortableDeviceValues({k.WPD_OBJECT_NAME: "a"})
    v[k.WPD_OBJECT_SIZE] = 5  # declared VT_UI8
    v[k.WPD_OBJECT_ISHIDDEN] = True
    assert v.get_value(k.WPD_OBJECT_SIZE).vt is VT.UI8
    assert v.get_unsigned_large_integer_value(k.WPD_OBJECT_SIZE) == 5
    assert len(v) == v.get_count() == 3
    assert v.get_at(0) == (k.WPD_OBJECT_NAME, "a")
    assert list(v) == [k.WPD_OBJECT_NAME, k.WPD_OBJECT_SIZE, k.WPD_OBJECT_ISHIDDEN]
    assert v.get(k.WPD_OBJECT_ID) is None
    assert k.WPD_OBJECT_ID not in v
    v[k.WPD_OBJECT_NAME] = "b"  # overwrite keeps the place
    assert v.get_at(0) == (k.WPD_OBJECT_NAME, "b")
    v.remove_value(k.WPD_OBJECT_ISHIDDEN)
    assert k.WPD_OBJECT_ISHIDDEN not in v
    copy = v.copy()
    v.clear()
    assert len(v) == 0 and len(copy) == 2
    assert "WPD_OBJECT_NAME" in repr(copy)
    assert PortableDeviceValues([(k.WPD_OBJECT_ID, "x")])[k.WPD_OBJECT_ID] == "x"


def test_values_errors() -> None:
    v = PortableDeviceValues()
    with pytest.raises(WpdKeyError) as info:
        v.get_string_value(k.WPD_OBJECT_NAME)
    assert info.value.hresult == e.HRESULT_FROM_WIN32(e.ERROR_NOT_FOUND)
    assert isinstance(info.value, KeyError) and "WPD_OBJECT_NAME" in str(info.value)
    with pytest.raises(KeyError):
        del v[k.WPD_OBJECT_NAME]
    with pytest.raises(wpd.WpdError) as info2:
        v.get_at(0)
    assert info2.value.hresult == e.E_INVALIDARG
    v.set_unsigned_integer_value(k.WPD_OBJECT_NAME, 3)
    with pytest.raises(wpd.WpdError) as info2:
        v.get_string_value(k.WPD_OBJECT_NAME)
    assert info2.value.hresult == e.DISP_E_TYPEMISMATCH
    with pytest.raises(wpd.WpdError):
        v.set_string_value(k.WPD_OBJECT_NAME, 3)  # type: ignore[arg-type]
    with pytest.raises(wpd.WpdError):
        v.set_value("key", 1)  # type: ignore[arg-type]
    with pytest.raises(wpd.WpdError):
        v.set_string_value("key", "x")  # type: ignore[arg-type]
    with pytest.raises(wpd.WpdError):
        v.set_unsigned_integer_value(k.WPD_OBJECT_SIZE, -1)


def test_typed_accessors_round_trip() -> None:
    v = PortableDeviceValues()
    key = k.PropertyKey(uuid.UUID(int=9), 1)
    inner = PortableDeviceValues({k.WPD_OBJECT_ID: "o1"})
    cases = [
        ("string", "text", VT.LPWSTR),
        ("unsigned_integer", 7, VT.UI4),
        ("signed_integer", -7, VT.I4),
        ("unsigned_large_integer", 1 << 40, VT.UI8),
        ("signed_large_integer", -(1 << 40), VT.I8),
        ("float", 0.5, VT.R4),
        ("bool", False, VT.BOOL),
        ("guid", uuid.UUID(int=3), VT.CLSID),
        ("buffer", b"\x00\x01", VT.VECTOR_UI1),
        ("error", e.E_ACCESSDENIED, VT.ERROR),
        ("key", k.WPD_OBJECT_NAME, VT.UNKNOWN),
        ("values", inner, VT.UNKNOWN),
        ("key_collection", PortableDeviceKeyCollection([k.WPD_OBJECT_ID]), VT.UNKNOWN),
        ("prop_variant_collection", PortableDevicePropVariantCollection(["a"]), VT.UNKNOWN),
        ("values_collection", PortableDeviceValuesCollection([inner]), VT.UNKNOWN),
    ]
    for name, value, vt in cases:
        getattr(v, f"set_{name}_value")(key, value)
        assert getattr(v, f"get_{name}_value")(key) == value
        assert v.get_value(key).vt is vt
    v.set_float_value(key, 2)
    assert v.get_float_value(key) == 2.0
    v.set_error_value(key, -2147467259)
    assert v.get_error_value(key) == e.E_FAIL
    v.set_buffer_value(key, bytearray(b"z"))
    assert v.get_buffer_value(key) == b"z"
    v.set_key_value(key, k.WPD_OBJECT_ID)
    with pytest.raises(wpd.WpdError) as info:
        v.get_values_value(key)  # VT_UNKNOWN, but a key, not values
    assert info.value.hresult == e.DISP_E_TYPEMISMATCH


# --- collections --------------------------------------------------------------------------


def test_key_collection() -> None:
    keys = PortableDeviceKeyCollection([k.WPD_OBJECT_ID, k.WPD_OBJECT_NAME])
    assert keys.get_count() == len(keys) == 2
    assert keys.get_at(1) == keys[1] == k.WPD_OBJECT_NAME
    assert k.WPD_OBJECT_ID in keys
    assert list(keys) == [k.WPD_OBJECT_ID, k.WPD_OBJECT_NAME]
    assert keys == PortableDeviceKeyCollection([k.WPD_OBJECT_ID, k.WPD_OBJECT_NAME])
    assert keys != PortableDevicePropVariantCollection()
    assert "WPD_OBJECT_NAME" in repr(keys)
    keys.remove_at(0)
    assert list(keys) == [k.WPD_OBJECT_NAME]
    for bad in (5, -1):
        with pytest.raises(wpd.WpdError):
            keys.get_at(bad)
    with pytest.raises(wpd.WpdError):
        keys.add("WPD_OBJECT_ID")  # type: ignore[arg-type]
    keys.clear()
    assert len(keys) == 0
    with pytest.raises(TypeError):
        hash(keys)


def test_prop_variant_collection_is_homogeneous() -> None:
    items = PortableDevicePropVariantCollection()
    assert items.get_type() is VT.EMPTY
    items.add("o1")
    items.add(5)  # converted to the collection's type
    assert list(items) == ["o1", "5"]
    assert items.get_type() is VT.LPWSTR
    assert items.get_at(1) == items[1] == "5"
    assert items[0:1] == ["o1"]
    assert items.get_variant_at(0) == PropVariant(VT.LPWSTR, "o1")
    assert "o1" in items and "o9" not in items
    assert "o1" in repr(items)
    numbers = PortableDevicePropVariantCollection(["1", "2"])
    numbers.change_type(VT.UI4)
    assert list(numbers) == [1, 2] and numbers.get_type() is VT.UI4
    with pytest.raises(wpd.WpdError) as info:
        items.change_type(VT.UI4)  # "o1" is no number: unchanged
    assert info.value.hresult == e.DISP_E_TYPEMISMATCH
    assert list(items) == ["o1", "5"] and items.get_type() is VT.LPWSTR
    errors = PortableDevicePropVariantCollection(vt=VT.ERROR)
    errors.add(0)
    assert errors.get_variant_at(0).vt is VT.ERROR
    with pytest.raises(wpd.WpdError) as info:
        errors.add(b"x")
    assert info.value.hresult == e.DISP_E_TYPEMISMATCH


def test_values_collection() -> None:
    one = PortableDeviceValues({k.WPD_OBJECT_ID: "a"})
    items = PortableDeviceValuesCollection([one])
    assert items.get_at(0) is one and items[0] is one
    assert list(items) == [one] and len(items) == 1
    assert "PortableDeviceValuesCollection" in repr(items)
    with pytest.raises(wpd.WpdError):
        items.add({})  # type: ignore[arg-type]


# --- errors -------------------------------------------------------------------------------


def test_wpd_error() -> None:
    err = wpd.WpdError(-2147023673)
    assert err.hresult == 0x800704C7 and err.cancelled
    assert str(err) == "0x800704C7: the operation was cancelled"
    assert err.results is None
    other = wpd.WpdError(0x80070490, "gone", results=[1])
    assert not other.cancelled and other.results == [1] and other.message == "gone"
    assert e.describe_hresult(0x12345678) == "HRESULT 0x12345678"
    assert e.succeeded(e.S_FALSE) and e.failed(e.E_FAIL) and not e.failed(e.S_OK)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (Cancelled(), e.HRESULT_CANCELLED),
        (asyncio.CancelledError(), e.HRESULT_CANCELLED),
        (concurrent.futures.CancelledError(), e.HRESULT_CANCELLED),
        (ResponseError(ResponseCode.INVALID_OBJECT_HANDLE), 0x80070490),
        (ResponseError(ResponseCode.STORE_READ_ONLY), e.E_ACCESSDENIED),
        (ResponseError(0xA7FF), e.E_FAIL),
        (ConnectError("no"), e.HRESULT_FROM_WIN32(e.ERROR_DEVICE_NOT_CONNECTED)),
        (OSError("disk"), e.E_FAIL),
        (RuntimeError("bug"), e.E_UNEXPECTED),
    ],
)
def test_wpd_error_from(exc: BaseException, expected: int) -> None:
    assert e.wpd_error_from(exc).hresult == expected


def test_wpd_error_from_keeps_wpd_errors() -> None:
    err = wpd.WpdError(e.E_ACCESSDENIED)
    assert e.wpd_error_from(err) is err
    assert e.hresult_for_response(ResponseCode.OK) == e.S_OK
