"""One transaction at a time on a link, with protocol-level cancel: the engine under the client.

Theory of operation
-------------------
:class:`TransactionRunner` owns an initiator
:class:`~openwpd.protocol.transaction.TransactionMachine` and a
:class:`~openwpd.transport.link.Link`, and runs exactly one transaction at a time through
:meth:`TransactionRunner.transact`. A transaction's data phase is streamed both ways: data we
send comes from ``bytes`` or any (async) iterable of chunks; data we receive goes to a ``sink``
callable chunk by chunk, so a 10 GiB object never sits in memory.

Cancel: if the task running :meth:`transact` is cancelled (``asyncio`` cancellation, which is
how the client's ``handle.cancel()`` and ``task.cancel()`` reach it), the runner cancels the
transaction *on the wire*: it tells the machine, sends what the machine asks for (a Cancel packet
on both PTP/IP connections), keeps reading and discarding that transaction's data until its
response arrives, and only then lets the cancellation propagate. The session is idle and usable
afterwards. This cleanup is shielded from further cancellation (as httpcore does). If the
device does not finish the cancel within the machine's budget, or the link breaks, the runner is
*broken*: it raises :class:`~openwpd.protocol.errors.SessionReset` / the transport error for
this and every later call, and the owner (the client's Connection) escalates.

The data a device sends is trusted only up to the size the caller expects (``max_data``: the
length a GetPartialObject asked for, the size of the object a GetObject reads), and data
collected in memory without a sink only up to :data:`COLLECT_LIMIT`: a data phase that
announces or delivers more is a protocol violation (RemoteProtocolError; the runner is broken,
as for any malformed answer), caught before the surplus reaches a file or memory.

A data source or sink of the caller that raises in the middle of a data phase (a local file
that shrank, a full disk) is handled like a cancel: the transaction is cancelled on the wire so
the session stays in step, then the caller's exception propagates.

The machine's timers (response timeout, cancel budget) are serviced by reading with a timeout
equal to the next deadline; the machine never reads a clock, this shell does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from openwpd.protocol.errors import (
    LocalProtocolError,
    OpenWpdError,
    ReadTimeout,
    RemoteProtocolError,
    SessionReset,
)
from openwpd.protocol.messages import (
    CancelFailed,
    DataChunk,
    DataFinished,
    DataReceived,
    DataStarted,
    EndData,
    EventReceived,
    FileSlice,
    MachineEvent,
    Message,
    Operation,
    RequestDeviceStatus,
    ResponseReceived,
    SendCancel,
    StartData,
    TransactionCancelled,
    TransactionTimedOut,
)
from openwpd.protocol.transaction import CancelFlow, Role, State, Timeouts, TransactionMachine
from openwpd.transport.link import Link

#: Payload bytes per data packet we send.
SEND_CHUNK = 1024 * 1024
#: The most data a transaction without a sink may collect in memory (datasets, thumbnails,
#: property values, pass-through answers), unless the caller names its own ``max_data``.
COLLECT_LIMIT = 64 * 1024 * 1024

#: what a data phase we send is made of; FileSlice pieces (only over a link whose
#: ``supports_file_slices`` is true) go from the file to the socket with sendfile
DataSource = bytes | bytearray | memoryview | Iterable[bytes | FileSlice] | AsyncIterable[bytes]
Sink = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one transaction: the response code and parameters, the data received
    (when no sink was given) and how many data bytes moved."""

    code: int
    params: tuple[int, ...]
    data: bytes
    transferred: int
    tid: int


