"""Translate between transaction messages and USB Still Image class traffic.

Theory of operation
-------------------
The transaction machine (:mod:`openwpd.protocol.transaction`) speaks in transport-neutral
messages; :mod:`openwpd.protocol.container` knows the generic container and how a stream of
completed bulk transfers frames into containers. :class:`UsbCodec` maps one onto the other for
one end of a USB link and absorbs USB's peculiarities, so the machine never sees them
(USB Still Image class):

- Sending: an ``Operation``/``Response``/``Event`` is one container in one transfer. A data
  phase (``StartData``, ``DataChunk``..., ``EndData``) is *one* data container: the 12-byte
  header rides with the first payload bytes, every transfer but the last is a multiple of the
  endpoint's wMaxPacketSize (MPS) so no short packet ends the phase early, and when the whole
  container is an exact multiple of MPS a zero-length transfer (ZLP, ``b""``) follows. The
  encoder is push-based: chunks are re-cut as they come and at most one transfer is buffered.
  A data phase of 4 GiB or more (or of unknown size) carries the length 0xFFFFFFFF.
- Receiving: every completed transfer goes to :meth:`UsbCodec.decode_bulk` (or
  :meth:`UsbCodec.decode_interrupt` for the event pipe) with the size the read was submitted
  with, so a ZLP or short packet is seen even when it ends a read in the middle of its buffer.
  A data container becomes ``StartData`` (``None`` length when it is 0xFFFFFFFF), a
  ``DataChunk`` per transfer and ``EndData``; a 12-byte header arriving alone and a ZLP after a
  data phase are absorbed by the framer.
- Cancel (USB Still Image class): :meth:`UsbCodec.begin_cancel` returns the class Cancel request
  (0x64) to put on the control pipe and abandons any data phase we were sending. Until
  :meth:`UsbCodec.end_cancel` the bulk-IN side is forgiving: whatever the device still had in flight
  frames as data of the cancelled transaction, and a data phase cut short (which a cancel is) resets
  the framer instead of raising. ``end_cancel`` drops any half-framed container, so the next
  transaction starts on a clean slate.

Control requests (Cancel, Get Device Status, Device Reset, and the Microsoft OS descriptor requests)
are values (:class:`ControlRequest`); the transport performs them. Parsing the answers, classifying
interfaces as MTP (USB Still Image class) and picking the three endpoints also live here, because
they are pure functions of descriptor bytes.

Nothing here does I/O or reads a clock. Malformed input from the peer raises
:class:`~openwpd.protocol.errors.RemoteProtocolError`; values our caller cannot send raise
:class:`~openwpd.protocol.errors.LocalProtocolError`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openwpd.protocol import container
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import ContainerType, UsbClassRequest
from openwpd.protocol.datasets.usb_control import CancelRequestData, DeviceStatus
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.messages import (
    CancelTransaction,
    DataChunk,
    EndData,
    Event,
    FileSlice,
    Message,
    Operation,
    Response,
    SendCancel,
    StartData,
)

__all__ = [
    "DEFAULT_OUT_TRANSFER_SIZE",
    "DEVICE_STATUS_LENGTH",
    "MS_OS_STRING_INDEX",
    "ControlRequest",
    "Endpoints",
    "ExtendedCompatFunction",
    "MtpMatch",
    "Pipe",
    "UsbCodec",
    "cancel_request",
    "classify_interface",
    "device_reset_request",
    "device_status_request",
    "extended_compat_id_request",
    "may_need_os_descriptor",
    "os_string_descriptor_request",
    "parse_device_status",
    "parse_extended_compat_id",
    "parse_os_string_descriptor",
    "pick_endpoints",
]

# --- USB framework values (USB 2.0 chapter 9; not MTP codes) ------------------------------------
# bmRequestType is a bit field: direction | type | recipient.
_DIR_IN = 0x80
_TYPE_STANDARD = 0x00
_TYPE_CLASS = 0x20
_TYPE_VENDOR = 0x40
_RECIPIENT_DEVICE = 0x00
_RECIPIENT_INTERFACE = 0x01
#: Standard request GET_DESCRIPTOR and the string descriptor type, for the OS string at 0xEE.
_GET_DESCRIPTOR = 6
_DESCRIPTOR_TYPE_STRING = 3
#: Index of the Microsoft OS string descriptor and its size (Microsoft OS descriptors).
MS_OS_STRING_INDEX = 0xEE
_MS_OS_STRING_LENGTH = 18
#: wIndex of the Extended Compat ID feature descriptor request (Microsoft OS descriptors).
_EXTENDED_COMPAT_ID = 4
#: How much of the Extended Compat ID descriptor we ask for: header + ten functions.
_EXTENDED_COMPAT_ID_LENGTH = 16 + 24 * 10
#: Bytes we ask for in Get Device Status: wLength, code and up to four 16-bit endpoint slots.
#: Devices must answer min(asked, actual); libmtp asks for 4, Android refuses less than its
#: struct, so asking for more than we need is the safe side.
DEVICE_STATUS_LENGTH = 12
#: USB interface classes that matter for finding MTP (USB Still Image class).
_CLASS_STILL_IMAGE = 6
_SUBCLASS_STILL_IMAGE_CAPTURE = 1
_PROTOCOL_PIMA_15740 = 1
_CLASS_VENDOR_SPECIFIC = 0xFF
#: Endpoint descriptor bits: the transfer type lives in bmAttributes bits 0-1.
_TRANSFER_TYPE_MASK = 0x03
_TRANSFER_TYPE_BULK = 2
_TRANSFER_TYPE_INTERRUPT = 3
#: wMaxPacketSize bits 0-10 are the size; bits 11-12 are the high-bandwidth multiplier.
_MPS_MASK = 0x7FF
_MAX_U32 = 0xFFFFFFFF
#: Largest response container the odd-length leniency applies to (12 + five parameters).
_MAX_ODD_RESPONSE = container.HEADER_SIZE + 4 * container.MAX_RESPONSE_PARAMS
#: Bulk transfer size the encoder writes by default (rounded down to a multiple of MPS).
DEFAULT_OUT_TRANSFER_SIZE = 1024 * 1024


class Pipe(enum.Enum):
    """Where an encoded transfer goes: the bulk pipe of its direction or the interrupt pipe."""

    BULK = "bulk"
    INTERRUPT = "interrupt"


# --- control requests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A control transfer on the default pipe, as values.

    ``data`` is what an OUT request sends (``b""`` for none); ``length`` is how many bytes an IN
    request (``request_type`` bit 7 set) asks for.
    """

    request_type: int
    request: int
    value: int
    index: int
    data: bytes = b""
    length: int = 0

    @property
    def is_in(self) -> bool:
        """True for a device-to-host request."""
        return bool(self.request_type & _DIR_IN)


