"""USB codec: golden bytes from the USB Still Image class (written by hand), data-phase cutting
around packet boundaries, initiator and responder machines back to back over real transfers, and
the forgiving framing while a cancel is under way."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.messages import (
    CancelTransaction,
    DataChunk,
    DataFinished,
    DataReceived,
    DataStarted,
    EndData,
    Event,
    EventReceived,
    FileSlice,
    MachineEvent,
    Operation,
    OperationReceived,
    Response,
    ResponseReceived,
    SendCancel,
    StartData,
    TransactionCancelled,
)
from openwpd.protocol.transaction import (
    CancelFlow,
    RequestDeviceStatus,
    Role,
    State,
    Timeouts,
    TransactionMachine,
)
from openwpd.protocol.usb_codec import (
    DEVICE_STATUS_LENGTH,
    ControlRequest,
    Endpoints,
    ExtendedCompatFunction,
    MtpMatch,
    Pipe,
    UsbCodec,
    cancel_request,
    classify_interface,
    device_reset_request,
    device_status_request,
    extended_compat_id_request,
    may_need_os_descriptor,
    os_string_descriptor_request,
    parse_device_status,
    parse_extended_compat_id,
    parse_os_string_descriptor,
    pick_endpoints,
)

MPS = 512


def bulk(transfers: list[tuple[Pipe, bytes]]) -> list[bytes]:
    assert all(pipe is Pipe.BULK for pipe, _ in transfers)
    return [data for _, data in transfers]


# --- golden bytes -------------------------------------------------------------------------------


def test_operation_is_one_command_container() -> None:
    # USB Still Image class: u32 length, u16 type 1 (command), u16 code, u32 tid, then u32 params.
    # OpenSession(SessionID=1) with tid 0:
    codec = UsbCodec(MPS)
    out = codec.encode(Operation(OperationCode.OPEN_SESSION, (1,), 0))
    assert out == [
        (
            Pipe.BULK,
            bytes.fromhex("10000000010002100000000001000000"),
        )
    ]


def test_response_and_event_containers() -> None:
    codec = UsbCodec(MPS)
    # Response type 3: OK (0x2001), tid 7, no params -> 12 bytes
    assert codec.encode(Response(ResponseCode.OK, (), 7)) == [
        (Pipe.BULK, bytes.fromhex("0c0000000300012007000000"))
    ]
    # Event type 4 travels on the interrupt pipe: ObjectAdded (0x4002), tid 1, param 0x10
    assert codec.encode(Event(0x4002, (0x10,), 1)) == [
        (Pipe.INTERRUPT, bytes.fromhex("10000000040002400100000010000000"))
    ]


def test_data_phase_header_rides_with_payload() -> None:
    # USB Still Image class: one container, type 2, code = the operation's, length 12 + payload.
    codec = UsbCodec(MPS)
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 5))
    assert codec.encode(StartData(3, 5)) == []
    assert codec.sending_data
    assert codec.encode(DataChunk(b"abc", 5)) == []
    assert bulk(codec.encode(EndData(5))) == [bytes.fromhex("0f00000002000d1005000000") + b"abc"]
    assert not codec.sending_data


def test_cancel_request_golden() -> None:
    # USB Still Image class: bmRequestType 0x21, bRequest 0x64, wValue 0, wIndex interface, data:
    # u16 0x4001 + tid
    req = cancel_request(0x01020304, 2)
    assert req == ControlRequest(0x21, 0x64, 0, 2, bytes.fromhex("014004030201"))
    assert not req.is_in


def test_status_and_reset_requests_golden() -> None:
    status = device_status_request(0)
    assert (status.request_type, status.request, status.value, status.index) == (0xA1, 0x67, 0, 0)
    assert status.is_in and status.length == DEVICE_STATUS_LENGTH >= 4
    reset = device_reset_request(1)
    assert (reset.request_type, reset.request, reset.index, reset.data) == (0x21, 0x66, 1, b"")


def test_parse_device_status() -> None:
    # Android after a device-side error: wLength 8, 0x201F, bulk IN 0x81 and OUT 0x02 (16-bit)
    status = parse_device_status(bytes.fromhex("08001f2081000200"))
    assert (status.code, status.params) == (ResponseCode.TRANSACTION_CANCELLED, (0x81, 0x02))
    # libmtp asks for 4 bytes: wLength + code only
    assert parse_device_status(bytes.fromhex("04001920")).code == ResponseCode.DEVICE_BUSY
    with pytest.raises(RemoteProtocolError):
        parse_device_status(b"\x04\x00\x01")


def test_os_string_descriptor() -> None:
    req = os_string_descriptor_request()
    # GET_DESCRIPTOR (6), standard IN to the device, string type 3 index 0xEE, 18 bytes
    assert (req.request_type, req.request, req.value, req.index, req.length) == (
        0x80,
        6,
        0x03EE,
        0,
        18,
    )
    # Microsoft OS descriptors: bLength 0x12, type 3, "MSFT100" UTF-16LE, vendor code, pad
    desc = bytes([0x12, 0x03]) + "MSFT100".encode("utf-16-le") + bytes([0x01, 0x00])
    assert parse_os_string_descriptor(desc) == 1
    assert parse_os_string_descriptor(desc[:16]) is None  # no room for the vendor code
    assert parse_os_string_descriptor(b"\x12\x03" + "MSXX100".encode("utf-16-le") + b"\1\0") is None


def test_extended_compat_id() -> None:
    req = extended_compat_id_request(0xFE)
    assert (req.request_type, req.request, req.value, req.index) == (0xC0, 0xFE, 0, 4)
    assert req.length >= 0x28
    with pytest.raises(LocalProtocolError):
        extended_compat_id_request(0x100)
    # Microsoft OS descriptors table: dwLength 0x28, bcdVersion 0x0100, wIndex 4, bCount 1, 7
    # reserved; function: interface 0, reserved 1, "MTP" + 5 NULs, 8 zero, 6 reserved
    desc = (
        bytes.fromhex("280000000001040001")
        + bytes(7)
        + bytes([0, 1])
        + b"MTP\0\0\0\0\0"
        + bytes(8)
        + bytes(6)
    )
    assert parse_extended_compat_id(desc) == (ExtendedCompatFunction(0, "MTP", ""),)
    # a device answering fewer bytes than its count promises: the complete sections only
    assert parse_extended_compat_id(desc + desc[16:30]) == (ExtendedCompatFunction(0, "MTP", ""),)
    with pytest.raises(RemoteProtocolError):
        parse_extended_compat_id(desc[:20])  # one announced section, incomplete
    with pytest.raises(RemoteProtocolError):
        parse_extended_compat_id(desc[:6] + b"\x05\x00" + desc[8:])  # not the wIndex 4 feature
    with pytest.raises(RemoteProtocolError):
        parse_extended_compat_id(desc[:10])
    empty = bytes.fromhex("100000000001040000") + bytes(7)
    assert parse_extended_compat_id(empty) == ()


# --- interfaces and endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((6, 1, 1, 3, None), {}, MtpMatch.STILL_IMAGE),
        ((6, 1, 1, 3, "MTP"), {}, MtpMatch.STILL_IMAGE),
        ((6, 1, 1, 2, None), {}, None),  # libmtp only probes three-endpoint settings
        ((0xFF, 0xFF, 0, 3, "MTP"), {}, MtpMatch.INTERFACE_STRING),
        ((0, 0, 0, 3, "Android MTP Device"), {}, MtpMatch.INTERFACE_STRING),
        ((0xFF, 0xFF, 0, 3, None), {"os_compat_mtp": True}, MtpMatch.OS_DESCRIPTOR),
        ((0xFF, 0xFF, 0, 3, "ADB Interface"), {}, None),
        ((8, 6, 0x50, 3, "Mass Storage"), {"os_compat_mtp": True}, None),
        ((0xFF, 0, 0, 4, "MTP"), {}, None),
    ],
)
def test_classify_interface(
    args: tuple[int, int, int, int, str | None], kwargs: dict[str, bool], expected: MtpMatch | None
) -> None:
    assert classify_interface(*args, **kwargs) is expected


def test_may_need_os_descriptor() -> None:
    assert may_need_os_descriptor(0xFF, 3)
    assert not may_need_os_descriptor(6, 3)
    assert not may_need_os_descriptor(0xFF, 2)


def test_pick_endpoints() -> None:
    # umtprd's interface: bulk IN 0x81 (512), bulk OUT 0x02 (512), interrupt IN 0x85 (28)
    eps = pick_endpoints([(0x81, 0x02, 512), (0x02, 0x02, 512), (0x85, 0x03, 28)])
    assert eps == Endpoints(0x81, 0x02, 0x85, 512, 512, 28)
    # high-bandwidth bits (11-12) are not part of the size
    assert pick_endpoints([(0x81, 2, 0x1200), (0x01, 2, 64), (0x82, 3, 8)]).bulk_in_mps == 0x200
    with pytest.raises(RemoteProtocolError, match="interrupt_in"):
        pick_endpoints([(0x81, 2, 512), (0x02, 2, 512), (0x03, 3, 8)])  # interrupt OUT only
    with pytest.raises(RemoteProtocolError, match="zero"):
        pick_endpoints([(0x81, 2, 0), (0x02, 2, 512), (0x83, 3, 8)])


# --- sending data phases ------------------------------------------------------------------------


def _send_phase(codec: UsbCodec, payload: bytes, chunk: int, announce: bool = True) -> list[bytes]:
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 9))
    out = bulk(codec.encode(StartData(len(payload) if announce else None, 9)))
    for i in range(0, len(payload), chunk):
        out += bulk(codec.encode(DataChunk(payload[i : i + chunk], 9)))
    out += bulk(codec.encode(EndData(9)))
    return out


@pytest.mark.parametrize("size", [0, 1, 499, 500, 501, 1012, 1013, 4096 - 12, 4096, 10_000])
@pytest.mark.parametrize("chunk", [1, 7, 500, 4096, 100_000])
def test_data_transfers_are_mps_multiples_with_zlp(size: int, chunk: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    codec = UsbCodec(MPS, transfer_size=2048 + 100)  # rounded down to 2048
    assert codec.transfer_size == 2048
    transfers = _send_phase(codec, payload, max(chunk, 1))
    total = 12 + size
    body = b"".join(transfers)
    assert body[12:] == payload
    assert struct.unpack_from("<I", body)[0] == total
    for t in transfers[:-1]:
        assert len(t) % MPS == 0 and 0 < len(t) <= 2048
    if total % MPS == 0:
        assert transfers[-1] == b""  # the ZLP
    else:
        assert len(transfers[-1]) % MPS != 0


def test_unknown_length_data_phase() -> None:
    codec = UsbCodec(64, transfer_size=64)
    transfers = _send_phase(codec, b"x" * 52, 10, announce=False)
    assert struct.unpack_from("<I", transfers[0])[0] == 0xFFFFFFFF
    assert transfers[-1] == b""  # 64 bytes exactly: the receiver needs the ZLP to stop


def test_huge_data_phase_says_unknown_length() -> None:
    codec = UsbCodec(MPS, transfer_size=MPS)
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 3))
    codec.encode(StartData(5 * 2**30, 3))
    out = bulk(codec.encode(DataChunk(b"\0" * MPS * 4, 3)))
    assert struct.unpack_from("<I", out[0])[0] == 0xFFFFFFFF


def test_encode_errors() -> None:
    codec = UsbCodec(MPS)
    with pytest.raises(LocalProtocolError, match="transaction ID"):
        codec.encode(Operation(OperationCode.GET_DEVICE_INFO))
    with pytest.raises(LocalProtocolError, match="without a StartData"):
        codec.encode(DataChunk(b"x", 1))
    with pytest.raises(LocalProtocolError, match="without a StartData"):
        codec.encode(EndData(1))
    with pytest.raises(LocalProtocolError, match="control request"):
        codec.encode(CancelTransaction(1))
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 1))
    codec.encode(StartData(2, 1))
    with pytest.raises(LocalProtocolError, match="middle of a data phase"):
        codec.encode(StartData(2, 1))
    with pytest.raises(LocalProtocolError, match="middle of a data phase"):
        codec.encode(Operation(OperationCode.GET_DEVICE_INFO, (), 2))
    with pytest.raises(LocalProtocolError, match="FileSlice"):
        codec.encode(DataChunk(FileSlice(object(), 0, 1), 1))
    with pytest.raises(LocalProtocolError, match="at least 3"):
        codec.encode(DataChunk(b"abc", 1))
    codec.encode(DataChunk(b"a", 1))
    with pytest.raises(LocalProtocolError, match="got 1"):
        codec.encode(EndData(1))


# --- receiving ----------------------------------------------------------------------------------


def test_decode_response_data_and_zlp() -> None:
    codec = UsbCodec(MPS)
    payload = bytes(range(256)) * 2  # 512 + 12 = 524: not a multiple
    data = bytes.fromhex("0c0200000200091004000000") + payload
    msgs = codec.decode_bulk(data, read_size=4096)
    assert msgs == [StartData(512, 4), DataChunk(payload, 4), EndData(4)]
    resp = bytes.fromhex("1000000003000120040000002a000000")
    assert codec.decode_bulk(resp, read_size=4096) == [Response(ResponseCode.OK, (42,), 4)]


def test_odd_length_response_is_zero_extended() -> None:
    # umtprd 1.3.10 answers OpenSession(1) with SessionAlreadyOpen in 13 bytes: the session ID
    # as one byte (seen on the wire in the USB lab)
    codec = UsbCodec(MPS)
    odd = bytes.fromhex("0d00000003001e200000000001")
    assert codec.decode_bulk(odd) == [Response(ResponseCode.SESSION_ALREADY_OPEN, (1,), 0)]
    # only a lone whole response is fixed up: an event of odd length stays an error, and so
    # does a response longer than five parameters
    with pytest.raises(RemoteProtocolError):
        UsbCodec(MPS).decode_bulk(bytes.fromhex("0d000000040002400000000001"))
    with pytest.raises(RemoteProtocolError):
        UsbCodec(MPS).decode_bulk(bytes.fromhex("210000000300012000000000") + bytes(21))
    with pytest.raises(RemoteProtocolError):  # a length field that does not match the transfer
        UsbCodec(MPS).decode_bulk(bytes.fromhex("0e000000030001200000000001"))


def test_decode_header_alone_then_payload_then_zlp() -> None:
    # USB Still Image class: some devices send the 12-byte header in its own transfer; here 500
    # payload bytes make 512 in all, so a ZLP follows
    codec = UsbCodec(MPS)
    header = bytes.fromhex("000200000200091002000000")
    assert codec.decode_bulk(header, read_size=4096) == [StartData(500, 2)]
    assert codec.decode_bulk(b"p" * 500, read_size=4096) == [DataChunk(b"p" * 500, 2), EndData(2)]
    assert codec.decode_bulk(b"", read_size=4096) == []


def test_decode_unknown_length_reads_to_short_packet() -> None:
    codec = UsbCodec(MPS)
    first = bytes.fromhex("ffffffff0200091003000000") + b"a" * 500
    assert codec.decode_bulk(first, read_size=MPS) == [StartData(None, 3), DataChunk(b"a" * 500, 3)]
    assert codec.decode_bulk(b"b" * 10, read_size=MPS) == [DataChunk(b"b" * 10, 3), EndData(3)]


def test_decode_events_and_commands() -> None:
    codec = UsbCodec(MPS, interrupt_packet_size=28)
    ev = bytes.fromhex("10000000040002400000000005000000")
    assert codec.decode_interrupt(ev, read_size=28) == [Event(0x4002, (5,), 0)]
    assert codec.decode_bulk(ev) == [Event(0x4002, (5,), 0)]
    with pytest.raises(RemoteProtocolError, match="interrupt"):
        codec.decode_interrupt(bytes.fromhex("0c0000000300012001000000"))
    # the framer was reset: the pipe goes on
    assert codec.decode_interrupt(ev) == [Event(0x4002, (5,), 0)]
    # a responder decodes commands; the data it then sends carries their code
    device = UsbCodec(MPS)
    cmd = bytes.fromhex("10000000010009100100000007000000")
    assert device.decode_bulk(cmd) == [Operation(OperationCode.GET_OBJECT, (7,), 1)]
    device.encode(StartData(0, 1))
    header = bulk(device.encode(EndData(1)))[0]
    assert header == bytes.fromhex("0c0000000200091001000000")


def test_truncated_phase_raises_outside_cancel() -> None:
    codec = UsbCodec(MPS)
    codec.decode_bulk(bytes.fromhex("001000000200091005000000") + b"x" * 500)
    with pytest.raises(RemoteProtocolError):
        codec.decode_bulk(b"short")


def test_expect_data_length_passes_the_hint() -> None:
    # a > 4 GiB upload from a sender that truncated the length to 32 bits (USB Still Image class)
    codec = UsbCodec(MPS)
    real = 2**32 + 100
    codec.expect_data_length(real)
    header = struct.pack("<IHHI", (12 + real) & 0xFFFFFFFF, 2, OperationCode.SEND_OBJECT, 1)
    assert codec.decode_bulk(header, read_size=MPS) == [StartData(real, 1)]


# --- cancel -------------------------------------------------------------------------------------


def test_cancel_forgives_a_cut_data_phase_and_end_cancel_resets() -> None:
    codec = UsbCodec(MPS)
    codec.encode(Operation(OperationCode.GET_OBJECT, (1,), 6))
    first = bytes.fromhex("000010000200091006000000") + b"x" * 500
    assert codec.decode_bulk(first, read_size=512)[0] == StartData(0x100000 - 12, 6)
    req = codec.begin_cancel(SendCancel(6))
    assert req == cancel_request(6, 0)
    assert codec.cancelling == 6
    # the device stops mid-phase: a short transfer would be a truncation; here it is forgiven
    assert codec.decode_bulk(b"y" * 100, read_size=4096) == []
    # more stale bytes after the reset: garbage header, forgiven too
    assert codec.decode_bulk(b"\x01\x00\x00\x00zzzzzzzz", read_size=4096) == []
    # half a payload again, then the cancel ends: the next response frames cleanly
    codec.decode_bulk(bytes.fromhex("000010000200091006000000") + b"x" * 500)
    codec.end_cancel()
    assert codec.cancelling is None
    resp = bytes.fromhex("0c0000000300012007000000")
    assert codec.decode_bulk(resp) == [Response(ResponseCode.OK, (), 7)]


def test_begin_cancel_abandons_our_data_phase() -> None:
    codec = UsbCodec(MPS, interface=3)
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 8))
    codec.encode(StartData(10_000, 8))
    codec.encode(DataChunk(b"x" * 600, 8))
    req = codec.begin_cancel(8)
    assert req.index == 3 and req.data[2:] == struct.pack("<I", 8)
    assert not codec.sending_data
    # the next operation is accepted at once
    assert codec.encode(Operation(OperationCode.GET_STORAGE_IDS, (), 9))
    with pytest.raises(LocalProtocolError):
        codec.begin_cancel(2**32)


def test_reset_forgets_everything() -> None:
    codec = UsbCodec(MPS, interrupt_packet_size=8)
    codec.encode(Operation(OperationCode.SEND_OBJECT, (), 1))
    codec.encode(StartData(10, 1))
    codec.decode_bulk(bytes.fromhex("001000000200091005000000"))
    codec.decode_interrupt(b"\x10\x00\x00\x00\x04\x00\x02\x40")  # half an event
    codec.begin_cancel(1)
    codec.reset()
    assert codec.cancelling is None and not codec.sending_data
    assert codec.decode_interrupt(bytes.fromhex("0c0000000400084000000000")) == [
        Event(0x4008, (), 0)
    ]
    assert codec.max_packet_size == MPS


# --- machines back to back over real transfers ---------------------------------------------------


class Wire:
    """An initiator and a responder, each with a machine and a codec, joined by bulk pipes whose
    reads are ``read_size`` buffers (as libusb reads them: a transfer ends at a short packet, a
    ZLP or a full buffer)."""

    def __init__(self, mps: int = MPS, read_size: int = 4096) -> None:
        t = Timeouts(response=5.0, cancel_budget=2.0, status_poll=0.05, drain_window=0.3)
        self.host = TransactionMachine(Role.INITIATOR, CancelFlow.USB, t)
        self.device = TransactionMachine(Role.RESPONDER, CancelFlow.USB, t)
        self.hcodec = UsbCodec(mps, transfer_size=mps * 3)
        self.dcodec = UsbCodec(mps, transfer_size=mps * 2)
        self.mps = mps
        self.read_size = read_size
        self.to_device: list[bytes] = []  # packets in flight on bulk OUT
        self.to_host: list[bytes] = []  # packets in flight on bulk IN
        self.now = 0.0

    def _deliver(
        self, transfers: list[tuple[Pipe, bytes]], codec: UsbCodec, packets: list[bytes]
    ) -> list[object]:
        """Cut the written transfers into packets (``packets`` is the pipe, kept between calls),
        then read them back the way a USB host controller fills a read: packets until the
        buffer is full or a short packet (or ZLP) ends it. An incomplete read stays queued."""
        msgs: list[object] = []
        for pipe, data in transfers:
            if pipe is Pipe.INTERRUPT:
                msgs += codec.decode_interrupt(data)
                continue
            packets += [data[i : i + self.mps] for i in range(0, len(data), self.mps)]
            if not data:
                packets.append(b"")  # the ZLP
        while True:
            size = 0
            for n, packet in enumerate(packets):  # noqa: B007 - n is used after the loop
                size += len(packet)
                if len(packet) < self.mps or size >= self.read_size:
                    break
            else:
                return msgs  # no complete read yet
            read = b"".join(packets[: n + 1])
            del packets[: n + 1]
            msgs += codec.decode_bulk(read, read_size=self.read_size)

    def host_send(self, msg: object) -> list[MachineEvent]:
        sent = self.host.send(msg, self.now)  # type: ignore[arg-type]
        return self._to_device(self.hcodec.encode(sent))

    def _to_device(self, transfers: list[tuple[Pipe, bytes]]) -> list[MachineEvent]:
        events: list[MachineEvent] = []
        for msg in self._deliver(transfers, self.dcodec, self.to_device):
            events += self.device.receive(msg, self.now)  # type: ignore[arg-type]
        return events

    def device_send(self, msg: object) -> list[MachineEvent]:
        sent = self.device.send(msg, self.now)  # type: ignore[arg-type]
        events: list[MachineEvent] = []
        for m in self._deliver(self.dcodec.encode(sent), self.hcodec, self.to_host):
            events += self.host.receive(m, self.now)  # type: ignore[arg-type]
        return events


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 5000),
    chunk=st.integers(1, 3000),
    read_size=st.sampled_from([512, 1024, 4096]),
)
def test_download_round_trip(size: int, chunk: int, read_size: int) -> None:
    w = Wire(read_size=read_size)
    payload = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    payload = payload[:size]
    ev = w.host_send(Operation(OperationCode.OPEN_SESSION, (1,)))
    assert isinstance(ev[0], OperationReceived)
    assert isinstance(w.device_send(Response(ResponseCode.OK))[0], ResponseReceived)
    ev = w.host_send(Operation(OperationCode.GET_OBJECT, (1,)))
    assert ev == [OperationReceived(OperationCode.GET_OBJECT, 1, (1,))]
    got: list[MachineEvent] = []
    got += w.device_send(StartData(size))
    for i in range(0, size, chunk):
        got += w.device_send(DataChunk(payload[i : i + chunk]))
    got += w.device_send(EndData())
    got += w.device_send(Response(ResponseCode.OK))
    assert got[0] == DataStarted(1, size)
    data = b"".join(bytes(e.data) for e in got if isinstance(e, DataReceived))
    assert data == payload
    assert DataFinished(1, size) in got
    assert got[-1] == ResponseReceived(ResponseCode.OK, 1, ())
    assert w.host.state is State.IDLE and w.device.state is State.IDLE


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 4000), chunk=st.integers(1, 2000))
def test_upload_round_trip(size: int, chunk: int) -> None:
    w = Wire()
    payload = bytes((i * 7) % 256 for i in range(size))
    w.host_send(Operation(OperationCode.SEND_OBJECT))
    events: list[MachineEvent] = []
    events += w.host_send(StartData(size))
    for i in range(0, size, chunk):
        events += w.host_send(DataChunk(payload[i : i + chunk]))
    events += w.host_send(EndData())
    data = b"".join(bytes(e.data) for e in events if isinstance(e, DataReceived))
    assert data == payload
    assert events[-1] == DataFinished(0, size)
    assert w.device_send(Response(ResponseCode.OK)) == [ResponseReceived(ResponseCode.OK, 0, ())]


def test_events_reach_the_host() -> None:
    w = Wire()
    assert w.device_send(Event(0x4002, (5,))) == [EventReceived(0x4002, 0, (5,))]


def test_usb_cancel_flow_end_to_end() -> None:
    """Host cancels a download; the device stops, says Busy then OK; stale bytes are drained;
    the next transaction frames cleanly."""
    w = Wire()
    w.host_send(Operation(OperationCode.GET_OBJECT, (1,)))
    w.device_send(StartData(100_000))
    w.device_send(DataChunk(b"d" * 3000))
    w.host.cancel(w.now)
    actions = w.host.pending_actions()
    assert actions == [SendCancel(0), RequestDeviceStatus()]
    req = w.hcodec.begin_cancel(actions[0])  # type: ignore[arg-type]
    tid = struct.unpack_from("<I", req.data, 2)[0]
    assert w.device.receive(CancelTransaction(tid), w.now)
    w.dcodec.abandon_data_phase()
    # the device stops mid-phase; the host drains what was still in the pipe, a truncated
    # phase that is forgiven while cancelling
    assert w.device.complete_cancel(w.now) is None
    stale = b"".join(w.to_host)
    w.to_host.clear()
    assert 0 < len(stale) < 4096
    for m in w.hcodec.decode_bulk(stale, read_size=4096):
        w.host.receive(m, w.now)
    w.host.receive_device_status(w.device.device_status, w.now)
    w.now += 0.5
    events = w.host.handle_timer(w.now)
    assert events == [TransactionCancelled(0)]
    w.hcodec.end_cancel()
    w.host_send(Operation(OperationCode.GET_STORAGE_IDS))
    assert w.device_send(Response(ResponseCode.OK)) == [ResponseReceived(ResponseCode.OK, 0, ())]
