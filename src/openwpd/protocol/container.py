"""USB generic container framing (Still Image Capture class bulk pipes).

Theory of operation
-------------------
Every PTP transaction over USB is a sequence of *containers*: a 12-byte header (length, type,
code, transaction id, all little-endian) followed by a payload. Command, response and event
containers are tiny (up to five or three u32 parameters) and each travels as one USB transfer.
A data container carries the dataset or file of the transaction and may be gigabytes long.

USB adds its own framing on top: a transfer is a run of max-packet-size (MPS) packets that ends
with a *short* packet (fewer than MPS bytes), possibly a zero-length packet (ZLP) when the data
happened to end exactly on a packet boundary. A receiver therefore sees a stream of completed
transfers, and a transfer whose length is zero or not a multiple of MPS tells it "the sender
stopped here".

This module is sans-I/O and role-agnostic: the same code frames bulk-IN on a host and bulk-OUT
on a device.

- Builders (:func:`build_command`, :func:`build_response`, :func:`build_event`,
  :func:`build_data_header`) turn values into wire bytes and raise
  :class:`~openwpd.protocol.errors.LocalProtocolError` for values that cannot be sent.
- :func:`parse_container` turns one whole non-data container (or the start of a data container)
  into a :class:`Command`, :class:`Response`, :class:`Event` or :class:`DataHeader`.
- :class:`BulkInFramer` is fed each completed transfer and hands back logical pieces:
  whole command/response/event containers and, for data containers, a
  :class:`ContainerStarted` / :class:`DataPayload`... / :class:`ContainerFinished` sequence in
  which every payload piece is a slice of one transfer -- a data phase is never accumulated.
- :func:`needs_zlp` says when a data phase we send must end with a zero-length packet.

Malformed input from the peer always raises
:class:`~openwpd.protocol.errors.RemoteProtocolError`; nothing here raises ``IndexError``,
``struct.error`` or ``ValueError`` on bad bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import ContainerType
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "HEADER_SIZE",
    "MAX_COMMAND_PARAMS",
    "MAX_EVENT_PARAMS",
    "MAX_NON_DATA_LENGTH",
    "MAX_RESPONSE_PARAMS",
    "UNKNOWN_LENGTH",
    "BulkInFramer",
    "Command",
    "ContainerFinished",
    "ContainerHeader",
    "ContainerStarted",
    "DataHeader",
    "DataPayload",
    "Event",
    "FramedPiece",
    "ParsedContainer",
    "Response",
    "build_command",
    "build_data_header",
    "build_event",
    "build_response",
    "needs_zlp",
    "parse_container",
]

#: Size of the generic container header: u32 length, u16 type, u16 code, u32 transaction id.
HEADER_SIZE = 12
#: Container length of a data phase whose container would not fit in 32 bits
#: (12 + payload > 0xFFFFFFFF): the receiver reads until a short packet or ZLP.
UNKNOWN_LENGTH = 0xFFFFFFFF
#: Most parameters a command container may carry.
MAX_COMMAND_PARAMS = 5
#: Most parameters a response container may carry.
MAX_RESPONSE_PARAMS = 5
#: Most parameters an event container may carry.
MAX_EVENT_PARAMS = 3
#: Largest command/response/event container we buffer. Real ones are at most 32 bytes; commands
#: may carry some trailing bytes we tolerate, but a peer must not make us buffer megabytes.
MAX_NON_DATA_LENGTH = 1024

_MAX_U32 = 0xFFFFFFFF


# --------------------------------------------------------------------------------------------
# Header and whole containers


@dataclass(frozen=True, slots=True)
class ContainerHeader:
    """The 12-byte generic container header, values as on the wire.

    ``type`` is a plain int so that a header with an unknown container type can still be
    represented (and reported); ``length`` may be :data:`UNKNOWN_LENGTH` for a data container.
    """

    length: int
    type: int
    code: int
    transaction_id: int

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> ContainerHeader:
        """Read the header from the first 12 bytes of ``data`` (more bytes are ignored).

        Raises RemoteProtocolError if fewer than 12 bytes are given or the length field is
        smaller than the header itself. The container type is not checked here.
        """
        reader = Reader(data)
        length = reader.u32("container length")
        ctype = reader.u16("container type")
        code = reader.u16("container code")
        tid = reader.u32("transaction id")
        if length < HEADER_SIZE:
            raise RemoteProtocolError(f"container length {length} is smaller than its header")
        return cls(length, ctype, code, tid)

    def build(self) -> bytes:
        """The 12 header bytes. Raises LocalProtocolError for values that do not fit."""
        if self.length < HEADER_SIZE:
            raise LocalProtocolError(f"container length {self.length} is smaller than its header")
        writer = Writer()
        writer.u32(self.length, "container length")
        writer.u16(self.type, "container type")
        writer.u16(self.code, "container code")
        writer.u32(self.transaction_id, "transaction id")
        return writer.getvalue()

    @property
    def payload_length(self) -> int | None:
        """Bytes after the header, or None when the length is :data:`UNKNOWN_LENGTH`."""
        if self.length == UNKNOWN_LENGTH:
            return None
        return self.length - HEADER_SIZE


def _build_params_container(
    ctype: ContainerType, code: int, tid: int, params: Iterable[int], limit: int
) -> bytes:
    values = tuple(params)
    if len(values) > limit:
        raise LocalProtocolError(
            f"a {ctype.name.lower()} container carries at most {limit} parameters, "
            f"got {len(values)}"
        )
    writer = Writer()
    writer.write_bytes(ContainerHeader(HEADER_SIZE + 4 * len(values), ctype, code, tid).build())
    for index, value in enumerate(values):
        writer.u32(value, f"parameter {index + 1}")
    return writer.getvalue()


def build_command(code: int, transaction_id: int, params: Iterable[int] = ()) -> bytes:
    """A whole command container with exactly the given 0..5 parameters.

    Only the parameters given are sent (as gphoto and libmtp do); raises LocalProtocolError for
    more than five parameters or values that do not fit their fields.
    """
    return _build_params_container(
        ContainerType.COMMAND, code, transaction_id, params, MAX_COMMAND_PARAMS
    )


def build_response(code: int, transaction_id: int, params: Iterable[int] = ()) -> bytes:
    """A whole response container with the given 0..5 parameters (LocalProtocolError if more)."""
    return _build_params_container(
        ContainerType.RESPONSE, code, transaction_id, params, MAX_RESPONSE_PARAMS
    )


def build_event(code: int, transaction_id: int, params: Iterable[int] = ()) -> bytes:
    """A whole event container with the given 0..3 parameters (LocalProtocolError if more)."""
    return _build_params_container(
        ContainerType.EVENT, code, transaction_id, params, MAX_EVENT_PARAMS
    )


def _data_container_length(payload_length: int | None) -> int:
    if payload_length is None:
        return UNKNOWN_LENGTH
    if not isinstance(payload_length, int) or payload_length < 0:
        raise LocalProtocolError(f"invalid data payload length {payload_length!r}")
    # 12 + payload == 0xFFFFFFFF also yields UNKNOWN_LENGTH; that is harmless because the
    # receiver then reads to the short packet, which the sender emits anyway.
    return min(HEADER_SIZE + payload_length, UNKNOWN_LENGTH)


def build_data_header(code: int, transaction_id: int, payload_length: int | None) -> bytes:
    """The 12-byte header of a data container whose payload has ``payload_length`` bytes.

    ``code`` is the operation code of the transaction. When the container would not fit in
    32 bits (12 + payload > 0xFFFFFFFF), or ``payload_length`` is None (size not known in
    advance), the length field is :data:`UNKNOWN_LENGTH` and the receiver reads to the short
    packet. Raises LocalProtocolError for a negative length or out-of-range fields.
    """
    length = _data_container_length(payload_length)
    return ContainerHeader(length, ContainerType.DATA, code, transaction_id).build()


class _ParamsContainer:
    """Shared behaviour of the parameter-carrying containers."""

    __slots__ = ()

    params: tuple[int, ...]

    def param(self, index: int) -> int:
        """Parameter ``index`` (0-based); parameters the peer did not send read as 0."""
        return self.params[index] if 0 <= index < len(self.params) else 0


@dataclass(frozen=True, slots=True)
class Command(_ParamsContainer):
    """A command container (operation request): op code, transaction id, 0..5 parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes; see :func:`build_command`."""
        return build_command(self.code, self.transaction_id, self.params)


@dataclass(frozen=True, slots=True)
class Response(_ParamsContainer):
    """A response container: response code, transaction id, 0..5 parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes; see :func:`build_response`."""
        return build_response(self.code, self.transaction_id, self.params)


@dataclass(frozen=True, slots=True)
class Event(_ParamsContainer):
    """An event container: event code, transaction id, 0..3 parameters."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()

    def build(self) -> bytes:
        """Wire bytes; see :func:`build_event`."""
        return build_event(self.code, self.transaction_id, self.params)


