"""USB generic container framing (USB Still Image class, PTP): lengths of 4 GiB
and more, zero-length packets."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from openwpd.protocol.codes import ContainerType, EventCode, OperationCode, ResponseCode
from openwpd.protocol.container import (
    HEADER_SIZE,
    MAX_NON_DATA_LENGTH,
    UNKNOWN_LENGTH,
    BulkInFramer,
    Command,
    ContainerFinished,
    ContainerHeader,
    ContainerStarted,
    DataHeader,
    DataPayload,
    Event,
    FramedPiece,
    Response,
    build_command,
    build_data_header,
    build_event,
    build_response,
    needs_zlp,
    parse_container,
)
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

U16_MAX = 2**16 - 1
U32_MAX = 2**32 - 1
u16s = st.integers(0, U16_MAX)
u32s = st.integers(0, U32_MAX)
mps_values = st.sampled_from([8, 16, 64, 512, 1024])


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def le32(value: int) -> bytes:
    return value.to_bytes(4, "little")


# --------------------------------------------------------------------------------------------
# Golden vectors typed from the USB Still Image class container layout

OPEN_SESSION_TID0 = h("10 00 00 00  01 00  02 10  00 00 00 00  01 00 00 00")
OK_RESPONSE_TID0 = h("0C 00 00 00  03 00  01 20  00 00 00 00")


def test_golden_open_session_command() -> None:
    assert build_command(OperationCode.OPEN_SESSION, 0, [1]) == OPEN_SESSION_TID0
    assert parse_container(OPEN_SESSION_TID0) == Command(OperationCode.OPEN_SESSION, 0, (1,))


def test_golden_ok_response() -> None:
    assert build_response(ResponseCode.OK, 0) == OK_RESPONSE_TID0
    assert parse_container(OK_RESPONSE_TID0) == Response(ResponseCode.OK, 0, ())


@pytest.mark.parametrize("payload_size", [0, 1, 500, 0xFFFFFFFF - 13])
@pytest.mark.parametrize("tid", [1, 0x01020304])
def test_golden_get_device_info_data_header(payload_size: int, tid: int) -> None:
    expected = le32(12 + payload_size) + h("02 00 01 10") + le32(tid)
    assert build_data_header(OperationCode.GET_DEVICE_INFO, tid, payload_size) == expected
    parsed = parse_container(expected)
    assert parsed == DataHeader(OperationCode.GET_DEVICE_INFO, tid, payload_size)


@pytest.mark.parametrize("tid", [0, 7, 0xFFFFFFFE])
def test_golden_object_added_event(tid: int) -> None:
    expected = h("10 00 00 00 04 00 02 40") + le32(tid) + h("34 12 00 00")
    assert build_event(EventCode.OBJECT_ADDED, tid, [0x1234]) == expected
    assert parse_container(expected) == Event(EventCode.OBJECT_ADDED, tid, (0x1234,))


def test_header_parse_and_build() -> None:
    raw = h("10 00 00 00 04 00 02 40 09 00 00 00")
    header = ContainerHeader.parse(raw + b"trailing bytes are ignored")
    assert header == ContainerHeader(16, ContainerType.EVENT, EventCode.OBJECT_ADDED, 9)
    assert header.build() == raw
    assert header.payload_length == 4
    assert (
        ContainerHeader(
            UNKNOWN_LENGTH, ContainerType.DATA, OperationCode.GET_OBJECT, 1
        ).payload_length
        is None
    )


# --------------------------------------------------------------------------------------------
# Data container length field, ≥ 4 GiB (USB Still Image class)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (0, 12),
        (0xFFFFFFFF - 13, 0xFFFFFFFE),
        (0xFFFFFFFF - 12, 0xFFFFFFFF),  # fits exactly; reads the same as "unknown"
        (0xFFFFFFFF - 11, 0xFFFFFFFF),
        (5 * 2**30, 0xFFFFFFFF),
        (None, 0xFFFFFFFF),
    ],
)
def test_data_header_length_field(payload: int | None, field: int) -> None:
    raw = build_data_header(OperationCode.SEND_OBJECT, 3, payload)
    assert raw[:4] == le32(field)
    assert raw[4:6] == h("02 00")


def test_data_header_unknown_length_parses_as_none() -> None:
    raw = h("FF FF FF FF 02 00 09 10 05 00 00 00")
    assert parse_container(raw) == DataHeader(OperationCode.GET_OBJECT, 5, None)
    # Payload bytes after an unknown-length header are allowed in the bytes given.
    assert parse_container(raw + b"x" * 100) == DataHeader(OperationCode.GET_OBJECT, 5, None)


def test_data_container_with_partial_payload_parses() -> None:
    raw = h("20 00 00 00 02 00 01 10 01 00 00 00") + b"abc"
    assert parse_container(raw) == DataHeader(OperationCode.GET_DEVICE_INFO, 1, 20)


def test_data_container_with_more_bytes_than_its_length_is_rejected() -> None:
    raw = h("0D 00 00 00 02 00 01 10 01 00 00 00") + b"ab"
    with pytest.raises(RemoteProtocolError):
        parse_container(raw)


# --------------------------------------------------------------------------------------------
# Builders: invalid values are our caller's fault


@pytest.mark.parametrize(
    ("builder", "limit"), [(build_command, 5), (build_response, 5), (build_event, 3)]
)
def test_too_many_params_is_local_error(builder: object, limit: int) -> None:
    assert callable(builder)
    builder(OperationCode.GET_DEVICE_INFO, 1, [0] * limit)  # the limit itself is fine
    with pytest.raises(LocalProtocolError):
        builder(OperationCode.GET_DEVICE_INFO, 1, [0] * (limit + 1))


@pytest.mark.parametrize(
    "args",
    [
        (2**16, 1, []),
        (-1, 1, []),
        (OperationCode.GET_DEVICE_INFO, 2**32, []),
        (OperationCode.GET_DEVICE_INFO, -1, []),
        (OperationCode.GET_DEVICE_INFO, 1, [2**32]),
        (OperationCode.GET_DEVICE_INFO, 1, [-1]),
    ],
)
def test_out_of_range_values_are_local_errors(args: tuple[int, int, list[int]]) -> None:
    with pytest.raises(LocalProtocolError):
        build_command(*args)


@pytest.mark.parametrize("payload", [-1, 1.5, "3"])
def test_bad_payload_length_is_local_error(payload: object) -> None:
    with pytest.raises(LocalProtocolError):
        build_data_header(OperationCode.GET_OBJECT, 1, payload)  # type: ignore[arg-type]


def test_header_build_rejects_bad_values() -> None:
    with pytest.raises(LocalProtocolError):
        ContainerHeader(11, ContainerType.COMMAND, OperationCode.GET_DEVICE_INFO, 0).build()
    with pytest.raises(LocalProtocolError):
        ContainerHeader(12, 0x10000, OperationCode.GET_DEVICE_INFO, 0).build()


# --------------------------------------------------------------------------------------------
# Parsing whole containers


def test_command_param_count_derived_from_length() -> None:
    for n in range(6):
        raw = (
            le32(12 + 4 * n) + h("01 00 04 10") + le32(9) + b"".join(le32(i + 1) for i in range(n))
        )
        parsed = parse_container(raw)
        assert parsed == Command(OperationCode.GET_STORAGE_IDS, 9, tuple(range(1, n + 1)))


def test_command_tolerates_surplus_parameters_and_padding() -> None:
    # Decision (documented in parse_container): commands are parsed leniently.
    six = h("24 00 00 00 01 00 02 10 00 00 00 00") + b"".join(le32(i) for i in range(1, 7))
    assert parse_container(six) == Command(OperationCode.OPEN_SESSION, 0, (1, 2, 3, 4, 5))
    unaligned = h("13 00 00 00 01 00 02 10 00 00 00 00 01 00 00 00 AA BB CC")
    assert parse_container(unaligned) == Command(OperationCode.OPEN_SESSION, 0, (1,))
    tiny = h("0E 00 00 00 01 00 02 10 00 00 00 00 AA BB")
    assert parse_container(tiny) == Command(OperationCode.OPEN_SESSION, 0, ())


def test_missing_params_read_as_zero() -> None:
    cmd = Command(OperationCode.GET_OBJECT_HANDLES, 1, (0x10001,))
    assert cmd.param(0) == 0x10001
    assert cmd.param(1) == 0
    assert cmd.param(4) == 0
    assert cmd.param(-1) == 0
    assert Response(ResponseCode.OK, 1, (5,)).param(0) == 5
    assert Event(EventCode.OBJECT_ADDED, 1).param(2) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        h("0C 00 00 00 03 00 01 20 00 00 00"),  # 11 bytes
        h("0B 00 00 00 03 00 01 20 00 00 00 00"),  # length below the header
        h("00 00 00 00 02 00 01 10 00 00 00 00"),  # data, length 0
        h("10 00 00 00 03 00 01 20 00 00 00 00"),  # length says 16, 12 given
        h("0C 00 00 00 03 00 01 20 00 00 00 00 00 00 00 00"),  # length 12, 16 given
        h("0C 00 00 00 00 00 01 20 00 00 00 00"),  # type 0 undefined
        h("0C 00 00 00 05 00 01 20 00 00 00 00"),  # type 5 not known
        h("0C 00 00 00 FF FF 01 20 00 00 00 00"),
        h("0E 00 00 00 03 00 01 20 00 00 00 00 01 00"),  # response, unaligned
        h("0E 00 00 00 04 00 02 40 00 00 00 00 01 00"),  # event, unaligned
        le32(12 + 24) + h("03 00 01 20 00 00 00 00") + bytes(24),  # response, 6 params
        le32(12 + 16) + h("04 00 02 40 00 00 00 00") + bytes(16),  # event, 4 params
        h("FF FF FF FF 03 00 01 20 00 00 00 00"),  # unknown length on a response
    ],
)
def test_malformed_containers_raise_remote_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_container(raw)


ALL_GOLDEN = [
    OPEN_SESSION_TID0,
    OK_RESPONSE_TID0,
    h("10 00 00 00 04 00 02 40 07 00 00 00 34 12 00 00"),
    build_command(OperationCode.GET_OBJECT_HANDLES, 3, [1, 2, 3, 4, 5]),
    build_response(ResponseCode.OK, 3, [1, 2, 3, 4, 5]),
    build_event(EventCode.OBJECT_ADDED, 3, [1, 2, 3]),
]


@pytest.mark.parametrize("raw", ALL_GOLDEN)
def test_every_truncation_raises_remote_error_only(raw: bytes) -> None:
    for cut in range(len(raw)):
        with pytest.raises(RemoteProtocolError):
            parse_container(raw[:cut])


def test_truncated_data_header_raises_remote_error() -> None:
    raw = build_data_header(OperationCode.GET_OBJECT, 1, 1000)
    for cut in range(HEADER_SIZE):
        with pytest.raises(RemoteProtocolError):
            parse_container(raw[:cut])


@given(st.binary(max_size=64))
def test_parse_container_fuzz(raw: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_container(raw)


# --------------------------------------------------------------------------------------------
# Round trips


params = st.lists(u32s, max_size=5).map(tuple)


@given(u16s, u32s, params)
def test_command_round_trip(code: int, tid: int, ps: tuple[int, ...]) -> None:
    cmd = Command(code, tid, ps)
    raw = cmd.build()
    assert len(raw) == 12 + 4 * len(ps)
    assert parse_container(raw) == cmd


@given(u16s, u32s, params)
def test_response_round_trip(code: int, tid: int, ps: tuple[int, ...]) -> None:
    resp = Response(code, tid, ps)
    assert parse_container(resp.build()) == resp


@given(u16s, u32s, st.lists(u32s, max_size=3).map(tuple))
def test_event_round_trip(code: int, tid: int, ps: tuple[int, ...]) -> None:
    event = Event(code, tid, ps)
    assert parse_container(event.build()) == event


@given(u16s, u32s, st.none() | st.integers(0, U32_MAX - 13))
def test_data_header_round_trip(code: int, tid: int, size: int | None) -> None:
    header = DataHeader(code, tid, size)
    raw = header.build()
    assert len(raw) == HEADER_SIZE
    assert parse_container(raw) == header


@given(st.integers(12, U32_MAX), st.integers(0, 0xFFFF), u16s, u32s)
def test_header_round_trip(length: int, ctype: int, code: int, tid: int) -> None:
    header = ContainerHeader(length, ctype, code, tid)
    assert ContainerHeader.parse(header.build()) == header


# --------------------------------------------------------------------------------------------
# needs_zlp


@pytest.mark.parametrize(
    ("length", "mps", "expected"),
    [
        (12, 512, False),
        (512, 512, True),
        (1024, 512, True),
        (1025, 512, False),
        (64, 64, True),
        (24, 8, True),
        (12, 8, False),
        (0xFFFFFFFF, 512, False),
        (2**32 + 512 * 3, 512, True),  # ≥ 4 GiB: the bytes sent count, not the length field
    ],
)
def test_needs_zlp(length: int, mps: int, expected: bool) -> None:
    assert needs_zlp(length, mps) is expected


def test_needs_zlp_rejects_bad_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        needs_zlp(11, 512)
    with pytest.raises(LocalProtocolError):
        needs_zlp(512, 0)


# --------------------------------------------------------------------------------------------
# BulkInFramer


def data_container(code: int, tid: int, payload: bytes) -> bytes:
    return build_data_header(code, tid, len(payload)) + payload


def collect(
    framer: BulkInFramer, transfers: Iterable[bytes], read_size: int | None = None
) -> list[FramedPiece]:
    out: list[FramedPiece] = []
    for transfer in transfers:
        out.extend(framer.feed(transfer, read_size=read_size))
    return out


def payload_of(pieces: list[FramedPiece]) -> bytes:
    return b"".join(p.data for p in pieces if isinstance(p, DataPayload))


def test_header_and_payload_in_one_transfer() -> None:
    framer = BulkInFramer(512)
    raw = data_container(OperationCode.GET_DEVICE_INFO, 1, b"hello")
    pieces = framer.feed(raw)
    header = ContainerHeader(17, ContainerType.DATA, OperationCode.GET_DEVICE_INFO, 1)
    assert pieces == [
        ContainerStarted(header),
        DataPayload(b"hello"),
        ContainerFinished(header, 5),
    ]
    assert framer.idle


def test_header_alone_then_payload() -> None:
    # USB Still Image class: some devices send the 12-byte header in its own short transfer.
    framer = BulkInFramer(512)
    raw = data_container(OperationCode.GET_OBJECT, 2, b"x" * 700)
    first = framer.feed(raw[:12])
    assert [type(p) for p in first] == [ContainerStarted]
    assert framer.in_data_phase
    rest = framer.feed(raw[12:])
    assert rest[-1] == ContainerFinished(ContainerHeader.parse(raw), 700)
    assert payload_of(rest) == b"x" * 700


def test_header_alone_then_payload_unknown_length() -> None:
    framer = BulkInFramer(512)
    header = build_data_header(OperationCode.GET_OBJECT, 2, None)
    assert [type(p) for p in framer.feed(header)] == [ContainerStarted]
    assert framer.feed(b"a" * 512) == [DataPayload(b"a" * 512)]
    pieces = framer.feed(b"b" * 10)
    assert pieces[0] == DataPayload(b"b" * 10)
    assert pieces[1] == ContainerFinished(ContainerHeader.parse(header), 522)


def test_data_phase_over_many_transfers_ends_by_count() -> None:
    framer = BulkInFramer(64)
    payload = bytes(range(256)) * 4  # 1024 bytes; container 1036
    raw = data_container(OperationCode.GET_OBJECT, 3, payload)
    transfers = [raw[i : i + 128] for i in range(0, len(raw), 128)]
    pieces = collect(framer, transfers)
    assert isinstance(pieces[0], ContainerStarted)
    assert pieces[-1] == ContainerFinished(ContainerHeader.parse(raw), 1024)
    assert payload_of(pieces) == payload
    assert framer.idle


def test_trailing_zlp_after_mps_multiple_is_swallowed_then_response() -> None:
    framer = BulkInFramer(512)
    raw = data_container(OperationCode.GET_OBJECT, 4, b"z" * (1024 - 12))
    assert needs_zlp(len(raw), 512)
    pieces = collect(framer, [raw, b"", OK_RESPONSE_TID0])
    assert [type(p) for p in pieces] == [
        ContainerStarted,
        DataPayload,
        ContainerFinished,
        Response,
    ]
    assert pieces[-1] == Response(ResponseCode.OK, 0)


def test_stray_zlps_before_response_are_tolerated() -> None:
    framer = BulkInFramer(512)
    assert framer.feed(b"") == []
    assert framer.feed(b"") == []
    assert framer.feed(OK_RESPONSE_TID0) == [Response(ResponseCode.OK, 0)]


def test_unknown_length_read_to_short_packet() -> None:
    framer = BulkInFramer(512)
    header = build_data_header(OperationCode.GET_OBJECT, 6, None)
    first = header + b"a" * (1024 - 12)
    pieces = collect(framer, [first, b"b" * 1024, b"c" * 100, OK_RESPONSE_TID0])
    started = ContainerHeader(UNKNOWN_LENGTH, ContainerType.DATA, OperationCode.GET_OBJECT, 6)
    assert pieces[0] == ContainerStarted(started)
    assert pieces[-2] == ContainerFinished(started, 1012 + 1024 + 100)
    assert payload_of(pieces) == b"a" * 1012 + b"b" * 1024 + b"c" * 100
    assert pieces[-1] == Response(ResponseCode.OK, 0)


def test_unknown_length_read_to_zlp() -> None:
    framer = BulkInFramer(512)
    header = build_data_header(OperationCode.GET_OBJECT, 6, None)
    pieces = collect(framer, [header + b"a" * 500, b"b" * 512])
    assert framer.in_data_phase
    assert pieces[-1] == DataPayload(b"b" * 512)
    assert framer.feed(b"") == [
        ContainerFinished(ContainerHeader.parse(header), 1012),
    ]
    assert framer.idle


def test_zlp_inside_a_larger_read_ends_unknown_length_phase() -> None:
    # MPS 8, 4-byte payload: 16 bytes = two full packets + ZLP. A 24-byte read returns the 16
    # bytes; only the read size shows that the ZLP ended it.
    header = build_data_header(OperationCode.GET_OBJECT, 1, None)
    framer = BulkInFramer(8)
    pieces = framer.feed(header + b"abcd", read_size=24)
    assert pieces[-1] == ContainerFinished(ContainerHeader.parse(header), 4)
    # Without the read size the same bytes look like a full transfer: the phase goes on.
    framer = BulkInFramer(8)
    assert framer.feed(header + b"abcd")[-1] == DataPayload(b"abcd")
    assert framer.in_data_phase
    # A read that filled its buffer exactly is not short.
    framer = BulkInFramer(8)
    framer.feed(header + b"abcd", read_size=16)
    assert framer.in_data_phase


def test_empty_data_phase() -> None:
    # PTP: a data container of just the header is a legal empty data phase.
    framer = BulkInFramer(512)
    header = build_data_header(OperationCode.SEND_OBJECT, 9, 0)
    parsed = ContainerHeader.parse(header)
    assert framer.feed(header) == [ContainerStarted(parsed), ContainerFinished(parsed, 0)]
    assert framer.idle


def test_response_instead_of_data() -> None:
    # PTP: an R→I operation may skip the data phase and answer directly.
    framer = BulkInFramer(512)
    raw = build_response(ResponseCode.INVALID_OBJECT_HANDLE, 7)
    assert framer.feed(raw) == [Response(ResponseCode.INVALID_OBJECT_HANDLE, 7)]


def test_response_in_same_transfer_after_missing_zlp() -> None:
    # A device that omits the ZLP makes the host read the response in the same transfer.
    framer = BulkInFramer(512)
    raw = data_container(OperationCode.GET_OBJECT, 8, b"q" * (512 - 12))
    pieces = framer.feed(raw + build_response(ResponseCode.OK, 8))
    assert [type(p) for p in pieces] == [
        ContainerStarted,
        DataPayload,
        ContainerFinished,
        Response,
    ]
    assert payload_of(pieces) == b"q" * 500


def test_device_side_frames_commands() -> None:
    framer = BulkInFramer(512)
    cmd = build_command(OperationCode.SEND_OBJECT_INFO, 10, [0x10001, 0xFFFFFFFF])
    data = data_container(OperationCode.SEND_OBJECT_INFO, 10, b"info")
    pieces = collect(framer, [cmd, data])
    assert pieces[0] == Command(OperationCode.SEND_OBJECT_INFO, 10, (0x10001, 0xFFFFFFFF))
    assert payload_of(pieces) == b"info"


def test_event_on_interrupt_pipe() -> None:
    framer = BulkInFramer(28)  # Android's interrupt endpoint MPS
    raw = build_event(EventCode.OBJECT_ADDED, 0xFFFFFFFF, [0x1234])
    assert framer.feed(raw) == [Event(EventCode.OBJECT_ADDED, 0xFFFFFFFF, (0x1234,))]


def test_header_split_over_full_speed_packets() -> None:
    # Full-speed bulk endpoints may have an 8-byte MPS; a reader with an 8-byte buffer sees the
    # header in two transfers.
    framer = BulkInFramer(8)
    raw = build_command(OperationCode.OPEN_SESSION, 0, [1])  # 16 bytes
    assert framer.feed(raw[:8]) == []
    assert not framer.idle
    assert framer.feed(raw[8:]) == [Command(OperationCode.OPEN_SESSION, 0, (1,))]
    assert framer.feed(b"") == []  # the ZLP a 16-byte container needs at MPS 8


def test_data_header_split_over_full_speed_packets() -> None:
    framer = BulkInFramer(8)
    raw = data_container(OperationCode.GET_OBJECT, 1, b"abcdefghi")  # 21 bytes
    assert framer.feed(raw[:8]) == []
    pieces = framer.feed(raw[8:])
    assert payload_of(pieces) == b"abcdefghi"
    assert isinstance(pieces[-1], ContainerFinished)


@pytest.mark.parametrize(
    "transfers",
    [
        [h("0C 00 00 00 03 00")],  # short transfer ends inside a header
        [h("10 00 00 00 03 00 01 20 00 00 00 00 01 00")],  # inside a response
        [h("10 00 00 00 01 00 02 10"), b""],  # MPS 8, a ZLP inside a command
        [build_data_header(OperationCode.GET_OBJECT, 1, 1000) + b"x" * 100],  # data phase cut short
        [
            build_data_header(OperationCode.GET_OBJECT, 1, 1000) + b"x" * 500,
            b"",
        ],  # ZLP before the end
        [
            build_data_header(OperationCode.GET_OBJECT, 1, 1000),
            b"x" * 100,
        ],  # cut short after header alone
        [h("0C 00 00 00 00 00 01 20 00 00 00 00")],  # type 0
        [h("0C 00 00 00 07 00 01 20 00 00 00 00")],  # type 7
        [h("0B 00 00 00 03 00 01 20 00 00 00 00")],  # length below the header
        [le32(MAX_NON_DATA_LENGTH + 4) + h("03 00 01 20 00 00 00 00")],  # huge response
        [h("FF FF FF FF 03 00 01 20 00 00 00 00")],  # unknown length on a response
        [h("10 00 00 00 03 00 01 20 00 00 00 00 01 00 00 00 00")],  # 1 stray byte after it
    ],
)
def test_framer_malformed(transfers: list[bytes]) -> None:
    mps = 8 if len(transfers[0]) == 8 else 512
    framer = BulkInFramer(mps)
    with pytest.raises(RemoteProtocolError):
        collect(framer, transfers)


def test_framer_error_is_sticky_until_reset() -> None:
    framer = BulkInFramer(512)
    with pytest.raises(RemoteProtocolError) as first:
        framer.feed(h("0C 00 00 00 09 00 01 20 00 00 00 00"))
    with pytest.raises(RemoteProtocolError) as again:
        framer.feed(OK_RESPONSE_TID0)
    assert again.value is first.value
    framer.reset()
    assert framer.feed(OK_RESPONSE_TID0) == [Response(ResponseCode.OK, 0)]


def test_reset_drops_a_partial_data_phase() -> None:
    # After a USB cancel the transport resets the framer and the next container starts clean.
    framer = BulkInFramer(512)
    framer.feed(build_data_header(OperationCode.GET_OBJECT, 1, 10_000) + b"x" * 500)
    assert framer.in_data_phase
    framer.reset()
    assert framer.idle
    assert framer.feed(build_response(ResponseCode.TRANSACTION_CANCELLED, 1)) == [
        Response(ResponseCode.TRANSACTION_CANCELLED, 1)
    ]


def test_framer_accepts_bytearray_and_memoryview() -> None:
    framer = BulkInFramer(512)
    assert framer.feed(bytearray(OK_RESPONSE_TID0)) == [Response(ResponseCode.OK, 0)]
    assert framer.feed(memoryview(OK_RESPONSE_TID0)) == [Response(ResponseCode.OK, 0)]
    assert framer.max_packet_size == 512


@pytest.mark.parametrize("mps", [0, -512])
def test_framer_rejects_bad_mps(mps: int) -> None:
    with pytest.raises(LocalProtocolError):
        BulkInFramer(mps)


# ---- the ≥ 4 GiB length hint (USB Still Image class: gphoto/libmtp senders truncate the length
# field)


def test_hint_overrides_truncated_length() -> None:
    real = 2**32 + 100
    truncated = (12 + real) & 0xFFFFFFFF  # what gphoto writes: 112
    framer = BulkInFramer(512)
    framer.expect_data_length(real)
    header = le32(truncated) + h("02 00 0D 10 02 00 00 00")
    framer.feed(header + b"x" * (512 - 12))
    for _ in range(2048):  # 1 MiB more, far past the 100 bytes the field claims
        assert framer.feed(b"y" * 512) == [DataPayload(b"y" * 512)]
    assert framer.in_data_phase


def test_hint_completes_unknown_length_by_count() -> None:
    framer = BulkInFramer(512)
    framer.expect_data_length(600)
    header = build_data_header(OperationCode.SEND_OBJECT, 2, None)
    pieces = framer.feed(header + b"x" * 500)  # full transfer: 512 bytes
    assert framer.in_data_phase
    pieces += framer.feed(b"y" * 100 + build_response(ResponseCode.OK, 2))
    assert pieces[-2] == ContainerFinished(ContainerHeader.parse(header), 600)
    assert pieces[-1] == Response(ResponseCode.OK, 2)


def test_hint_ignored_when_length_disagrees_and_used_once() -> None:
    framer = BulkInFramer(512)
    framer.expect_data_length(5000)
    raw = data_container(OperationCode.SEND_OBJECT, 2, b"abc")
    assert framer.feed(raw)[-1] == ContainerFinished(ContainerHeader.parse(raw), 3)
    framer.expect_data_length(3)
    assert framer.feed(raw)[-1] == ContainerFinished(ContainerHeader.parse(raw), 3)
    # The hint was consumed: an unknown-length container now reads to the short packet.
    header = build_data_header(OperationCode.SEND_OBJECT, 3, None)
    assert framer.feed(header + b"abcd")[-1] == ContainerFinished(ContainerHeader.parse(header), 4)


def test_hint_rejects_bad_values() -> None:
    framer = BulkInFramer(512)
    with pytest.raises(LocalProtocolError):
        framer.expect_data_length(-1)


# ---- a 10 MiB data phase streamed, never accumulated


def test_ten_mib_data_phase_is_streamed() -> None:
    mps = 512
    transfer_size = 64 * 1024
    total = 10 * 1024 * 1024
    framer = BulkInFramer(mps)
    seen_bytes = 0
    biggest = 0
    pieces_count = 0
    finished: list[ContainerFinished] = []

    def transfers() -> Iterator[bytes]:
        # Generated lazily: the whole payload never exists in memory at once.
        header = build_data_header(OperationCode.GET_OBJECT, 11, total)
        first = header + bytes(transfer_size - len(header))
        yield first
        left = total - len(first) + len(header)
        while left:
            n = min(transfer_size, left)
            yield bytes([left % 251]) * n
            left -= n
        if needs_zlp(total + 12, mps):
            yield b""

    for transfer in transfers():
        for piece in framer.feed(transfer):
            if isinstance(piece, DataPayload):
                assert 0 < len(piece.data) <= len(transfer)
                seen_bytes += len(piece.data)
                biggest = max(biggest, len(piece.data))
                pieces_count += 1
            elif isinstance(piece, ContainerFinished):
                finished.append(piece)
    assert seen_bytes == total
    assert biggest <= transfer_size
    assert pieces_count >= total // transfer_size
    assert [f.total_payload for f in finished] == [total]
    assert framer.idle


# --------------------------------------------------------------------------------------------
# iter_data_transfers, and a USB model tying the sender to the framer


def iter_data_transfers(
    code: int,
    transaction_id: int,
    payload_length: int | None,
    chunks: Iterable[bytes | bytearray | memoryview],
    max_packet_size: int,
    *,
    transfer_size: int | None = None,
) -> Iterator[bytes]:
    """The bulk transfers a USB sender writes for one data phase, in order: the model of the
    sending side the framer tests run against.

    Yields the data container header together with the first payload bytes, then payload
    transfers, then a ZLP (``b""``) when ``needs_zlp`` says so. Every transfer but the
    last is a multiple of ``max_packet_size`` long (and at most ``transfer_size``, default
    128 KiB rounded down to a multiple of it), so no short packet ends
    the phase early; payload chunks of any size are re-chunked, and at most one transfer's
    worth of bytes is buffered.

    ``payload_length`` None means the size is not known in advance: the header says
    ``UNKNOWN_LENGTH`` and the receiver reads to the short packet. Otherwise the chunks
    must add up to exactly ``payload_length`` bytes: LocalProtocolError is raised as soon as
    they exceed it, or at the end if they fall short (after the transfers already yielded --
    the caller must then cancel the transaction). LocalProtocolError also for a
    ``transfer_size`` that is not a positive multiple of ``max_packet_size``.
    """
    if max_packet_size <= 0:
        raise LocalProtocolError(f"invalid max packet size {max_packet_size!r}")
    if transfer_size is None:
        transfer_size = max(1, (128 * 1024) // max_packet_size) * max_packet_size
    elif transfer_size <= 0 or transfer_size % max_packet_size:
        raise LocalProtocolError(
            f"transfer size {transfer_size} is not a positive multiple of {max_packet_size}"
        )
    header = build_data_header(code, transaction_id, payload_length)
    return _iter_data_transfers(header, payload_length, chunks, max_packet_size, transfer_size)


def _iter_data_transfers(
    header: bytes,
    payload_length: int | None,
    chunks: Iterable[bytes | bytearray | memoryview],
    max_packet_size: int,
    transfer_size: int,
) -> Iterator[bytes]:
    buf = bytearray(header)
    sent = 0  # payload bytes taken from chunks so far
    while len(buf) >= transfer_size:  # full-speed endpoints: MPS 8 is smaller than a header
        yield bytes(buf[:transfer_size])
        del buf[:transfer_size]
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        sent += len(view)
        if payload_length is not None and sent > payload_length:
            raise LocalProtocolError(
                f"data phase announced {payload_length} bytes, got at least {sent}"
            )
        if buf:
            take = min(transfer_size - len(buf), len(view))
            buf += view[:take]
            view = view[take:]
            if len(buf) < transfer_size:
                continue
            yield bytes(buf)
            buf.clear()
        while len(view) >= transfer_size:
            yield bytes(view[:transfer_size])
            view = view[transfer_size:]
        buf += view
    if payload_length is not None and sent != payload_length:
        raise LocalProtocolError(f"data phase announced {payload_length} bytes, got {sent}")
    if buf:
        yield bytes(buf)
    if needs_zlp(HEADER_SIZE + sent, max_packet_size):
        yield b""


def test_transfers_header_with_first_bytes_and_zlp() -> None:
    payload = b"p" * (1024 - 12)
    transfers = list(
        iter_data_transfers(OperationCode.SEND_OBJECT, 5, len(payload), [payload], 512)
    )
    assert b"".join(transfers) == data_container(OperationCode.SEND_OBJECT, 5, payload)
    assert transfers[-1] == b""  # 1024 bytes is a multiple of 512
    assert all(len(t) % 512 == 0 for t in transfers[:-1])


def test_transfers_short_tail_needs_no_zlp() -> None:
    transfers = list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, 3, [b"a", b"bc"], 512))
    assert transfers == [h("0F 00 00 00 02 00 0D 10 05 00 00 00") + b"abc"]


def test_transfers_empty_phase() -> None:
    transfers = list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, 0, [], 512))
    assert transfers == [h("0C 00 00 00 02 00 0D 10 05 00 00 00")]
    transfers = list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, 0, [b""], 4))
    assert transfers == [h("0C 00 00 00 02 00 0D 10 05 00 00 00"), b""]


def test_transfers_unknown_length() -> None:
    transfers = list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, None, [b"xy"], 512))
    assert transfers == [h("FF FF FF FF 02 00 0D 10 05 00 00 00") + b"xy"]


def test_transfers_reject_wrong_byte_counts() -> None:
    with pytest.raises(LocalProtocolError):
        list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, 3, [b"ab", b"cd"], 512))
    with pytest.raises(LocalProtocolError):
        list(iter_data_transfers(OperationCode.SEND_OBJECT, 5, 3, [b"ab"], 512))


@pytest.mark.parametrize("size", [0, -512, 100, 513])
def test_transfers_reject_bad_transfer_size(size: int) -> None:
    with pytest.raises(LocalProtocolError):
        iter_data_transfers(OperationCode.SEND_OBJECT, 5, 3, [b"abc"], 512, transfer_size=size)


def test_transfers_are_lazy_and_bounded() -> None:
    produced = 0

    def chunks() -> Iterator[bytes]:
        nonlocal produced
        for _ in range(100):
            produced += 1
            yield b"c" * 10_000

    it = iter_data_transfers(
        OperationCode.SEND_OBJECT, 1, 1_000_000, chunks(), 512, transfer_size=4096
    )
    first = next(it)
    assert len(first) == 4096
    assert produced == 1  # nothing beyond the first chunk was pulled
    rest = list(it)
    assert all(len(t) == 4096 for t in rest[:-1])
    assert sum(map(len, [first, *rest])) == 1_000_012


def usb_deliver(writes: list[bytes], mps: int, read_size: int) -> list[bytes]:
    """Model USB: split the sender's writes into packets, then group packets into the
    receiver's transfers (a transfer ends when its buffer is full or a short packet came)."""
    packets: list[bytes] = []
    for write in writes:
        if not write:
            packets.append(b"")
            continue
        packets.extend(write[i : i + mps] for i in range(0, len(write), mps))
    transfers: list[bytes] = []
    current = bytearray()
    for packet in packets:
        current += packet
        if len(packet) < mps or len(current) == read_size:
            transfers.append(bytes(current))
            current.clear()
    assert not current, "the sender left the last transfer open"
    return transfers


