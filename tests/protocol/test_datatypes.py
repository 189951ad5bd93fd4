"""PTP data types: strings, values, arrays, DateTime strings, GUIDs (PTP, Windows GUID layout)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ALL_DATATYPES, typed_values, utf16_units, values_for, wire_strings

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType
from openwpd.protocol.datatypes import (
    MAX_STRING_UNITS,
    format_datetime,
    min_wire_size,
    parse_datetime,
    read_guid,
    read_string,
    read_value,
    truncate_for_wire,
    write_guid,
    write_string,
    write_value,
)
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

EMOJI = "\U0001f600"  # U+1F600, UTF-16: D83D DE00


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def built_string(s: str) -> bytes:
    w = Writer()
    write_string(w, s)
    return w.getvalue()


def parsed_string(b: bytes) -> tuple[str, int]:
    r = Reader(b)
    return read_string(r), r.position


def built_value(dt: int, v: object) -> bytes:
    w = Writer()
    write_value(w, dt, v)  # type: ignore[arg-type]
    return w.getvalue()


# ------------------------------------------------------------------------------------ strings


def test_string_golden_ab() -> None:
    # PTP string: "ab" -> 03 61 00 62 00 00 00
    assert built_string("ab") == h("03 6100 6200 0000")
    assert parsed_string(h("03 6100 6200 0000")) == ("ab", 7)


def test_string_golden_empty() -> None:
    assert built_string("") == h("00")
    assert parsed_string(h("00")) == ("", 1)


def test_gphoto_empty_string_form() -> None:
    # gphoto packs "" as count 1 + lone NUL.
    assert parsed_string(h("01 0000")) == ("", 3)


def test_early_nul_stops_the_string_but_consumes_every_unit() -> None:
    assert parsed_string(h("04 6100 0000 6200 0000") + b"\xee") == ("a", 9)


def test_unterminated_string_is_accepted_leniently() -> None:
    assert parsed_string(h("02 6100 6200")) == ("ab", 5)


def test_astral_character_is_a_surrogate_pair() -> None:
    wire = h("03 3DD8 00DE 0000")
    assert built_string(EMOJI) == wire
    assert parsed_string(wire) == (EMOJI, 7)


def test_lone_surrogate_on_the_wire_becomes_replacement_character() -> None:
    assert parsed_string(h("03 00D8 6100 0000")) == ("\ufffda", 7)
    assert parsed_string(h("02 00DC 0000")) == ("\ufffd", 5)


def test_lone_surrogate_in_python_string_is_refused_on_build() -> None:
    with pytest.raises(LocalProtocolError):
        built_string("a\ud800b")


def test_nul_inside_string_is_refused_on_build() -> None:
    with pytest.raises(LocalProtocolError):
        built_string("a\x00b")


def test_non_str_is_refused_on_build() -> None:
    with pytest.raises(LocalProtocolError):
        built_string(b"ab")  # type: ignore[arg-type]


def test_maximum_length_strings() -> None:
    assert MAX_STRING_UNITS == 254
    wire = built_string("x" * 254)
    assert wire[0] == 255 and len(wire) == 1 + 255 * 2 and wire[-2:] == b"\0\0"
    assert parsed_string(wire) == ("x" * 254, len(wire))
    assert built_string(EMOJI * 127)[0] == 255
    for too_long in ("x" * 255, "a" + EMOJI * 127, "x" * 1000):
        with pytest.raises(LocalProtocolError):
            built_string(too_long)


def test_truncated_string_raises_remote_error() -> None:
    wire = h("03 6100 6200 0000")
    for n in range(len(wire)):
        with pytest.raises(RemoteProtocolError):
            read_string(Reader(wire[:n]))


def test_truncate_for_wire_cuts_at_code_point_boundaries() -> None:
    assert truncate_for_wire("x" * 300) == "x" * 254
    assert truncate_for_wire("short") == "short"
    # 1 + 126 * 2 = 253 units; another pair would make 255.
    assert truncate_for_wire("a" + EMOJI * 200) == "a" + EMOJI * 126
    assert truncate_for_wire("ab" + EMOJI, max_units=3) == "ab"
    assert truncate_for_wire("abc", max_units=1000) == "abc"
    assert truncate_for_wire("x" * 300, max_units=1000) == "x" * 254


@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")))
def test_truncate_for_wire_result_is_always_buildable(s: str) -> None:
    cut = truncate_for_wire(s)
    assert s.startswith(cut)
    assert utf16_units(cut) <= 254
    if cut != s:  # maximal: the next code point would not have fitted
        assert utf16_units(s[: len(cut) + 1]) > 254
    assert parsed_string(built_string(cut))[0] == cut


@given(wire_strings())
def test_string_round_trip(s: str) -> None:
    wire = built_string(s)
    assert wire[0] == (0 if s == "" else utf16_units(s) + 1)
    assert parsed_string(wire) == (s, len(wire))


# -------------------------------------------------------------------------------- typed values

GOLDEN_VALUES: list[tuple[DataType, str, object]] = [
    (DataType.INT8, "ff", -1),
    (DataType.UINT8, "ff", 255),
    (DataType.INT16, "00 80", -32768),
    (DataType.UINT16, "34 12", 0x1234),
    (DataType.INT32, "fe ff ff ff", -2),
    (DataType.UINT32, "78 56 34 12", 0x12345678),
    (DataType.INT64, "ff ff ff ff ff ff ff 7f", 2**63 - 1),
    (DataType.UINT64, "01 00 00 00 00 00 00 80", 2**63 + 1),
    # Windows GUID layout: low 64 bits first, then the high 64 bits
    (DataType.INT128, "ff" * 16, -1),
    (DataType.UINT128, "01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00", 1 + (2 << 64)),
    (DataType.AINT8, "02 00 00 00 ff 01", (-1, 1)),
    (DataType.AUINT8, "00 00 00 00", ()),
    (DataType.AINT16, "01 00 00 00 ff ff", (-1,)),
    (DataType.AUINT16, "03 00 00 00 01 10 02 10 03 10", (0x1001, 0x1002, 0x1003)),
    (DataType.AINT32, "01 00 00 00 00 00 00 80", (-(2**31),)),
    (DataType.AUINT32, "02 00 00 00 01 00 01 00 02 00 01 00", (0x00010001, 0x00010002)),
    (DataType.AINT64, "01 00 00 00" + " ff" * 8, (-1,)),
    (DataType.AUINT64, "01 00 00 00 00 00 00 00 01 00 00 00", (2**32,)),
    (DataType.AINT128, "02 00 00 00" + " ff" * 16 + " 05" + " 00" * 15, (-1, 5)),
    (DataType.AUINT128, "01 00 00 00" + " 00" * 8 + " 01" + " 00" * 7, (2**64,)),
    (DataType.STR, "03 6100 6200 0000", "ab"),
]


def test_golden_values_cover_every_type() -> None:
    assert {dt for dt, _, _ in GOLDEN_VALUES} == set(ALL_DATATYPES)


@pytest.mark.parametrize(("dt", "wire", "value"), GOLDEN_VALUES, ids=lambda x: str(x)[:20])
def test_golden_value(dt: DataType, wire: str, value: object) -> None:
    data = h(wire)
    r = Reader(data + b"\xaa")
    assert read_value(r, dt) == value
    assert r.remaining == 1
    assert built_value(dt, value) == data
    # lists are accepted for arrays too
    if isinstance(value, tuple):
        assert built_value(dt, list(value)) == data


@pytest.mark.parametrize(("dt", "wire", "value"), GOLDEN_VALUES, ids=lambda x: str(x)[:20])
def test_every_truncation_of_a_value_raises_remote_error(
    dt: DataType, wire: str, value: object
) -> None:
    data = h(wire)
    for n in range(len(data)):
        with pytest.raises(RemoteProtocolError):
            read_value(Reader(data[:n]), dt)


@settings(max_examples=300)
@given(typed_values())
def test_value_round_trip(pair: tuple[DataType, object]) -> None:
    dt, value = pair
    wire = built_value(dt, value)
    r = Reader(wire)
    assert read_value(r, dt) == value
    assert r.at_end()
    assert len(wire) >= min_wire_size(dt)


@pytest.mark.parametrize("dt", ALL_DATATYPES)
@given(data=st.data())
def test_value_round_trip_per_type(dt: DataType, data: st.DataObject) -> None:
    value = data.draw(values_for(dt))
    assert read_value(Reader(built_value(dt, value)), dt) == value


def test_min_wire_size() -> None:
    assert [min_wire_size(dt) for dt in (DataType.INT8, DataType.UINT64, DataType.UINT128)] == [
        1,
        8,
        16,
    ]
    assert min_wire_size(DataType.STR) == 1
    assert min_wire_size(DataType.AUINT128) == 4
    for bad in (DataType.UNDEF, 0x000B, 0x4000, 0x400B, 0x8001):
        with pytest.raises(RemoteProtocolError):
            min_wire_size(bad)


@pytest.mark.parametrize("code", [0x0000, 0x000B, 0x4000, 0x400B, 0xC001, 0x8001, 0xFFFE])
def test_unknown_or_undef_datatype(code: int) -> None:
    with pytest.raises(RemoteProtocolError):
        read_value(Reader(b"\x00" * 32), code)
    with pytest.raises(LocalProtocolError):
        built_value(code, 0)


@pytest.mark.parametrize(
    "dt", [DataType.AUINT8, DataType.AUINT16, DataType.AUINT64, DataType.AINT128, DataType.STR]
)
def test_hostile_array_count_is_rejected_before_allocating(dt: DataType) -> None:
    # count 0xFFFFFFFF with a handful of bytes behind it
    data = h("ff ff ff ff") + b"\x00" * 8
    if dt == DataType.STR:
        data = h("ff 61 00")  # 255 units promised, one present
    with pytest.raises(RemoteProtocolError):
        read_value(Reader(data), dt)


@pytest.mark.parametrize(
    ("dt", "value"),
    [
        (DataType.UINT8, 256),
        (DataType.UINT8, -1),
        (DataType.INT8, 128),
        (DataType.UINT16, "1"),
        (DataType.UINT32, (1,)),
        (DataType.UINT128, 2**128),
        (DataType.INT128, 2**127),
        (DataType.UINT64, 1.5),
        (DataType.STR, 5),
        (DataType.STR, ("a",)),
        (DataType.AUINT16, 5),
        (DataType.AUINT16, "ab"),
        (DataType.AUINT16, (0x10000,)),
        (DataType.AUINT16, ("a",)),
        (DataType.AINT8, (-129,)),
        (DataType.AUINT128, (-1,)),
        (DataType.AINT128, (2**127,)),
        (DataType.AUINT128, ("x",)),
    ],
)
def test_bad_values_raise_local_error(dt: DataType, value: object) -> None:
    with pytest.raises(LocalProtocolError):
        built_value(dt, value)


# ----------------------------------------------------------------------------------- DateTime


def test_parse_datetime_forms() -> None:
    assert parse_datetime("") is None
    assert parse_datetime("20240229T235958") == datetime(2024, 2, 29, 23, 59, 58)
    assert parse_datetime("20240229T235958.7") == datetime(2024, 2, 29, 23, 59, 58, 700000)
    assert parse_datetime("20240229T235958.1234567") == datetime(2024, 2, 29, 23, 59, 58, 123456)
    z = parse_datetime("20240101T120000Z")
    assert z == datetime(2024, 1, 1, 12, tzinfo=UTC) and z is not None and z.tzinfo is not None
    plus = parse_datetime("20240101T120000.5+0130")
    assert plus == datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=timezone(timedelta(minutes=90)))
    assert plus is not None and plus.utcoffset() == timedelta(minutes=90)
    minus = parse_datetime("20240101T120000-0500")
    assert minus is not None and minus.utcoffset() == timedelta(hours=-5)
    assert minus == datetime(2024, 1, 1, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2024",
        "20240101",
        "20240101 120000",
        "20240101t120000",
        "20240101T12000",
        "20240101T1200000",
        "20241301T000000",
        "20240230T000000",
        "20240101T240000",
        "20240101T126000",
        "20240101T120000.",
        "20240101T120000+01",
        "20240101T120000+2400",
        "20240101T120000+0060",
        "20240101T120000z",
        "20240101T120000Zjunk",
        "00000000T000000",
        "٢٠٢٤0101T120000",
    ],
)
def test_parse_datetime_rejects_malformed(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_datetime(text)


def test_format_datetime() -> None:
    assert format_datetime(datetime(2009, 7, 4, 5, 6, 7)) == "20090704T050607"
    assert format_datetime(datetime(2009, 7, 4, 5, 6, 7, 999999)) == "20090704T050607"
    assert format_datetime(datetime(2009, 7, 4, 5, 6, 7, 999999), tenths=True) == (
        "20090704T050607.9"
    )
    assert format_datetime(datetime(987, 1, 2, 3, 4, 5), tenths=True) == "09870102T030405.0"
    assert format_datetime(datetime(2009, 7, 4, tzinfo=UTC)) == "20090704T000000Z"
    east = timezone(timedelta(hours=5, minutes=30))
    assert format_datetime(datetime(2009, 7, 4, tzinfo=east)) == "20090704T000000+0530"
    west = timezone(-timedelta(hours=3, minutes=30))
    assert format_datetime(datetime(2009, 7, 4, tzinfo=west)) == "20090704T000000-0330"
    odd = timezone(timedelta(seconds=30))
    with pytest.raises(LocalProtocolError):
        format_datetime(datetime(2009, 7, 4, tzinfo=odd))


_zones = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)


@given(st.datetimes(timezones=_zones), st.booleans())
def test_datetime_round_trip(dt: datetime, tenths: bool) -> None:
    text = format_datetime(dt, tenths=tenths)
    assert len(text) in (15, 17, 16, 18, 20, 22)
    expected = dt.replace(microsecond=dt.microsecond // 100000 * 100000 if tenths else 0)
    back = parse_datetime(text)
    assert back == expected
    assert back is not None and (back.tzinfo is None) == (dt.tzinfo is None)
    if dt.tzinfo is not None:
        assert back.utcoffset() == dt.utcoffset()


# --------------------------------------------------------------------------------------- GUID


def test_guid_golden_from_reference() -> None:
    # {28d3aac9-c075-44be-8881-65f38d305909} in the Windows layout
    wire = h("c9 aa d3 28 75 c0 be 44 88 81 65 f3 8d 30 59 09")
    guid = uuid.UUID("28d3aac9-c075-44be-8881-65f38d305909")
    assert read_guid(Reader(wire)) == guid
    w = Writer()
    write_guid(w, guid)
    assert w.getvalue() == wire
    # not the same as the GUID's 128-bit value read as one little-endian integer
    assert read_value(Reader(wire), DataType.UINT128) != guid.int


def test_guid_errors() -> None:
    with pytest.raises(RemoteProtocolError):
        read_guid(Reader(b"\x00" * 15))
    with pytest.raises(LocalProtocolError):
        write_guid(Writer(), "28d3aac9-c075-44be-8881-65f38d305909")  # type: ignore[arg-type]
