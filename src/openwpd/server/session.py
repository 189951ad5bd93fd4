"""One initiator's session with the virtual device.

Theory of operation
-------------------
:class:`DeviceSession` owns a link (:class:`~openwpd.transport.link.Link`: PTP/IP, USB through
FunctionFS) and a responder
:class:`~openwpd.protocol.transaction.TransactionMachine`. Its loop takes messages from the link,
feeds them to the machine and, for each operation, runs the registered handler as a task.

Cancel: the link reports a Cancel packet the moment it arrives (``on_cancel``), from either
connection. The session feeds it to the machine; if it names the transaction in flight, the
handler's task is cancelled at its next ``await`` (after the packet being written, so PTP/IP
framing stays intact), its ``finally`` blocks roll back (a pending upload is aborted), and the
session answers TransactionCancelled (0x201F) with that transaction's ID. Data of the cancelled
transaction still in flight is discarded by the machine. The session then serves the next
operation as usual (PTP/IP, CIPA DC-005).

Failure paths: a handler that fails before reading the data phase it was owed gets that phase
drained before the response (PTP). A handler that fails in the middle of sending a data phase
cannot answer any more (the initiator is counting bytes): the link is closed. A dropped
connection cancels the handler the same way a Cancel does, so uploads roll back.

Placeholders: a windowed upload creates its file empty (SendObjectInfo or SendObjectPropList
of size 0, the empty SendObject), then fills it through an edit (BeginEditObject ...
EndEditObject). The device cannot tell that empty file from a real empty one until the
initiator's next operation, so every file this session creates empty is a *placeholder*
(recorded with the store, :meth:`ObjectStore.mark_placeholder`) until then: it becomes an
ordinary file when the next operation is anything but the empty SendObject or a
BeginEditObject of it; after a BeginEditObject it stays a placeholder until an EndEditObject of
it succeeds. A session that ends (CloseSession, a dropped connection, the device stopping)
deletes its placeholders, so an upload cut before its data completed leaves nothing. (The price:
an initiator that creates an empty file and drops the connection without another operation,
not even CloseSession, loses that empty file.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from openwpd.protocol.codes import OperationCode, ResponseCode, describe
from openwpd.protocol.errors import OpenWpdError, RemoteProtocolError, TransportError
from openwpd.protocol.messages import (
    CancelRequested,
    CancelTransaction,
    DataChunk,
    EndData,
    Event,
    MachineEvent,
    Message,
    Operation,
    OperationReceived,
    Response,
    StartData,
)
from openwpd.protocol.transaction import Role, State, TransactionMachine
from openwpd.server.context import MtpError, NoDataPhase, OperationContext, Reply
from openwpd.server.registry import HANDLERS
from openwpd.server.store import PendingObject, StoreError

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice
    from openwpd.transport.link import Link

log = logging.getLogger("openwpd.server")

EVENT_QUEUE_DEPTH = 1024


class DeviceSession:
    """Serves one link until it closes. Created by the device for each initiator."""

    def __init__(self, device: VirtualDevice, link: Link, initiator: str) -> None:
        self.device = device
        self.link = link
        self.initiator = initiator
        # the link's cancel procedure: PTP/IP answers a cancelled transaction with 0x201F, USB
        # sends no response and reports DeviceBusy in Get Device Status until it is over
        self.machine = TransactionMachine(Role.RESPONDER, link.cancel_flow)
        link.on_cancel = self._on_cancel
        link.device_status = self._device_status
        self._handler: asyncio.Task[Reply | None] | None = None
        self._cancelled_tid: int | None = None
        #: Cancels that arrived while idle: the operation they name may still be queued
        self._early_cancels: set[int] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue(EVENT_QUEUE_DEPTH)
        self._dropped_events = 0
        #: per-session state the handlers keep between operations (edit sessions...)
        self.state: dict[str, object] = {}
        self._pending_upload: PendingObject | None = None
        self._on_close: list[Callable[[], None]] = []
        self._created_without_data = False
        #: placeholders created empty whose next operation has not come yet
        self._provisional: set[int] = set()
        #: placeholders this session began to fill through an edit
        self._filling: set[int] = set()
        #: a request that arrived where a data phase was owed: served once that is answered
        self._held: Message | None = None
        #: the last OpenSession found the session open: take the next transaction ID as it comes
        self._tid_resync = False
        #: (imitation: Imitation.wedge_on_data_cancel) a cancel came during a data phase: the
        #: session answers nothing any more
        self._wedged = False

    @property
    def session_id(self) -> int | None:
        return self.machine.session_id

    @staticmethod
    def now() -> float:
        return time.monotonic()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until the link closes or breaks; always cleans up."""
        sender = asyncio.create_task(self._send_events(), name=f"{self.link.name}-events")
        try:
            while True:
                msg, self._held = self._held, None
                if msg is None:
                    msg = await self.link.receive()
                for event in self.machine.receive(msg, self.now()):
                    if isinstance(event, OperationReceived):
                        await self._transact(event)
                    # anything else outside a transaction was a straggler the machine ignored
        except (TransportError, RemoteProtocolError) as exc:
            log.debug("%s: session ends: %s", self.link.name, exc)
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            await self._abandon_handler()
            self.end_session_state()
            self.device.session_ended(self)
            await self.link.aclose()

    async def _abandon_handler(self) -> None:
        if self._handler is not None and not self._handler.done():
            self._handler.cancel()
            with contextlib.suppress(BaseException):
                await self._handler

    def _device_status(self) -> int:
        """(USB) what Get Device Status answers now: DeviceBusy while a cancel is carried out."""
        return int(self.machine.device_status)

    def _on_cancel(self, tid: int) -> None:
        """Called by the link the moment a Cancel packet arrives (either connection)."""
        if self.machine.state in (State.CLOSED, State.ERROR):
            return
        if self.device.imitation.wedge_on_data_cancel and self.machine.state in (
            State.DATA_IN,
            State.DATA_OUT,
        ):
            self._wedged = True
        if self.machine.state is State.IDLE:
            # The operation it names may not have left the link's queue yet (a Cancel right
            # behind the request, or one on the event connection overtaking it): _transact
            # checks this set before running the handler.
            self._early_cancels.add(tid)
        try:
            events: list[MachineEvent] = self.machine.receive(CancelTransaction(tid), self.now())
        except RemoteProtocolError:  # pragma: no cover - a cancel is legal in every live state
            return
        if any(isinstance(e, CancelRequested) for e in events):
            self._cancelled_tid = tid
            if self._handler is not None and not self._handler.done():
                self._handler.cancel()

    async def _transact(self, op: OperationReceived) -> None:
        ctx = OperationContext(self.device, self, op.code, op.tid, op.params)
        if self._provisional:
            self._next_operation(op)
        if op.code != OperationCode.SEND_OBJECT:
            # SendObject must directly follow its SendObjectInfo (Android, PTP)
            self.drop_pending_upload()
        early_cancel = op.tid in self._early_cancels
        self._early_cancels.clear()
        if early_cancel:
            self.drop_pending_upload()
            self.machine.receive(CancelTransaction(op.tid), self.now())
            await self._finish_cancel()
            return
        if self.device.verbose:
            log.info(
                "%s: %s %s",
                self.initiator,
                describe(OperationCode, op.code),
                " ".join(f"0x{p:X}" for p in op.params),
            )
        registration = HANDLERS.get(op.code)
        resync, self._tid_resync = self._tid_resync, False
        if registration is not None and not self.device.offers(op.code):
            registration = None  # withheld by the imitated profile: as if not implemented
        reply: Reply | None = None
        code: ResponseCode = ResponseCode.OK
        params: tuple[int, ...] = ()
        needs_session = registration is not None and (
            registration.needs_session
            or (
                op.code == OperationCode.GET_DEVICE_INFO
                and self.device.imitation.device_info_needs_session
            )
        )
        if registration is None:
            code = ResponseCode.OPERATION_NOT_SUPPORTED
        elif needs_session and not self.machine.session_open:
            code = ResponseCode.SESSION_NOT_OPEN
        elif not op.tid_ok and self.device.strict_tids and not resync:
            code = ResponseCode.INVALID_TRANSACTION_ID
        else:
            self._cancelled_tid = None
            self._handler = asyncio.create_task(registration.handler(ctx))
            await asyncio.wait([self._handler])
            task, self._handler = self._handler, None
            if task.cancelled() or self._cancelled_tid == op.tid:
                if not task.cancelled():
                    with contextlib.suppress(BaseException):
                        task.result()
                await self._finish_cancel()
                return
            exc = task.exception()
            if exc is None:
                reply = task.result()
            elif isinstance(exc, MtpError):
                code, params = exc.code, exc.params
            elif isinstance(exc, StoreError):
                code = exc.code
            elif isinstance(exc, TransportError | RemoteProtocolError):
                raise exc
            else:
                log.exception(
                    "%s: handler for %s failed",
                    self.link.name,
                    describe(OperationCode, op.code),
                    exc_info=exc,
                )
                code = ResponseCode.GENERAL_ERROR
            if code is not ResponseCode.OK and self.device.verbose:
                log.info("%s:   -> %s %s", self.initiator, code.name, exc or "")
        if self.machine.state is State.DATA_IN:
            # failed while sending data: there is no way to answer any more
            raise TransportError(f"{self.link.name}: handler failed in the middle of sending data")
        if registration is not None and registration.data_out and not ctx.data_done:
            with contextlib.suppress(MtpError):
                await ctx.receive_data(limit=0)
            if self.machine.state is State.CANCELLING:
                await self._finish_cancel()
                return
        if reply is not None:
            code, params = reply.code, reply.params
        if op.code == OperationCode.END_EDIT_OBJECT and code == ResponseCode.OK:
            self._filled(op.params[0] if op.params else 0)
        if op.code == OperationCode.OPEN_SESSION and code == ResponseCode.SESSION_ALREADY_OPEN:
            # a new program on a USB host that kept the device configured numbers its
            # transactions afresh (libmtp, jmtpfs): its next transaction ID starts the count
            self._tid_resync = True
        await self.send(Response(code, params))

    async def _finish_cancel(self) -> None:
        if self._wedged:
            await self._play_dead()
        if self.machine.state is State.CANCELLING:
            response = self.machine.complete_cancel(self.now())
            if response is not None:
                await self.link.send(response)
        self._cancelled_tid = None

    async def _play_dead(self) -> None:
        """(Imitation of a wedged phone.) Read and drop everything until the initiator gives up
        and closes the link (TransportError ends the session)."""
        log.info("%s: a cancel during a data phase wedged the imitated device", self.link.name)
        while True:
            await self.link.receive()

    # -- what lives only as long as the session ----------------------------------------------

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the session ends (CloseSession, disconnect, server shutdown):
        e.g. abort an Android edit left open. Equal callbacks are registered once."""
        if callback not in self._on_close:
            self._on_close.append(callback)

    def end_session_state(self) -> None:
        """Drop everything the session held: a pending upload, open edits (via on_close),
        placeholders whose data never came (deleted)."""
        self.drop_pending_upload()
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("%s: session cleanup failed", self.link.name)
        left = self._provisional | self._filling
        self._provisional, self._filling = set(), set()
        for handle in sorted(left):
            try:
                self.device.store.discard_placeholder(handle)
            except Exception:
                log.exception("%s: removing placeholder 0x%08X failed", self.link.name, handle)

    # -- placeholders (see the module docstring) ---------------------------------------------

    def add_placeholder(self, handle: int) -> None:
        """The file ``handle`` was just created empty: a placeholder until the next operation
        says otherwise."""
        try:
            self.device.store.mark_placeholder(handle)
        except (OSError, StoreError) as exc:  # gone already (another program): nothing to do
            log.debug("%s: placeholder 0x%08X not recorded: %s", self.link.name, handle, exc)
            return
        self._provisional.add(handle)

    def _next_operation(self, op: OperationReceived) -> None:
        first = op.params[0] if op.params else None
        for handle in list(self._provisional):
            if op.code == OperationCode.SEND_OBJECT:
                continue  # the empty SendObject after SendObjectInfo
            self._provisional.discard(handle)
            if op.code == OperationCode.BEGIN_EDIT_OBJECT and first == handle:
                self._filling.add(handle)
            else:
                self.device.store.settle_placeholder(handle)

    def _filled(self, handle: int) -> None:
        if handle in self._filling:
            self._filling.discard(handle)
            self.device.store.settle_placeholder(handle)

    # -- SendObjectInfo -> SendObject -------------------------------------------------------

    def set_pending_upload(self, pending: PendingObject) -> None:
        """Remember the upload SendObject will fill (replacing and aborting an older one)."""
        self.drop_pending_upload()
        self._pending_upload = pending

    def take_pending_upload(self) -> PendingObject | None:
        pending, self._pending_upload = self._pending_upload, None
        return pending

    def drop_pending_upload(self) -> None:
        """Abort the upload announced by SendObjectInfo, if SendObject never came."""
        pending, self._pending_upload = self._pending_upload, None
        if pending is not None and pending.is_open:
            pending.abort()
        self._created_without_data = False

    def mark_created_without_data(self) -> None:
        """SendObjectInfo created the object itself (a folder, an empty file): an empty
        SendObject may follow and is accepted."""
        self._created_without_data = True

    def take_created_without_data(self) -> bool:
        created, self._created_without_data = self._created_without_data, False
        return created

    # -- I/O helpers for handlers -----------------------------------------------------------

    async def send(self, msg: Message) -> None:
        """Record ``msg`` with the machine and put it on the wire."""
        await self.link.send(self.machine.send(msg, self.now()))

    async def next_data_events(self) -> list[MachineEvent]:
        """The machine's events for the next message of a data phase from the initiator."""
        msg = await self.link.receive()
        if self.machine.state is State.OPERATION:  # the data phase has not begun
            if isinstance(msg, Operation):
                # The initiator went on to its next request without the data phase: this
                # operation is answered without it (NoDataPhase), then that request is served.
                self._held = msg
                raise NoDataPhase()
            if isinstance(msg, DataChunk | EndData) and msg.tid == self.machine.current_tid:
                # End Data (possibly with data) without Start Data: a phase of unknown length
                started = self.machine.receive(StartData(None, msg.tid), self.now())
                return started + self.machine.receive(msg, self.now())
        events = self.machine.receive(msg, self.now())
        if any(isinstance(e, OperationReceived) for e in events):
            raise RemoteProtocolError("a new operation arrived in the middle of a data phase")
        return events

    # -- events -----------------------------------------------------------------------------

    def post_event(self, event: Event) -> None:
        """Queue an event for this initiator (never blocks; drops when the initiator lags)."""
        if not self.machine.session_open:
            return
        try:
            self._events.put_nowait(event)
            self._dropped_events = 0
        except asyncio.QueueFull:
            # a burst (another program deleting 50,000 files) outruns the initiator: say so
            # once per burst, not once per event
            if not self._dropped_events:
                log.warning("%s: event queue full, dropping events", self.link.name)
            self._dropped_events += 1

    async def _send_events(self) -> None:
        with contextlib.suppress(OpenWpdError):
            while True:
                event = await self._events.get()
                if self.machine.state in (State.CLOSED, State.ERROR):
                    return
                await self.link.send(self.machine.send(event, self.now()))
