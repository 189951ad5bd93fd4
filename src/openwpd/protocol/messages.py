"""The messages of an MTP transaction, the events the state machine reports, and the actions
it asks the I/O shell to carry out.

Naming (``docs/conventions.md``): what travels on the wire is a noun (``Operation``, ``DataChunk``,
``Response``...); what the machine tells the application happened is past tense
(``OperationReceived``, ``DataReceived``, ``TransactionCancelled``...); what the shell must do is a
command (``SendCancel``, ``RequestDeviceStatus``).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- messages: what goes on the wire (in either direction) --------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation request. ``tid`` is filled in by the initiator's machine when ``None``."""

    code: int
    params: tuple[int, ...] = ()
    tid: int | None = None


@dataclass(frozen=True, slots=True)
class StartData:
    """Start of a data phase. ``total_length`` ``None`` means unknown (read to the end marker)."""

    total_length: int | None
    tid: int | None = None


@dataclass(frozen=True, slots=True)
class FileSlice:
    """``length`` bytes of an open file from ``offset``: a payload the I/O shell may send without
    copying it through Python (``sendfile``). The core only ever asks for its length."""

    file: object
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True, slots=True)
class DataChunk:
    """A piece of a data phase's payload (bytes, or a :class:`FileSlice` we send)."""

    data: bytes | bytearray | memoryview | FileSlice
    tid: int | None = None


@dataclass(frozen=True, slots=True)
class EndData:
    """End of a data phase (any final payload travels in a :class:`DataChunk` before it)."""

    tid: int | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """The responder's answer to an operation."""

    code: int
    params: tuple[int, ...] = ()
    tid: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An asynchronous event from the responder."""

    code: int
    params: tuple[int, ...] = ()
    tid: int | None = None


@dataclass(frozen=True, slots=True)
class CancelTransaction:
    """A cancel for transaction ``tid`` (PTP/IP Cancel packet or USB class Cancel request)."""

    tid: int


Message = Operation | StartData | DataChunk | EndData | Response | Event | CancelTransaction


# --- events: what the machine tells the application (past tense) -------------------------------


@dataclass(frozen=True, slots=True)
class OperationReceived:
    """The initiator asked for an operation. ``tid_ok`` is False when ``tid`` is not the one the
    session expected (a strict responder answers InvalidTransactionID)."""

    code: int
    tid: int
    params: tuple[int, ...]
    tid_ok: bool = True


@dataclass(frozen=True, slots=True)
class DataStarted:
    """A data phase began. ``total_length`` is ``None`` when the sender did not announce it."""

    tid: int
    total_length: int | None


@dataclass(frozen=True, slots=True)
class DataReceived:
    """A piece of payload of the current data phase."""

    tid: int
    data: bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class DataFinished:
    """The current data phase is complete; ``length`` bytes were carried."""

    tid: int
    length: int


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The responder answered the current transaction."""

    code: int
    tid: int
    params: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EventReceived:
    """An asynchronous event arrived."""

    code: int
    tid: int
    params: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """(Responder) the initiator cancelled transaction ``tid``; stop and call complete_cancel."""

    tid: int


@dataclass(frozen=True, slots=True)
class TransactionCancelled:
    """The cancel flow for ``tid`` finished; the session is idle and usable.

    ``response`` is the response the device sent for the cancelled transaction, if any.
    """

    tid: int
    response: ResponseReceived | None = None


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """(Initiator) the device was silent for longer than the response timeout; a cancel flow for
    ``tid`` has started."""

    tid: int


@dataclass(frozen=True, slots=True)
class CancelFailed:
    """(Initiator) the cancel flow did not finish within its budget; the machine must be reset."""

    tid: int


MachineEvent = (
    OperationReceived
    | DataStarted
    | DataReceived
    | DataFinished
    | ResponseReceived
    | EventReceived
    | CancelRequested
    | TransactionCancelled
    | TransactionTimedOut
    | CancelFailed
)


# --- actions: what the I/O shell must do beyond sending messages ---------------------------------


@dataclass(frozen=True, slots=True)
class SendCancel:
    """Send a cancel for ``tid``: PTP/IP Cancel on the command *and* event connections, or the
    USB class Cancel request (0x64) carrying the tid."""

    tid: int


@dataclass(frozen=True, slots=True)
class RequestDeviceStatus:
    """(USB) issue Get Device Status (0x67) and feed the answer to ``receive_device_status``."""


Action = SendCancel | RequestDeviceStatus
