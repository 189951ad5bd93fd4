"""The MTP/PTP session and transaction state machine, for both roles.

Theory of operation
-------------------
An MTP session runs one transaction at a time. A transaction is an *operation* from the
initiator, an optional *data phase* in one direction, and a *response* from the responder
(PTP). Events flow from the responder at any time, outside that sequence.

This module models that exchange once, in :data:`TRANSITIONS`: a table
``(state, (sender, kind)) -> (side effect, next state)`` that never knows which role is "us".
:class:`TransactionMachine` wraps it for one role:

- ``send(msg, now)`` records a message *we* are about to put on the wire. It fills in the
  transaction ID (the initiator allocates them: 0 outside a session and for OpenSession, then
  1, 2, ... wrapping to 1), checks that the message is legal now and raises
  :class:`LocalProtocolError` if it is not (nothing changes then: the caller broke a rule, the
  session is intact).
- ``receive(msg, now)`` records a message the *peer* sent and returns what it means as past-tense
  events (``ResponseReceived``, ``DataReceived``...). A peer message that is illegal raises
  :class:`RemoteProtocolError` and moves the machine to ``ERROR``.
- ``get_timer()`` / ``handle_timer(now)``: the machine never reads a clock. Every entry point
  takes ``now`` (seconds, any monotonic origin); the I/O shell arms one timer at ``get_timer()``
  and calls ``handle_timer`` when it fires.
- ``pending_actions()``: things the I/O shell must do that are not ordinary messages -- send a
  Cancel, ask a USB device for its status. The cancel flows of USB (Still Image class) and PTP/IP
  (CIPA DC-005) are expressed this way so that the core stays free of I/O.

Cancel (initiator): ``cancel(now)`` moves the current transaction to ``CANCELLING`` and queues
:class:`SendCancel`. Over PTP/IP the shell sends a Cancel packet on both connections; the machine
then discards data for that transaction until a response with its ID arrives (0x201F expected,
any code accepted). Over USB the shell sends the class Cancel request; the machine asks for the
device status (:class:`RequestDeviceStatus`), keeps asking every ``status_poll`` seconds while the
device says Busy, then drains: anything that arrives for the cancelled transaction is discarded
until ``drain_window`` passes in silence (a response for it ends the drain at once). Either way
the machine emits :class:`TransactionCancelled` and returns to ``IDLE`` with the session intact.
If the flow does not finish within ``cancel_budget`` the machine emits :class:`CancelFailed` and
moves to ``MUST_RESET``: only :meth:`TransactionMachine.reset` leaves it (the shell escalates:
device reset, reconnect, new session).

A response that does not come within ``response`` seconds of inactivity emits
:class:`TransactionTimedOut` and starts the same cancel flow, so a slow device costs one
operation, not the session.

Cancel (responder): a Cancel from the peer for the current transaction emits
:class:`CancelRequested` and moves to ``CANCELLING``; data still in flight for it is discarded.
The application stops its work and calls :meth:`TransactionMachine.complete_cancel`, which
returns the 0x201F response to send (PTP/IP) or ``None`` (USB sends no response; while
cancelling, :attr:`TransactionMachine.device_status` is DeviceBusy, then OK again).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.messages import (
    Action,
    CancelFailed,
    CancelRequested,
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
    Message,
    Operation,
    OperationReceived,
    RequestDeviceStatus,
    Response,
    ResponseReceived,
    SendCancel,
    StartData,
    TransactionCancelled,
    TransactionTimedOut,
)

# The operation codes the machine itself must recognise (session bookkeeping). They are
# OperationCode members; imported by value here to keep this module independent of that table's
# growth. (See codes.OperationCode.OPEN_SESSION etc.)
_OPEN_SESSION = 0x1002
_CLOSE_SESSION = 0x1003
_RESET_DEVICE = 0x1010

MAX_PARAMS = 5
MAX_EVENT_PARAMS = 3
_TID_MAX = 0xFFFFFFFF


class Role(enum.Enum):
    """Which end of the link a machine represents."""

    INITIATOR = "initiator"
    RESPONDER = "responder"

    @property
    def peer(self) -> Role:
        return Role.RESPONDER if self is Role.INITIATOR else Role.INITIATOR


class CancelFlow(enum.Enum):
    """Which transport's cancel procedure applies (USB Still Image class / PTP/IP, CIPA DC-005)."""

    PTPIP = "ptpip"
    USB = "usb"


