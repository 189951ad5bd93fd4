"""PTP/IP (CIPA DC-005) packet framing.

Theory of operation
-------------------
A PTP/IP initiator opens two TCP connections to the responder (port 15740): the command/data
connection and the event connection. Both carry the same kind of packet: an 8-byte header
(u32 total length including the header, u32 packet type) followed by a type-specific payload,
all little-endian. There are fourteen packet types
(:class:`~openwpd.protocol.codes.PtpIpPacketType`), each modelled here by one frozen dataclass
with ``build() -> bytes``; :func:`parse_packet` turns the bytes of one whole packet back into
that dataclass.

TCP delivers a byte stream, not packets, so :class:`PacketFramer` cuts the stream into whole
packets: ``feed()`` whatever the socket returned, then take packets with ``next_packet()`` or
by iterating. It refuses lengths below the header size and above a configurable ceiling
before buffering anything, so a hostile peer cannot make us allocate gigabytes.

A data phase is Start Data (transaction id, u64 total length), zero or more Data packets and one
End Data packet carrying the last (possibly empty) chunk. Sending and checking that sequence is
the business of :mod:`openwpd.protocol.ptpip_codec`.

Friendly names in the Init packets are *not* PTP strings: they are plain UTF-16LE followed by a
NUL code unit, with no length prefix. They are encoded and decoded here.

Malformed input from the peer always raises
:class:`~openwpd.protocol.errors.RemoteProtocolError`; building a packet from invalid values
raises :class:`~openwpd.protocol.errors.LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import InitFailReason, PtpIpPacketType
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "DEFAULT_MAX_PACKET_SIZE",
    "GUID_SIZE",
    "HEADER_SIZE",
    "MAX_EVENT_PARAMS",
    "MAX_OPERATION_PARAMS",
    "PROTOCOL_VERSION",
    "UNKNOWN_DATA_LENGTH",
    "Cancel",
    "Data",
    "EndData",
    "Event",
    "InitCommandAck",
    "InitCommandRequest",
    "InitEventAck",
    "InitEventRequest",
    "InitFail",
    "OperationRequest",
    "OperationResponse",
    "Packet",
    "PacketFramer",
    "ProbeRequest",
    "ProbeResponse",
    "StartData",
    "parse_packet",
    "payload_packet_header",
]

#: Size of the packet header: u32 length (including the header) + u32 packet type.
HEADER_SIZE = 8
#: Size of the initiator/responder GUID in the Init packets.
GUID_SIZE = 16
#: Protocol version 1.0 (major in the high 16 bits), bytes ``00 00 01 00`` on the wire.
PROTOCOL_VERSION = 0x00010000
#: Start Data total length meaning "not known in advance".
UNKNOWN_DATA_LENGTH = 0xFFFFFFFFFFFFFFFF
#: Most parameters in an Operation Request or Operation Response.
MAX_OPERATION_PARAMS = 5
#: Most parameters in an Event packet.
MAX_EVENT_PARAMS = 3
#: Default largest packet :class:`PacketFramer` accepts: a 16 MiB Data payload plus its
#: header and transaction id. Real peers use 64 KiB - 1 MiB packets.
DEFAULT_MAX_PACKET_SIZE = 16 * 1024 * 1024 + HEADER_SIZE + 4

_NUL = b"\x00\x00"


def _packet(ptype: PtpIpPacketType, writer: Writer | None = None) -> bytes:
    """Prefix ``writer``'s bytes with the 8-byte header of a ``ptype`` packet."""
    body = writer.getvalue() if writer is not None else b""
    head = Writer()
    head.u32(HEADER_SIZE + len(body), "packet length")
    head.u32(ptype, "packet type")
    return head.getvalue() + body


def _write_guid(writer: Writer, guid: bytes) -> None:
    if not isinstance(guid, bytes | bytearray) or len(guid) != GUID_SIZE:
        raise LocalProtocolError(f"a PTP/IP GUID is {GUID_SIZE} bytes, got {guid!r}")
    writer.write_bytes(guid)


def _write_name(writer: Writer, name: str) -> None:
    if not isinstance(name, str) or "\x00" in name:
        raise LocalProtocolError(f"invalid PTP/IP friendly name {name!r}")
    try:
        encoded = name.encode("utf-16-le")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"friendly name {name!r} is not valid Unicode") from exc
    writer.write_bytes(encoded)
    writer.write_bytes(_NUL)


