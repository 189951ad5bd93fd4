"""The transaction state machine: every state x every input, and scripted sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.transaction import (
    SENDER_OF,
    TRANSITIONS,
    CancelFailed,
    CancelFlow,
    CancelRequested,
    CancelTransaction,
    DataChunk,
    DataFinished,
    DataReceived,
    DataStarted,
    EndData,
    Event,
    EventReceived,
    Kind,
    Message,
    Operation,
    OperationReceived,
    RequestDeviceStatus,
    Response,
    ResponseReceived,
    Role,
    SendCancel,
    StartData,
    State,
    Timeouts,
    TransactionCancelled,
    TransactionMachine,
    TransactionTimedOut,
    next_tid,
)

OPEN_SESSION = 0x1002
CLOSE_SESSION = 0x1003
GET_DEVICE_INFO = 0x1001
GET_OBJECT = 0x1009
SEND_OBJECT = 0x100D
OK = ResponseCode.OK
OBJECT_ADDED = 0x4002


class Link:
    """An initiator and a responder machine back to back, with a fake clock."""

    def __init__(
        self, flow: CancelFlow = CancelFlow.PTPIP, timeouts: Timeouts | None = None
    ) -> None:
        self.now = 0.0
        t = timeouts or Timeouts(response=2.0, cancel_budget=1.0, status_poll=0.05)
        self.ini = TransactionMachine(Role.INITIATOR, flow, t)
        self.res = TransactionMachine(Role.RESPONDER, flow, t)

    def tick(self, seconds: float) -> None:
        self.now += seconds

    def to_res(self, msg: Message) -> list[object]:
        sent = self.ini.send(msg, self.now)
        return list(self.res.receive(sent, self.now))

    def to_ini(self, msg: Message) -> list[object]:
        sent = self.res.send(msg, self.now)
        return list(self.ini.receive(sent, self.now))

    def open(self) -> None:
        (ev,) = self.to_res(Operation(OPEN_SESSION, (1,)))
        assert ev == OperationReceived(OPEN_SESSION, 0, (1,), True)
        assert self.to_ini(Response(OK)) == [ResponseReceived(OK, 0, ())]
        assert self.ini.session_id == self.res.session_id == 1

    def data_in(self, code: int, payload: bytes, chunk: int = 65536) -> bytes:
        """A whole data-in transaction; returns the bytes the initiator saw."""
        (op,) = self.to_res(Operation(code, (7,)))
        assert isinstance(op, OperationReceived) and op.tid_ok
        got = bytearray()
        events = self.to_ini(StartData(len(payload)))
        assert events == [DataStarted(op.tid, len(payload))]
        for i in range(0, len(payload), chunk):
            for ev in self.to_ini(DataChunk(payload[i : i + chunk])):
                assert isinstance(ev, DataReceived) and ev.tid == op.tid
                got += ev.data
            self.tick(0.001)
        assert self.to_ini(EndData()) == [DataFinished(op.tid, len(payload))]
        assert self.to_ini(Response(OK)) == [ResponseReceived(OK, op.tid, ())]
        return bytes(got)

    def data_out(self, code: int, payload: bytes, chunk: int = 65536) -> bytes:
        (op,) = self.to_res(Operation(code))
        assert isinstance(op, OperationReceived)
        got = bytearray()
        assert self.to_res(StartData(len(payload))) == [DataStarted(op.tid, len(payload))]
        for i in range(0, len(payload), chunk):
            for ev in self.to_res(DataChunk(payload[i : i + chunk])):
                assert isinstance(ev, DataReceived)
                got += ev.data
        assert self.to_res(EndData()) == [DataFinished(op.tid, len(payload))]
        assert self.to_ini(Response(OK)) == [ResponseReceived(OK, op.tid, ())]
        return bytes(got)

    def simple(self, code: int = GET_DEVICE_INFO) -> int:
        (op,) = self.to_res(Operation(code))
        assert isinstance(op, OperationReceived)
        assert self.to_ini(Response(OK)) == [ResponseReceived(OK, op.tid, ())]
        return op.tid


# --- scripted sessions -----------------------------------------------------------------------


def test_scripted_ptpip_session_with_every_cancel_shape() -> None:
    link = Link()
    # GetDeviceInfo outside a session uses tid 0
    assert link.data_in(GET_DEVICE_INFO, b"info") == b"info"
    link.open()
    assert link.ini.state is link.res.state is State.IDLE

    # 10 MB data-in streamed in chunks: nothing holds it but the test
    payload = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    got = link.data_in(GET_OBJECT, payload)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()

    # data-out
    up = b"x" * 300_000
    assert link.data_out(SEND_OBJECT, up) == up

    # cancel during data-in: the responder had already sent two more chunks
    (op,) = link.to_res(Operation(GET_OBJECT, (9,)))
    assert isinstance(op, OperationReceived)
    link.to_ini(StartData(1_000_000))
    link.to_ini(DataChunk(b"a" * 1000))
    assert link.ini.cancel(link.now) == []
    assert link.ini.pending_actions() == [SendCancel(op.tid)]
    in_flight = [link.res.send(DataChunk(b"b" * 1000), link.now) for _ in range(2)]
    assert link.res.receive(CancelTransaction(op.tid), link.now) == [CancelRequested(op.tid)]
    assert link.res.receive(CancelTransaction(op.tid), link.now) == []  # second connection
    for msg in in_flight:
        assert link.ini.receive(msg, link.now) == []  # discarded
    resp = link.res.complete_cancel(link.now)
    assert resp == Response(ResponseCode.TRANSACTION_CANCELLED, (), op.tid)
    (done,) = link.ini.receive(resp, link.now)
    assert done == TransactionCancelled(
        op.tid, ResponseReceived(ResponseCode.TRANSACTION_CANCELLED, op.tid, ())
    )
    assert link.ini.state is link.res.state is State.IDLE
    assert link.simple() == next_tid(op.tid)

    # cancel during data-out: the initiator stops at a packet boundary
    (op,) = link.to_res(Operation(SEND_OBJECT))
    assert isinstance(op, OperationReceived)
    link.to_res(StartData(500_000))
    link.to_res(DataChunk(b"c" * 65536))
    link.ini.cancel(link.now)
    assert link.ini.pending_actions() == [SendCancel(op.tid)]
    with pytest.raises(LocalProtocolError):
        link.ini.send(DataChunk(b"late"), link.now)
    assert link.res.receive(CancelTransaction(op.tid), link.now) == [CancelRequested(op.tid)]
    assert link.res.device_status is ResponseCode.DEVICE_BUSY
    resp = link.res.complete_cancel(link.now)
    assert resp is not None
    (done,) = link.ini.receive(resp, link.now)
    assert isinstance(done, TransactionCancelled) and done.tid == op.tid
    # a stray Data for the cancelled transaction reaching the responder late is dropped
    assert link.res.receive(DataChunk(b"stray", op.tid), link.now) == []
    assert link.simple() == next_tid(op.tid)

    # cancel while waiting for the response
    (op,) = link.to_res(Operation(0x100B, (5,)))
    assert isinstance(op, OperationReceived)
    link.ini.cancel(link.now)
    assert link.ini.cancel(link.now) == []  # already cancelling: no-op
    assert link.ini.pending_actions() == [SendCancel(op.tid)]
    link.res.receive(CancelTransaction(op.tid), link.now)
    resp = link.res.complete_cancel(link.now)
    assert resp is not None
    (done,) = link.ini.receive(resp, link.now)
    assert isinstance(done, TransactionCancelled)

    # a response timeout becomes a cancel, and the session survives it
    (op,) = link.to_res(Operation(GET_OBJECT, (3,)))
    assert isinstance(op, OperationReceived)
    assert link.ini.get_timer() == pytest.approx(link.now + 2.0)
    link.tick(1.0)
    assert link.ini.handle_timer(link.now) == []  # not yet
    link.tick(1.5)
    assert link.ini.handle_timer(link.now) == [TransactionTimedOut(op.tid)]
    assert link.ini.pending_actions() == [SendCancel(op.tid)]
    link.res.receive(CancelTransaction(op.tid), link.now)
    resp = link.res.complete_cancel(link.now)
    assert resp is not None
    (done,) = link.ini.receive(resp, link.now)
    assert isinstance(done, TransactionCancelled)
    tid = link.simple()
    assert tid == next_tid(op.tid)

    # events arrive in any state and carry the current (or last) tid
    assert link.to_ini(Event(OBJECT_ADDED, (0x1234,))) == [
        EventReceived(OBJECT_ADDED, tid, (0x1234,))
    ]

    # close
    (op,) = link.to_res(Operation(CLOSE_SESSION))
    link.to_ini(Response(OK))
    assert link.ini.session_id is None and link.res.session_id is None
    assert link.to_res(Operation(OPEN_SESSION, (2,))) == [
        OperationReceived(OPEN_SESSION, 0, (2,), True)
    ]
    link.to_ini(Response(OK))
    assert link.ini.session_id == 2
    assert link.simple() == 1
    link.ini.close()
    with pytest.raises(LocalProtocolError):
        link.ini.send(Operation(GET_DEVICE_INFO), link.now)
    with pytest.raises(RemoteProtocolError):
        link.ini.receive(Response(OK, (), 1), link.now)


def test_cancel_budget_exhausted_needs_reset() -> None:
    link = Link()
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.ini.cancel(link.now)
    link.tick(1.01)
    assert link.ini.handle_timer(link.now) == [CancelFailed(op.tid)]
    assert link.ini.state is State.MUST_RESET
    # late traffic is ignored, new work is refused until reset()
    assert link.ini.receive(DataChunk(b"zz", op.tid), link.now) == []
    with pytest.raises(LocalProtocolError):
        link.ini.send(Operation(GET_DEVICE_INFO), link.now)
    with pytest.raises(LocalProtocolError):
        link.ini.cancel(link.now)
    link.ini.reset()
    assert link.ini.state is State.IDLE and not link.ini.session_open
    assert link.ini.send(Operation(OPEN_SESSION, (1,)), link.now).tid == 0


def test_usb_cancel_polls_status_then_drains() -> None:
    link = Link(CancelFlow.USB)
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.to_ini(StartData(None))  # length unknown (0xFFFFFFFF container)
    link.to_ini(DataChunk(b"1" * 512))
    link.ini.cancel(link.now)
    assert link.ini.pending_actions() == [SendCancel(op.tid), RequestDeviceStatus()]
    # the device side: cancel from the control pipe, status busy, then idle without a response
    assert link.res.receive(CancelTransaction(op.tid), link.now) == [CancelRequested(op.tid)]
    assert link.res.device_status is ResponseCode.DEVICE_BUSY
    assert link.res.complete_cancel(link.now) is None
    assert link.res.device_status is ResponseCode.OK
    # the host polls: busy, busy, OK
    assert link.ini.receive_device_status(ResponseCode.DEVICE_BUSY, link.now) == []
    link.tick(0.05)
    assert link.ini.handle_timer(link.now) == []
    assert link.ini.pending_actions() == [RequestDeviceStatus()]
    assert link.ini.receive_device_status(ResponseCode.DEVICE_BUSY, link.now) == []
    link.tick(0.05)
    link.ini.handle_timer(link.now)
    assert link.ini.pending_actions() == [RequestDeviceStatus()]
    assert link.ini.receive_device_status(ResponseCode.OK, link.now) == []
    # stale bulk-in data keeps the drain open; silence ends it
    link.tick(0.2)
    assert link.ini.receive(DataChunk(b"2" * 512, op.tid), link.now) == []
    link.tick(0.2)
    assert link.ini.handle_timer(link.now) == []
    link.tick(0.2)
    assert link.ini.handle_timer(link.now) == [TransactionCancelled(op.tid, None)]
    assert link.ini.receive_device_status(ResponseCode.OK, link.now) == []  # late: ignored
    assert link.simple() == next_tid(op.tid)


def test_usb_device_that_answers_a_cancelled_transaction_is_fine() -> None:
    link = Link(CancelFlow.USB)
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.ini.cancel(link.now)
    link.ini.receive_device_status(ResponseCode.TRANSACTION_CANCELLED, link.now)
    resp = Response(ResponseCode.TRANSACTION_CANCELLED, (), op.tid)
    (done,) = link.ini.receive(resp, link.now)
    assert isinstance(done, TransactionCancelled) and done.response is not None


def test_usb_status_error_escalates() -> None:
    link = Link(CancelFlow.USB)
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.ini.cancel(link.now)
    assert link.ini.receive_device_status(ResponseCode.GENERAL_ERROR, link.now) == [
        CancelFailed(op.tid)
    ]
    assert link.ini.state is State.MUST_RESET


def test_transaction_ids_and_checks() -> None:
    link = Link()
    link.open()
    assert [link.simple() for _ in range(3)] == [1, 2, 3]
    # a responder flags a wrong tid but stays usable
    ev = link.res.receive(Operation(GET_DEVICE_INFO, (), 9), link.now)
    assert ev == [OperationReceived(GET_DEVICE_INFO, 9, (), False)]
    link.res.send(Response(ResponseCode.INVALID_TRANSACTION_ID), link.now)
    assert link.res.receive(Operation(GET_DEVICE_INFO, (), 10), link.now)[0] == (
        OperationReceived(GET_DEVICE_INFO, 10, (), True)
    )
    # the initiator rejects a response for a newer tid and discards an older one
    link2 = Link()
    link2.open()
    link2.simple()
    link2.to_res(Operation(GET_DEVICE_INFO))
    assert link2.ini.receive(Response(OK, (), 1), link2.now) == []  # stale: discarded
    assert link2.ini.state is State.OPERATION
    with pytest.raises(RemoteProtocolError):
        link2.ini.receive(Response(OK, (), 7), link2.now)  # from the future: broken peer
    assert link2.ini.state is State.ERROR


def test_wraparound() -> None:
    assert next_tid(0xFFFFFFFE) == 0xFFFFFFFF
    assert next_tid(0xFFFFFFFF) == 1


# --- every state x every input ---------------------------------------------------------------


def _machine_in(role: Role, state: State, flow: CancelFlow) -> TransactionMachine | None:
    """Drive a fresh link until ``role``'s machine is in ``state``; None if unreachable."""
    link = Link(flow)
    link.open()
    m = link.ini if role is Role.INITIATOR else link.res
    if state is State.IDLE:
        pass
    elif state is State.OPERATION:
        link.to_res(Operation(GET_OBJECT))
    elif state is State.DATA_OUT:
        link.to_res(Operation(SEND_OBJECT))
        link.to_res(StartData(10))
    elif state is State.DATA_IN:
        link.to_res(Operation(GET_OBJECT))
        link.to_ini(StartData(10))
    elif state is State.RESPONSE:
        link.to_res(Operation(GET_OBJECT))
        link.to_ini(StartData(0))
        link.to_ini(EndData())
    elif state is State.CANCELLING:
        (op,) = link.to_res(Operation(GET_OBJECT))
        assert isinstance(op, OperationReceived)
        link.ini.cancel(link.now)
        link.res.receive(CancelTransaction(op.tid), link.now)
    elif state is State.MUST_RESET:
        if role is Role.RESPONDER:
            return None
        link.to_res(Operation(GET_OBJECT))
        link.ini.cancel(link.now)
        link.ini.handle_timer(link.now + 10)
    elif state is State.CLOSED:
        m.close()
    elif state is State.ERROR:
        with pytest.raises(RemoteProtocolError):
            if role is Role.INITIATOR:
                m.receive(DataChunk(b"?", 77), link.now)
            else:
                m.receive(Response(OK, (), 1), link.now)
    assert m.state is state
    return m