class State(enum.Enum):
    """The state of the transaction channel (shared by both ends)."""

    IDLE = "idle"  #: no transaction in flight
    OPERATION = "operation"  #: operation sent; data phase or response next
    DATA_OUT = "data-out"  #: initiator -> responder data phase under way
    DATA_IN = "data-in"  #: responder -> initiator data phase under way
    RESPONSE = "response"  #: data phase over; the response is next
    CANCELLING = "cancelling"  #: the current transaction is being cancelled
    MUST_RESET = "must-reset"  #: cancel did not finish within its budget
    CLOSED = "closed"  #: the link was closed (terminal)
    ERROR = "error"  #: the peer broke the protocol (terminal)


class Kind(enum.Enum):
    """The kinds of message that drive the table."""

    OPERATION = "operation"
    START_DATA = "start-data"
    DATA = "data"
    END_DATA = "end-data"
    RESPONSE = "response"
    EVENT = "event"
    CANCEL = "cancel"


_KIND_OF: dict[type, Kind] = {
    Operation: Kind.OPERATION,
    StartData: Kind.START_DATA,
    DataChunk: Kind.DATA,
    EndData: Kind.END_DATA,
    Response: Kind.RESPONSE,
    Event: Kind.EVENT,
    CancelTransaction: Kind.CANCEL,
}

#: Who may send each kind of message.
SENDER_OF: dict[Kind, frozenset[Role]] = {
    Kind.OPERATION: frozenset({Role.INITIATOR}),
    Kind.START_DATA: frozenset({Role.INITIATOR, Role.RESPONDER}),
    Kind.DATA: frozenset({Role.INITIATOR, Role.RESPONDER}),
    Kind.END_DATA: frozenset({Role.INITIATOR, Role.RESPONDER}),
    Kind.RESPONSE: frozenset({Role.RESPONDER}),
    Kind.EVENT: frozenset({Role.RESPONDER}),
    Kind.CANCEL: frozenset({Role.INITIATOR}),
}


__all__ = [
    "SENDER_OF",
    "TRANSITIONS",
    "Action",
    "CancelFailed",
    "CancelFlow",
    "CancelRequested",
    "CancelTransaction",
    "DataChunk",
    "DataFinished",
    "DataReceived",
    "DataStarted",
    "EndData",
    "Event",
    "EventReceived",
    "Kind",
    "MachineEvent",
    "Message",
    "Operation",
    "OperationReceived",
    "RequestDeviceStatus",
    "Response",
    "ResponseReceived",
    "Role",
    "SendCancel",
    "StartData",
    "State",
    "Timeouts",
    "TimerKind",
    "TransactionCancelled",
    "TransactionMachine",
    "TransactionTimedOut",
    "next_tid",
]