def cancel_request(tid: int, interface: int) -> ControlRequest:
    """The class Cancel Request (0x64) for transaction ``tid``: code 0x4001 and the tid.

    Raises LocalProtocolError when ``tid`` is not a UINT32.
    """
    data = CancelRequestData(tid).to_bytes()
    request_type = _TYPE_CLASS | _RECIPIENT_INTERFACE
    return ControlRequest(request_type, UsbClassRequest.CANCEL, 0, interface, data)


def device_status_request(interface: int, length: int = DEVICE_STATUS_LENGTH) -> ControlRequest:
    """The class Get Device Status request (0x67); parse the answer with
    :func:`parse_device_status`."""
    request_type = _DIR_IN | _TYPE_CLASS | _RECIPIENT_INTERFACE
    return ControlRequest(
        request_type, UsbClassRequest.GET_DEVICE_STATUS, 0, interface, length=length
    )


def device_reset_request(interface: int) -> ControlRequest:
    """The class Device Reset request (0x66): the device aborts everything and goes idle."""
    request_type = _TYPE_CLASS | _RECIPIENT_INTERFACE
    return ControlRequest(request_type, UsbClassRequest.DEVICE_RESET, 0, interface)


def parse_device_status(data: bytes | bytearray | memoryview) -> DeviceStatus:
    """The Get Device Status answer: response code plus stalled endpoint addresses.

    Lenient, as hosts are (the leading length field is not trusted). Raises RemoteProtocolError
    for fewer than 4 bytes.
    """
    return DeviceStatus.from_bytes(data)