def _message(kind: Kind, m: TransactionMachine, local: bool) -> Message:
    tid = None if local else (m.current_tid if m.current_tid is not None else 1)
    return {
        Kind.OPERATION: Operation(GET_DEVICE_INFO, (), tid if tid is not None else None),
        Kind.START_DATA: StartData(4, tid),
        Kind.DATA: DataChunk(b"abcd", tid),
        Kind.END_DATA: EndData(tid),
        Kind.RESPONSE: Response(OK, (), tid),
        Kind.EVENT: Event(OBJECT_ADDED, (1,), tid),
        Kind.CANCEL: CancelTransaction(tid if tid is not None else 1),
    }[kind]


INPUTS = [(sender, kind) for sender in Role for kind in Kind]


@pytest.mark.parametrize("flow", list(CancelFlow))
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize(("sender", "kind"), INPUTS)
def test_every_state_every_input(
    flow: CancelFlow, role: Role, state: State, sender: Role, kind: Kind
) -> None:
    m = _machine_in(role, state, flow)
    if m is None:
        return
    local = sender is role
    msg = _message(kind, m, local)
    before = m.state
    apply: Callable[[], object]
    if local and kind is Kind.CANCEL:
        apply = lambda: m.cancel(5.0)  # noqa: E731
    elif local:
        apply = lambda: m.send(msg, 5.0)  # noqa: E731
    else:
        apply = lambda: m.receive(msg, 5.0)  # noqa: E731
    try:
        apply()
    except LocalProtocolError:
        assert local, "only our own mistakes raise LocalProtocolError"
        assert m.state is before, "a local mistake changes nothing"
        return
    except RemoteProtocolError:
        assert not local
        assert m.state is State.ERROR or before in (State.CLOSED, State.ERROR)
        return
    assert isinstance(m.state, State)
    if sender not in SENDER_OF[kind]:
        pytest.fail(f"{sender} {kind} accepted although that role cannot send it")
    if (before, (sender, kind)) not in TRANSITIONS:
        # cancel() outside a transaction is documented as a no-op
        assert local and kind is Kind.CANCEL and m.state is before


