"""The MTP <-> WPD mappings of Windows' MTP driver (expected values written by hand)."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from openwpd.protocol.codes import DataType, EventCode, ObjectFormatCode, ObjectPropCode
from openwpd.wpd import WpdError
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.keys import VarType
from openwpd.wpd.values import PortableDevicePropVariantCollection, PortableDeviceValues


def test_object_ids() -> None:
    assert m.storage_object_id(0x00010001) == "s10001"
    assert m.object_id_for_handle(0x1A) == "o1A"
    assert m.parse_object_id("DEVICE") == m.ObjectRef(m.Kind.DEVICE)
    assert m.parse_object_id("") == m.ObjectRef(m.Kind.ROOT)
    assert m.parse_object_id("s10001") == m.ObjectRef(m.Kind.STORAGE, 0x10001)
    assert m.parse_object_id("o1A") == m.ObjectRef(m.Kind.OBJECT, 0x1A)
    for ref in (
        m.ObjectRef(m.Kind.ROOT),
        m.ObjectRef(m.Kind.DEVICE),
        m.ObjectRef(m.Kind.OBJECT, 5),
    ):
        assert m.parse_object_id(ref.object_id) == ref


@pytest.mark.parametrize("bad", ["o", "o0", "oFFFFFFFF", "x12", "o1a", "o123456789", "device"])
def test_object_ids_that_name_nothing(bad: str) -> None:
    with pytest.raises(WpdError) as info:
        m.parse_object_id(bad)
    assert info.value.hresult == 0x80070490


def test_object_id_must_be_a_string() -> None:
    with pytest.raises(WpdError) as info:
        m.parse_object_id(5)  # type: ignore[arg-type]
    assert info.value.hresult == e.E_INVALIDARG


def test_formats() -> None:
    assert m.format_to_guid(0x3801) == uuid.UUID("38010000-AE6C-4804-98BA-C57B46965FE7")
    assert m.guid_to_format(uuid.UUID("B9820000-AE6C-4804-98BA-C57B46965FE7")) == 0xB982
    assert m.format_to_guid(ObjectFormatCode.M4A) == g.WPD_OBJECT_FORMAT_M4A
    assert m.guid_to_format(g.WPD_OBJECT_FORMAT_M4A) == ObjectFormatCode.M4A
    assert m.guid_to_format(g.WPD_OBJECT_FORMAT_ALL) is None
    assert m.guid_to_format(g.WPD_OBJECT_FORMAT_ICON) is None
    assert m.guid_to_format(uuid.UUID("38010001-AE6C-4804-98BA-C57B46965FE7")) is None


@pytest.mark.parametrize(
    ("code", "content_type"),
    [
        (0x3001, g.WPD_CONTENT_TYPE_FOLDER),
        (0x3801, g.WPD_CONTENT_TYPE_IMAGE),
        (0xB804, g.WPD_CONTENT_TYPE_IMAGE),
        (0x3009, g.WPD_CONTENT_TYPE_AUDIO),
        (0xB901, g.WPD_CONTENT_TYPE_AUDIO),
        (0x300A, g.WPD_CONTENT_TYPE_VIDEO),
        (0xB982, g.WPD_CONTENT_TYPE_VIDEO),
        (0xBA11, g.WPD_CONTENT_TYPE_PLAYLIST),
        (0xBA83, g.WPD_CONTENT_TYPE_DOCUMENT),
        (0x3004, g.WPD_CONTENT_TYPE_DOCUMENT),
        (0xBB82, g.WPD_CONTENT_TYPE_CONTACT),
        (0xBA06, g.WPD_CONTENT_TYPE_CONTACT_GROUP),
        (0xBE03, g.WPD_CONTENT_TYPE_CALENDAR),
        (0x3003, g.WPD_CONTENT_TYPE_PROGRAM),
        (0x3000, g.WPD_CONTENT_TYPE_GENERIC_FILE),
    ],
)
def test_content_types(code: int, content_type: uuid.UUID) -> None:
    assert m.content_type_for_format(code) == content_type


def test_object_properties_per_the_table() -> None:
    assert m.object_prop(ObjectPropCode.OBJECT_FILE_NAME).key == k.WPD_OBJECT_ORIGINAL_FILE_NAME
    assert m.object_prop(ObjectPropCode.STORAGE_ID).key.pid == 23
    assert m.object_prop(ObjectPropCode.PROTECTION_STATUS).key == k.WPD_OBJECT_CAN_DELETE
    assert m.object_prop(ObjectPropCode.ASSOCIATION_TYPE).key.pid == 32
    assert m.object_prop(ObjectPropCode.DATE_MODIFIED).key == k.WPD_OBJECT_DATE_MODIFIED
    assert m.object_prop(ObjectPropCode.ARTIST).key == k.WPD_MEDIA_ARTIST
    vendor = m.object_prop(0xD801)
    assert vendor.key == k.PropertyKey(uuid.UUID("4D545058-4FCE-4578-95C8-8698A9BC0F49"), 0xD801)
    assert m.object_prop_for_key(vendor.key) == vendor
    assert m.object_prop_for_key(k.WPD_OBJECT_NAME) == m.object_prop(ObjectPropCode.NAME)
    assert m.object_prop_for_key(k.WPD_OBJECT_ID) is None
    assert m.object_prop_for_key(k.vendor_object_property_key(0xFFFF)) is not None


def test_device_properties() -> None:
    assert m.device_prop(0x5001).key == k.WPD_DEVICE_POWER_LEVEL
    assert m.device_prop(0xD402).key == k.WPD_DEVICE_FRIENDLY_NAME
    vendor = m.device_prop(0xD001)
    assert vendor.key.fmtid == uuid.UUID("4D545058-8900-40B3-8F1D-DC246E1E8370")
    assert m.device_prop_for_key(vendor.key) == vendor
    assert m.device_prop_for_key(k.WPD_DEVICE_DATETIME) == m.device_prop(0x5011)
    assert m.device_prop_for_key(k.WPD_DEVICE_MODEL) is None


def test_values_to_variants() -> None:
    v = m.mtp_to_variant
    assert v(m.Conv.BOOL, 1).value is True
    assert v(m.Conv.CAN_DELETE, 0).value is True
    assert v(m.Conv.CAN_DELETE, 1).value is False
    assert v(m.Conv.PARENT, 0, storage_id=0x10001).value == "s10001"
    assert v(m.Conv.PARENT, 0x22).value == "o22"
    assert v(m.Conv.STORAGE, 0x20001).value == "s20001"
    assert v(m.Conv.FORMAT, 0x3009).value == g.WPD_OBJECT_FORMAT_MP3
    assert v(m.Conv.PUID, 1).value == "{00000000-0000-0000-0000-000000000001}"
    assert m.puid_value("{00000000-0000-0000-0000-000000000001}") == 1
    assert m.puid_value("s10001") is None
    assert v(m.Conv.DATE, "20240102T030405").value == datetime(2024, 1, 2, 3, 4, 5)
    assert v(m.Conv.DATE, "garbage").vt is VarType.LPWSTR
    assert m.mtp_date("") is None
    assert v(m.Conv.PLAIN, 5).vt is VarType.UI4
    assert v(m.Conv.PLAIN, 5, datatype=DataType.UINT64).vt is VarType.UI8
    assert v(m.Conv.PLAIN, -5, datatype=DataType.INT16).vt is VarType.I4
    assert v(m.Conv.PLAIN, -5, datatype=DataType.INT64).vt is VarType.I8
    assert v(m.Conv.PLAIN, 1 << 100, datatype=DataType.UINT128).value == f"0x{1 << 100:032X}"
    assert v(m.Conv.PLAIN, "x").value == "x"
    array = v(m.Conv.PLAIN, (1, 2)).value
    assert isinstance(array, PortableDevicePropVariantCollection) and list(array) == [1, 2]


def test_variants_to_mtp() -> None:
    assert m.variant_to_mtp(m.Conv.DATE, datetime(2024, 1, 2, 3, 4, 5)) == "20240102T030405"
    assert m.variant_to_mtp(m.Conv.BOOL, True) == 1
    assert m.variant_to_mtp(m.Conv.PLAIN, "x") == "x"
    assert m.variant_to_mtp(m.Conv.PLAIN, 7) == 7
    assert m.variant_to_mtp(m.Conv.PLAIN, PortableDevicePropVariantCollection([1, 2])) == (1, 2)
    for conv, value in [
        (m.Conv.PLAIN, PortableDevicePropVariantCollection(["a"])),
        (m.Conv.PLAIN, PortableDeviceValues()),
        (m.Conv.DATE, "x"),
        (m.Conv.FORMAT, 1),
    ]:
        with pytest.raises(WpdError):
            m.variant_to_mtp(conv, value)


def test_aware_dates_become_local() -> None:
    aware = datetime(2024, 1, 2, 3, 4, 5).astimezone()
    assert m.mtp_date_text(aware) == "20240102T030405"


def test_events() -> None:
    assert m.event_guid(EventCode.OBJECT_ADDED) == g.WPD_EVENT_OBJECT_ADDED
    assert m.event_guid(EventCode.STORE_REMOVED) == g.WPD_EVENT_OBJECT_REMOVED
    assert m.event_guid(EventCode.OBJECT_PROP_CHANGED) == g.WPD_EVENT_OBJECT_UPDATED
    assert m.event_guid(EventCode.DEVICE_INFO_CHANGED) == g.WPD_EVENT_DEVICE_CAPABILITIES_UPDATED
    assert m.event_guid(EventCode.DEVICE_RESET) == g.WPD_EVENT_DEVICE_RESET
    assert m.event_guid(0xC123) == uuid.UUID("C1230000-5738-4FF2-8445-BE3126691059")


def test_filesystem_names() -> None:
    assert m.filesystem_name(2) == "Generic Hierarchical"
    assert m.filesystem_name(0x8001) == "Undefined"