@settings(max_examples=200, deadline=None)
@given(
    mps=mps_values,
    payload=st.binary(max_size=5000),
    splits=st.lists(st.integers(0, 5000), max_size=6),
    send_factor=st.integers(1, 8),
    read_factor=st.integers(1, 8),
    unknown=st.booleans(),
)
def test_sender_to_framer_over_usb_model(
    mps: int,
    payload: bytes,
    splits: list[int],
    send_factor: int,
    read_factor: int,
    unknown: bool,
) -> None:
    assume(payload or not unknown)  # an empty unknown-length phase is indistinguishable from a
    # header sent alone (USB Still Image class); no sender produces one, since unknown means ≥ 4 GiB
    cuts = sorted({0, len(payload), *(s for s in splits if s <= len(payload))})
    chunks = [payload[a:b] for a, b in itertools.pairwise(cuts)]
    size = None if unknown else len(payload)
    writes = list(
        iter_data_transfers(
            OperationCode.GET_OBJECT, 42, size, chunks, mps, transfer_size=mps * send_factor
        )
    )
    writes.append(build_response(ResponseCode.OK, 42))
    framer = BulkInFramer(mps)
    read_size = mps * read_factor
    pieces = collect(framer, usb_deliver(writes, mps, read_size), read_size)
    assert isinstance(pieces[0], ContainerStarted)
    assert pieces[0].header.transaction_id == 42
    assert payload_of(pieces) == payload
    finished = pieces[-2]
    assert isinstance(finished, ContainerFinished)
    assert finished.total_payload == len(payload)
    assert pieces[-1] == Response(ResponseCode.OK, 42)
    assert framer.idle


@settings(max_examples=300)
@given(mps=mps_values, transfers=st.lists(st.binary(max_size=80), max_size=8))
def test_framer_fuzz(mps: int, transfers: list[bytes]) -> None:
    framer = BulkInFramer(mps)
    try:
        for piece in collect(framer, transfers):
            if isinstance(piece, DataPayload):
                assert piece.data
    except RemoteProtocolError:
        pass


def test_reset_after_a_malformed_header_gives_a_working_framer() -> None:
    from openwpd.protocol.container import BulkInFramer, build_response
    from openwpd.protocol.errors import RemoteProtocolError

    framer = BulkInFramer(512)
    bad = (5).to_bytes(4, "little") + b"\x03\x00\x01\x20" + b"\x00" * 4  # length 5 < 12
    try:
        framer.feed(bad)
    except RemoteProtocolError as exc:
        kept = exc  # as a caller logging it would: its traceback holds the framer's frames
    else:
        raise AssertionError("a 5-byte container length must be refused")
    framer.reset()
    (piece,) = framer.feed(build_response(0x2001, 7))
    assert getattr(piece, "code", None) == 0x2001
    assert kept is not None