@dataclass(frozen=True, slots=True)
class DataHeader:
    """The start of a data container: op code, transaction id and payload length.

    ``payload_length`` is None when the container length is :data:`UNKNOWN_LENGTH`.
    """

    code: int
    transaction_id: int
    payload_length: int | None

    def build(self) -> bytes:
        """The 12 header bytes; see :func:`build_data_header`."""
        return build_data_header(self.code, self.transaction_id, self.payload_length)


#: What :func:`parse_container` returns.
ParsedContainer = Command | Response | Event | DataHeader


def _read_params(reader: Reader, count: int) -> tuple[int, ...]:
    return tuple(reader.u32(f"parameter {i + 1}") for i in range(count))


def parse_container(data: bytes | bytearray | memoryview) -> ParsedContainer:
    """Parse one container.

    For command, response and event containers ``data`` must be exactly one whole container
    (its length field equal to ``len(data)``). For a data container only the header is parsed:
    ``data`` may hold the header alone or the header plus (part of) the payload, but not more
    than the container length; the payload itself is left to the caller (or use
    :class:`BulkInFramer`).

    Parameter counts are derived from the length field. Commands are parsed leniently, as a
    responder must: a length that is not ``12 + 4n``, or that carries more than five
    parameters, is accepted -- the first ``min(5, (length - 12) // 4)`` parameters are used and
    the remaining trailing bytes are ignored. Responses and events are parsed strictly: their
    length must be ``12 + 4n`` with ``n <= 5`` (responses) or ``n <= 3`` (events).

    Raises RemoteProtocolError for anything malformed: fewer than 12 bytes, a length field
    below 12 or not matching the bytes given, an undefined container type, or a bad parameter
    count.
    """
    header = ContainerHeader.parse(data)
    size = len(data)
    if header.type == ContainerType.DATA:
        if header.length != UNKNOWN_LENGTH and size > header.length:
            raise RemoteProtocolError(
                f"{size} bytes given for a data container of length {header.length}"
            )
        return DataHeader(header.code, header.transaction_id, header.payload_length)
    if header.length != size:
        raise RemoteProtocolError(
            f"container length field says {header.length} bytes, {size} bytes given"
        )
    return _parse_non_data(header, Reader(data, HEADER_SIZE))