def test_table_only_names_legal_senders_and_existing_effects() -> None:
    for (state, (sender, kind)), (effect, nxt) in TRANSITIONS.items():
        assert sender in SENDER_OF[kind], (state, sender, kind)
        assert callable(getattr(TransactionMachine, "_on_" + effect)), effect
        assert isinstance(nxt, State)
        assert state not in (State.CLOSED, State.ERROR), "terminal states accept nothing"


_STEP = st.sampled_from([*INPUTS, (None, "timer"), (None, "status-busy"), (None, "status-ok")])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(CancelFlow)), st.lists(_STEP, max_size=40))
def test_random_walks_keep_both_machines_consistent(
    flow: CancelFlow, steps: list[tuple[Role | None, object]]
) -> None:
    """Drive a link with random legal-or-not inputs: nothing but our errors ever escapes, and a
    link whose machines are both idle can always run a clean transaction."""
    link = Link(flow)
    link.open()
    for sender, what in steps:
        link.tick(0.3)
        try:
            if sender is None:
                if what == "timer":
                    link.ini.handle_timer(link.now)
                else:
                    code = ResponseCode.DEVICE_BUSY if what == "status-busy" else OK
                    link.ini.receive_device_status(code, link.now)
                continue
            assert isinstance(what, Kind)
            src, dst = (link.ini, link.res) if sender is Role.INITIATOR else (link.res, link.ini)
            if what is Kind.CANCEL:
                tid = link.ini.current_tid
                link.ini.cancel(link.now)
                if tid is not None:
                    link.res.receive(CancelTransaction(tid), link.now)
                continue
            msg = _message(what, src, True)
            sent = src.send(msg, link.now)
            dst.receive(sent, link.now)
            if link.res.state is State.CANCELLING:
                resp = link.res.complete_cancel(link.now)
                if resp is not None:
                    link.ini.receive(resp, link.now)
        except LocalProtocolError:
            continue
        except RemoteProtocolError:
            assert State.ERROR in (link.ini.state, link.res.state)
            return
    if link.ini.state is State.IDLE and link.res.state is State.IDLE:
        link.ini.pending_actions()
        (op,) = link.to_res(Operation(GET_DEVICE_INFO))
        assert isinstance(op, OperationReceived)
        assert link.to_ini(Response(OK)) == [ResponseReceived(OK, op.tid, ())]