def _read_name_and_version(reader: Reader, *, require_nul: bool) -> tuple[str, int]:
    """Read ``name · NUL · u32 version`` filling the rest of the payload.

    The version is taken from the last four bytes. The name is the UTF-16LE code units up to
    the first NUL unit; units after that NUL are ignored (padding). Without a NUL the whole
    region is the name when ``require_nul`` is false, and an error otherwise.
    """
    region_size = reader.remaining - 4
    if region_size < 0:
        raise RemoteProtocolError("packet too short for a friendly name and protocol version")
    region = reader.read_bytes(region_size, "friendly name")
    version = reader.u32("protocol version")
    if region_size % 2:
        raise RemoteProtocolError("friendly name is not a whole number of UTF-16 code units")
    end = next((i for i in range(0, region_size, 2) if region[i : i + 2] == _NUL), None)
    if end is None:
        if require_nul:
            raise RemoteProtocolError("friendly name is not NUL-terminated")
        end = region_size
    # A name is for display only: a malformed surrogate is replaced, not a reason to fail.
    return region[:end].decode("utf-16-le", errors="replace"), version


def _write_params(writer: Writer, params: tuple[int, ...], limit: int, what: str) -> None:
    if len(params) > limit:
        raise LocalProtocolError(f"{what} carries at most {limit} parameters, got {len(params)}")
    for index, value in enumerate(params):
        writer.u32(value, f"parameter {index + 1}")


def _read_params(reader: Reader, limit: int, what: str) -> tuple[int, ...]:
    count, rest = divmod(reader.remaining, 4)
    if rest or count > limit:
        raise RemoteProtocolError(
            f"{what} has {reader.remaining} parameter bytes, not 4n with n <= {limit}"
        )
    return tuple(reader.u32(f"parameter {i + 1}") for i in range(count))


# --------------------------------------------------------------------------------------------
# The fourteen packet types


