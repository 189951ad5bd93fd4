"""Golden vectors for the datasets, written by hand from the dataset layouts (PTP,
USB Still Image class, MTP Device Services), plus the specific leniency, hostile-input and
build-refusal rules."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType, FormFlag
from openwpd.protocol.datasets import (
    CancelRequestData,
    DateTimeForm,
    DeletePropList,
    DeletePropListElement,
    DeviceInfo,
    DevicePropDesc,
    DeviceStatus,
    EnumForm,
    ExtendedEventData,
    FormatCapability,
    FormatCapabilityList,
    InterdependentPropDesc,
    ObjectIdForm,
    ObjectInfo,
    ObjectPropDesc,
    ObjectPropList,
    OpaqueForm,
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
    StorageInfo,
    build_form,
    build_uint16_array,
    build_uint32_array,
    compressed_size_for,
    format_vendor_extensions,
    iter_prop_list,
    parse_form,
    parse_uint16_array,
    parse_uint32_array,
    parse_vendor_extensions,
)
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

# ------------------------------------------------------------------ independent wire encoders
# Written from the specs' layouts, deliberately not using the code under test.


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def u8(v: int) -> bytes:
    return bytes([v])


def u16(v: int) -> bytes:
    return v.to_bytes(2, "little")


def u32(v: int) -> bytes:
    return v.to_bytes(4, "little")


def u64(v: int) -> bytes:
    return v.to_bytes(8, "little")


def ptp_str(s: str) -> bytes:
    """PTP strings for ASCII text: u8 units incl. NUL, UTF-16LE units, NUL; "" is a single 00."""
    assert s.isascii()
    if not s:
        return b"\x00"
    return bytes([len(s) + 1]) + b"".join(bytes([ord(c), 0]) for c in s) + b"\x00\x00"


def a16(codes: list[int]) -> bytes:
    return u32(len(codes)) + b"".join(u16(c) for c in codes)


# GUIDs (MTP Device Services) in the Windows layout, typed out by hand.
FULL_ENUM_SYNC = uuid.UUID("28d3aac9-c075-44be-8881-65f38d305909")
FULL_ENUM_SYNC_LE = h("c9 aa d3 28 75 c0 be 44 88 81 65 f3 8d 30 59 09")
NS_63B1 = uuid.UUID("63b10e6c-4f3a-456d-95cb-9894edec9fa5")
NS_63B1_LE = h("6c 0e b1 63 3a 4f 6d 45 95 cb 98 94 ed ec 9f a5")
NS_703D = uuid.UUID("703d392c-532c-4607-9158-9cea742f3a16")
NS_703D_LE = h("2c 39 3d 70 2c 53 07 46 91 58 9c ea 74 2f 3a 16")
KNOWLEDGE = uuid.UUID("221bce32-221b-4f45-b48b-80de9a93a44a")
KNOWLEDGE_LE = h("32 ce 1b 22 1b 22 45 4f b4 8b 80 de 9a 93 a4 4a")
BEGIN_SYNC = uuid.UUID("63803e07-c713-45d3-8119-3479b31d3592")
BEGIN_SYNC_LE = h("07 3e 80 63 13 c7 d3 45 81 19 34 79 b3 1d 35 92")
ANCHOR_SYNC = uuid.UUID("056d8b9e-ad7a-44fc-946f-1d63a25cda9a")
ANCHOR_SYNC_LE = h("9e 8b 6d 05 7a ad fc 44 94 6f 1d 63 a2 5c da 9a")


def assert_truncations_fail(cls: type, data: bytes, allowed: tuple[int, ...] = ()) -> None:
    for n in range(len(data)):
        if n in allowed:
            cls.from_bytes(data[:n])
            continue
        with pytest.raises(RemoteProtocolError):
            cls.from_bytes(data[:n])


# --------------------------------------------------------------------------------- DeviceInfo

PHONE_OPS = [
    0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008, 0x1009, 0x100A, 0x100B,
    0x100C, 0x100D, 0x1014, 0x1015, 0x1016, 0x1017, 0x101B, 0x9801, 0x9802, 0x9803, 0x9804,
    0x9805, 0x9810, 0x9811, 0x95C1, 0x95C2, 0x95C3, 0x95C4, 0x95C5,
]  # fmt: skip
PHONE_EVENTS = [0x4002, 0x4003, 0x4004, 0x4005, 0x4006, 0x4007, 0x400C, 0xC801]
PHONE_PROPS = [0xD401, 0xD402, 0x5003, 0x5001, 0xD407]
PHONE_FORMATS = [
    0x3000, 0x3001, 0x3004, 0x3005, 0x3008, 0x3009, 0x300B, 0x3801, 0x3802, 0x3804, 0x3807,
    0x3808, 0x380B, 0x380D, 0xB901, 0xB902, 0xB903, 0xB982, 0xB983, 0xB984, 0xBA05, 0xBA10,
    0xBA11, 0xBA14, 0xBA82, 0xB906,
]  # fmt: skip
PHONE_DESC = "microsoft.com: 1.0; android.com: 1.0;"


def phone_device_info_bytes() -> bytes:
    return (
        u16(100)
        + u32(6)
        + u16(100)
        + ptp_str(PHONE_DESC)
        + u16(0)
        + a16(PHONE_OPS)
        + a16(PHONE_EVENTS)
        + a16(PHONE_PROPS)
        + a16([])
        + a16(PHONE_FORMATS)
        + ptp_str("Google")
        + ptp_str("Pixel 7")
        + ptp_str("1.0")
        + ptp_str("2A111FDH200ABC")
    )


PHONE = DeviceInfo(
    standard_version=100,
    vendor_extension_id=6,
    vendor_extension_version=100,
    vendor_extension_desc=PHONE_DESC,
    functional_mode=0,
    operations_supported=tuple(PHONE_OPS),
    events_supported=tuple(PHONE_EVENTS),
    device_properties_supported=tuple(PHONE_PROPS),
    capture_formats=(),
    playback_formats=tuple(PHONE_FORMATS),
    manufacturer="Google",
    model="Pixel 7",
    device_version="1.0",
    serial_number="2A111FDH200ABC",
)


def test_device_info_of_a_phone() -> None:
    wire = phone_device_info_bytes()
    # the head, typed out: version 100, extension ID 6, version 100, desc of 37 chars + NUL
    assert wire[:11] == h("64 00  06 00 00 00  64 00  26 6d 00")
    assert DeviceInfo.from_bytes(wire) == PHONE
    assert PHONE.to_bytes() == wire
    assert PHONE.vendor_extensions == {"microsoft.com": "1.0", "android.com": "1.0"}


def test_device_info_truncations() -> None:
    assert_truncations_fail(DeviceInfo, phone_device_info_bytes())


def test_device_info_defaults_describe_an_mtp_device() -> None:
    info = DeviceInfo()
    assert (info.standard_version, info.vendor_extension_id) == (100, 6)
    assert info.vendor_extensions == {"microsoft.com": "1.0"}
    assert info.to_bytes()[:8] == h("64 00 06 00 00 00 64 00")


def test_device_info_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        DeviceInfo(operations_supported=(0x10000,)).to_bytes()
    with pytest.raises(LocalProtocolError):
        DeviceInfo(model="x" * 300).to_bytes()
    with pytest.raises(LocalProtocolError):
        DeviceInfo(vendor_extension_id=-1).to_bytes()


def test_device_info_hostile_array_count() -> None:
    wire = u16(100) + u32(6) + u16(100) + ptp_str("") + u16(0) + u32(0xFFFFFFFF) + b"\x00" * 40
    with pytest.raises(RemoteProtocolError):
        DeviceInfo.from_bytes(wire)


# ------------------------------------------------------------------------ vendor extensions


def test_parse_vendor_extensions() -> None:
    assert parse_vendor_extensions("") == {}
    assert parse_vendor_extensions(
        "microsoft.com: 1.0; microsoft.com/WPDNA; microsoft.com/DeviceServices: 1.0;"
        "android.com:1.0;;  "
    ) == {
        "microsoft.com": "1.0",
        "microsoft.com/WPDNA": "",
        "microsoft.com/DeviceServices": "1.0",
        "android.com": "1.0",
    }
    # lenient about a last item without ';' (libmtp would drop it), duplicates: last wins
    assert parse_vendor_extensions("a: 1; a: 2; samsung.com: 1") == {"a": "2", "samsung.com": "1"}


def test_format_vendor_extensions() -> None:
    text = format_vendor_extensions(
        {"microsoft.com": "1.0", "microsoft.com/DeviceServices": "1.0", "microsoft.com/WPDNA": ""}
    )
    assert text == "microsoft.com: 1.0; microsoft.com/DeviceServices: 1.0; microsoft.com/WPDNA;"
    assert format_vendor_extensions({}) == ""
    for bad in ({"": "1"}, {"a:b": "1"}, {"a;b": "1"}, {" a": "1"}, {"a": "1;"}, {"a": " 1"}):
        with pytest.raises(LocalProtocolError):
            format_vendor_extensions(bad)


_ext_names = st.text(
    st.characters(exclude_characters=":;", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
)
_ext_versions = st.text(
    st.characters(exclude_characters=";", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"))
)


@given(st.dictionaries(_ext_names, _ext_versions, max_size=5))
def test_vendor_extensions_round_trip(mapping: dict[str, str]) -> None:
    text = format_vendor_extensions(mapping)
    assert text.count(";") == len(mapping)
    assert text == "" or text.endswith(";")
    assert parse_vendor_extensions(text) == mapping


# -------------------------------------------------------------------------------- StorageInfo


def test_storage_info_golden() -> None:
    wire = (
        h("03 00  02 00  00 00")  # FixedRAM, GenericHierarchical, Read/Write
        + u64(64 * 2**30)
        + u64(10 * 2**30)
        + h("ff ff ff ff")
        + ptp_str("Internal shared storage")
        + ptp_str("")
    )
    info = StorageInfo.from_bytes(wire)
    assert info == StorageInfo(
        3, 2, 0, 64 * 2**30, 10 * 2**30, 0xFFFFFFFF, "Internal shared storage"
    )
    assert info.to_bytes() == wire
    assert StorageInfo().to_bytes()[:6] == h("03 00 02 00 00 00")
    assert_truncations_fail(StorageInfo, wire)


# --------------------------------------------------------------------------------- ObjectInfo

BIG_HEAD = h(
    "01 00 01 00"  # StorageID 0x00010001
    "0b 30"  # ObjectFormat 0x300B
    "00 00"  # ProtectionStatus
    "ff ff ff ff"  # ObjectCompressedSize: >= 4 GiB
    "00 00"  # ThumbFormat
    "00 00 00 00  00 00 00 00  00 00 00 00"  # thumb size, width, height
    "00 00 00 00  00 00 00 00  00 00 00 00"  # image width, height, bit depth
    "05 00 00 00"  # ParentObject
    "00 00"  # AssociationType
    "00 00 00 00"  # AssociationDesc
    "00 00 00 00"  # SequenceNumber
)
MOVIE = h("0a 6d 00 6f 00 76 00 69 00 65 00 2e 00 6d 00 70 00 34 00 00 00")  # "movie.mp4"


def test_object_info_of_a_file_over_4_gib() -> None:
    assert len(BIG_HEAD) == 52
    wire = BIG_HEAD + MOVIE + ptp_str("20240101T120000") + ptp_str("20240102T130000.5") + b"\x00"
    info = ObjectInfo.from_bytes(wire)
    assert info == ObjectInfo(
        storage_id=0x00010001,
        object_format=0x300B,
        compressed_size=0xFFFFFFFF,
        parent_object=5,
        filename="movie.mp4",
        capture_date="20240101T120000",
        modification_date="20240102T130000.5",
    )
    assert info.size_is_clamped
    assert info.capture_datetime == datetime(2024, 1, 1, 12)
    assert info.modification_datetime == datetime(2024, 1, 2, 13, 0, 0, 500000)
    assert info.to_bytes() == wire


def test_object_info_for_size() -> None:
    big = ObjectInfo.for_size(5 * 2**30, filename="movie.mp4", object_format=0x300B)
    assert big.compressed_size == 0xFFFFFFFF and big.size_is_clamped
    assert big.filename == "movie.mp4"
    small = ObjectInfo.for_size(1000)
    assert small.compressed_size == 1000 and not small.size_is_clamped
    assert compressed_size_for(0xFFFFFFFE) == 0xFFFFFFFE
    assert compressed_size_for(0xFFFFFFFF) == 0xFFFFFFFF
    assert compressed_size_for(2**40) == 0xFFFFFFFF
    for bad in (-1, 1.5):
        with pytest.raises(LocalProtocolError):
            compressed_size_for(bad)  # type: ignore[arg-type]


def test_object_info_missing_trailing_strings_read_as_empty() -> None:
    head_and_name = BIG_HEAD + MOVIE
    assert ObjectInfo.from_bytes(head_and_name).capture_date == ""
    partial = ObjectInfo.from_bytes(head_and_name + ptp_str("20240101T120000"))
    assert (partial.capture_date, partial.modification_date, partial.keywords) == (
        "20240101T120000",
        "",
        "",
    )
    assert partial.modification_datetime is None
    # gphoto's SendObjectInfo: empty dates and keywords as single 00 bytes
    gphoto = ObjectInfo.from_bytes(head_and_name + h("00 00 00"))
    assert gphoto.capture_datetime is None


def test_object_info_truncations() -> None:
    date1, date2 = ptp_str("20240101T120000"), ptp_str("20240102T130000")
    wire = BIG_HEAD + MOVIE + date1 + date2 + ptp_str("k")
    after_name = len(BIG_HEAD) + len(MOVIE)
    # the only prefixes that parse: right after Filename, CaptureDate, ModificationDate
    boundaries = (after_name, after_name + len(date1), after_name + len(date1) + len(date2))
    assert_truncations_fail(ObjectInfo, wire, allowed=boundaries)
    # the head and the filename are required
    with pytest.raises(RemoteProtocolError):
        ObjectInfo.from_bytes(BIG_HEAD)


def test_object_info_bad_date_raises_on_access_only() -> None:
    info = ObjectInfo.from_bytes(BIG_HEAD + MOVIE + ptp_str("yesterday"))
    assert info.capture_date == "yesterday"
    with pytest.raises(RemoteProtocolError):
        _ = info.capture_datetime


# ------------------------------------------------------------------------- property descs

FILE_NAME_DESC = h("07 dc  ff ff  01  00  00 00 00 00  00")
PROTECTION_DESC = h("03 dc  04 00  00  00 00  00 00 00 00  02  04 00  00 00 01 00 02 80 03 80")
BATTERY_DESC = h("01 50  02 00  00  00  50  01  00 64 01")
DATE_CREATED_DESC = h("08 dc  ff ff  00  00  00 00 00 00  03")
SERVICE_PROP_DESC = (
    h("02 00  0a 00  01")
    + b"\x00" * 16
    + h("00 00 00 00  81")
    + NS_63B1_LE
    + h("04 00 00 00")
    + h("04 52 00 69 00 64 00 00 00")  # "Rid"
    + h("00")
)
METHOD_PARAM_DESC = (
    h("03 00  02 00  00  00  00 00 00 00  82")
    + NS_703D_LE
    + h("02 00 00 00  00  01  00")  # pid 2, name "", In, position 0
    + h("02  02 00  00 01")  # inner enumeration {0, 1}
)


def test_object_prop_desc_plain_string() -> None:
    desc = ObjectPropDesc.from_bytes(FILE_NAME_DESC)
    assert desc == ObjectPropDesc(0xDC07, DataType.STR, 1, "", 0, None)
    assert len(FILE_NAME_DESC) == ObjectPropDesc.MIN_SIZE
    assert desc.to_bytes() == FILE_NAME_DESC


def test_object_prop_desc_enumeration_count_is_u16() -> None:
    desc = ObjectPropDesc.from_bytes(PROTECTION_DESC)
    assert desc == ObjectPropDesc(
        0xDC03, DataType.UINT16, 0, 0, 0, EnumForm((0, 1, 0x8002, 0x8003))
    )
    assert desc.to_bytes() == PROTECTION_DESC


def test_device_prop_desc_range() -> None:
    desc = DevicePropDesc.from_bytes(BATTERY_DESC)
    assert desc == DevicePropDesc(0x5001, DataType.UINT8, 0, 0, 0x50, RangeForm(0, 100, 1))
    assert desc.to_bytes() == BATTERY_DESC


def test_datetime_form_has_no_data() -> None:
    desc = ObjectPropDesc.from_bytes(DATE_CREATED_DESC)
    assert desc.form == DateTimeForm()
    assert desc.to_bytes() == DATE_CREATED_DESC


def test_regex_and_object_id_forms() -> None:
    regex = h("07 dc ff ff 01 00 00 00 00 00 05") + ptp_str("[a-z]+")
    assert ObjectPropDesc.from_bytes(regex).form == RegexForm("[a-z]+")
    assert ObjectPropDesc.from_bytes(regex).to_bytes() == regex
    oid = h("0b dc 06 00 00 00 00 00 00 00 00 00 00 83")
    desc = ObjectPropDesc.from_bytes(oid)
    assert desc == ObjectPropDesc(0xDC0B, DataType.UINT32, 0, 0, 0, ObjectIdForm())
    assert desc.to_bytes() == oid


def test_service_object_property_form() -> None:
    desc = ObjectPropDesc.from_bytes(SERVICE_PROP_DESC)
    assert desc == ObjectPropDesc(
        2, DataType.UINT128, 1, 0, 0, ServiceObjectPropertyForm(NS_63B1, 4, "Rid", None)
    )
    assert desc.to_bytes() == SERVICE_PROP_DESC


def test_service_method_parameter_form() -> None:
    desc = ObjectPropDesc.from_bytes(METHOD_PARAM_DESC)
    assert desc.form == ServiceMethodParameterForm(NS_703D, 2, "", 1, 0, EnumForm((0, 1)))
    assert desc.to_bytes() == METHOD_PARAM_DESC


@pytest.mark.parametrize("flag", [0x04, 0x06, 0xFF, 0x07, 0x84])
def test_disputed_and_unknown_forms_are_opaque_and_never_built(flag: int) -> None:
    tail = h("10 00 00 00 aa bb")
    wire = h("07 dc ff ff 01 00 00 00 00 00") + u8(flag) + tail
    desc = ObjectPropDesc.from_bytes(wire)
    assert desc.form == OpaqueForm(flag, tail)
    with pytest.raises(LocalProtocolError):
        desc.to_bytes()
    # DevicePropDesc and ServicePropDesc share the defensive parse
    dev = DevicePropDesc.from_bytes(h("01 50 02 00 00 00 50") + u8(flag))
    assert dev.form == OpaqueForm(flag, b"")


def test_opaque_form_inside_a_list_swallows_the_rest() -> None:
    one = h("02 00 06 00 01 04 10 00 00 00")  # FixedLengthArray with a u32 length
    two = h("03 00 06 00 01 00")
    wire = u32(2) + one + two
    with pytest.raises(RemoteProtocolError):
        ServicePropDescList.from_bytes(wire)
    last = ServicePropDescList.from_bytes(u32(2) + two + one)
    assert last.descs[1].form == OpaqueForm(FormFlag.FIXED_LENGTH_ARRAY, h("10 00 00 00"))


def test_nested_service_forms_are_refused_both_ways() -> None:
    nested = (
        h("02 00 06 00 01 81")
        + NS_63B1_LE
        + h("01 00 00 00 00")
        + h("82")
        + NS_63B1_LE
        + h("01 00 00 00 00 01 00 00")
    )
    with pytest.raises(RemoteProtocolError):
        ServicePropDesc.from_bytes(nested)
    inner = ServiceObjectPropertyForm(NS_63B1, 1, "", None)
    for outer in (
        ServiceObjectPropertyForm(NS_63B1, 1, "", inner),
        ServiceMethodParameterForm(NS_63B1, 1, "", 1, 0, inner),
    ):
        with pytest.raises(LocalProtocolError):
            ServicePropDesc(2, DataType.UINT32, 1, outer).to_bytes()


def test_deeply_nested_service_forms_do_not_recurse() -> None:
    level = h("81") + NS_63B1_LE + h("01 00 00 00 00")
    wire = h("02 00 06 00 01") + level * 5000 + h("00")
    with pytest.raises(RemoteProtocolError):
        ServicePropDesc.from_bytes(wire)


def test_hostile_enumeration_count() -> None:
    with pytest.raises(RemoteProtocolError):
        ObjectPropDesc.from_bytes(h("03 dc 06 00 00 00 00 00 00 00 00 00 00 02 ff ff 01 00 00 00"))


def test_form_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ObjectPropDesc(0xDC03, DataType.UINT16, 0, 0, 0, EnumForm(tuple(range(65536)))).to_bytes()
    with pytest.raises(LocalProtocolError):
        ObjectPropDesc(0xDC03, DataType.UINT16, 0, 0, 0, RangeForm(0, 70000, 1)).to_bytes()
    with pytest.raises(LocalProtocolError):
        ObjectPropDesc(0xDC07, DataType.STR, 1, 0).to_bytes()  # default of the wrong type
    with pytest.raises(LocalProtocolError):
        ObjectPropDesc(0xDC03, DataType.UINT16, 2, 0, 0, OpaqueForm(0x04, b"")).to_bytes()


def test_parse_form_and_build_form_directly() -> None:
    w = Writer()
    build_form(w, DataType.INT16, RangeForm(-5, 5, 1))
    assert w.getvalue() == h("01 fb ff 05 00 01 00")
    assert parse_form(Reader(w.getvalue()), DataType.INT16) == RangeForm(-5, 5, 1)
    assert parse_form(Reader(h("00")), DataType.INT16) is None


def test_service_prop_desc_list_golden() -> None:
    wire = h("02 00 00 00  02 00 0a 00 01 00  05 00 02 00 01 02 02 00 00 01")
    lst = ServicePropDescList.from_bytes(wire)
    assert lst == ServicePropDescList(
        (
            ServicePropDesc(2, DataType.UINT128, 1, None),
            ServicePropDesc(5, DataType.UINT8, 1, EnumForm((0, 1))),
        )
    )
    assert lst.to_bytes() == wire
    assert_truncations_fail(ServicePropDescList, wire)
    with pytest.raises(RemoteProtocolError):
        ServicePropDescList.from_bytes(h("ff ff ff ff 02 00 0a 00 01 00"))


@pytest.mark.parametrize(
    ("cls", "wire"),
    [
        (ObjectPropDesc, FILE_NAME_DESC),
        (ObjectPropDesc, PROTECTION_DESC),
        (DevicePropDesc, BATTERY_DESC),
        (ObjectPropDesc, SERVICE_PROP_DESC),
        (ObjectPropDesc, METHOD_PARAM_DESC),
    ],
)
def test_prop_desc_truncations(cls: type, wire: bytes) -> None:
    assert_truncations_fail(cls, wire)


def test_unknown_datatype_in_desc() -> None:
    with pytest.raises(RemoteProtocolError):
        ObjectPropDesc.from_bytes(h("07 dc 0b 00 01 00 00 00 00 00 00 00"))
    with pytest.raises(RemoteProtocolError):
        DevicePropDesc.from_bytes(h("01 50 00 00 00 00 00 00"))


# ------------------------------------------------------------------------------ prop lists

PUID = (0x8000000000000001 << 64) | 0xFEDCBA9876543210
MIXED_PROP_LIST = h(
    "06 00 00 00"
    "01 00 00 00  02 dc  04 00  01 30"  # ObjectFormat UINT16 0x3001
    "01 00 00 00  0b dc  06 00  00 00 00 00"  # ParentObject UINT32 0
    "01 00 00 00  04 dc  08 00  89 67 45 23 01 00 00 00"  # ObjectSize UINT64
    "01 00 00 00  41 dc  0a 00  10 32 54 76 98 ba dc fe 01 00 00 00 00 00 00 80"  # PUID
    "01 00 00 00  07 dc  ff ff  06 61 00 2e 00 74 00 78 00 74 00 00 00"  # "a.txt"
    "02 00 00 00  0c dc  04 40  02 00 00 00 01 30 09 30"  # AUINT16 (0x3001, 0x3009)
)
MIXED_ELEMENTS = (
    PropListElement(1, 0xDC02, DataType.UINT16, 0x3001),
    PropListElement(1, 0xDC0B, DataType.UINT32, 0),
    PropListElement(1, 0xDC04, DataType.UINT64, 0x123456789),
    PropListElement(1, 0xDC41, DataType.UINT128, PUID),
    PropListElement(1, 0xDC07, DataType.STR, "a.txt"),
    PropListElement(2, 0xDC0C, DataType.AUINT16, (0x3001, 0x3009)),
)


def test_object_prop_list_with_mixed_types() -> None:
    opl = ObjectPropList.from_bytes(MIXED_PROP_LIST)
    assert opl.elements == MIXED_ELEMENTS
    assert ObjectPropList(MIXED_ELEMENTS).to_bytes() == MIXED_PROP_LIST
    assert_truncations_fail(ObjectPropList, MIXED_PROP_LIST)


def test_iter_prop_list_is_lazy_and_keeps_earlier_elements() -> None:
    # first element fine, second has an unknown data type 0x000B
    wire = u32(2) + h("01 00 00 00 02 dc 04 00 01 30") + h("01 00 00 00 03 dc 0b 00 00 00 00 00")
    it = iter_prop_list(Reader(wire))
    assert next(it) == MIXED_ELEMENTS[0]
    with pytest.raises(RemoteProtocolError):
        next(it)


def test_prop_list_hostile_count() -> None:
    # 0xFFFFFFFF elements promised, room for two at most
    wire = h("ff ff ff ff") + MIXED_PROP_LIST[4:24]
    with pytest.raises(RemoteProtocolError):
        next(iter_prop_list(Reader(wire)))
    with pytest.raises(RemoteProtocolError):
        ObjectPropList.from_bytes(u32(3) + b"\x00" * 26)  # 3 x 9 bytes needed


def test_prop_list_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ObjectPropList((PropListElement(1, 0xDC07, DataType.STR, 5),)).to_bytes()
    with pytest.raises(LocalProtocolError):
        PropListElement(1, 0xDC07, DataType.UNDEF, 0).to_bytes()
    with pytest.raises(LocalProtocolError):
        PropListElement(2**32, 0xDC07, DataType.UINT8, 0).to_bytes()


def test_service_prop_list_uses_the_same_layout() -> None:
    # GetServicePropList: the ServiceID sits in the handle slot
    wire = u32(1) + u32(0x10000001) + u16(4) + u16(DataType.UINT128) + b"\x11" * 16
    opl = ObjectPropList.from_bytes(wire)
    assert opl.elements[0].handle == 0x10000001
    assert opl.elements[0].value == int.from_bytes(b"\x11" * 16, "little")


def test_delete_prop_list_golden() -> None:
    wire = h("02 00 00 00  05 00 00 00 07 dc  01 00 00 10 02 00")
    dpl = DeletePropList.from_bytes(wire)
    assert dpl == DeletePropList(
        (DeletePropListElement(5, 0xDC07), DeletePropListElement(0x10000001, 2))
    )
    assert dpl.to_bytes() == wire
    assert_truncations_fail(DeletePropList, wire)
    with pytest.raises(RemoteProtocolError):
        DeletePropList.from_bytes(h("03 00 00 00") + wire[4:])
    with pytest.raises(LocalProtocolError):
        DeletePropList((DeletePropListElement(1, 0x10000),)).to_bytes()


# ---------------------------------------------------------------------------- ServiceInfo


def service_info_bytes() -> bytes:
    return (
        u32(0x10000001)  # ServiceID (abstract)
        + u32(0)  # ServiceStorageID
        + NS_703D_LE  # ServicePUID
        + u32(100)  # ServiceVersion
        + FULL_ENUM_SYNC_LE  # ServiceGUID
        + ptp_str("FullEnumSync")
        + u32(1)  # ServiceType abstract
        + u32(0)  # BaseServiceID
        + u32(1)
        + ANCHOR_SYNC_LE  # UsedServices
        + u32(1)
        + u16(1)
        + NS_63B1_LE
        + u32(4)
        + ptp_str("FullEnumReplicaID")
        + u32(1)
        + u16(0xB000)
        + KNOWLEDGE_LE
        + ptp_str("FullEnumSyncKnowledge")
        + u16(0)
        + ptp_str("application/octet-stream")
        + u32(1)
        + u16(1)
        + BEGIN_SYNC_LE
        + ptp_str("BeginSync")
        + u16(0)
        + u32(1)
        + u16(2)
        + ANCHOR_SYNC_LE
        + ptp_str("Changed")
        + u32(0)  # DataBlocks
    )


SERVICE_INFO = ServiceInfo(
    service_id=0x10000001,
    storage_id=0,
    puid=NS_703D,
    version=100,
    guid=FULL_ENUM_SYNC,
    name="FullEnumSync",
    service_type=1,
    base_service_id=0,
    used_services=(ANCHOR_SYNC,),
    properties=(ServiceProperty(1, NS_63B1, 4, "FullEnumReplicaID"),),
    formats=(
        ServiceFormat(0xB000, KNOWLEDGE, "FullEnumSyncKnowledge", 0, "application/octet-stream"),
    ),
    methods=(ServiceMethod(1, BEGIN_SYNC, "BeginSync", 0),),
    events=(ServiceEvent(2, ANCHOR_SYNC, "Changed"),),
    data_blocks=(),
)


def test_service_info_golden() -> None:
    wire = service_info_bytes()
    assert ServiceInfo.from_bytes(wire) == SERVICE_INFO
    assert SERVICE_INFO.to_bytes() == wire
    assert_truncations_fail(ServiceInfo, wire)


def test_service_info_hostile_counts() -> None:
    head = service_info_bytes()[: 4 + 4 + 16 + 4 + 16 + 27 + 4 + 4]
    for n_guids in (2, 0xFFFFFFFF):
        with pytest.raises(RemoteProtocolError):
            ServiceInfo.from_bytes(head + u32(n_guids) + b"\x00" * 20)
    # zero used services, then a property count that cannot fit
    with pytest.raises(RemoteProtocolError):
        ServiceInfo.from_bytes(head + u32(0) + u32(1000) + b"\x00" * 100)


def test_service_info_build_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ServiceInfo(1, puid="not a uuid").to_bytes()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        ServiceInfo(1, methods=(ServiceMethod(0x10000, BEGIN_SYNC, "x"),)).to_bytes()
    assert ServiceInfo(7).to_bytes()[:8] == h("07 00 00 00 00 00 00 00")


# --------------------------------------------------------------------------- capabilities


def test_format_capability_list_golden() -> None:
    inter = u32(1) + u32(2) + FILE_NAME_DESC + PROTECTION_DESC
    wire = u32(1) + u16(0xB000) + u32(1) + DATE_CREATED_DESC + inter
    caps = FormatCapabilityList.from_bytes(wire)
    date_desc = ObjectPropDesc(0xDC08, DataType.STR, 0, "", 0, DateTimeForm())
    expected = FormatCapabilityList(
        (
            FormatCapability(
                0xB000,
                (date_desc,),
                InterdependentPropDesc(
                    (
                        (
                            ObjectPropDesc.from_bytes(FILE_NAME_DESC),
                            ObjectPropDesc.from_bytes(PROTECTION_DESC),
                        ),
                    )
                ),
            ),
        )
    )
    assert caps == expected
    assert caps.to_bytes() == wire
    assert InterdependentPropDesc.from_bytes(inter).to_bytes() == inter
    assert FormatCapability(0x3001).to_bytes() == h("01 30 00 00 00 00 00 00 00 00")
    assert_truncations_fail(FormatCapabilityList, wire)


def test_capabilities_hostile_counts() -> None:
    for wire in (
        h("ff ff ff ff 00 00 00 00 00 00"),  # formats
        u32(1) + u16(0x3001) + u32(1000) + b"\x00" * 40,  # prop descs
        u32(1) + u16(0x3001) + u32(0) + u32(0x40000000) + b"\x00" * 8,  # interdependent
    ):
        with pytest.raises(RemoteProtocolError):
            FormatCapabilityList.from_bytes(wire)


# --------------------------------------------------------------------------------- arrays


def test_arrays() -> None:
    storage_ids = h("02 00 00 00  01 00 01 00  01 00 02 00")
    assert parse_uint32_array(storage_ids) == (0x00010001, 0x00020001)
    assert build_uint32_array([0x00010001, 0x00020001]) == storage_ids
    assert parse_uint32_array(h("00 00 00 00")) == ()
    props = h("03 00 00 00  01 dc 02 dc 07 dc")
    assert parse_uint16_array(props) == (0xDC01, 0xDC02, 0xDC07)
    assert build_uint16_array(iter((0xDC01, 0xDC02, 0xDC07))) == props
    for bad in (h("02 00 00 00 01 00 01 00"), h("ff ff ff ff"), h("01 00")):
        with pytest.raises(RemoteProtocolError):
            parse_uint32_array(bad)
    with pytest.raises(LocalProtocolError):
        build_uint16_array([0x10000])
    with pytest.raises(LocalProtocolError):
        build_uint32_array([-1])


# ---------------------------------------------------------------------------- USB control


def test_cancel_request_data() -> None:
    assert CancelRequestData(0x1234).to_bytes() == h("01 40 34 12 00 00")
    assert CancelRequestData.from_bytes(h("01 40 78 56 34 12")) == CancelRequestData(0x12345678)
    with pytest.raises(RemoteProtocolError):
        CancelRequestData.from_bytes(h("02 40 34 12 00 00"))
    assert_truncations_fail(CancelRequestData, h("01 40 34 12 00 00"))
    with pytest.raises(LocalProtocolError):
        CancelRequestData(2**32).to_bytes()


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (h("04 00 01 20"), DeviceStatus(0x2001)),  # libmtp's 4-byte read
        (h("04 00 19 20"), DeviceStatus(0x2019)),  # DeviceBusy
        (h("08 00 1f 20 81 00 02 00"), DeviceStatus(0x201F, (0x81, 0x02))),  # Android
        (h("0c 00 1f 20 81 00 00 00 02 00 00 00"), DeviceStatus(0x201F, (0x81, 0x02))),  # 32-bit
        (h("04 00 1f 20 81 00 02 00"), DeviceStatus(0x201F, (0x81, 0x02))),  # wLength too small
        (h("08 00 01 20"), DeviceStatus(0x2001)),  # pointer-sized wLength, 4 bytes sent
        (h("06 00 1f 20 81 00 02"), DeviceStatus(0x201F, (0x81,))),  # odd trailing byte
    ],
)
def test_device_status_parse_is_lenient(wire: bytes, expected: DeviceStatus) -> None:
    assert DeviceStatus.from_bytes(wire) == expected


def test_device_status_build() -> None:
    assert DeviceStatus(0x201F, (0x81, 0x02)).to_bytes() == h("08 00 1f 20 81 00 02 00")
    assert DeviceStatus(0x2001).to_bytes() == h("04 00 01 20")
    for bad in (DeviceStatus(0x2001, (0,)), DeviceStatus(0x2001, (0x10000,)), DeviceStatus(-1)):
        with pytest.raises(LocalProtocolError):
            bad.to_bytes()
    assert_truncations_fail(DeviceStatus, h("04 00 01 20"))


def test_extended_event_data() -> None:
    wire = h("02 40  05 00 00 00  02 00  04 00 34 12 00 00  00 00")
    data = ExtendedEventData.from_bytes(wire)
    assert data == ExtendedEventData(0x4002, 5, (h("34 12 00 00"), b""))
    assert data.to_bytes() == wire
    assert_truncations_fail(ExtendedEventData, wire)
    with pytest.raises(RemoteProtocolError):
        ExtendedEventData.from_bytes(h("02 40 05 00 00 00 ff ff 00 00"))
    with pytest.raises(LocalProtocolError):
        ExtendedEventData(0x4002, 5, ("text",)).to_bytes()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        ExtendedEventData(0x4002, 5, (b"\x00" * 70000,)).to_bytes()
    assert ExtendedEventData(0x4002, 5, (bytearray(b"\x01"),)).to_bytes().endswith(h("01 00 01"))