# --- edges ------------------------------------------------------------------------------------


def test_properties_and_misuse() -> None:
    link = Link()
    link.open()
    link.to_res(Operation(GET_OBJECT, (1,)))
    link.to_ini(StartData(8))
    link.to_ini(DataChunk(b"1234"))
    assert link.ini.current_code == GET_OBJECT and link.ini.transferred == 4
    assert link.res.current_code == GET_OBJECT and link.res.transferred == 4
    with pytest.raises(LocalProtocolError):
        link.ini.send(CancelTransaction(1), 0)
    with pytest.raises(LocalProtocolError):
        link.ini.complete_cancel(0)
    with pytest.raises(LocalProtocolError):
        link.res.cancel(0)
    with pytest.raises(LocalProtocolError):
        link.res.send(DataChunk(b"12345"), 0)  # overflow of the announced length
    with pytest.raises(LocalProtocolError):
        link.res.send(EndData(), 0)  # 4 of 8 bytes
    with pytest.raises(RemoteProtocolError):
        link.ini.receive(DataChunk(b"12345", 1), 0)
    assert link.ini.state is State.ERROR


@pytest.mark.parametrize(
    "msg",
    [
        Operation(GET_DEVICE_INFO, (1, 2, 3, 4, 5, 6)),
        Operation(GET_DEVICE_INFO, (-1,)),
        Operation(GET_DEVICE_INFO, (1 << 32,)),
        Operation(GET_DEVICE_INFO, (), 1 << 32),
    ],
)
def test_bad_parameters(msg: Operation) -> None:
    m = TransactionMachine(Role.INITIATOR)
    with pytest.raises(LocalProtocolError):
        m.send(msg, 0)
    assert m.state is State.IDLE
    r = TransactionMachine(Role.RESPONDER)
    with pytest.raises(RemoteProtocolError):
        r.receive(replace_tid(msg), 0)
    assert r.state is State.ERROR