def _parse_non_data(header: ContainerHeader, reader: Reader) -> ParsedContainer:
    extra = header.length - HEADER_SIZE
    if header.type == ContainerType.COMMAND:
        # Tolerate padding and surplus parameters: use what a command can carry, drop the rest.
        params = _read_params(reader, min(MAX_COMMAND_PARAMS, extra // 4))
        return Command(header.code, header.transaction_id, params)
    if header.type == ContainerType.RESPONSE:
        limit = MAX_RESPONSE_PARAMS
    elif header.type == ContainerType.EVENT:
        limit = MAX_EVENT_PARAMS
    else:
        raise RemoteProtocolError(f"undefined container type {header.type}")
    count, rest = divmod(extra, 4)
    if rest or count > limit:
        name = ContainerType(header.type).name.lower()
        raise RemoteProtocolError(
            f"{name} container of length {header.length} is not 12 + 4n with n <= {limit}"
        )
    params = _read_params(reader, count)
    if header.type == ContainerType.RESPONSE:
        return Response(header.code, header.transaction_id, params)
    return Event(header.code, header.transaction_id, params)


# --------------------------------------------------------------------------------------------
# Receiving: framing containers from completed transfers


@dataclass(frozen=True, slots=True)
class ContainerStarted:
    """A data container began; its payload follows as :class:`DataPayload` pieces."""

    header: ContainerHeader


@dataclass(frozen=True, slots=True)
class DataPayload:
    """A piece of the current data container's payload (never empty, never more than the
    bytes of one transfer)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ContainerFinished:
    """The current data container ended after ``total_payload`` payload bytes."""

    header: ContainerHeader
    total_payload: int


#: What :meth:`BulkInFramer.feed` returns, in wire order.
FramedPiece = ContainerStarted | DataPayload | ContainerFinished | Command | Response | Event


def _check_mps(max_packet_size: int) -> None:
    if not isinstance(max_packet_size, int) or max_packet_size <= 0:
        raise LocalProtocolError(f"invalid max packet size {max_packet_size!r}")


class BulkInFramer:
    """Frames generic containers out of a sequence of completed bulk transfers.

    Feed it the bytes of every completed transfer, in order, including zero-length ones
    (:meth:`feed`). It is role-agnostic: a host feeds bulk-IN transfers (data, responses), a
    device feeds bulk-OUT transfers (commands, data); the interrupt pipe's events frame too.

    Rules, from the USB Still Image class as peers actually implement it:

    - A transfer that is empty, whose length is not a multiple of ``max_packet_size``, or that
      is shorter than the ``read_size`` passed to :meth:`feed` ended with a short packet or
      ZLP: the sender stopped there.
    - Command/response/event containers are returned whole. One that has not been completed
      when its transfer ends short is truncated (RemoteProtocolError).
    - A data container yields :class:`ContainerStarted`, then one :class:`DataPayload` per
      transfer that carries payload bytes (a slice of that transfer, so memory use is bounded
      by one transfer), then :class:`ContainerFinished`.
    - With a known length the data phase ends by byte count. A transfer ending short before
      that is a truncated phase (RemoteProtocolError), except the transfer that ends right
      after the 12-byte header: some devices send the header on its own.
    - With length :data:`UNKNOWN_LENGTH` the data phase ends at the end of the first short or
      zero-length transfer (again except a header-only transfer).
    - A ZLP between containers -- the one that follows a data phase ending on a packet
      boundary, or a stray one before a response -- is swallowed.
    - Bytes left in a transfer after a container ended are framed as the next container (a
      device that omits its ZLP makes the host read the response in the same transfer).

    Any RemoteProtocolError leaves the framer broken: later calls raise it again until
    :meth:`reset` (which a transport calls after a USB cancel or device reset).
    """

    def __init__(self, max_packet_size: int) -> None:
        _check_mps(max_packet_size)
        self._mps = max_packet_size
        self._pending = bytearray()  # header bytes, or a whole non-data container, so far
        self._data: ContainerHeader | None = None  # set while inside a data container
        self._remaining: int | None = None  # payload bytes still due; None = read to short
        self._received = 0
        self._hint: int | None = None
        self._error: RemoteProtocolError | None = None

    @property
    def max_packet_size(self) -> int:
        """The endpoint's wMaxPacketSize this framer was built for."""
        return self._mps

    @property
    def in_data_phase(self) -> bool:
        """True between :class:`ContainerStarted` and :class:`ContainerFinished`."""
        return self._data is not None

    @property
    def idle(self) -> bool:
        """True when no container is partly received."""
        return self._data is None and not self._pending

    def reset(self) -> None:
        """Forget any partly received container and any error (after a cancel or reset)."""
        # a fresh buffer: the stored error's traceback may still hold a view of the old one,
        # which would make clear() raise BufferError
        self._error = None
        self._pending = bytearray()
        self._data = None
        self._remaining = None
        self._received = 0
        self._hint = None
        self._error = None

    def expect_data_length(self, payload_length: int) -> None:
        """Tell the framer the real payload size of the next data container.

        gphoto and libmtp truncate the container length to 32 bits when they upload 4 GiB or
        more. When the transaction layer knows the real size (SendObjectPropList p4/p5 or
        ObjectSize), it calls this before the data phase; the next data container then uses
        ``payload_length`` if its length field is :data:`UNKNOWN_LENGTH` or equals
        ``(12 + payload_length) mod 2**32``. A length field that agrees with neither is
        trusted as is. The hint applies to one data container only.
        """
        if not isinstance(payload_length, int) or payload_length < 0:
            raise LocalProtocolError(f"invalid data payload length {payload_length!r}")
        self._hint = payload_length

    def feed(
        self, transfer: bytes | bytearray | memoryview, *, read_size: int | None = None
    ) -> list[FramedPiece]:
        """Frame the bytes of one completed transfer; return the pieces it completed.

        ``read_size`` is the buffer size the read was submitted with, when the transport knows
        it (libusb and FunctionFS do). A transfer shorter than that ended with a short packet
        or a ZLP even if its length is a multiple of the max packet size -- the only way to see
        a ZLP that ended a read in the middle of its buffer. Without ``read_size`` only empty
        transfers and lengths that are not a multiple of the max packet size count as short.

        Raises RemoteProtocolError when the stream is malformed (and stays broken, see the
        class docstring).
        """
        if self._error is not None:
            raise self._error
        data = bytes(transfer) if not isinstance(transfer, bytes) else transfer
        size = len(data)
        short = size == 0 or size % self._mps != 0 or (read_size is not None and size < read_size)
        try:
            return self._feed(data, short)
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _feed(self, transfer: bytes, short: bool) -> list[FramedPiece]:
        out: list[FramedPiece] = []
        size = len(transfer)
        pos = 0
        header_only = False  # this transfer completed a data header and carried no payload
        while True:
            if self._data is not None:
                pos, header_only = self._feed_payload(transfer, pos, short, header_only, out)
                if self._data is not None:
                    return out  # the transfer is used up and the data phase goes on
                continue
            if pos == size:
                break
            pos = self._fill_pending(transfer, pos)
            header_only = self._try_complete(out) and pos == size
        if self._pending and short:
            raise RemoteProtocolError(f"transfer ended {len(self._pending)} bytes into a container")
        return out

    def _fill_pending(self, transfer: bytes, pos: int) -> int:
        """Copy bytes into the header/small-container buffer; return the new position."""
        if len(self._pending) < HEADER_SIZE:
            want = HEADER_SIZE - len(self._pending)
        else:
            want = ContainerHeader.parse(self._pending).length - len(self._pending)
        chunk = transfer[pos : pos + want]
        self._pending += chunk
        return pos + len(chunk)

    def _try_complete(self, out: list[FramedPiece]) -> bool:
        """Act on the pending bytes; True if a data container started."""
        if len(self._pending) < HEADER_SIZE:
            return False
        header = ContainerHeader.parse(self._pending)
        if header.type == ContainerType.DATA:
            self._pending.clear()
            self._start_data(header, out)
            return True
        if header.type not in (ContainerType.COMMAND, ContainerType.RESPONSE, ContainerType.EVENT):
            raise RemoteProtocolError(f"undefined container type {header.type}")
        if header.length > MAX_NON_DATA_LENGTH:
            raise RemoteProtocolError(
                f"{ContainerType(header.type).name.lower()} container of length "
                f"{header.length} is implausibly large"
            )
        if len(self._pending) == header.length:
            parsed = parse_container(bytes(self._pending))
            self._pending.clear()
            assert not isinstance(parsed, DataHeader)  # excluded by the type check above
            out.append(parsed)
        return False

    def _start_data(self, header: ContainerHeader, out: list[FramedPiece]) -> None:
        remaining = header.payload_length
        if self._hint is not None:
            if remaining is None or header.length == (HEADER_SIZE + self._hint) & _MAX_U32:
                remaining = self._hint
            self._hint = None
        self._data = header
        self._remaining = remaining
        self._received = 0
        out.append(ContainerStarted(header))
        if remaining == 0:
            self._finish(out)

    def _finish(self, out: list[FramedPiece]) -> None:
        assert self._data is not None
        out.append(ContainerFinished(self._data, self._received))
        self._data = None
        self._remaining = None
        self._received = 0

    def _feed_payload(
        self,
        transfer: bytes,
        pos: int,
        short: bool,
        header_only: bool,
        out: list[FramedPiece],
    ) -> tuple[int, bool]:
        """Consume payload bytes from ``transfer[pos:]``; return (new pos, header_only)."""
        size = len(transfer)
        take = size - pos
        if self._remaining is not None:
            take = min(take, self._remaining)
        if take:
            # Slicing a whole transfer would copy it for nothing.
            piece = transfer if take == size else transfer[pos : pos + take]
            out.append(DataPayload(piece))
            self._received += take
            pos += take
            header_only = False
            if self._remaining is not None:
                self._remaining -= take
                if self._remaining == 0:
                    self._finish(out)
                    return pos, False
        # Here the transfer is used up and the phase is not complete by count.
        if short and not header_only:
            if self._remaining is not None:
                raise RemoteProtocolError(
                    f"data phase ended after {self._received} of "
                    f"{self._received + self._remaining} payload bytes"
                )
            self._finish(out)
        return pos, header_only


# --------------------------------------------------------------------------------------------
# Sending


def needs_zlp(container_length: int, max_packet_size: int) -> bool:
    """Whether a zero-length packet must follow a container of ``container_length`` bytes.

    ``container_length`` is the number of bytes actually sent (header + payload), which for a
    data phase of 4 GiB or more differs from the :data:`UNKNOWN_LENGTH` length field. A ZLP is
    due when that count is an exact multiple of the endpoint's max packet size, because
    otherwise the receiver cannot tell the transfer has ended.
    """
    _check_mps(max_packet_size)
    if container_length < HEADER_SIZE:
        raise LocalProtocolError(f"container length {container_length} is below {HEADER_SIZE}")
    return container_length % max_packet_size == 0