@dataclass(frozen=True, slots=True)
class InitCommandRequest:
    """Init Command Request (I→R, command connection): who the initiator is.

    ``friendly_name`` must not contain NUL (it is the terminator). On parse the name is
    accepted without a terminator (we are the responder: be lenient with initiators).
    """

    guid: bytes
    friendly_name: str
    protocol_version: int = PROTOCOL_VERSION

    def build(self) -> bytes:
        """Wire bytes. LocalProtocolError for a GUID not 16 bytes or a name with NUL."""
        writer = Writer()
        _write_guid(writer, self.guid)
        _write_name(writer, self.friendly_name)
        writer.u32(self.protocol_version, "protocol version")
        return _packet(PtpIpPacketType.INIT_COMMAND_REQUEST, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> InitCommandRequest:
        guid = reader.read_bytes(GUID_SIZE, "GUID")
        name, version = _read_name_and_version(reader, require_nul=False)
        return cls(guid, name, version)


@dataclass(frozen=True, slots=True)
class InitCommandAck:
    """Init Command Ack (R→I, command connection): the connection number and who we are.

    On parse the name's NUL terminator is mandatory, as gphoto requires it; a responder that
    omits it is reported as malformed.
    """

    connection_number: int
    guid: bytes
    friendly_name: str
    protocol_version: int = PROTOCOL_VERSION

    def build(self) -> bytes:
        """Wire bytes. LocalProtocolError for a GUID not 16 bytes or a name with NUL."""
        writer = Writer()
        writer.u32(self.connection_number, "connection number")
        _write_guid(writer, self.guid)
        _write_name(writer, self.friendly_name)
        writer.u32(self.protocol_version, "protocol version")
        return _packet(PtpIpPacketType.INIT_COMMAND_ACK, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> InitCommandAck:
        number = reader.u32("connection number")
        guid = reader.read_bytes(GUID_SIZE, "GUID")
        name, version = _read_name_and_version(reader, require_nul=True)
        return cls(number, guid, name, version)


@dataclass(frozen=True, slots=True)
class InitEventRequest:
    """Init Event Request (I→R, event connection): binds it to the command connection."""

    connection_number: int

    def build(self) -> bytes:
        """Wire bytes."""
        writer = Writer()
        writer.u32(self.connection_number, "connection number")
        return _packet(PtpIpPacketType.INIT_EVENT_REQUEST, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> InitEventRequest:
        return cls(reader.u32("connection number"))


@dataclass(frozen=True, slots=True)
class InitEventAck:
    """Init Event Ack (R→I, event connection): the handshake is done."""

    def build(self) -> bytes:
        """Wire bytes (the bare 8-byte header)."""
        return _packet(PtpIpPacketType.INIT_EVENT_ACK)

    @classmethod
    def _parse(cls, reader: Reader) -> InitEventAck:
        return cls()


@dataclass(frozen=True, slots=True)
class InitFail:
    """Init Fail (R→I, either connection): the responder refuses the initiator.

    ``reason`` is an :class:`~openwpd.protocol.codes.InitFailReason` value; unknown values
    from a peer are kept as plain ints.
    """

    reason: int = InitFailReason.UNSPECIFIED

    def build(self) -> bytes:
        """Wire bytes."""
        writer = Writer()
        writer.u32(self.reason, "init fail reason")
        return _packet(PtpIpPacketType.INIT_FAIL, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> InitFail:
        return cls(reader.u32("init fail reason"))


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """Operation Request (I→R, command connection): one PTP operation with 0..5 parameters.

    ``data_phase_info`` is a :class:`~openwpd.protocol.codes.DataPhaseInfo` value. gphoto
    sends 1 for "no data" as well as "data in" and ptpy may send anything, so a responder must
    not rely on it; any u32 is accepted on parse.
    """

    data_phase_info: int
    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes, with exactly the parameters given (LocalProtocolError for more than 5)."""
        writer = Writer()
        writer.u32(self.data_phase_info, "data phase info")
        writer.u16(self.code, "operation code")
        writer.u32(self.transaction_id, "transaction id")
        _write_params(writer, self.params, MAX_OPERATION_PARAMS, "an operation request")
        return _packet(PtpIpPacketType.OPERATION_REQUEST, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> OperationRequest:
        info = reader.u32("data phase info")
        code = reader.u16("operation code")
        tid = reader.u32("transaction id")
        params = _read_params(reader, MAX_OPERATION_PARAMS, "operation request")
        return cls(info, code, tid, params)

    def param(self, index: int) -> int:
        """Parameter ``index`` (0-based); parameters the peer did not send read as 0."""
        return self.params[index] if 0 <= index < len(self.params) else 0


@dataclass(frozen=True, slots=True)
class OperationResponse:
    """Operation Response (R→I, command connection): response code and 0..5 parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes (LocalProtocolError for more than 5 parameters)."""
        writer = Writer()
        writer.u16(self.code, "response code")
        writer.u32(self.transaction_id, "transaction id")
        _write_params(writer, self.params, MAX_OPERATION_PARAMS, "an operation response")
        return _packet(PtpIpPacketType.OPERATION_RESPONSE, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> OperationResponse:
        code = reader.u16("response code")
        tid = reader.u32("transaction id")
        params = _read_params(reader, MAX_OPERATION_PARAMS, "operation response")
        return cls(code, tid, params)

    def param(self, index: int) -> int:
        """Parameter ``index`` (0-based); parameters the peer did not send read as 0."""
        return self.params[index] if 0 <= index < len(self.params) else 0


@dataclass(frozen=True, slots=True)
class Event:
    """Event (R→I, event connection): event code, transaction id and 0..3 parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes (LocalProtocolError for more than 3 parameters)."""
        writer = Writer()
        writer.u16(self.code, "event code")
        writer.u32(self.transaction_id, "transaction id")
        _write_params(writer, self.params, MAX_EVENT_PARAMS, "an event")
        return _packet(PtpIpPacketType.EVENT, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> Event:
        code = reader.u16("event code")
        tid = reader.u32("transaction id")
        return cls(code, tid, _read_params(reader, MAX_EVENT_PARAMS, "event"))

    def param(self, index: int) -> int:
        """Parameter ``index`` (0-based); parameters the peer did not send read as 0."""
        return self.params[index] if 0 <= index < len(self.params) else 0


@dataclass(frozen=True, slots=True)
class StartData:
    """Start Data (data sender, command connection): a data phase of ``total_length`` bytes.

    ``total_length`` is a u64; :data:`UNKNOWN_DATA_LENGTH` means "not known in advance".
    Note that gphoto only reads and writes the low 32 bits.
    """

    transaction_id: int
    total_length: int

    def build(self) -> bytes:
        """Wire bytes."""
        writer = Writer()
        writer.u32(self.transaction_id, "transaction id")
        writer.u64(self.total_length, "total data length")
        return _packet(PtpIpPacketType.START_DATA, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> StartData:
        tid = reader.u32("transaction id")
        return cls(tid, reader.u64("total data length"))


def payload_packet_header(ptype: PtpIpPacketType, tid: int, payload_length: int) -> bytes:
    """The first 12 bytes of a Data or End Data packet carrying ``payload_length`` bytes.

    Senders of large data phases write this header and then the payload itself, so the payload
    is never copied into a packet buffer.
    """
    writer = Writer()
    writer.u32(HEADER_SIZE + 4 + payload_length, "packet length")
    writer.u32(ptype, "packet type")
    writer.u32(tid, "transaction id")
    return writer.getvalue()


def _build_payload_packet(ptype: PtpIpPacketType, tid: int, payload: bytes) -> bytes:
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"data payload must be bytes, got {type(payload).__name__}")
    return payload_packet_header(ptype, tid, len(payload)) + payload


@dataclass(frozen=True, slots=True)
class Data:
    """Data (data sender, command connection): a chunk of the current data phase."""

    transaction_id: int
    payload: bytes

    def build(self) -> bytes:
        """Wire bytes."""
        return _build_payload_packet(PtpIpPacketType.DATA, self.transaction_id, self.payload)

    @classmethod
    def _parse(cls, reader: Reader) -> Data:
        tid = reader.u32("transaction id")
        return cls(tid, reader.read_rest())


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel (either side, command and/or event connection): cancel transaction ``tid``."""

    transaction_id: int

    def build(self) -> bytes:
        """Wire bytes."""
        writer = Writer()
        writer.u32(self.transaction_id, "transaction id")
        return _packet(PtpIpPacketType.CANCEL, writer)

    @classmethod
    def _parse(cls, reader: Reader) -> Cancel:
        return cls(reader.u32("transaction id"))


@dataclass(frozen=True, slots=True)
class EndData:
    """End Data (data sender, command connection): the last (possibly empty) chunk."""

    transaction_id: int
    payload: bytes = b""

    def build(self) -> bytes:
        """Wire bytes."""
        return _build_payload_packet(PtpIpPacketType.END_DATA, self.transaction_id, self.payload)

    @classmethod
    def _parse(cls, reader: Reader) -> EndData:
        tid = reader.u32("transaction id")
        return cls(tid, reader.read_rest())


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """Probe Request (event connection): are you alive? Answer with a Probe Response."""

    def build(self) -> bytes:
        """Wire bytes (the bare 8-byte header)."""
        return _packet(PtpIpPacketType.PROBE_REQUEST)

    @classmethod
    def _parse(cls, reader: Reader) -> ProbeRequest:
        return cls()


@dataclass(frozen=True, slots=True)
class ProbeResponse:
    """Probe Response (event connection): the answer to a Probe Request."""

    def build(self) -> bytes:
        """Wire bytes (the bare 8-byte header)."""
        return _packet(PtpIpPacketType.PROBE_RESPONSE)

    @classmethod
    def _parse(cls, reader: Reader) -> ProbeResponse:
        return cls()


#: Any PTP/IP packet.
Packet = (
    InitCommandRequest
    | InitCommandAck
    | InitEventRequest
    | InitEventAck
    | InitFail
    | OperationRequest
    | OperationResponse
    | Event
    | StartData
    | Data
    | Cancel
    | EndData
    | ProbeRequest
    | ProbeResponse
)

_PARSERS: dict[int, Callable[[Reader], Packet]] = {
    PtpIpPacketType.INIT_COMMAND_REQUEST: InitCommandRequest._parse,
    PtpIpPacketType.INIT_COMMAND_ACK: InitCommandAck._parse,
    PtpIpPacketType.INIT_EVENT_REQUEST: InitEventRequest._parse,
    PtpIpPacketType.INIT_EVENT_ACK: InitEventAck._parse,
    PtpIpPacketType.INIT_FAIL: InitFail._parse,
    PtpIpPacketType.OPERATION_REQUEST: OperationRequest._parse,
    PtpIpPacketType.OPERATION_RESPONSE: OperationResponse._parse,
    PtpIpPacketType.EVENT: Event._parse,
    PtpIpPacketType.START_DATA: StartData._parse,
    PtpIpPacketType.DATA: Data._parse,
    PtpIpPacketType.CANCEL: Cancel._parse,
    PtpIpPacketType.END_DATA: EndData._parse,
    PtpIpPacketType.PROBE_REQUEST: ProbeRequest._parse,
    PtpIpPacketType.PROBE_RESPONSE: ProbeResponse._parse,
}


def _read_header(data: bytes | bytearray | memoryview, start: int = 0) -> tuple[int, int]:
    """(length, type) of the packet at ``start``, both validated except the upper bound."""
    reader = Reader(data, start)
    length = reader.u32("packet length")
    ptype = reader.u32("packet type")
    if length < HEADER_SIZE:
        raise RemoteProtocolError(f"PTP/IP packet length {length} is smaller than its header")
    if ptype not in _PARSERS:
        raise RemoteProtocolError(f"unknown PTP/IP packet type {ptype}")
    return length, ptype


def parse_packet(data: bytes | bytearray | memoryview) -> Packet:
    """Parse exactly one whole packet.

    Raises RemoteProtocolError if the length field disagrees with ``len(data)``, the type is
    unknown, or the payload is malformed for its type (too short, trailing bytes where the
    layout is fixed, a parameter count that is not 0..5 -- 0..3 for events --, an Init Command
    Ack name without NUL terminator).
    """
    length, ptype = _read_header(data)
    if length != len(data):
        raise RemoteProtocolError(
            f"PTP/IP packet length field says {length} bytes, {len(data)} bytes given"
        )
    reader = Reader(data, HEADER_SIZE)
    packet = _PARSERS[ptype](reader)
    if not reader.at_end():
        raise RemoteProtocolError(
            f"{reader.remaining} unexpected trailing bytes in a "
            f"{PtpIpPacketType(ptype).name} packet"
        )
    return packet


# --------------------------------------------------------------------------------------------
# Framing a TCP byte stream


class PacketFramer:
    """Cuts a TCP byte stream into whole PTP/IP packets.

    ``feed()`` any bytes received, then call :meth:`next_packet` until it returns None (or
    iterate the framer, which does the same). Any number of packets per ``feed`` and packets
    split at any byte are handled. A packet header announcing fewer than 8 bytes, more than
    ``max_packet_size`` bytes or an unknown type raises RemoteProtocolError as soon as the
    header has arrived, before its body is buffered. Any RemoteProtocolError leaves the framer
    broken: later calls raise it again, since the stream cannot be resynchronised.

    The buffer is a bytearray that only grows (to the largest packet seen, plus one read):
    bytes live in ``[start, end)``, a consumed prefix is dropped by moving the rest to the front
    only when a feed would not fit behind it, so framing stays linear in the bytes received.
    It is never shrunk, because giving memory back only to take it again costs a page fault
    per 4 KiB -- with 1-4 MiB data packets that was most of a receiver's kernel time.

    ``max_piece`` (optional): a Data or End Data packet whose payload is larger comes out as
    several packets of at most ``max_piece`` payload bytes each -- Data packets, the last one
    of the original type --, each as soon as its bytes are in. The data phase they make up is
    the same (PTP/IP data is just the concatenation of the payloads), but the receiver's
    allocations stay at most ``max_piece`` bytes whatever packet size (up to
    ``max_packet_size``) the peer chose.
    """

    def __init__(
        self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE, *, max_piece: int | None = None
    ) -> None:
        if not isinstance(max_packet_size, int) or max_packet_size < HEADER_SIZE:
            raise LocalProtocolError(f"invalid max packet size {max_packet_size!r}")
        if max_piece is not None and (not isinstance(max_piece, int) or max_piece < 1):
            raise LocalProtocolError(f"invalid max piece {max_piece!r}")
        self._max = max_packet_size
        self._max_piece = max_piece
        self._buf = bytearray()
        self._start = 0
        self._end = 0
        self._error: RemoteProtocolError | None = None
        # the data packet being cut into pieces: payload bytes still to come, tid, type
        self._split_left = 0
        self._split_tid = 0
        self._split_type = PtpIpPacketType.DATA

    @property
    def max_packet_size(self) -> int:
        """The largest packet accepted, header included. May be changed between packets (a
        responder accepts only small packets until a peer's handshake is done)."""
        return self._max

    @max_packet_size.setter
    def max_packet_size(self, size: int) -> None:
        if not isinstance(size, int) or size < HEADER_SIZE:
            raise LocalProtocolError(f"invalid max packet size {size!r}")
        self._max = size

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as packets."""
        return self._end - self._start

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes. Raises the stored error if the framer is broken."""
        n = len(data)
        with self.get_buffer(n) as space:
            space[:n] = data
        self.buffer_updated(n)

    def get_buffer(self, size: int) -> memoryview:
        """Room for ``size`` more bytes at the end of the buffer, to receive into directly
        (``socket.recv_into``, an asyncio BufferedProtocol) instead of :meth:`feed`; then call
        :meth:`buffer_updated` with the count received. The view must be let go of before the
        next call. Raises the stored error if the framer is broken."""
        if self._error is not None:
            raise self._error
        if self._end + size > len(self._buf):
            live = self._end - self._start
            if self._start:
                self._buf[:live] = self._buf[self._start : self._end]
                self._start, self._end = 0, live
            if live + size > len(self._buf):
                self._buf += bytes(max(live + size, 2 * len(self._buf)) - len(self._buf))
        return memoryview(self._buf)[self._end : self._end + size]

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were written at the start of the last :meth:`get_buffer` view."""
        self._end += nbytes

    def piece_missing(self) -> int:
        """Bytes still to come before the data piece in progress is complete (0 when no data
        packet is being cut into pieces). A receiver can ask for exactly that much, and wait
        until that much has arrived, instead of taking whatever the socket holds."""
        if not self._split_left:
            return 0
        return max(0, self._piece_size() - (self._end - self._start))

    def _piece_size(self) -> int:
        """The payload bytes of the next piece of the data packet being cut."""
        assert self._max_piece is not None
        return min(self._split_left, self._max_piece)

    def next_packet(self) -> Packet | None:
        """The next whole packet, or None if more bytes are needed.

        Raises RemoteProtocolError for a malformed packet (see the class docstring).
        """
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _next(self) -> Packet | None:
        available = self._end - self._start
        if self._split_left:
            return self._next_piece(available)
        if available < HEADER_SIZE:
            return None
        length, ptype = _read_header(self._buf, self._start)
        if length > self._max:
            raise RemoteProtocolError(
                f"PTP/IP packet of {length} bytes exceeds the {self._max}-byte limit"
            )
        if (
            self._max_piece is not None
            and ptype in (PtpIpPacketType.DATA, PtpIpPacketType.END_DATA)
            and length - HEADER_SIZE - 4 > self._max_piece
        ):
            if available < HEADER_SIZE + 4:
                return None
            self._split_tid = Reader(self._buf, self._start + HEADER_SIZE).u32("transaction id")
            self._split_type = PtpIpPacketType(ptype)
            self._split_left = length - HEADER_SIZE - 4
            self._start += HEADER_SIZE + 4
            return self._next_piece(available - HEADER_SIZE - 4)
        if available < length:
            return None
        end = self._start + length
        with memoryview(self._buf) as view:
            packet = parse_packet(view[self._start : end])
        self._consumed(end)
        return packet

    def _next_piece(self, available: int) -> Packet | None:
        want = self._piece_size()
        if available < want:
            return None
        end = self._start + want
        with memoryview(self._buf) as view:
            payload = bytes(view[self._start : end])
        self._consumed(end)
        self._split_left -= want
        if not self._split_left and self._split_type is PtpIpPacketType.END_DATA:
            return EndData(self._split_tid, payload)
        return Data(self._split_tid, payload)

    def _consumed(self, end: int) -> None:
        self._start = end
        if self._start == self._end:
            self._start = self._end = 0

    def __iter__(self) -> Iterator[Packet]:
        """Yield every whole packet buffered so far."""
        while (packet := self.next_packet()) is not None:
            yield packet