def os_string_descriptor_request() -> ControlRequest:
    """GET_DESCRIPTOR for the Microsoft OS string descriptor (string index 0xEE, Microsoft OS
    descriptors)."""
    request_type = _DIR_IN | _TYPE_STANDARD | _RECIPIENT_DEVICE
    value = (_DESCRIPTOR_TYPE_STRING << 8) | MS_OS_STRING_INDEX
    return ControlRequest(request_type, _GET_DESCRIPTOR, value, 0, length=_MS_OS_STRING_LENGTH)


def parse_os_string_descriptor(data: bytes | bytearray | memoryview) -> int | None:
    """The vendor code of a Microsoft OS string descriptor, or None if ``data`` is not one.

    It is one when the descriptor carries ``MSFT`` in UTF-16LE at byte 2 (as libmtp checks)
    and is long enough to hold the vendor code at byte 16. Never raises: a device that answers
    anything else simply has no OS descriptor.
    """
    raw = bytes(data)
    if len(raw) < 17 or raw[2:10] != "MSFT".encode("utf-16-le"):
        return None
    return raw[16]


def extended_compat_id_request(vendor_code: int) -> ControlRequest:
    """The vendor request for the Extended Compat ID descriptor (wIndex 4, Microsoft OS
    descriptors)."""
    if not 0 <= vendor_code <= 0xFF:
        raise LocalProtocolError(f"vendor code {vendor_code!r} is not a byte")
    request_type = _DIR_IN | _TYPE_VENDOR | _RECIPIENT_DEVICE
    return ControlRequest(
        request_type, vendor_code, 0, _EXTENDED_COMPAT_ID, length=_EXTENDED_COMPAT_ID_LENGTH
    )


@dataclass(frozen=True, slots=True)
class ExtendedCompatFunction:
    """One function section of an Extended Compat ID descriptor."""

    first_interface: int
    compatible_id: str
    sub_compatible_id: str