def replace_tid(msg: Operation) -> Operation:
    return msg if msg.tid is not None else Operation(msg.code, msg.params, 3)


def test_wrong_sender_or_missing_tid_is_remote_error() -> None:
    m = TransactionMachine(Role.INITIATOR)
    with pytest.raises(RemoteProtocolError):
        m.receive(Operation(GET_DEVICE_INFO, (), 0), 0)
    m = TransactionMachine(Role.INITIATOR)
    with pytest.raises(RemoteProtocolError):
        m.receive(Response(OK), 0)
    r = TransactionMachine(Role.RESPONDER)
    r.receive(Operation(GET_OBJECT, (), 0), 0)
    with pytest.raises(RemoteProtocolError):
        r.receive(StartData(-1, 0), 0)
    local = TransactionMachine(Role.RESPONDER)
    local.receive(Operation(GET_OBJECT, (), 0), 0)
    with pytest.raises(LocalProtocolError):
        local.send(StartData(-1), 0)
    with pytest.raises(LocalProtocolError):
        local.send(StartData(1, 99), 0)  # not the transaction in flight


def test_session_open_variants() -> None:
    link = Link()
    link.to_res(Operation(OPEN_SESSION, (5,)))
    link.to_ini(Response(ResponseCode.INVALID_PARAMETER))
    assert not link.ini.session_open
    link.to_res(Operation(OPEN_SESSION, (5,)))
    link.to_ini(Response(ResponseCode.SESSION_ALREADY_OPEN, (3,)))
    assert link.ini.session_id == link.res.session_id == 3
    link.to_res(Operation(OPEN_SESSION, (5,)))
    link.to_ini(Response(ResponseCode.SESSION_ALREADY_OPEN))
    assert link.ini.session_id == 5  # no parameter: assume ours


