"""PTP data types: integers up to 128 bits, arrays, strings, DateTime strings and GUIDs.

Theory of operation
-------------------
Every value inside an MTP dataset is typed by a :class:`~openwpd.protocol.codes.DataType` code
(PTP). :func:`read_value` / :func:`write_value` are the one place that
maps a code to its wire encoding; datasets call them and never hand-roll integer layouts.
Python values are deliberately plain: ``int`` for scalars (128-bit included), ``tuple[int, ...]``
for the ``A*`` arrays and ``str`` for ``STR``. The union is :data:`Value`.

Leniency policy (who was wrong decides the exception):

- Parsing is lenient where real peers disagree and strict where the bytes cannot be
  interpreted. A PTP string whose terminator comes early is cut at the first NUL (gphoto packs
  ``""`` as ``01 00 00``); a string whose last code unit is not NUL is accepted as it stands
  (Android would reject it, but refusing it would only hide a device's file); a lone surrogate
  on the wire is decoded as U+FFFD so that one badly named file cannot fail a listing of
  thousands. Truncation, hostile array counts, unknown or UNDEF data type codes and malformed
  DateTime strings raise :class:`~openwpd.protocol.errors.RemoteProtocolError`.
- Building is strict: a string longer than 254 UTF-16 code units, one containing NUL or a lone
  surrogate, a value of the wrong Python type or out of range raise
  :class:`~openwpd.protocol.errors.LocalProtocolError`. Nothing is silently truncated; callers
  that want truncation call :func:`truncate_for_wire` first.

GUIDs (Windows GUID layout) travel as 16 bytes in the Windows in-memory layout
(``uuid.UUID.bytes_le``);
:func:`read_guid` / :func:`write_guid` handle them, while UINT128 *values* stay plain ints.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeAlias

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "MAX_STRING_UNITS",
    "Value",
    "format_datetime",
    "min_wire_size",
    "parse_datetime",
    "read_guid",
    "read_string",
    "read_value",
    "truncate_for_wire",
    "write_guid",
    "write_string",
    "write_value",
]

#: A decoded PTP value: ``int`` for scalars, ``tuple[int, ...]`` for arrays, ``str`` for STR.
Value: TypeAlias = int | str | tuple[int, ...]

#: Most visible UTF-16 code units a PTP string can carry (255 including the terminating NUL).
MAX_STRING_UNITS = 254

_ARRAY_BIT = 0x4000

# struct format character and size of the fixed-size scalars up to 64 bits.
_SMALL_INTS: dict[int, tuple[str, int]] = {
    DataType.INT8: ("b", 1),
    DataType.UINT8: ("B", 1),
    DataType.INT16: ("h", 2),
    DataType.UINT16: ("H", 2),
    DataType.INT32: ("i", 4),
    DataType.UINT32: ("I", 4),
    DataType.INT64: ("q", 8),
    DataType.UINT64: ("Q", 8),
}
# 128-bit scalars: signedness.
_BIG_INTS: dict[int, bool] = {DataType.INT128: True, DataType.UINT128: False}

_SCALAR_READERS: dict[int, Callable[[Reader], int]] = {
    DataType.INT8: Reader.i8,
    DataType.UINT8: Reader.u8,
    DataType.INT16: Reader.i16,
    DataType.UINT16: Reader.u16,
    DataType.INT32: Reader.i32,
    DataType.UINT32: Reader.u32,
    DataType.INT64: Reader.i64,
    DataType.UINT64: Reader.u64,
    DataType.INT128: Reader.i128,
    DataType.UINT128: Reader.u128,
}
_SCALAR_WRITERS: dict[int, Callable[[Writer, int], None]] = {
    DataType.INT8: Writer.i8,
    DataType.UINT8: Writer.u8,
    DataType.INT16: Writer.i16,
    DataType.UINT16: Writer.u16,
    DataType.INT32: Writer.i32,
    DataType.UINT32: Writer.u32,
    DataType.INT64: Writer.i64,
    DataType.UINT64: Writer.u64,
    DataType.INT128: Writer.i128,
    DataType.UINT128: Writer.u128,
}


def _type_name(datatype: int) -> str:
    try:
        return DataType(datatype).name
    except ValueError:
        return f"0x{datatype:04X}"


# --------------------------------------------------------------------------------------------
# Strings


def read_string(reader: Reader) -> str:
    """Read a PTP string: u8 count of UTF-16 code units including the NUL, then the units.

    Count 0 is ``""``; the text ends at the first NUL unit (so gphoto's ``01 00 00`` is ``""``
    too); a string whose last unit is not NUL is accepted as it stands; lone surrogates are
    decoded as U+FFFD. Raises :class:`RemoteProtocolError` if the units are truncated.

    A reader created with ``strict_strings=True`` (what a device uses for names it will act on)
    instead rejects, with RemoteProtocolError, a lone surrogate and text after an early NUL:
    silently renaming what the peer asked for would be worse than refusing it.
    """
    count = reader.u8("string length")
    if count == 0:
        return ""
    raw = reader.read_bytes(2 * count, "string characters")
    if reader.strict_strings:
        try:
            text = raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise RemoteProtocolError("string contains a lone surrogate") from None
        body = text.rstrip("\x00")
        if "\x00" in body:
            raise RemoteProtocolError("string contains an embedded NUL")
        return body
    text = raw.decode("utf-16-le", errors="replace")
    nul = text.find("\x00")
    return text if nul < 0 else text[:nul]


def _encode_units(s: str) -> bytes:
    if not isinstance(s, str):
        raise LocalProtocolError(f"STR value must be a str, not {type(s).__name__}")
    if "\x00" in s:
        raise LocalProtocolError(f"a PTP string cannot contain NUL: {s!r}")
    try:
        return s.encode("utf-16-le")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"string contains a lone surrogate: {s!r}") from exc


def write_string(writer: Writer, s: str) -> None:
    """Write ``s`` as a PTP string; ``""`` is the single byte ``00``.

    Raises :class:`LocalProtocolError` if ``s`` is not a str, contains NUL or a lone surrogate,
    or needs more than :data:`MAX_STRING_UNITS` UTF-16 code units (use
    :func:`truncate_for_wire` to shorten it deliberately).
    """
    units = _encode_units(s)
    if not units:
        writer.u8(0)
        return
    n = len(units) // 2
    if n > MAX_STRING_UNITS:
        raise LocalProtocolError(
            f"string of {n} UTF-16 code units exceeds the PTP maximum of {MAX_STRING_UNITS}"
        )
    writer.u8(n + 1)
    writer.write_bytes(units)
    writer.u16(0)


def truncate_for_wire(s: str, max_units: int = MAX_STRING_UNITS) -> str:
    """The longest prefix of ``s`` that fits in ``max_units`` UTF-16 code units.

    Cuts only between code points, so a surrogate pair is never split. ``max_units`` above
    :data:`MAX_STRING_UNITS` is clamped to it.
    """
    max_units = min(max_units, MAX_STRING_UNITS)
    units = 0
    for i, ch in enumerate(s):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > max_units:
            return s[:i]
    return s


# --------------------------------------------------------------------------------------------
# Typed values


def min_wire_size(datatype: int) -> int:
    """Fewest bytes a value of ``datatype`` can occupy (used to reject hostile counts early).

    Raises :class:`RemoteProtocolError` for UNDEF and unknown codes, like :func:`read_value`.
    """
    small = _SMALL_INTS.get(datatype)
    if small is not None:
        return small[1]
    if datatype in _BIG_INTS:
        return 16
    if datatype == DataType.STR:
        return 1
    if _ARRAY_BIT | DataType.INT8 <= datatype <= _ARRAY_BIT | DataType.UINT128:
        return 4
    raise RemoteProtocolError(f"unsupported data type {_type_name(datatype)}")


def read_value(reader: Reader, datatype: int) -> Value:
    """Read one value of wire type ``datatype``.

    Returns an int, a tuple of ints (arrays: u32 count then packed elements) or a str. Raises
    :class:`RemoteProtocolError` on truncation, on an array count larger than the bytes left
    (checked before anything is allocated) and on UNDEF or unknown type codes.
    """
    scalar = _SCALAR_READERS.get(datatype)
    if scalar is not None:
        return scalar(reader)
    if datatype == DataType.STR:
        return read_string(reader)
    element = datatype & ~_ARRAY_BIT
    if datatype & _ARRAY_BIT and (element in _SMALL_INTS or element in _BIG_INTS):
        return _read_array(reader, element)
    raise RemoteProtocolError(f"unsupported data type {_type_name(datatype)}")


def _read_array(reader: Reader, element: int) -> tuple[int, ...]:
    count = reader.u32("array count")
    small = _SMALL_INTS.get(element)
    size = small[1] if small is not None else 16
    if count * size > reader.remaining:
        raise RemoteProtocolError(
            f"array of {count} {_type_name(element)} needs {count * size} bytes, "
            f"{reader.remaining} left"
        )
    raw = reader.read_bytes(count * size, "array elements")
    if small is not None:
        values: tuple[int, ...] = struct.unpack(f"<{count}{small[0]}", raw)
        return values
    signed = _BIG_INTS[element]
    return tuple(
        int.from_bytes(raw[i : i + 16], "little", signed=signed) for i in range(0, len(raw), 16)
    )


def write_value(writer: Writer, datatype: int, value: Value) -> None:
    """Write ``value`` as wire type ``datatype``.

    Raises :class:`LocalProtocolError` when the Python type does not match ``datatype`` (int
    for scalars, tuple/list of ints for arrays, str for STR), a number is out of range, a
    string is invalid (see :func:`write_string`) or ``datatype`` is UNDEF or unknown.
    """
    scalar = _SCALAR_WRITERS.get(datatype)
    if scalar is not None:
        if not isinstance(value, int):
            raise LocalProtocolError(
                f"{_type_name(datatype)} value must be an int, not {type(value).__name__}"
            )
        scalar(writer, value)
        return
    if datatype == DataType.STR:
        if not isinstance(value, str):
            raise LocalProtocolError(f"STR value must be a str, not {type(value).__name__}")
        write_string(writer, value)
        return
    element = datatype & ~_ARRAY_BIT
    if datatype & _ARRAY_BIT and (element in _SMALL_INTS or element in _BIG_INTS):
        _write_array(writer, element, value)
        return
    raise LocalProtocolError(f"cannot encode data type {_type_name(datatype)}")


def _write_array(writer: Writer, element: int, value: object) -> None:
    what = f"A{_type_name(element)}"
    if not isinstance(value, tuple | list):
        raise LocalProtocolError(f"{what} must be a tuple of ints, not {type(value).__name__}")
    small = _SMALL_INTS.get(element)
    if small is not None:
        try:
            packed = struct.pack(f"<I{len(value)}{small[0]}", len(value), *value)
        except struct.error as exc:
            raise LocalProtocolError(f"{what} element out of range or not an int") from exc
        writer.write_bytes(packed)
        return
    writer.u32(len(value))
    put = _SCALAR_WRITERS[element]
    for item in value:
        put(writer, item)


# --------------------------------------------------------------------------------------------
# DateTime strings

_DATETIME_RE = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})"
    r"(?:\.([0-9]+))?(Z|[+-][0-9]{4})?"
)


def parse_datetime(s: str) -> datetime | None:
    """Parse an MTP DateTime string ``YYYYMMDDThhmmss[.s][Z|±hhmm]``.

    ``""`` means unknown and returns None. Without a zone suffix the result is naive (device
    local time); with ``Z`` or ``±hhmm`` it is aware. The fraction is nominally one digit of
    tenths; more digits are accepted and cut to microseconds. Raises
    :class:`RemoteProtocolError` for anything else, including impossible dates.
    """
    if s == "":
        return None
    m = _DATETIME_RE.fullmatch(s)
    if m is None:
        raise RemoteProtocolError(f"malformed DateTime string {s!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7), m.group(8)
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    tz: timezone | None = None
    try:
        if zone == "Z":
            tz = UTC
        elif zone:
            hh, mm = int(zone[1:3]), int(zone[3:5])
            if mm >= 60:
                raise ValueError("zone minutes out of range")
            offset = timedelta(hours=hh, minutes=mm)
            tz = timezone(-offset if zone[0] == "-" else offset)
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise RemoteProtocolError(f"invalid DateTime string {s!r}: {exc}") from exc


def format_datetime(dt: datetime, *, tenths: bool = False) -> str:
    """Format ``dt`` as an MTP DateTime string.

    A naive ``dt`` gives the 15-character local form ``YYYYMMDDThhmmss`` that Android and uMTP
    emit; an aware one gets ``Z`` (zero offset) or ``±hhmm``. ``tenths=True`` appends ``.s``
    (sub-tenth precision is dropped, never rounded up). Raises :class:`LocalProtocolError` for
    a zone offset that is not a whole number of minutes.
    """
    text = f"{dt.year:04d}{dt.month:02d}{dt.day:02d}T{dt.hour:02d}{dt.minute:02d}{dt.second:02d}"
    if tenths:
        text += f".{dt.microsecond // 100_000}"
    offset = dt.utcoffset()
    if offset is None:
        return text
    if offset % timedelta(minutes=1):
        raise LocalProtocolError(f"zone offset {offset} is not a whole number of minutes")
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}{minutes % 60:02d}"


# --------------------------------------------------------------------------------------------
# GUIDs


def read_guid(reader: Reader) -> uuid.UUID:
    """Read a GUID stored in the Windows in-memory layout (Data1..3 little-endian)."""
    return uuid.UUID(bytes_le=reader.read_bytes(16, "GUID"))


def write_guid(writer: Writer, guid: uuid.UUID) -> None:
    """Write ``guid`` in the Windows in-memory layout. Raises :class:`LocalProtocolError` if
    ``guid`` is not a :class:`uuid.UUID`."""
    if not isinstance(guid, uuid.UUID):
        raise LocalProtocolError(f"GUID must be a uuid.UUID, not {type(guid).__name__}")
    writer.write_bytes(guid.bytes_le)
