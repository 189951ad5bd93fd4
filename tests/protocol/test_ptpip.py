"""PTP/IP packets, stream framing and data phases (PTP/IP, CIPA DC-005), and what
gphoto and ptpy actually send."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwpd.protocol.codes import (
    DataPhaseInfo,
    EventCode,
    InitFailReason,
    OperationCode,
    PtpIpPacketType,
    ResponseCode,
)
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.ptpip import (
    DEFAULT_MAX_PACKET_SIZE,
    PROTOCOL_VERSION,
    UNKNOWN_DATA_LENGTH,
    Cancel,
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    InitFail,
    OperationRequest,
    OperationResponse,
    Packet,
    PacketFramer,
    ProbeRequest,
    ProbeResponse,
    StartData,
    parse_packet,
)
from ptpip_raw import iter_data_packets

U16_MAX = 2**16 - 1
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
u16s = st.integers(0, U16_MAX)
u32s = st.integers(0, U32_MAX)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def le32(value: int) -> bytes:
    return value.to_bytes(4, "little")


# --------------------------------------------------------------------------------------------
# Golden vectors typed from the PTP/IP packet layouts (CIPA DC-005)

INIT_EVENT_REQUEST_1 = h("0C 00 00 00  03 00 00 00  01 00 00 00")
INIT_EVENT_ACK = h("08 00 00 00  04 00 00 00")
OPEN_SESSION_REQUEST = h("16 00 00 00  06 00 00 00  01 00 00 00  02 10  00 00 00 00  01 00 00 00")
OK_RESPONSE_TID0 = h("0E 00 00 00  07 00 00 00  01 20  00 00 00 00")
START_DATA_5_100 = h("14 00 00 00  09 00 00 00  05 00 00 00  64 00 00 00 00 00 00 00")
PAYLOAD_100 = bytes((i * 7 + 3) % 256 for i in range(100))
END_DATA_5_100 = h("70 00 00 00 0C 00 00 00 05 00 00 00") + PAYLOAD_100


@pytest.mark.parametrize(
    ("packet", "raw"),
    [
        (InitEventRequest(1), INIT_EVENT_REQUEST_1),
        (InitEventAck(), INIT_EVENT_ACK),
        (
            OperationRequest(DataPhaseInfo.NO_DATA_OR_DATA_IN, OperationCode.OPEN_SESSION, 0, (1,)),
            OPEN_SESSION_REQUEST,
        ),
        (OperationResponse(ResponseCode.OK, 0), OK_RESPONSE_TID0),
        (StartData(5, 100), START_DATA_5_100),
        (EndData(5, PAYLOAD_100), END_DATA_5_100),
        # Further vectors derived by hand from the PTP/IP packet layouts.
        (InitFail(InitFailReason.BUSY), h("0C 00 00 00 05 00 00 00 02 00 00 00")),
        (Cancel(5), h("0C 00 00 00 0B 00 00 00 05 00 00 00")),
        (ProbeRequest(), h("08 00 00 00 0D 00 00 00")),
        (ProbeResponse(), h("08 00 00 00 0E 00 00 00")),
        (Data(9, b"\x01\x02\x03"), h("0F 00 00 00 0A 00 00 00 09 00 00 00 01 02 03")),
        (EndData(9), h("0C 00 00 00 0C 00 00 00 09 00 00 00")),
        (
            Event(EventCode.OBJECT_ADDED, 4, (0x1234,)),
            h("12 00 00 00 08 00 00 00 02 40 04 00 00 00 34 12 00 00"),
        ),
        (
            StartData(1, UNKNOWN_DATA_LENGTH),
            h("14 00 00 00 09 00 00 00 01 00 00 00 FF FF FF FF FF FF FF FF"),
        ),
    ],
)
def test_golden_packets(packet: Packet, raw: bytes) -> None:
    assert packet.build() == raw
    assert parse_packet(raw) == packet


def gphoto_init_command_request(guid: bytes, hostname: str) -> bytes:
    """The Init Command Request as gphoto builds it, byte by byte."""
    name = bytearray()
    for char in hostname:  # ASCII widened to UTF-16
        name.append(ord(char))
        name.append(0)
    name += b"\x00\x00"
    body = guid + bytes(name) + bytes([0x00, 0x00, 0x01, 0x00])
    length = 8 + 16 + 2 * (len(hostname) + 1) + 4
    assert length == 8 + len(body)
    return le32(length) + bytes([0x01, 0x00, 0x00, 0x00]) + body


@pytest.mark.parametrize("hostname", ["", "a", "myhost", "build-box.example.lan"])
def test_golden_gphoto_init_command_request(hostname: str) -> None:
    guid = bytes([0x9A, 0x3C, 0x11, 0x07, 0xE2, 0x5B, 0x40, 0x8D])
    guid += bytes([0x01, 0xF0, 0x66, 0x2A, 0xC4, 0x93, 0x5E, 0x00])
    raw = gphoto_init_command_request(guid, hostname)
    packet = InitCommandRequest(guid, hostname, PROTOCOL_VERSION)
    assert packet.build() == raw
    assert parse_packet(raw) == packet
    assert PROTOCOL_VERSION == 0x00010000


def test_golden_init_command_ack() -> None:
    guid = bytes(range(16))
    raw = (
        h("2C 00 00 00 02 00 00 00")  # 8 + 4 + 16 + 12 + 4 = 44
        + h("07 00 00 00")
        + guid
        + h("50 00 68 00 6F 00 6E 00 65 00 00 00")  # "Phone" + NUL
        + h("00 00 01 00")
    )
    packet = InitCommandAck(7, guid, "Phone", PROTOCOL_VERSION)
    assert packet.build() == raw
    assert parse_packet(raw) == packet


def test_ptpy_protocol_version_is_accepted() -> None:
    # ptpy sends Major=100, Minor=0 in its own order: bytes 64 00 00 00 (PTP/IP, CIPA DC-005).
    raw = h("22 00 00 00 01 00 00 00") + bytes(16) + h("70 00 79 00 00 00") + h("64 00 00 00")
    packet = parse_packet(raw)
    assert packet == InitCommandRequest(bytes(16), "py", 100)


# --------------------------------------------------------------------------------------------
# Friendly names: UTF-16LE + NUL, no length (not PTP strings)


def init_request_raw(name_bytes: bytes) -> bytes:
    body = bytes(16) + name_bytes + h("00 00 01 00")
    return le32(8 + len(body)) + h("01 00 00 00") + body


def init_ack_raw(name_bytes: bytes) -> bytes:
    body = le32(3) + bytes(16) + name_bytes + h("00 00 01 00")
    return le32(8 + len(body)) + h("02 00 00 00") + body


def test_non_ascii_name_round_trips() -> None:
    name = "Kamera \u00e9\u4e2d\U0001f600"
    packet = InitCommandAck(1, bytes(16), name)
    raw = packet.build()
    assert h("3D D8 00 DE 00 00") in raw  # the emoji as a surrogate pair, then NUL
    assert parse_packet(raw) == packet


def test_request_name_without_nul_is_accepted() -> None:
    # Decision: as the responder we are lenient with initiators (documented on the class).
    packet = parse_packet(init_request_raw(h("68 00 69 00")))
    assert packet == InitCommandRequest(bytes(16), "hi", PROTOCOL_VERSION)


def test_ack_name_without_nul_is_rejected() -> None:
    # gphoto requires the NUL in the Ack (PTP/IP, CIPA DC-005), so a responder omitting it is
    # malformed.
    with pytest.raises(RemoteProtocolError):
        parse_packet(init_ack_raw(h("68 00 69 00")))


def test_name_stops_at_first_nul_and_ignores_padding() -> None:
    raw = init_ack_raw(h("68 00 69 00 00 00 41 00 00 00 00 00"))
    assert parse_packet(raw) == InitCommandAck(3, bytes(16), "hi", PROTOCOL_VERSION)


def test_odd_name_region_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_packet(init_request_raw(h("68 00 69")))
    with pytest.raises(RemoteProtocolError):
        parse_packet(init_ack_raw(h("68 00 00 00 00")))


def test_malformed_surrogate_in_name_is_replaced() -> None:
    packet = parse_packet(init_request_raw(h("3D D8 41 00 00 00")))
    assert isinstance(packet, InitCommandRequest)
    assert packet.friendly_name == "\ufffdA"


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "\ud800", 42])
def test_invalid_names_are_local_errors(name: object) -> None:
    with pytest.raises(LocalProtocolError):
        InitCommandRequest(bytes(16), name).build()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        InitCommandAck(1, bytes(16), name).build()  # type: ignore[arg-type]


@pytest.mark.parametrize("guid", [b"", bytes(15), bytes(17), "0" * 16, None])
def test_invalid_guid_is_local_error(guid: object) -> None:
    with pytest.raises(LocalProtocolError):
        InitCommandRequest(guid, "x").build()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        InitCommandAck(1, guid, "x").build()  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Parameter counts from length


@pytest.mark.parametrize("n", range(6))
def test_operation_request_params_from_length(n: int) -> None:
    ps = b"".join(le32(i + 10) for i in range(n))
    raw = le32(18 + 4 * n) + h("06 00 00 00 02 00 00 00 0D 10 03 00 00 00") + ps
    packet = parse_packet(raw)
    expected = OperationRequest(
        DataPhaseInfo.DATA_OUT, OperationCode.SEND_OBJECT, 3, tuple(range(10, 10 + n))
    )
    assert packet == expected
    assert isinstance(packet, OperationRequest)
    assert packet.param(n) == 0  # missing parameters read as 0
    assert packet.param(-1) == 0


def test_ptpy_style_all_five_params_and_odd_data_phase_info() -> None:
    # ptpy sends all five parameters; DataPhaseInfo may hold odd values.
    raw = h("26 00 00 00 06 00 00 00 07 00 00 00 01 10 02 00 00 00") + bytes(20)  # 18 + 20
    packet = parse_packet(raw)
    assert packet == OperationRequest(7, OperationCode.GET_DEVICE_INFO, 2, (0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    "raw",
    [
        le32(18 + 24) + h("06 00 00 00 01 00 00 00 02 10 00 00 00 00") + bytes(24),
        le32(19) + h("06 00 00 00 01 00 00 00 02 10 00 00 00 00 00"),
        le32(14 + 24) + h("07 00 00 00 01 20 00 00 00 00") + bytes(24),
        le32(16) + h("07 00 00 00 01 20 00 00 00 00 AA BB"),
        le32(14 + 16) + h("08 00 00 00 02 40 00 00 00 00") + bytes(16),
        le32(15) + h("08 00 00 00 02 40 00 00 00 00 AA"),
    ],
)
def test_bad_param_counts_are_remote_errors(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_packet(raw)


@pytest.mark.parametrize(
    "packet",
    [
        OperationRequest(1, OperationCode.OPEN_SESSION, 0, (1, 2, 3, 4, 5, 6)),
        OperationResponse(ResponseCode.OK, 0, (1, 2, 3, 4, 5, 6)),
        Event(EventCode.OBJECT_ADDED, 0, (1, 2, 3, 4)),
        OperationRequest(1, 2**16, 0),
        OperationRequest(1, OperationCode.OPEN_SESSION, 2**32),
        OperationResponse(ResponseCode.OK, 0, (-1,)),
        StartData(1, 2**64),
        StartData(1, -1),
        InitEventRequest(2**32),
        InitFail(-1),
        Cancel(2**32),
        Data(1, "text"),  # type: ignore[arg-type]
        EndData(1, None),  # type: ignore[arg-type]
        InitCommandRequest(bytes(16), "x", 2**32),
    ],
)
def test_invalid_values_are_local_errors(packet: Packet) -> None:
    with pytest.raises(LocalProtocolError):
        packet.build()


def test_param_helpers() -> None:
    assert OperationResponse(ResponseCode.OK, 1, (9,)).param(0) == 9
    assert OperationResponse(ResponseCode.OK, 1, (9,)).param(1) == 0
    assert Event(EventCode.OBJECT_ADDED, 1, (9, 8)).param(1) == 8
    assert Event(EventCode.OBJECT_ADDED, 1, (9, 8)).param(2) == 0


# --------------------------------------------------------------------------------------------
# Malformed whole packets


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        h("08 00 00"),
        h("07 00 00 00 04 00 00 00"),  # length below the header
        h("00 00 00 00 04 00 00 00"),
        h("08 00 00 00 00 00 00 00"),  # type 0
        h("08 00 00 00 0F 00 00 00"),  # type 15
        h("08 00 00 00 FF FF FF FF"),
        h("0C 00 00 00 04 00 00 00"),  # length says 12, 8 given
        h("08 00 00 00 04 00 00 00 00"),  # length says 8, 9 given
        h("0C 00 00 00 04 00 00 00 00 00 00 00"),  # Init Event Ack with a payload
        h("10 00 00 00 0B 00 00 00 05 00 00 00 00 00 00 00"),  # Cancel with 4 extra bytes
        h("0C 00 00 00 0D 00 00 00 00 00 00 00"),  # Probe Request with a payload
        h("10 00 00 00 09 00 00 00 05 00 00 00 64 00 00 00"),  # Start Data, u64 cut
    ],
)
def test_malformed_packets_raise_remote_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_packet(raw)


EXAMPLES: list[Packet] = [
    InitCommandRequest(bytes(range(16)), "host", PROTOCOL_VERSION),
    InitCommandAck(1, bytes(range(16)), "Phone", PROTOCOL_VERSION),
    InitEventRequest(1),
    InitEventAck(),
    InitFail(InitFailReason.REJECTED_INITIATOR),
    OperationRequest(1, OperationCode.OPEN_SESSION, 0, (1,)),
    OperationResponse(ResponseCode.OK, 0, (1, 2)),
    Event(EventCode.OBJECT_ADDED, 0, (0x1234,)),
    StartData(5, 100),
    Data(5, b"abcdef"),
    Cancel(5),
    EndData(5, b"xyz"),
    ProbeRequest(),
    ProbeResponse(),
]

# Packets whose payload has one fixed size: any shorter payload is malformed.
FIXED = (InitEventRequest, InitEventAck, InitFail, StartData, Cancel, ProbeRequest, ProbeResponse)


def test_examples_cover_every_packet_type() -> None:
    types = {PtpIpPacketType(int.from_bytes(p.build()[4:8], "little")) for p in EXAMPLES}
    assert types == set(PtpIpPacketType)


@pytest.mark.parametrize("packet", EXAMPLES, ids=lambda p: type(p).__name__)
def test_every_truncation_raises_remote_error_only(packet: Packet) -> None:
    raw = packet.build()
    for cut in range(len(raw)):
        # The bytes simply stop early: the length field disagrees.
        with pytest.raises(RemoteProtocolError):
            parse_packet(raw[:cut])
        if cut < 8:
            continue
        # The length field is patched to match: the payload itself is cut.
        patched = le32(cut) + raw[4:cut]
        if isinstance(packet, FIXED) and cut < len(raw):
            with pytest.raises(RemoteProtocolError):
                parse_packet(patched)
        else:
            with contextlib.suppress(RemoteProtocolError):
                parse_packet(patched)


def test_truncated_fixed_layouts_specifically() -> None:
    # Cut inside the tid / parameters of variable-length types: still a remote error.
    for packet in EXAMPLES:
        raw = packet.build()
        minimum = {
            OperationRequest: 18,
            OperationResponse: 14,
            Event: 14,
            Data: 12,
            EndData: 12,
            InitCommandRequest: 8 + 16 + 4,
            InitCommandAck: 8 + 4 + 16 + 4,
        }.get(type(packet))
        if minimum is None:
            continue
        for cut in range(8, minimum):
            with pytest.raises(RemoteProtocolError):
                parse_packet(le32(cut) + raw[4:cut])


@settings(max_examples=500)
@given(st.binary(max_size=80))
def test_parse_packet_fuzz(raw: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_packet(raw)


@settings(max_examples=500)
@given(st.sampled_from(list(PtpIpPacketType)), st.binary(max_size=60))
def test_parse_packet_fuzz_valid_headers(ptype: PtpIpPacketType, payload: bytes) -> None:
    raw = le32(8 + len(payload)) + le32(ptype) + payload
    with contextlib.suppress(RemoteProtocolError):
        packet = parse_packet(raw)
        assert packet.build() == raw or isinstance(packet, InitCommandRequest | InitCommandAck)


# --------------------------------------------------------------------------------------------
# Round trips for every packet type

names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40
)
guids = st.binary(min_size=16, max_size=16)
op_params = st.lists(u32s, max_size=5).map(tuple)

packets: st.SearchStrategy[Packet] = st.one_of(
    st.builds(InitCommandRequest, guids, names, u32s),
    st.builds(InitCommandAck, u32s, guids, names, u32s),
    st.builds(InitEventRequest, u32s),
    st.just(InitEventAck()),
    st.builds(InitFail, u32s),
    st.builds(OperationRequest, u32s, u16s, u32s, op_params),
    st.builds(OperationResponse, u16s, u32s, op_params),
    st.builds(Event, u16s, u32s, st.lists(u32s, max_size=3).map(tuple)),
    st.builds(StartData, u32s, st.integers(0, U64_MAX)),
    st.builds(Data, u32s, st.binary(max_size=300)),
    st.builds(Cancel, u32s),
    st.builds(EndData, u32s, st.binary(max_size=300)),
    st.just(ProbeRequest()),
    st.just(ProbeResponse()),
)


@settings(max_examples=500)
@given(packets)
def test_packet_round_trip(packet: Packet) -> None:
    raw = packet.build()
    assert int.from_bytes(raw[:4], "little") == len(raw)
    assert parse_packet(raw) == packet


# --------------------------------------------------------------------------------------------
# PacketFramer


STREAM_PACKETS: list[Packet] = [
    InitCommandAck(1, bytes(range(16)), "Cam", PROTOCOL_VERSION),
    OperationResponse(ResponseCode.OK, 0),
    StartData(5, 100),
    Data(5, PAYLOAD_100[:60]),
    EndData(5, PAYLOAD_100[60:]),
    InitEventAck(),
    OperationResponse(ResponseCode.OK, 5, (1, 2, 3)),
]
STREAM = b"".join(p.build() for p in STREAM_PACKETS)


def drain(framer: PacketFramer) -> list[Packet]:
    return list(framer)


def test_many_packets_in_one_chunk() -> None:
    framer = PacketFramer()
    framer.feed(STREAM)
    assert drain(framer) == STREAM_PACKETS
    assert framer.buffered == 0
    assert framer.next_packet() is None


def test_every_split_offset() -> None:
    for cut in range(len(STREAM) + 1):
        framer = PacketFramer()
        framer.feed(STREAM[:cut])
        got = drain(framer)
        framer.feed(STREAM[cut:])
        got += drain(framer)
        assert got == STREAM_PACKETS, cut


def test_every_pair_of_split_offsets() -> None:
    stream = b"".join(p.build() for p in STREAM_PACKETS[1:4])
    for a, b in itertools.combinations(range(len(stream) + 1), 2):
        framer = PacketFramer()
        got: list[Packet] = []
        for part in (stream[:a], stream[a:b], stream[b:]):
            framer.feed(part)
            got += drain(framer)
        assert got == STREAM_PACKETS[1:4]


def test_byte_at_a_time() -> None:
    framer = PacketFramer()
    got: list[Packet] = []
    for i in range(len(STREAM)):
        framer.feed(STREAM[i : i + 1])
        got += drain(framer)
        assert framer.buffered == (i + 1) - sum(len(p.build()) for p in got)
    assert got == STREAM_PACKETS


def test_big_packets_reuse_one_buffer() -> None:
    # Receiving many 1 MiB data packets in 256 KiB reads must not give the buffer back and
    # take it again per packet (a page fault per 4 KiB each time): it grows once, then stays.
    payloads = [bytes([i]) * (1 << 20) for i in range(6)]
    stream = b"".join(Data(7, p).build() for p in payloads)
    framer = PacketFramer()
    got: list[Packet] = []
    sizes: set[int] = set()
    for i in range(0, len(stream), 256 * 1024):
        framer.feed(stream[i : i + 256 * 1024])
        got += drain(framer)
        if len(got) >= 2:
            sizes.add(len(framer._buf))  # the capacity, an internal on purpose
    assert got == [Data(7, p) for p in payloads]
    assert len(sizes) == 1 and sizes.pop() <= 4 << 20


def test_big_data_packets_come_out_in_pieces() -> None:
    # max_piece: a 2.5 MiB Data and a 1.5 MiB End Data (over the 1 MiB piece given below) come
    # out as <= 1 MiB pieces, each as soon as it is complete, in any split of the stream
    data = os.urandom(5 << 19)
    end = os.urandom(3 << 19)
    stream = (
        StartData(9, len(data) + len(end)).build()
        + Data(9, data).build()
        + EndData(9, end).build()
        + OK_RESPONSE_TID0
    )
    rng = random.Random(5)
    for _ in range(20):
        framer = PacketFramer(max_piece=1 << 20)
        got: list[Packet] = []
        position = 0
        while position < len(stream):
            step = rng.choice((1, 12, 4096, 65536, 1 << 20, 3 << 20))
            framer.feed(stream[position : position + step])
            position += step
            got += drain(framer)
            assert framer.buffered <= (1 << 20) + 12  # never more than one piece waits
        assert isinstance(got[0], StartData) and got[-1] == parse_packet(OK_RESPONSE_TID0)
        pieces = got[1:-1]
        assert [type(p) for p in pieces] == [Data] * 4 + [EndData]  # 1+1+0.5, 1+0.5 MiB
        assert all(len(p.payload) <= 1 << 20 and p.transaction_id == 9 for p in pieces)
        assert b"".join(p.payload for p in pieces) == data + end
        assert b"".join(p.payload for p in pieces[:3]) == data


def test_pieces_leave_small_packets_and_the_packet_limit_alone() -> None:
    framer = PacketFramer(max_packet_size=128, max_piece=16)
    small = Data(3, b"x" * 16)
    framer.feed(small.build() + EndData(3, b"").build())
    assert drain(framer) == [small, EndData(3, b"")]
    framer.feed(Data(3, b"y" * 100).build())
    assert [len(p.payload) for p in drain(framer) if isinstance(p, Data)] == [16] * 6 + [4]
    # a data packet over max_packet_size is still refused as soon as its header is in
    framer.feed(Data(3, b"z" * 200).build()[:8])
    with pytest.raises(RemoteProtocolError):
        drain(framer)
    with pytest.raises(LocalProtocolError):
        PacketFramer(max_piece=0)


def test_receiving_into_the_framers_buffer() -> None:
    # get_buffer/buffer_updated (recv_into straight into the framer) frames like feed, even
    # when a read fills less than the room it was given
    rng = random.Random(3)
    stream = STREAM + Data(4, os.urandom(300_000)).build() + STREAM
    framer = PacketFramer(max_piece=100_000)
    got: list[Packet] = []
    position = 0
    while position < len(stream):
        with framer.get_buffer(rng.choice((1, 7, 4096, 65536))) as room:
            n = min(len(room), rng.randint(0, len(room)), len(stream) - position)
            room[:n] = stream[position : position + n]
        framer.buffer_updated(n)
        position += n
        got += drain(framer)
    middle = got[len(STREAM_PACKETS) : -len(STREAM_PACKETS)]
    assert got[: len(STREAM_PACKETS)] == got[-len(STREAM_PACKETS) :] == STREAM_PACKETS
    assert [len(p.payload) for p in middle if isinstance(p, Data)] == [100_000] * 3
    assert framer.buffered == 0


def test_buffered_counts_unreturned_bytes() -> None:
    framer = PacketFramer()
    framer.feed(INIT_EVENT_ACK + OK_RESPONSE_TID0[:5])
    assert framer.buffered == 13
    assert framer.next_packet() == InitEventAck()
    assert framer.buffered == 5
    assert framer.next_packet() is None
    framer.feed(bytearray(OK_RESPONSE_TID0[5:]))
    framer.feed(memoryview(b""))
    assert framer.next_packet() == OperationResponse(ResponseCode.OK, 0)
    assert framer.buffered == 0


@pytest.mark.parametrize(
    "header",
    [
        h("00 00 00 00 07 00 00 00"),
        h("07 00 00 00 07 00 00 00"),
        h("00 00 00 40 0A 00 00 00"),  # 1 GiB Data packet
        h("FF FF FF FF 0A 00 00 00"),  # 4 GiB Data packet
        h("08 00 00 00 00 00 00 00"),  # type 0
        h("10 00 00 00 0F 00 00 00"),  # type 15
        h("10 00 00 00 FF FF FF FF"),
    ],
)
def test_hostile_header_raises_before_body(header: bytes) -> None:
    framer = PacketFramer()
    framer.feed(header)  # nothing of the announced body is there yet
    with pytest.raises(RemoteProtocolError):
        framer.next_packet()


def test_custom_limit() -> None:
    framer = PacketFramer(max_packet_size=64)
    assert framer.max_packet_size == 64
    framer.feed(Data(1, bytes(52)).build())  # exactly 64 bytes
    assert framer.next_packet() == Data(1, bytes(52))
    framer.feed(Data(1, bytes(53)).build())
    with pytest.raises(RemoteProtocolError):
        framer.next_packet()
    assert DEFAULT_MAX_PACKET_SIZE >= 16 * 1024 * 1024


@pytest.mark.parametrize("limit", [0, 7, -1])
def test_bad_limit_is_local_error(limit: int) -> None:
    with pytest.raises(LocalProtocolError):
        PacketFramer(max_packet_size=limit)


def test_framer_error_is_sticky() -> None:
    framer = PacketFramer()
    framer.feed(h("08 00 00 00 0F 00 00 00") + INIT_EVENT_ACK)
    with pytest.raises(RemoteProtocolError) as first:
        framer.next_packet()
    with pytest.raises(RemoteProtocolError) as again:
        framer.next_packet()
    assert again.value is first.value
    with pytest.raises(RemoteProtocolError):
        framer.feed(INIT_EVENT_ACK)


def test_malformed_payload_in_stream() -> None:
    framer = PacketFramer()
    framer.feed(OK_RESPONSE_TID0 + h("0A 00 00 00 0B 00 00 00 00 00"))  # Cancel, tid cut
    assert framer.next_packet() == OperationResponse(ResponseCode.OK, 0)
    with pytest.raises(RemoteProtocolError):
        framer.next_packet()


def test_large_data_packets_in_small_reads_stay_linear() -> None:
    # 32 packets of 1 MiB fed in 4 KiB reads. Quadratic copying would take minutes here.
    framer = PacketFramer()
    body = bytes(range(256)) * 4096
    packet = Data(3, body).build()
    count = 0
    peak = 0
    for _ in range(32):
        for i in range(0, len(packet), 4096):
            framer.feed(packet[i : i + 4096])
            peak = max(peak, framer.buffered)
            for got in framer:
                assert got == Data(3, body)
                count += 1
    assert count == 32
    assert peak <= len(packet)
    assert framer.buffered == 0


@settings(max_examples=200)
@given(st.lists(packets, max_size=6), st.lists(st.integers(0, 4000), max_size=8))
def test_framer_reassembles_any_split(items: list[Packet], cuts: list[int]) -> None:
    stream = b"".join(p.build() for p in items)
    bounds = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    framer = PacketFramer()
    got: list[Packet] = []
    for a, b in itertools.pairwise(bounds):
        framer.feed(stream[a:b])
        got += drain(framer)
    assert got == items
    assert framer.buffered == 0


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=40), max_size=6))
def test_framer_fuzz(chunks: list[bytes]) -> None:
    framer = PacketFramer(max_packet_size=1024)
    with contextlib.suppress(RemoteProtocolError):
        for chunk in chunks:
            framer.feed(chunk)
            drain(framer)


# --------------------------------------------------------------------------------------------
# Data phases: sender


def parsed(raw_packets: Iterator[bytes]) -> list[Packet]:
    return [parse_packet(raw) for raw in raw_packets]


def test_sender_last_chunk_rides_in_end_data() -> None:
    got = parsed(iter_data_packets(5, 100, [PAYLOAD_100], max_payload=40))
    assert got == [
        StartData(5, 100),
        Data(5, PAYLOAD_100[:40]),
        Data(5, PAYLOAD_100[40:80]),
        EndData(5, PAYLOAD_100[80:]),
    ]


def test_sender_exact_multiple_has_no_empty_end_data() -> None:
    got = parsed(iter_data_packets(5, 80, [PAYLOAD_100[:80]], max_payload=40))
    assert got == [StartData(5, 80), Data(5, PAYLOAD_100[:40]), EndData(5, PAYLOAD_100[40:80])]


def test_sender_zero_length_phase() -> None:
    raw = list(iter_data_packets(5, 0, []))
    assert raw == [
        h("14 00 00 00 09 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00"),
        h("0C 00 00 00 0C 00 00 00 05 00 00 00"),
    ]
    assert parsed(iter_data_packets(5, 0, [b"", b""])) == [StartData(5, 0), EndData(5)]


def test_sender_coalesces_small_chunks() -> None:
    chunks = [PAYLOAD_100[i : i + 3] for i in range(0, 100, 3)]
    got = parsed(iter_data_packets(2, 100, chunks, max_payload=50))
    assert got == [StartData(2, 100), Data(2, PAYLOAD_100[:50]), EndData(2, PAYLOAD_100[50:])]


def test_sender_unknown_length() -> None:
    got = parsed(iter_data_packets(2, UNKNOWN_DATA_LENGTH, [b"ab", bytearray(b"cd")]))
    assert got == [StartData(2, UNKNOWN_DATA_LENGTH), EndData(2, b"abcd")]


def test_sender_rejects_wrong_byte_counts() -> None:
    over = iter_data_packets(2, 3, [b"ab", b"cd"])
    assert next(over) == StartData(2, 3).build()
    with pytest.raises(LocalProtocolError):
        list(over)
    with pytest.raises(LocalProtocolError):
        list(iter_data_packets(2, 3, [b"ab"]))


@pytest.mark.parametrize("bad", [0, -5])
def test_sender_rejects_bad_max_payload(bad: int) -> None:
    with pytest.raises(LocalProtocolError):
        iter_data_packets(2, 3, [b"abc"], max_payload=bad)


def test_sender_rejects_bad_total_eagerly() -> None:
    with pytest.raises(LocalProtocolError):
        iter_data_packets(2, -1, [])


def test_sender_is_lazy_and_bounded() -> None:
    pulled = 0

    def chunks() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(64):
            pulled += 1
            yield bytes(16 * 1024)

    it = iter_data_packets(1, 1024 * 1024, chunks(), max_payload=64 * 1024)
    assert next(it) == StartData(1, 1024 * 1024).build()
    assert pulled == 0
    first_data = next(it)
    assert len(first_data) == 12 + 64 * 1024
    assert pulled <= 8  # at most one held payload plus the one being filled
    rest = list(it)
    assert all(len(p) <= 12 + 64 * 1024 for p in rest)


@settings(max_examples=200)
@given(
    payload=st.binary(max_size=3000),
    max_payload=st.integers(1, 700),
    chunk_cuts=st.lists(st.integers(0, 3000), max_size=6),
    read_cuts=st.lists(st.integers(0, 4000), max_size=6),
)
def test_data_phase_end_to_end(
    payload: bytes, max_payload: int, chunk_cuts: list[int], read_cuts: list[int]
) -> None:
    cuts = sorted({0, len(payload), *(c for c in chunk_cuts if c <= len(payload))})
    chunks = [payload[a:b] for a, b in itertools.pairwise(cuts)]
    stream = b"".join(iter_data_packets(9, len(payload), chunks, max_payload=max_payload))
    stream += OperationResponse(ResponseCode.OK, 9).build()
    framer = PacketFramer()
    bounds = sorted({0, len(stream), *(c for c in read_cuts if c <= len(stream))})
    received = bytearray()
    start: StartData | None = None
    ended = False
    response: OperationResponse | None = None
    for a, b in itertools.pairwise(bounds):
        framer.feed(stream[a:b])
        for packet in framer:
            if isinstance(packet, StartData):
                start = packet
            elif isinstance(packet, Data | EndData):
                assert start is not None and not ended
                assert packet.transaction_id == start.transaction_id == 9
                assert len(packet.payload) <= max_payload
                received += packet.payload
                ended = isinstance(packet, EndData)
            else:
                assert isinstance(packet, OperationResponse)
                assert start is not None and start.total_length == len(payload)
                assert ended
                response = packet
    assert bytes(received) == payload
    assert response == OperationResponse(ResponseCode.OK, 9)


def test_piece_missing_counts_what_completes_the_piece_in_progress() -> None:
    framer = PacketFramer(max_piece=1000)
    assert framer.piece_missing() == 0  # nothing in progress
    packet = Data(5, bytes(range(256)) * 10).build()  # 2,560 payload bytes: pieces 1000, 1000, 560
    framer.feed(packet[: 12 + 300])
    assert list(framer) == [] and framer.piece_missing() == 700
    framer.feed(packet[12 + 300 : 12 + 1000])
    assert [len(p.payload) for p in framer] == [1000]  # type: ignore[attr-defined]
    assert framer.piece_missing() == 1000
    framer.feed(packet[12 + 1000 : 12 + 2100])
    assert [len(p.payload) for p in framer] == [1000]  # type: ignore[attr-defined]
    assert framer.piece_missing() == 560 - 100  # the last piece is the rest of the packet
    framer.feed(packet[12 + 2100 :])
    assert [len(p.payload) for p in framer] == [560]  # type: ignore[attr-defined]
    assert framer.piece_missing() == 0
    assert PacketFramer().piece_missing() == 0  # no max_piece: packets are never cut