class TransactionRunner:
    """Runs transactions one at a time on ``link``; see the module docstring."""

    def __init__(
        self,
        link: Link,
        *,
        timeouts: Timeouts | None = None,
        on_event: Callable[[EventReceived], None] | None = None,
        cancel_flow: CancelFlow | None = None,
    ) -> None:
        self.link = link
        # None: the link says which cancel procedure it needs
        flow: CancelFlow = cancel_flow or link.cancel_flow
        self.machine = TransactionMachine(Role.INITIATOR, flow, timeouts or Timeouts())
        self.on_event = on_event
        self._lock = asyncio.Lock()
        self._broken: OpenWpdError | None = None

    @property
    def broken(self) -> OpenWpdError | None:
        """The sticky error once the runner can no longer be used, else None."""
        return self._broken

    @staticmethod
    def now() -> float:
        return time.monotonic()

    async def transact(
        self,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data: DataSource | None = None,
        data_length: int | None = None,
        sink: Sink | None = None,
        max_data: int | None = None,
    ) -> Result:
        """Run one transaction. ``data``: the data phase we send (``data_length`` announces its
        size for iterables; bytes know theirs). ``sink`` receives incoming data chunk by chunk;
        without it the data is collected into ``Result.data``. ``max_data``: the most data the
        device may send (None: no limit with a sink, :data:`COLLECT_LIMIT` without one); more
        is a RemoteProtocolError, raised before the surplus reaches the sink.

        Raises the transport's errors (sticky), RemoteProtocolError, SessionReset when a cancel
        or timeout could not be recovered, ReadTimeout when the device was silent past the
        response timeout but recovered (the session is usable), and ``asyncio.CancelledError``
        after a cancel that was carried out on the wire (the session is usable).
        """
        async with self._lock:
            if self._broken is not None:
                raise self._broken
            op = self._send(Operation(code, params))
            assert op.tid is not None
            tid = op.tid
            try:
                limit = max_data if max_data is not None or sink is not None else COLLECT_LIMIT
                return await self._run(tid, op, data, data_length, sink, limit)
            except asyncio.CancelledError:
                await self._settle_cancel()
                raise
            except SourceError as exc:
                # our data source or sink failed in the middle of the data phase: the device
                # is owed (or still sending) bytes, so the transaction is cancelled on the wire
                # and the caller gets the source's own error; the session stays usable
                await self._settle_cancel()
                if self._broken is not None:
                    raise self._broken from exc.error
                raise exc.error from None
            except TransactionTimeout:
                await self._settle_cancel()
                raise ReadTimeout(f"{self.link.name}: the device did not answer in time") from None
            except OpenWpdError as exc:
                if not isinstance(exc, LocalProtocolError):
                    self._break(exc)
                raise
            finally:
                if data is not None:
                    await self._flush()

    async def _flush(self) -> None:
        """Wait (shielded) for a FileSlice still on the wire: its sender is shielded and may
        outlive a cancelled transaction, and our caller may close the file once we return.
        Waited for after the cancel went out, not before."""
        task = asyncio.ensure_future(self.link.flush())
        cancelled = False
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True  # finish waiting, then let the cancellation through
        if cancelled:
            raise asyncio.CancelledError

    def _send(self, msg: Message) -> Message:
        return self.machine.send(msg, self.now())

    async def _run(
        self,
        tid: int,
        op: Message,
        data: DataSource | None,
        data_length: int | None,
        sink: Sink | None,
        limit: int | None,
    ) -> Result:
        await self.link.send(op, data_follows=data is not None)
        if data is not None:
            await self._send_data(data, data_length)
        collected: list[bytes] = []
        transferred = 0
        while True:
            for event in await self._next_events():
                if isinstance(event, DataReceived):
                    chunk = bytes(event.data)
                    transferred += len(chunk)
                    if limit is not None and transferred > limit:
                        raise self._overflow(op, f"more than {limit}", limit)
                    if sink is None:
                        collected.append(chunk)
                    else:
                        try:
                            result = sink(chunk)
                            if asyncio.iscoroutine(result):
                                await result
                        except Exception as exc:
                            raise SourceError(exc) from exc
                elif isinstance(event, ResponseReceived):
                    return Result(event.code, event.params, b"".join(collected), transferred, tid)
                elif isinstance(event, DataStarted):
                    total = event.total_length
                    if limit is not None and total is not None and total > limit:
                        raise self._overflow(op, str(total), limit)
                elif isinstance(event, DataFinished):
                    continue
                elif isinstance(event, TransactionTimedOut):
                    raise TransactionTimeout
                else:  # pragma: no cover - nothing else reaches here while a transaction runs
                    raise RemoteProtocolError(f"unexpected {event!r}")

    def _overflow(self, op: Message, sent: str, limit: int) -> RemoteProtocolError:
        code = op.code if isinstance(op, Operation) else 0
        return RemoteProtocolError(
            f"{self.link.name}: the device sent {sent} data bytes for operation 0x{code:04X}, "
            f"where at most {limit} were expected"
        )

    async def _send_data(self, data: DataSource, length: int | None) -> None:
        if isinstance(data, bytes | bytearray | memoryview):
            view = memoryview(data)
            await self.link.send(self._send(StartData(len(view))))
            for i in range(0, len(view), SEND_CHUNK):
                await self.link.send(self._send(DataChunk(view[i : i + SEND_CHUNK])))
        else:
            await self.link.send(self._send(StartData(length)))
            if isinstance(data, AsyncIterable):
                iterator = aiter(data)
                while (chunk := await _next_async(iterator)) is not None:
                    await self._send_chunk(chunk)
            else:
                sync_iterator = iter(data)
                while (piece := _next_sync(sync_iterator)) is not None:
                    await self._send_chunk(piece)
        await self.link.send(self._send(EndData()))

    async def _send_chunk(self, chunk: bytes | FileSlice) -> None:
        if isinstance(chunk, FileSlice):
            await self.link.send(self._send(DataChunk(chunk)))
            return
        view = memoryview(chunk)
        for i in range(0, len(view), SEND_CHUNK):
            await self.link.send(self._send(DataChunk(view[i : i + SEND_CHUNK])))

    async def _next_events(self) -> list[MachineEvent]:
        """Read until the machine has something to say (servicing its timers meanwhile)."""
        while True:
            deadline = self.machine.get_timer()
            timeout = None if deadline is None else max(0.0, deadline - self.now())
            try:
                msg = await self.link.receive(timeout)
            except ReadTimeout:
                events = self.machine.handle_timer(self.now())
            else:
                events = self.machine.receive(msg, self.now())
            events = self._dispatch_events(events)
            events += await self._do_actions()
            if events:
                return events

    def _dispatch_events(self, events: list[MachineEvent]) -> list[MachineEvent]:
        """Hand device events to ``on_event``; return the rest."""
        rest: list[MachineEvent] = []
        for event in events:
            if isinstance(event, EventReceived):
                if self.on_event is not None:
                    self.on_event(event)
            else:
                rest.append(event)
        return rest

    async def _do_actions(self) -> list[MachineEvent]:
        """Carry out the machine's actions; returns what it made of them (over USB, the device
        status it asked for can move the cancel flow on, or fail it)."""
        events: list[MachineEvent] = []
        for action in self.machine.pending_actions():
            if isinstance(action, SendCancel):
                await self.link.send_cancel(action)
            elif isinstance(action, RequestDeviceStatus):
                code = await self.link.request_device_status()
                events += self.machine.receive_device_status(code, self.now())
        return events

    async def _settle_cancel(self) -> None:
        """Carry out the cancel flow to its end while holding the lock, even if we are
        cancelled again meanwhile (a second cancel must not release the lock while the session
        is still cancelling: the next transaction would find it busy); a cancel that arrived
        is re-raised afterwards."""
        flow = asyncio.ensure_future(self._cancel_on_wire())
        cancelled = False
        while not flow.done():
            try:
                await asyncio.shield(flow)
            except asyncio.CancelledError:
                cancelled = True
        flow.result()
        if cancelled:
            raise asyncio.CancelledError

    async def _cancel_on_wire(self) -> None:
        """Carry out the machine's cancel flow for the transaction in flight (shielded)."""
        try:
            self.machine.cancel(self.now())
            events = await self._do_actions()
            while True:
                for event in events:
                    if isinstance(event, CancelFailed):
                        raise SessionReset(
                            f"{self.link.name}: the device did not recover from a cancel"
                        )
                    if isinstance(event, TransactionCancelled):
                        return
                if self.machine.state is not State.CANCELLING:
                    break
                events = await self._next_events()
            if self.machine.state is State.MUST_RESET:
                raise SessionReset(f"{self.link.name}: the device did not recover from a cancel")
        except OpenWpdError as exc:
            self._break(
                exc
                if isinstance(exc, SessionReset)
                else SessionReset(f"{self.link.name}: the link failed while cancelling: {exc}")
            )
            await _recover(self.link)

    def _break(self, exc: OpenWpdError) -> None:
        if self._broken is None:
            self._broken = exc

    async def aclose(self) -> None:
        """Close the link (always)."""
        self.machine.close()
        await self.link.aclose()


async def _recover(link: Link) -> None:
    """Before SessionReset: let the link bring the device back to idle (USB: Device Reset, then
    a port reset) so that a new session can start. Best effort; failures are sticky on the link
    and surface at the next open."""
    with contextlib.suppress(OpenWpdError):
        await link.recover()


class TransactionTimeout(Exception):
    """Internal: the machine's response timeout fired (turned into ReadTimeout)."""


class SourceError(Exception):
    """Internal: the caller's data source or sink raised ``error`` during the data phase."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _next_sync(iterator: Iterator[bytes | FileSlice]) -> bytes | FileSlice | None:
    try:
        return next(iterator)
    except StopIteration:
        return None
    except Exception as exc:
        raise SourceError(exc) from exc


async def _next_async(iterator: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None
    except Exception as exc:
        raise SourceError(exc) from exc


__all__ = ["Link", "Result", "TransactionRunner"]
