"""Bare UINT32/UINT16 arrays used as whole data phases (PTP/MTP).

GetObjectHandles, GetStorageIDs, GetServiceIDs, Get/SetObjectReferences carry an AUINT32;
GetObjectPropsSupported and similar code lists an AUINT16. Parsing ignores bytes after the
array (as :meth:`Dataset.from_bytes` does) and rejects a count larger than the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType
from openwpd.protocol.datatypes import read_value, write_value

__all__ = [
    "build_uint16_array",
    "build_uint32_array",
    "parse_uint16_array",
    "parse_uint32_array",
]


def _parse(data: bytes | bytearray | memoryview, datatype: DataType) -> tuple[int, ...]:
    return cast("tuple[int, ...]", read_value(Reader(data), datatype))


def _build(values: Iterable[int], datatype: DataType) -> bytes:
    writer = Writer()
    write_value(writer, datatype, tuple(values))
    return writer.getvalue()


def parse_uint32_array(data: bytes | bytearray | memoryview) -> tuple[int, ...]:
    """Decode an AUINT32 data phase (u32 count + elements). Raises RemoteProtocolError."""
    return _parse(data, DataType.AUINT32)


def build_uint32_array(values: Iterable[int]) -> bytes:
    """Encode ``values`` as an AUINT32. Raises LocalProtocolError for out-of-range values."""
    return _build(values, DataType.AUINT32)


def parse_uint16_array(data: bytes | bytearray | memoryview) -> tuple[int, ...]:
    """Decode an AUINT16 data phase (u32 count + elements). Raises RemoteProtocolError."""
    return _parse(data, DataType.AUINT16)


def build_uint16_array(values: Iterable[int]) -> bytes:
    """Encode ``values`` as an AUINT16. Raises LocalProtocolError for out-of-range values."""
    return _build(values, DataType.AUINT16)
