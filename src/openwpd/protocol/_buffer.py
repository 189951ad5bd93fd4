"""Bounded little-endian reader and writer for PTP/MTP wire data.

``Reader`` never raises ``IndexError`` or ``struct.error``: reading past the end raises
:class:`~openwpd.protocol.errors.RemoteProtocolError`, because malformed bytes always come from
the peer. ``Writer`` checks ranges and raises ``LocalProtocolError`` for values that do not fit
their wire type, because those come from our caller.
"""

from __future__ import annotations

import struct

from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I8 = struct.Struct("<b")
_I16 = struct.Struct("<h")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")


class Reader:
    """Reads little-endian values from a bytes-like object, front to back."""

    __slots__ = ("_data", "_end", "_pos", "strict_strings")

    def __init__(
        self, data: bytes | bytearray | memoryview, start: int = 0, *, strict_strings: bool = False
    ) -> None:
        #: PTP strings read through this reader must be clean (see datatypes.read_string)
        self.strict_strings = strict_strings
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self._pos = start
        self._end = len(self._data)

    @property
    def position(self) -> int:
        """Bytes consumed so far."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Bytes left to read."""
        return self._end - self._pos

    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= self._end

    def _take(self, n: int, what: str) -> int:
        if n < 0 or self._pos + n > self._end:
            raise RemoteProtocolError(
                f"truncated data: {what} needs {n} bytes at offset {self._pos}, "
                f"{self._end - self._pos} left"
            )
        pos = self._pos
        self._pos += n
        return pos

    def read_bytes(self, n: int, what: str = "bytes") -> bytes:
        """Exactly ``n`` raw bytes."""
        pos = self._take(n, what)
        return bytes(self._data[pos : pos + n])

    def read_rest(self) -> bytes:
        """Every byte that is left."""
        pos = self._pos
        self._pos = self._end
        return bytes(self._data[pos:])

    def _unpack(self, st: struct.Struct, what: str) -> int:
        pos = self._take(st.size, what)
        value: int = st.unpack_from(self._data, pos)[0]
        return value

    def u8(self, what: str = "UINT8") -> int:
        return self._unpack(_U8, what)

    def u16(self, what: str = "UINT16") -> int:
        return self._unpack(_U16, what)

    def u32(self, what: str = "UINT32") -> int:
        return self._unpack(_U32, what)

    def u64(self, what: str = "UINT64") -> int:
        return self._unpack(_U64, what)

    def u128(self, what: str = "UINT128") -> int:
        low = self._unpack(_U64, what)
        high = self._unpack(_U64, what)
        return (high << 64) | low

    def i8(self, what: str = "INT8") -> int:
        return self._unpack(_I8, what)

    def i16(self, what: str = "INT16") -> int:
        return self._unpack(_I16, what)

    def i32(self, what: str = "INT32") -> int:
        return self._unpack(_I32, what)

    def i64(self, what: str = "INT64") -> int:
        return self._unpack(_I64, what)

    def i128(self, what: str = "INT128") -> int:
        value = self.u128(what)
        return value - (1 << 128) if value >> 127 else value


class Writer:
    """Accumulates little-endian values into a bytearray."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> bytes:
        """Everything written so far."""
        return bytes(self._buf)

    def write_bytes(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def _pack(self, st: struct.Struct, value: int, what: str) -> None:
        try:
            self._buf += st.pack(value)
        except (struct.error, TypeError) as exc:
            raise LocalProtocolError(f"{what} value {value!r} does not fit") from exc

    def u8(self, value: int, what: str = "UINT8") -> None:
        self._pack(_U8, value, what)

    def u16(self, value: int, what: str = "UINT16") -> None:
        self._pack(_U16, value, what)

    def u32(self, value: int, what: str = "UINT32") -> None:
        self._pack(_U32, value, what)

    def u64(self, value: int, what: str = "UINT64") -> None:
        self._pack(_U64, value, what)

    def u128(self, value: int, what: str = "UINT128") -> None:
        if not isinstance(value, int) or not 0 <= value < (1 << 128):
            raise LocalProtocolError(f"{what} value {value!r} does not fit")
        self._pack(_U64, value & 0xFFFFFFFFFFFFFFFF, what)
        self._pack(_U64, value >> 64, what)

    def i8(self, value: int, what: str = "INT8") -> None:
        self._pack(_I8, value, what)

    def i16(self, value: int, what: str = "INT16") -> None:
        self._pack(_I16, value, what)

    def i32(self, value: int, what: str = "INT32") -> None:
        self._pack(_I32, value, what)

    def i64(self, value: int, what: str = "INT64") -> None:
        self._pack(_I64, value, what)

    def i128(self, value: int, what: str = "INT128") -> None:
        if not isinstance(value, int) or not -(1 << 127) <= value < (1 << 127):
            raise LocalProtocolError(f"{what} value {value!r} does not fit")
        self.u128(value & ((1 << 128) - 1), what)