def _ascii_id(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def parse_extended_compat_id(
    data: bytes | bytearray | memoryview,
) -> tuple[ExtendedCompatFunction, ...]:
    """The function sections of an Extended Compat ID descriptor (16-byte header, then 24 bytes
    per function: first interface, reserved, compatible ID, sub-compatible ID, reserved).

    Only as many sections as the bytes hold are read (a device may answer fewer bytes than its
    count promises when we asked for less). Raises RemoteProtocolError when even the header or
    one announced section is incomplete.
    """
    reader = Reader(data)
    reader.u32("dwLength")
    reader.u16("bcdVersion")
    index = reader.u16("wIndex")
    if index != _EXTENDED_COMPAT_ID:
        raise RemoteProtocolError(f"extended compat ID descriptor with wIndex {index}")
    count = reader.u8("bCount")
    reader.read_bytes(7, "reserved")
    if count and reader.remaining < 24:
        raise RemoteProtocolError("extended compat ID descriptor without its function section")
    functions = []
    for _ in range(min(count, reader.remaining // 24)):
        first = reader.u8("bFirstInterfaceNumber")
        reader.u8("reserved")
        compatible = _ascii_id(reader.read_bytes(8, "compatibleID"))
        sub = _ascii_id(reader.read_bytes(8, "subCompatibleID"))
        reader.read_bytes(6, "reserved")
        functions.append(ExtendedCompatFunction(first, compatible, sub))
    return tuple(functions)


# --- finding the MTP interface and its endpoints -------------------------------------------------


class MtpMatch(enum.Enum):
    """Why an interface counts as MTP/PTP (USB Still Image class)."""

    STILL_IMAGE = "still-image class 6/1/1"
    INTERFACE_STRING = 'interface string contains "MTP"'
    OS_DESCRIPTOR = 'Microsoft OS descriptor compatible ID "MTP"'


def classify_interface(
    interface_class: int,
    subclass: int,
    protocol: int,
    num_endpoints: int,
    name: str | None = None,
    *,
    os_compat_mtp: bool = False,
) -> MtpMatch | None:
    """Whether an interface setting is an MTP/PTP interface, and why.

    ``name`` is the interface string (None when the device has none or we could not read it);
    ``os_compat_mtp`` says whether the device's Extended Compat ID descriptor names this
    interface "MTP". Only settings with exactly three endpoints qualify (as libmtp probes).
    Class 6/1/1 matches by class; any other class matches by an interface string containing
    "MTP" (Android's FunctionFS personality, libmtp's rule) or, for vendor-specific interfaces,
    by the OS descriptor (older Android f_mtp).
    """
    if num_endpoints != 3:
        return None
    if (interface_class, subclass, protocol) == (
        _CLASS_STILL_IMAGE,
        _SUBCLASS_STILL_IMAGE_CAPTURE,
        _PROTOCOL_PIMA_15740,
    ):
        return MtpMatch.STILL_IMAGE
    if name is not None and "MTP" in name:
        return MtpMatch.INTERFACE_STRING
    if interface_class == _CLASS_VENDOR_SPECIFIC and os_compat_mtp:
        return MtpMatch.OS_DESCRIPTOR
    return None


def may_need_os_descriptor(interface_class: int, num_endpoints: int) -> bool:
    """Whether classifying this interface could depend on the OS descriptor (so reading it,
    which costs control transfers, is worth it): vendor-specific with three endpoints."""
    return interface_class == _CLASS_VENDOR_SPECIFIC and num_endpoints == 3


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The three endpoints of an MTP interface and their max packet sizes."""

    bulk_in: int
    bulk_out: int
    interrupt_in: int
    bulk_in_mps: int
    bulk_out_mps: int
    interrupt_mps: int


def pick_endpoints(descriptors: Iterable[tuple[int, int, int]]) -> Endpoints:
    """Choose bulk IN, bulk OUT and interrupt IN from ``(address, bmAttributes,
    wMaxPacketSize)`` triples (the first of each kind wins).

    Raises RemoteProtocolError when one is missing or a max packet size is zero.
    """
    found: dict[str, tuple[int, int]] = {}
    for address, attributes, mps in descriptors:
        kind = attributes & _TRANSFER_TYPE_MASK
        direction = "in" if address & _DIR_IN else "out"
        if kind == _TRANSFER_TYPE_BULK:
            found.setdefault("bulk_" + direction, (address, mps & _MPS_MASK))
        elif kind == _TRANSFER_TYPE_INTERRUPT and direction == "in":
            found.setdefault("interrupt_in", (address, mps & _MPS_MASK))
    missing = [k for k in ("bulk_in", "bulk_out", "interrupt_in") if k not in found]
    if missing:
        raise RemoteProtocolError(f"MTP interface without {', '.join(missing)} endpoint")
    if any(mps == 0 for _, mps in found.values()):
        raise RemoteProtocolError("MTP interface with a zero max packet size")
    return Endpoints(
        found["bulk_in"][0],
        found["bulk_out"][0],
        found["interrupt_in"][0],
        found["bulk_in"][1],
        found["bulk_out"][1],
        found["interrupt_in"][1],
    )


# --- the codec -----------------------------------------------------------------------------------


def _pad_odd_response(
    transfer: bytes | bytearray | memoryview,
) -> bytes | bytearray | memoryview:
    """A whole response container whose length is not 12 + 4n, zero-extended to the next
    parameter boundary; anything else unchanged.

    umtprd 1.3.10 answers OpenSession with SessionAlreadyOpen in 13 bytes: its session ID as a
    single byte. Read as a little-endian parameter padded with zeros it is the session ID, which
    is what PTP says the parameter carries. The container parser (rightly) rejects such lengths
    from arbitrary peers, so the fix-up is limited to a transfer that holds exactly one small
    response container.
    """
    size = len(transfer)
    if not container.HEADER_SIZE < size <= _MAX_ODD_RESPONSE or size % 4 == 0:
        return transfer
    header = container.ContainerHeader.parse(transfer)
    if header.type != ContainerType.RESPONSE or header.length != size:
        return transfer
    padded = -(-(size - container.HEADER_SIZE) // 4) * 4 + container.HEADER_SIZE
    fixed = bytearray(transfer) + bytes(padded - size)
    fixed[0:4] = padded.to_bytes(4, "little")
    return bytes(fixed)


class _OutPhase:
    """The data container we are sending: re-cuts chunks into MPS-multiple transfers."""

    __slots__ = ("announced", "buf", "sent", "tid")

    def __init__(self, header: bytes, tid: int, announced: int | None) -> None:
        self.buf = bytearray(header)
        self.tid = tid
        self.announced = announced
        self.sent = 0


class UsbCodec:
    """Messages <-> USB transfers for one end of a link; see the module docstring.

    ``max_packet_size`` is the bulk endpoints' wMaxPacketSize, ``interrupt_packet_size`` the
    interrupt endpoint's (defaults to the bulk one). ``transfer_size`` caps the bulk transfers
    :meth:`encode` produces; it is rounded down to a multiple of ``max_packet_size``.
    ``interface`` is the interface number control requests name in wIndex.
    """

    def __init__(
        self,
        max_packet_size: int,
        *,
        interrupt_packet_size: int | None = None,
        transfer_size: int = DEFAULT_OUT_TRANSFER_SIZE,
        interface: int = 0,
    ) -> None:
        self._in = container.BulkInFramer(max_packet_size)
        self._events = container.BulkInFramer(interrupt_packet_size or max_packet_size)
        self._mps = max_packet_size
        self._event_mps = interrupt_packet_size or max_packet_size
        self._transfer = max(1, transfer_size // max_packet_size) * max_packet_size
        self.interface = interface
        self._code = 0  # operation code of the transaction in flight (data containers carry it)
        self._out: _OutPhase | None = None
        self._in_tid = 0  # transaction ID of the data container being received
        self._cancelling: int | None = None
        self._hint: int | None = None  # real size of the next incoming data phase, if known

    @property
    def max_packet_size(self) -> int:
        """The bulk endpoints' wMaxPacketSize."""
        return self._mps

    @property
    def transfer_size(self) -> int:
        """Largest bulk transfer :meth:`encode` produces (a multiple of the MPS)."""
        return self._transfer

    @property
    def cancelling(self) -> int | None:
        """The transaction being cancelled, between begin_cancel and end_cancel."""
        return self._cancelling

    @property
    def sending_data(self) -> bool:
        """True between an encoded StartData and its EndData."""
        return self._out is not None

    # -- sending ----------------------------------------------------------------------------------

    def encode(self, msg: Message, *, data_follows: bool = False) -> list[tuple[Pipe, bytes]]:
        """The transfers for one message, in order (``b""`` is a zero-length packet).

        ``msg.tid`` must be filled in (pass what the machine's ``send`` returned).
        ``data_follows`` is accepted for symmetry with the PTP/IP codec; USB does not announce
        the data phase. Raises LocalProtocolError for a message out of turn here (data without
        StartData, a second StartData, more or fewer bytes than announced), a missing tid, a
        :class:`~openwpd.protocol.messages.FileSlice` payload (the transport reads it first) or
        a CancelTransaction (use :meth:`begin_cancel`).
        """
        del data_follows
        tid = msg.tid
        if tid is None:
            raise LocalProtocolError(f"{type(msg).__name__} has no transaction ID yet")
        if isinstance(msg, DataChunk):
            if isinstance(msg.data, FileSlice):
                raise LocalProtocolError("read a FileSlice into bytes before encoding it for USB")
            return self._encode_chunk(msg.data)
        if isinstance(msg, EndData):
            return self._encode_end()
        if isinstance(msg, CancelTransaction):
            raise LocalProtocolError("a USB cancel is a control request: use begin_cancel()")
        if self._out is not None:
            raise LocalProtocolError(
                f"cannot send {type(msg).__name__} in the middle of a data phase"
            )
        if isinstance(msg, Operation):
            self._code = msg.code
            return [(Pipe.BULK, container.build_command(msg.code, tid, msg.params))]
        if isinstance(msg, Response):
            return [(Pipe.BULK, container.build_response(msg.code, tid, msg.params))]
        if isinstance(msg, Event):
            return [(Pipe.INTERRUPT, container.build_event(msg.code, tid, msg.params))]
        assert isinstance(msg, StartData)
        header = container.build_data_header(self._code, tid, msg.total_length)
        self._out = _OutPhase(header, tid, msg.total_length)
        return []

    def _encode_chunk(self, data: bytes | bytearray | memoryview) -> list[tuple[Pipe, bytes]]:
        out = self._out
        if out is None:
            raise LocalProtocolError("data chunk without a StartData")
        view = memoryview(data).cast("B")
        if out.announced is not None and out.sent + len(view) > out.announced:
            raise LocalProtocolError(
                f"data phase announced {out.announced} bytes, got at least {out.sent + len(view)}"
            )
        out.sent += len(view)
        size = self._transfer
        transfers: list[tuple[Pipe, bytes]] = []
        if out.buf:
            take = min(size - len(out.buf), len(view))
            out.buf += view[:take]
            view = view[take:]
            if len(out.buf) < size:
                return transfers
            transfers.append((Pipe.BULK, bytes(out.buf)))
            out.buf.clear()
        while len(view) >= size:
            transfers.append((Pipe.BULK, bytes(view[:size])))
            view = view[size:]
        out.buf += view
        return transfers

    def _encode_end(self) -> list[tuple[Pipe, bytes]]:
        out = self._out
        if out is None:
            raise LocalProtocolError("EndData without a StartData")
        if out.announced is not None and out.sent != out.announced:
            raise LocalProtocolError(f"data phase announced {out.announced} bytes, got {out.sent}")
        self._out = None
        transfers: list[tuple[Pipe, bytes]] = []
        if out.buf:
            transfers.append((Pipe.BULK, bytes(out.buf)))
        if container.needs_zlp(container.HEADER_SIZE + out.sent, self._mps):
            transfers.append((Pipe.BULK, b""))
        return transfers

    # -- receiving --------------------------------------------------------------------------------

    def decode_bulk(
        self, transfer: bytes | bytearray | memoryview, *, read_size: int | None = None
    ) -> list[Message]:
        """The messages one completed bulk transfer stands for (possibly none).

        ``read_size`` is the buffer size the read was submitted with (see
        :meth:`~openwpd.protocol.container.BulkInFramer.feed`). Raises RemoteProtocolError for
        a malformed stream -- except while cancelling, when a broken data phase is expected and
        the framer is simply reset.
        """
        if self._in.idle:
            transfer = _pad_odd_response(transfer)
        try:
            pieces = self._in.feed(transfer, read_size=read_size)
        except RemoteProtocolError:
            if self._cancelling is None:
                raise
            self._fresh_bulk_framer()
            return []
        return self._messages(pieces)

    # A new framer rather than BulkInFramer.reset(): a framer broken by a malformed header keeps
    # the error, whose traceback still holds a view of its buffer, and reset() cannot resize it.
    def _fresh_bulk_framer(self) -> None:
        self._in = container.BulkInFramer(self._mps)

    def _fresh_event_framer(self) -> None:
        self._events = container.BulkInFramer(self._event_mps)

    def decode_interrupt(
        self, transfer: bytes | bytearray | memoryview, *, read_size: int | None = None
    ) -> list[Message]:
        """The events one completed interrupt transfer carries. Raises RemoteProtocolError
        for anything but whole event containers."""
        out: list[Message] = []
        for piece in self._events.feed(transfer, read_size=read_size):
            if not isinstance(piece, container.Event):
                self._fresh_event_framer()
                raise RemoteProtocolError(
                    f"unexpected {type(piece).__name__} on the interrupt pipe"
                )
            out.append(Event(piece.code, piece.params, piece.transaction_id))
        return out

    def _messages(self, pieces: Sequence[container.FramedPiece]) -> list[Message]:
        out: list[Message] = []
        for piece in pieces:
            if isinstance(piece, container.DataPayload):
                out.append(DataChunk(piece.data, self._in_tid))
            elif isinstance(piece, container.ContainerStarted):
                header = piece.header
                self._in_tid = header.transaction_id
                out.append(StartData(self._announced(header), header.transaction_id))
            elif isinstance(piece, container.ContainerFinished):
                out.append(EndData(piece.header.transaction_id))
            elif isinstance(piece, container.Response):
                out.append(Response(piece.code, piece.params, piece.transaction_id))
            elif isinstance(piece, container.Event):
                out.append(Event(piece.code, piece.params, piece.transaction_id))
            else:
                self._code = piece.code  # a responder: its data phase carries this code
                out.append(Operation(piece.code, piece.params, piece.transaction_id))
        return out

    def _announced(self, header: container.ContainerHeader) -> int | None:
        """The payload size of a data container, with the framer's rule for the size hint."""
        hint, self._hint = self._hint, None
        length = header.payload_length
        if hint is not None and (
            length is None or header.length == (container.HEADER_SIZE + hint) & _MAX_U32
        ):
            return hint
        return length

    def expect_data_length(self, payload_length: int) -> None:
        """The real size of the next incoming data phase when its 32-bit length field cannot
        say it (see :meth:`~openwpd.protocol.container.BulkInFramer.expect_data_length`)."""
        self._in.expect_data_length(payload_length)
        self._hint = payload_length

    # -- cancel and reset -------------------------------------------------------------------------

    def begin_cancel(self, action: SendCancel | int) -> ControlRequest:
        """Start a host cancel: returns the Cancel request to send on the control pipe.

        Any data phase we were sending is abandoned (the device discards it, USB Still Image class),
        and until
        :meth:`end_cancel` a broken incoming data phase resets the framer instead of raising.
        Raises LocalProtocolError for a tid that is not a UINT32.
        """
        tid = action.tid if isinstance(action, SendCancel) else action
        request = cancel_request(tid, self.interface)
        self._out = None
        self._cancelling = tid
        return request

    def abandon_data_phase(self) -> None:
        """Drop the data phase we are sending, if any (a responder whose host cancelled: the
        rest of the phase is never sent, and the next container starts clean)."""
        self._out = None

    def end_cancel(self) -> None:
        """The cancel flow is over (the device is idle): drop any half-framed container."""
        self._cancelling = None
        self._fresh_bulk_framer()

    def reset(self) -> None:
        """Forget all framing and sending state (after a Device Reset or a USB reset)."""
        self._out = None
        self._cancelling = None
        self._fresh_bulk_framer()
        self._fresh_event_framer()
        self._hint = None
        self._code = 0
        self._in_tid = 0