class TimerKind(enum.Enum):
    """The deadlines the machine keeps."""

    RESPONSE = "response"  #: the device must say something within this
    CANCEL_BUDGET = "cancel-budget"  #: the whole cancel flow must finish within this
    STATUS_POLL = "status-poll"  #: (USB) next Get Device Status while the device is busy
    DRAIN = "drain"  #: (USB) silence that ends the drain after a cancel


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines in seconds. ``response`` None disables the response timeout."""

    response: float | None = 20.0
    cancel_budget: float = 5.0
    status_poll: float = 0.05
    drain_window: float = 0.3


# --- the table ----------------------------------------------------------------------------------

_I, _R = Role.INITIATOR, Role.RESPONDER
Input = tuple[Role, Kind]

#: ``(state, (sender, kind)) -> (side effect name, next state)``. A missing pair is a protocol
#: violation by whoever sent the message. A side effect may override the next state (it returns
#: the state it chose); the table names the usual one.
TRANSITIONS: dict[tuple[State, Input], tuple[str, State]] = {
    # idle: only an operation starts something; stragglers of a finished or cancelled
    # transaction are tolerated.
    (State.IDLE, (_I, Kind.OPERATION)): ("begin", State.OPERATION),
    (State.IDLE, (_I, Kind.CANCEL)): ("late_cancel", State.IDLE),
    (State.IDLE, (_I, Kind.START_DATA)): ("straggler", State.IDLE),
    (State.IDLE, (_I, Kind.DATA)): ("straggler", State.IDLE),
    (State.IDLE, (_R, Kind.DATA)): ("straggler", State.IDLE),
    (State.IDLE, (_I, Kind.END_DATA)): ("straggler", State.IDLE),
    (State.IDLE, (_R, Kind.END_DATA)): ("straggler", State.IDLE),
    (State.IDLE, (_R, Kind.RESPONSE)): ("straggler", State.IDLE),
    # operation sent: data from either side, or the response (an error may skip the data phase)
    (State.OPERATION, (_I, Kind.START_DATA)): ("start_data", State.DATA_OUT),
    (State.OPERATION, (_R, Kind.START_DATA)): ("start_data", State.DATA_IN),
    (State.OPERATION, (_R, Kind.RESPONSE)): ("finish", State.IDLE),
    (State.OPERATION, (_I, Kind.CANCEL)): ("cancel", State.CANCELLING),
    # data out
    (State.DATA_OUT, (_I, Kind.DATA)): ("data", State.DATA_OUT),
    (State.DATA_OUT, (_I, Kind.END_DATA)): ("end_data", State.RESPONSE),
    (State.DATA_OUT, (_R, Kind.RESPONSE)): ("finish", State.IDLE),  # device refused mid-way
    (State.DATA_OUT, (_I, Kind.CANCEL)): ("cancel", State.CANCELLING),
    # data in
    (State.DATA_IN, (_R, Kind.DATA)): ("data", State.DATA_IN),
    (State.DATA_IN, (_R, Kind.END_DATA)): ("end_data", State.RESPONSE),
    (State.DATA_IN, (_R, Kind.RESPONSE)): ("finish_after_data", State.IDLE),
    (State.DATA_IN, (_I, Kind.CANCEL)): ("cancel", State.CANCELLING),
    # response expected
    (State.RESPONSE, (_R, Kind.RESPONSE)): ("finish", State.IDLE),
    (State.RESPONSE, (_I, Kind.END_DATA)): ("straggler", State.RESPONSE),
    (State.RESPONSE, (_R, Kind.END_DATA)): ("straggler", State.RESPONSE),
    (State.RESPONSE, (_I, Kind.CANCEL)): ("cancel", State.CANCELLING),
    # cancelling: whatever is in flight for the transaction is discarded
    (State.CANCELLING, (_I, Kind.START_DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_R, Kind.START_DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_I, Kind.DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_R, Kind.DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_I, Kind.END_DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_R, Kind.END_DATA)): ("discard", State.CANCELLING),
    (State.CANCELLING, (_R, Kind.RESPONSE)): ("cancel_response", State.IDLE),
    (State.CANCELLING, (_I, Kind.CANCEL)): ("late_cancel", State.CANCELLING),
    # must reset: the flow failed; late traffic is ignored until reset()
    (State.MUST_RESET, (_R, Kind.START_DATA)): ("discard", State.MUST_RESET),
    (State.MUST_RESET, (_R, Kind.DATA)): ("discard", State.MUST_RESET),
    (State.MUST_RESET, (_R, Kind.END_DATA)): ("discard", State.MUST_RESET),
    (State.MUST_RESET, (_R, Kind.RESPONSE)): ("discard", State.MUST_RESET),
}

# Events may come at any time while the link is up; they never change the transaction state.
for _state in State:
    if _state not in (State.CLOSED, State.ERROR):
        TRANSITIONS[(_state, (_R, Kind.EVENT))] = ("event", _state)
del _state


def next_tid(tid: int) -> int:
    """The transaction ID after ``tid`` inside a session (wraps to 1; 0 is never used)."""
    return 1 if tid >= _TID_MAX else tid + 1


@dataclass
class _Transaction:
    tid: int
    code: int
    total_length: int | None = None
    transferred: int = 0
    data_sender: Role | None = None


@dataclass
class _Cancel:
    tid: int
    phase: str  # "await-response" (PTP/IP), "await-status", "draining" (USB)
    deadline: float
    response: ResponseReceived | None = None


@dataclass
class TransactionMachine:
    """One end of an MTP session: sequencing, checking and cancel, with no I/O.

    ``role`` says which end we are; ``cancel_flow`` which transport's cancel procedure applies.
    All methods are synchronous and cheap; none blocks or reads a clock.
    """

    role: Role
    cancel_flow: CancelFlow = CancelFlow.PTPIP
    timeouts: Timeouts = field(default_factory=Timeouts)

    state: State = field(default=State.IDLE, init=False)
    session_id: int | None = field(default=None, init=False)
    _tid: int = field(default=0, init=False)  # last tid used (0 before any in-session op)
    _txn: _Transaction | None = field(default=None, init=False)
    _last_tid: int | None = field(default=None, init=False)
    _cancelled_tids: set[int] = field(default_factory=set, init=False)
    _cancel: _Cancel | None = field(default=None, init=False)
    _timers: dict[TimerKind, float] = field(default_factory=dict, init=False)
    _actions: list[Action] = field(default_factory=list, init=False)
    _events: list[MachineEvent] = field(default_factory=list, init=False)
    _now: float = field(default=0.0, init=False)
    _open_session_param: int = field(default=0, init=False)
    _open_session_tid: int = field(default=0, init=False)

    # -- properties ------------------------------------------------------------------------------

    @property
    def session_open(self) -> bool:
        """True between a successful OpenSession and CloseSession/ResetDevice."""
        return self.session_id is not None

    @property
    def current_tid(self) -> int | None:
        """The transaction in flight, if any."""
        return self._txn.tid if self._txn is not None else None

    @property
    def current_code(self) -> int | None:
        """The operation code of the transaction in flight, if any."""
        return self._txn.code if self._txn is not None else None

    @property
    def transferred(self) -> int:
        """Payload bytes carried so far in the current data phase."""
        return self._txn.transferred if self._txn is not None else 0

    @property
    def cancelling_tid(self) -> int | None:
        """The transaction being cancelled, if any."""
        return self._cancel.tid if self._cancel is not None else None

    @property
    def device_status(self) -> ResponseCode:
        """(Responder, USB) what Get Device Status should answer: DeviceBusy while cancelling."""
        if self.state is State.CANCELLING:
            return ResponseCode.DEVICE_BUSY
        return ResponseCode.OK

    # -- the public entry points -----------------------------------------------------------------

    def send(self, msg: Message, now: float) -> Message:
        """Record a message we are about to send; returns it with its transaction ID filled in.

        Raises LocalProtocolError (state unchanged) when the message is not legal now.
        """
        kind = _KIND_OF[type(msg)]
        if self.role not in SENDER_OF[kind]:
            raise LocalProtocolError(f"a {self.role.value} cannot send {kind.value}")
        if self.state in (State.CLOSED, State.ERROR, State.MUST_RESET):
            raise LocalProtocolError(f"cannot send {kind.value}: the machine is {self.state.value}")
        if kind is Kind.CANCEL:
            raise LocalProtocolError("use cancel() to cancel a transaction")
        if self.state is State.CANCELLING and kind not in (Kind.EVENT, Kind.RESPONSE):
            raise LocalProtocolError(
                f"cannot send {kind.value} while transaction {self.cancelling_tid} is cancelled"
            )
        msg = self._fill_tid(msg, kind)
        self._validate_params(msg)
        self._now = now
        self._step(self.role, kind, msg, local=True)
        return msg

    def receive(self, msg: Message, now: float) -> list[MachineEvent]:
        """Record a message the peer sent; returns what it means for the application.

        Raises RemoteProtocolError and moves to ERROR when the message is not legal now.
        """
        kind = _KIND_OF[type(msg)]
        if self.state in (State.CLOSED, State.ERROR):
            raise RemoteProtocolError(f"{kind.value} received on a {self.state.value} link")
        peer = self.role.peer
        if peer not in SENDER_OF[kind]:
            self.state = State.ERROR
            raise RemoteProtocolError(f"a {peer.value} cannot send {kind.value}")
        if getattr(msg, "tid", None) is None:
            self.state = State.ERROR
            raise RemoteProtocolError(f"received {kind.value} without a transaction ID")
        try:
            self._validate_params(msg)
        except LocalProtocolError as exc:
            self.state = State.ERROR
            raise RemoteProtocolError(str(exc)) from None
        self._now = now
        self._step(peer, kind, msg, local=False)
        return self._take_events()

    def cancel(self, now: float) -> list[MachineEvent]:
        """(Initiator) cancel the transaction in flight; a no-op when idle or already cancelling.

        Queues :class:`SendCancel` (and, over USB, :class:`RequestDeviceStatus`).
        """
        if self.role is not Role.INITIATOR:
            raise LocalProtocolError("only the initiator cancels; a responder uses complete_cancel")
        if self.state in (State.CLOSED, State.ERROR, State.MUST_RESET):
            raise LocalProtocolError(f"cannot cancel: the machine is {self.state.value}")
        if self._txn is None or self.state is State.CANCELLING:
            return []
        self._now = now
        self._step(Role.INITIATOR, Kind.CANCEL, CancelTransaction(self._txn.tid), local=True)
        return self._take_events()

    def complete_cancel(self, now: float) -> Response | None:
        """(Responder) the application has stopped the cancelled transaction.

        Returns the TransactionCancelled response to send (PTP/IP), or ``None`` (USB sends no
        response for a cancelled transaction). The machine is idle afterwards.
        """
        if self.role is not Role.RESPONDER or self.state is not State.CANCELLING:
            raise LocalProtocolError("complete_cancel() needs a responder that is cancelling")
        assert self._cancel is not None
        tid = self._cancel.tid
        if self.cancel_flow is CancelFlow.USB:
            self._end_cancel(None)
            return None
        response = Response(ResponseCode.TRANSACTION_CANCELLED, (), tid)
        self.send(response, now)
        return response

    def receive_device_status(self, code: int, now: float) -> list[MachineEvent]:
        """(Initiator, USB) the answer to :class:`RequestDeviceStatus`."""
        cancel = self._cancel
        if self.state is not State.CANCELLING or cancel is None or cancel.phase != "await-status":
            return []  # a late or unsolicited status: nothing depends on it
        self._now = now
        if code == ResponseCode.DEVICE_BUSY:
            self._timers[TimerKind.STATUS_POLL] = now + self.timeouts.status_poll
        elif code in (ResponseCode.OK, ResponseCode.TRANSACTION_CANCELLED):
            cancel.phase = "draining"
            self._timers.pop(TimerKind.STATUS_POLL, None)
            self._timers[TimerKind.DRAIN] = now + self.timeouts.drain_window
        else:
            self._fail_cancel()
        return self._take_events()

    def get_timer(self) -> float | None:
        """The earliest deadline, or None when nothing is pending."""
        return min(self._timers.values()) if self._timers else None

    def handle_timer(self, now: float) -> list[MachineEvent]:
        """Process every deadline that has passed at ``now``."""
        self._now = now
        for kind, _ in sorted(self._timers.items(), key=lambda kv: kv[1]):
            deadline = self._timers.get(kind)
            if deadline is None or deadline > now:
                continue  # removed or re-armed by an earlier timer in this call
            del self._timers[kind]
            self._on_timer(kind, now)
        return self._take_events()

    def pending_actions(self) -> list[Action]:
        """Take the actions queued for the I/O shell, oldest first."""
        actions, self._actions = self._actions, []
        return actions

    def close(self) -> None:
        """The link is gone. Terminal: every later call raises."""
        self.state = State.CLOSED
        self._timers.clear()
        self._txn = None
        self._cancel = None

    def reset(self) -> None:
        """Forget everything (after the shell re-established the link): no session, idle."""
        self.state = State.IDLE
        self.session_id = None
        self._tid = 0
        self._txn = None
        self._last_tid = None
        self._cancelled_tids.clear()
        self._cancel = None
        self._timers.clear()
        self._actions.clear()
        self._events.clear()

    # -- the engine ------------------------------------------------------------------------------

    def _step(self, sender: Role, kind: Kind, msg: Message, *, local: bool) -> None:
        entry = TRANSITIONS.get((self.state, (sender, kind)))
        if entry is None:
            what = f"{sender.value} {kind.value} in state {self.state.value}"
            if local:
                raise LocalProtocolError(f"not allowed: {what}")
            self.state = State.ERROR
            self._timers.clear()
            raise RemoteProtocolError(f"protocol violation: {what}")
        effect, next_state = entry
        handler: Callable[[Message, bool], State | None] = getattr(self, "_on_" + effect)
        try:
            chosen = handler(msg, local)
        except RemoteProtocolError:
            self.state = State.ERROR
            self._timers.clear()
            raise
        self.state = chosen if chosen is not None else next_state
        self._touch()

    def _fill_tid(self, msg: Message, kind: Kind) -> Message:
        if getattr(msg, "tid", None) is not None:
            return msg
        if kind is Kind.OPERATION:
            assert isinstance(msg, Operation)
            fresh = msg.code == _OPEN_SESSION or not self.session_open
            return replace(msg, tid=0 if fresh else next_tid(self._tid))
        if kind is Kind.EVENT:
            return replace(msg, tid=self.current_tid or self._last_tid or 0)
        if self._txn is None:
            raise LocalProtocolError(f"cannot send {kind.value}: no transaction in flight")
        return replace(msg, tid=self._txn.tid)

    @staticmethod
    def _validate_params(msg: Message) -> None:
        params = getattr(msg, "params", ())
        limit = MAX_EVENT_PARAMS if isinstance(msg, Event) else MAX_PARAMS
        if len(params) > limit:
            raise LocalProtocolError(f"{type(msg).__name__} has {len(params)} params, max {limit}")
        for p in params:
            if not 0 <= p <= 0xFFFFFFFF:
                raise LocalProtocolError(f"parameter {p!r} is not a UINT32")
        tid = getattr(msg, "tid", None)
        if tid is not None and not 0 <= tid <= _TID_MAX:
            raise LocalProtocolError(f"transaction ID {tid!r} is not a UINT32")

    def _check_tid(self, msg: Message, local: bool) -> None:
        tid = getattr(msg, "tid", None)
        assert self._txn is not None
        if tid != self._txn.tid:
            raise (LocalProtocolError if local else RemoteProtocolError)(
                f"{type(msg).__name__} for transaction {tid}, expected {self._txn.tid}"
            )

    def _touch(self) -> None:
        """After every step: (re-)arm the response timeout while we wait on the peer."""
        if self.role is not Role.INITIATOR or self.timeouts.response is None:
            return
        if self.state in (State.OPERATION, State.DATA_IN, State.RESPONSE):
            self._timers[TimerKind.RESPONSE] = self._now + self.timeouts.response
        else:
            self._timers.pop(TimerKind.RESPONSE, None)

    def _take_events(self) -> list[MachineEvent]:
        events, self._events = self._events, []
        return events

    # -- side effects (named in TRANSITIONS) -----------------------------------------------------

    def _on_begin(self, msg: Message, local: bool) -> None:
        assert isinstance(msg, Operation) and msg.tid is not None
        tid_ok = True
        if not local and self.session_open and msg.code != _OPEN_SESSION:
            tid_ok = msg.tid == next_tid(self._tid)
        self._txn = _Transaction(msg.tid, msg.code)
        if msg.code == _OPEN_SESSION:
            self._open_session_param = msg.params[0] if msg.params else 0
            self._open_session_tid = msg.tid
        if self.session_open and msg.code != _OPEN_SESSION:
            self._tid = msg.tid
        self._cancelled_tids.discard(msg.tid)
        if not local:
            self._events.append(OperationReceived(msg.code, msg.tid, msg.params, tid_ok))

    def _on_start_data(self, msg: Message, local: bool) -> None:
        assert isinstance(msg, StartData) and self._txn is not None
        self._check_tid(msg, local)
        if msg.total_length is not None and msg.total_length < 0:
            raise (LocalProtocolError if local else RemoteProtocolError)("negative data length")
        self._txn.total_length = msg.total_length
        self._txn.data_sender = self.role if local else self.role.peer
        if not local:
            self._events.append(DataStarted(self._txn.tid, msg.total_length))

    def _on_data(self, msg: Message, local: bool) -> None:
        assert isinstance(msg, DataChunk) and self._txn is not None
        self._check_tid(msg, local)
        txn = self._txn
        size = len(msg.data)
        if txn.total_length is not None and txn.transferred + size > txn.total_length:
            error = LocalProtocolError if local else RemoteProtocolError
            raise error(
                f"data phase overflow: {txn.transferred + size} bytes, announced {txn.total_length}"
            )
        txn.transferred += size
        if not local and size:
            if isinstance(msg.data, FileSlice):
                raise RemoteProtocolError("a received data chunk cannot be a file slice")
            self._events.append(DataReceived(txn.tid, msg.data))

    def _on_end_data(self, msg: Message, local: bool) -> None:
        assert isinstance(msg, EndData) and self._txn is not None
        self._check_tid(msg, local)
        txn = self._txn
        if txn.total_length is not None and txn.transferred != txn.total_length:
            error = LocalProtocolError if local else RemoteProtocolError
            raise error(f"data phase ended after {txn.transferred} of {txn.total_length} bytes")
        if not local:
            self._events.append(DataFinished(txn.tid, txn.transferred))

    def _on_finish(self, msg: Message, local: bool) -> State | None:
        assert isinstance(msg, Response) and self._txn is not None
        if not local and msg.tid is not None and msg.tid < self._txn.tid:
            return self.state  # a stale response of an earlier transaction (PTP): discard
        self._check_tid(msg, local)
        code = self._txn.code
        ok = msg.code == ResponseCode.OK
        if code == _OPEN_SESSION:
            if ok or msg.code == ResponseCode.SESSION_ALREADY_OPEN:
                self._open_session(msg)
        elif code in (_CLOSE_SESSION, _RESET_DEVICE) and ok:
            self.session_id = None
            self._tid = 0
        self._last_tid = self._txn.tid
        self._txn = None
        if not local:
            assert msg.tid is not None
            self._events.append(ResponseReceived(msg.code, msg.tid, msg.params))
        return None

    def _open_session(self, msg: Response) -> None:
        assert self._txn is not None
        if self.session_id is None:
            self._tid = self._open_session_tid
        if msg.code == ResponseCode.SESSION_ALREADY_OPEN and msg.params:
            self.session_id = msg.params[0]
        else:
            self.session_id = self._open_session_param or 1

    def _on_finish_after_data(self, msg: Message, local: bool) -> State | None:
        # A response straight after the data, with no End Data (some devices over PTP/IP): fine
        # when every announced byte arrived.
        txn = self._txn
        assert txn is not None and isinstance(msg, Response)
        if msg.tid is not None and msg.tid < txn.tid:
            return self.state
        if txn.total_length is None or txn.transferred != txn.total_length:
            raise (LocalProtocolError if local else RemoteProtocolError)(
                f"response arrived after {txn.transferred} of "
                f"{txn.total_length if txn.total_length is not None else 'unknown'} data bytes"
            )
        if not local:  # our own response: no event (it would surface on the next receive())
            self._events.append(DataFinished(txn.tid, txn.transferred))
        return self._on_finish(msg, local)

    def _on_event(self, msg: Message, local: bool) -> None:
        assert isinstance(msg, Event) and msg.tid is not None
        if not local:
            self._events.append(EventReceived(msg.code, msg.tid, msg.params))

    def _on_straggler(self, msg: Message, local: bool) -> None:
        """Tolerated leftovers: an empty End Data after a zero-length phase (gphoto), data or a
        response for a transaction we cancelled, a stale response (gphoto discards those too)."""
        tid = getattr(msg, "tid", None)
        if tid in self._cancelled_tids:
            return
        if isinstance(msg, EndData) and tid in (self._last_tid, self.current_tid):
            return
        stale = self._last_tid is not None and tid is not None and tid <= self._last_tid
        if isinstance(msg, Response) and stale and not local:
            return  # an older response (PTP): discard
        raise (LocalProtocolError if local else RemoteProtocolError)(
            f"{type(msg).__name__} for transaction {tid} with no transaction in flight"
        )

    def _on_late_cancel(self, msg: Message, local: bool) -> None:
        """A second Cancel (PTP/IP sends one per connection; libmtp repeats it over USB)."""

    def _on_discard(self, msg: Message, local: bool) -> None:
        if self.state is State.CANCELLING and self.role is Role.INITIATOR:
            assert self._cancel is not None
            if self._cancel.phase == "draining":
                self._timers[TimerKind.DRAIN] = self._now + self.timeouts.drain_window

    def _on_cancel(self, msg: Message, local: bool) -> State | None:
        assert isinstance(msg, CancelTransaction) and self._txn is not None
        if msg.tid != self._txn.tid:
            if local:  # pragma: no cover - cancel() always names the current transaction
                raise LocalProtocolError("cancel for a transaction that is not in flight")
            return self.state  # a cancel for some other transaction: ignore it
        self._cancelled_tids = {msg.tid}
        self._timers.pop(TimerKind.RESPONSE, None)
        if self.role is Role.RESPONDER:
            self._cancel = _Cancel(msg.tid, "responding", float("inf"))
            self._events.append(CancelRequested(msg.tid))
            return None
        deadline = self._now + self.timeouts.cancel_budget
        self._timers[TimerKind.CANCEL_BUDGET] = deadline
        self._actions.append(SendCancel(msg.tid))
        if self.cancel_flow is CancelFlow.USB:
            self._cancel = _Cancel(msg.tid, "await-status", deadline)
            self._actions.append(RequestDeviceStatus())
        else:
            self._cancel = _Cancel(msg.tid, "await-response", deadline)
        return None

    def _on_cancel_response(self, msg: Message, local: bool) -> State | None:
        assert isinstance(msg, Response) and self._cancel is not None
        if msg.tid != self._cancel.tid:
            if msg.tid is not None and msg.tid < self._cancel.tid and not local:
                return self.state  # an older straggler (PTP)
            raise (LocalProtocolError if local else RemoteProtocolError)(
                f"response for transaction {msg.tid} while cancelling {self._cancel.tid}"
            )
        if local:  # responder answered the cancelled transaction after all
            self._end_cancel(None)
            return None
        response = ResponseReceived(msg.code, msg.tid, msg.params)
        self._end_cancel(response)
        return None

    def _end_cancel(self, response: ResponseReceived | None) -> None:
        assert self._cancel is not None
        tid = self._cancel.tid
        self._cancel = None
        self._txn = None
        self._last_tid = tid
        for kind in (TimerKind.CANCEL_BUDGET, TimerKind.STATUS_POLL, TimerKind.DRAIN):
            self._timers.pop(kind, None)
        self.state = State.IDLE
        if self.role is Role.INITIATOR:
            self._events.append(TransactionCancelled(tid, response))

    def _fail_cancel(self) -> None:
        assert self._cancel is not None
        tid = self._cancel.tid
        self._cancel = None
        self._txn = None
        self._timers.clear()
        self.state = State.MUST_RESET
        self._events.append(CancelFailed(tid))

    def _on_timer(self, kind: TimerKind, now: float) -> None:
        if kind is TimerKind.RESPONSE:
            if self._txn is not None and self.state in (
                State.OPERATION,
                State.DATA_IN,
                State.RESPONSE,
            ):
                tid = self._txn.tid
                self._events.append(TransactionTimedOut(tid))
                self._step(Role.INITIATOR, Kind.CANCEL, CancelTransaction(tid), local=True)
        elif kind is TimerKind.CANCEL_BUDGET:
            if self._cancel is not None:
                self._fail_cancel()
        elif kind is TimerKind.STATUS_POLL:
            if self._cancel is not None and self._cancel.phase == "await-status":
                self._actions.append(RequestDeviceStatus())
        elif kind is TimerKind.DRAIN and self._cancel is not None:
            self._end_cancel(self._cancel.response)