def test_response_right_after_the_data_without_end_data() -> None:
    link = Link()
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.to_ini(StartData(4))
    link.to_ini(DataChunk(b"abcd"))
    assert link.ini.receive(Response(OK, (), op.tid - 1), 0) == []  # stale
    assert link.to_ini(Response(OK)) == [
        DataFinished(op.tid, 4),
        ResponseReceived(OK, op.tid, ()),
    ]
    # and stale responses in idle are dropped too
    assert link.ini.receive(Response(OK, (), op.tid), 0) == []


def test_cancel_edge_cases() -> None:
    link = Link()
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    # the responder ignores a cancel for some other transaction
    assert link.res.receive(CancelTransaction(op.tid + 5), 0) == []
    assert link.res.state is State.OPERATION
    link.ini.cancel(0)
    assert link.ini.receive(Response(OK, (), op.tid - 1), 0) == []  # older straggler
    with pytest.raises(RemoteProtocolError):
        link.ini.receive(Response(OK, (), op.tid + 1), 0)

    # a responder that finished just as the cancel arrived may answer normally
    link = Link()
    link.open()
    (op,) = link.to_res(Operation(GET_OBJECT))
    assert isinstance(op, OperationReceived)
    link.ini.cancel(0)
    link.res.receive(CancelTransaction(op.tid), 0)
    (done,) = link.to_ini(Response(OK))
    assert done == TransactionCancelled(op.tid, ResponseReceived(OK, op.tid, ()))
    assert link.res.state is State.IDLE
    with pytest.raises(LocalProtocolError):
        link.res.complete_cancel(0)


def test_no_response_timeout_when_disabled() -> None:
    link = Link(timeouts=Timeouts(response=None))
    link.open()
    link.to_res(Operation(GET_OBJECT))
    assert link.ini.get_timer() is None


def test_a_response_straight_after_the_data_leaves_no_event_behind() -> None:
    # Found by the random walk: a responder that answers right after its last data byte (no
    # End Data) queued a DataFinished for itself, which surfaced on its next receive().
    link = Link(CancelFlow.PTPIP)
    link.open()
    (ev,) = link.to_res(Operation(GET_DEVICE_INFO))
    assert isinstance(ev, OperationReceived)
    assert link.to_ini(StartData(4)) == [DataStarted(ev.tid, 4)]
    assert link.to_ini(DataChunk(b"abcd")) == [DataReceived(ev.tid, b"abcd")]
    assert link.to_ini(Response(OK)) == [
        DataFinished(ev.tid, 4),
        ResponseReceived(OK, ev.tid, ()),
    ]
    assert link.to_res(Operation(GET_DEVICE_INFO)) == [
        OperationReceived(GET_DEVICE_INFO, ev.tid + 1, (), True)
    ]
