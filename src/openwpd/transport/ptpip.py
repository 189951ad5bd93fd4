"""PTP/IP over asyncio TCP: the link both roles share, the initiator's handshake, and the
responder's listener.

A :class:`PtpIpLink` turns the two TCP connections of a PTP/IP link into a stream of transaction
messages (:mod:`openwpd.protocol.messages`) and back. One reader task per connection feeds a
:class:`~openwpd.protocol.ptpip.PacketFramer`; decoded messages go into a bounded queue (so a fast
sender is slowed by TCP flow control, not by our memory) which :meth:`PtpIpLink.receive` drains.
A Cancel packet is also reported at once through ``on_cancel``, from whichever connection it
arrives on, so a responder can abort a data phase without waiting for the queue. Probe Requests
on the event connection are answered here.

Errors are mapped at this boundary (STYLE.md, httpcore): ``OSError``/EOF become
:class:`~openwpd.protocol.errors.DeviceGone`, timeouts :class:`ReadTimeout` /
:class:`ConnectError`; a malformed packet is a :class:`RemoteProtocolError`. Any of them is
sticky: the link is unusable afterwards and every later call raises the same error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openwpd.protocol import ptpip
from openwpd.protocol.codes import InitFailReason
from openwpd.protocol.errors import (
    ConnectError,
    DeviceGone,
    OpenWpdError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
    WriteTimeout,
)
from openwpd.protocol.messages import Event, FileSlice, Message, SendCancel
from openwpd.protocol.ptpip_codec import Channel, PtpIpCodec

log = logging.getLogger(__name__)

DEFAULT_PORT = 15740
READ_SIZE = 4 * 1024 * 1024
#: StreamReader buffer limit: large, so 1 MiB data packets arrive in few reads
STREAM_LIMIT = 8 * 1024 * 1024
QUEUE_DEPTH = 64
HANDSHAKE_TIMEOUT = 10.0


def _map_error(exc: BaseException, what: str) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionError | EOFError):
        return DeviceGone(f"{what}: the peer closed the connection")
    if isinstance(exc, TimeoutError):
        return ReadTimeout(f"{what}: timed out")
    return DeviceGone(f"{what}: {exc}")


async def _read_packet(
    reader: asyncio.StreamReader, framer: ptpip.PacketFramer, timeout: float
) -> ptpip.Packet:
    """One whole packet during a handshake (before the reader tasks run)."""
    async with asyncio.timeout(timeout):
        while True:
            packet = framer.next_packet()
            if packet is not None:
                return packet
            data = await reader.read(READ_SIZE)
            if not data:
                raise DeviceGone("the peer closed the connection during the handshake")
            framer.feed(data)


class PtpIpLink:
    """Async message I/O over one PTP/IP link (command + event connection), either role.

    ``receive()`` returns the next message from the peer (from either connection), in order per
    connection; when ``on_event`` is set, Event messages go to it instead, the moment they
    arrive (an initiator wants events while no transaction runs). ``send()`` encodes a message
    (its ``tid`` filled in by the machine) and writes it to the right connection.
    ``on_cancel(tid)`` is called from the reader tasks the moment a Cancel packet arrives.
    ``aclose()`` always releases both sockets.
    """

    def __init__(
        self,
        cmd: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        *,
        cmd_framer: ptpip.PacketFramer | None = None,
        on_cancel: Callable[[int], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        name: str = "ptpip",
    ) -> None:
        self.name = name
        self.codec = PtpIpCodec()
        self.on_cancel = on_cancel
        self.on_event = on_event
        #: called once, from a reader task, when the link breaks by itself (EOF, reset, garbage)
        #: -- not when it is closed with aclose(); lets an idle owner notice a vanished device
        self.on_broken: Callable[[OpenWpdError], None] | None = None
        self._cmd_reader, self._cmd_writer = cmd
        self._event_writer: asyncio.StreamWriter | None = None
        self._queue: asyncio.Queue[Message | TransportError | RemoteProtocolError] = asyncio.Queue(
            QUEUE_DEPTH
        )
        self._error: OpenWpdError | None = None
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._event_ready = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._inflight: set[asyncio.Future[None]] = set()
        self._tasks.append(
            asyncio.create_task(
                self._read_loop(
                    self._cmd_reader, cmd_framer or ptpip.PacketFramer(), Channel.COMMAND
                ),
                name=f"{name}-command-reader",
            )
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def attach_event_connection(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: ptpip.PacketFramer | None = None,
    ) -> None:
        """Bind the event connection (after Init Event Request/Ack)."""
        self._event_writer = writer
        self._event_ready.set()
        self._tasks.append(
            asyncio.create_task(
                self._read_loop(reader, framer or ptpip.PacketFramer(), Channel.EVENT),
                name=f"{self.name}-event-reader",
            )
        )

    async def _read_loop(
        self, reader: asyncio.StreamReader, framer: ptpip.PacketFramer, channel: Channel
    ) -> None:
        try:
            while True:
                for packet in framer:
                    await self._dispatch(packet, channel)
                data = await reader.read(READ_SIZE)
                if not data:
                    raise DeviceGone(f"{self.name}: the peer closed the {channel.value} connection")
                framer.feed(data)
        except asyncio.CancelledError:
            raise
        except RemoteProtocolError as exc:
            await self._fail(exc)
        except Exception as exc:  # mapped to our error family at the boundary
            await self._fail(_map_error(exc, f"{self.name} {channel.value} connection"))

    async def _dispatch(self, packet: ptpip.Packet, channel: Channel) -> None:
        if isinstance(packet, ptpip.ProbeRequest):
            await self._write_shielded([(channel, ptpip.ProbeResponse().build())])
            return
        if isinstance(packet, ptpip.ProbeResponse):
            return
        if isinstance(packet, ptpip.Cancel) and self.on_cancel is not None:
            self.on_cancel(packet.transaction_id)
        for msg in self.codec.decode(packet, channel):
            if isinstance(msg, Event) and self.on_event is not None:
                self.on_event(msg)  # events bypass the transaction queue: no waiting for a reader
            else:
                await self._queue.put(msg)

    async def _fail(self, exc: TransportError | RemoteProtocolError) -> None:
        if self._error is None:
            self._error = exc
            if self.on_broken is not None and not self._closed:
                try:
                    self.on_broken(exc)
                except Exception:
                    log.exception("%s: on_broken callback failed", self.name)
        # make sure a waiting receive() wakes up even if the queue is full
        while True:
            try:
                self._queue.put_nowait(exc)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message from the peer. Raises the link's sticky error when it broke."""
        if self._closed:
            raise self._error or DeviceGone(f"{self.name}: link closed")
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            raise ReadTimeout(f"{self.name}: nothing received for {timeout} s") from None
        if isinstance(item, OpenWpdError):
            self._queue.put_nowait(item)  # sticky for every later caller
            raise item
        return item

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        """Encode one message and write it (waiting for the socket to drain).

        A packet is never cut by a cancellation: the pieces of one message are written by a
        shielded task that holds the write lock, so a cancelled caller returns at once while the
        packet finishes behind it, and the next writer waits for the lock.
        """
        await self._write_shielded(self.codec.encode(msg, data_follows=data_follows))

    async def send_cancel(self, action: SendCancel) -> None:
        """A Cancel packet on the command and the event connection."""
        await self._write_shielded(PtpIpCodec.encode_cancel(action))

    #: this link can send a FileSlice with the kernel's sendfile (no copy through Python)
    supports_file_slices = True

    async def _write_shielded(
        self, pieces: Sequence[tuple[Channel, bytes | memoryview | FileSlice]]
    ) -> None:
        if self._error is not None:
            raise self._error
        if (
            all(not isinstance(data, FileSlice) for _, data in pieces)
            and not self._write_lock.locked()
        ):
            # the common case needs no task: write() buffers the whole packet synchronously,
            # and only the drain below can be interrupted, which cuts nothing
            self._write_now(pieces)
            await self._drain(pieces)
            return
        task = asyncio.ensure_future(self._write_locked(pieces))
        task.add_done_callback(_consume_exception)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        await asyncio.shield(task)

    async def flush(self) -> None:
        """Wait until every write already started has finished (even if its caller was
        cancelled): a FileSlice's file must stay open until then."""
        while self._inflight:
            await asyncio.wait(list(self._inflight))

    def _writer_for(self, channel: Channel) -> asyncio.StreamWriter | None:
        return self._event_writer if channel is Channel.EVENT else self._cmd_writer

    def _write_now(self, pieces: Sequence[tuple[Channel, bytes | memoryview | FileSlice]]) -> None:
        try:
            for channel, data in pieces:
                writer = self._writer_for(channel)
                if writer is not None:  # no event connection (yet): events are dropped
                    assert not isinstance(data, FileSlice)
                    writer.write(data)
        except (OSError, RuntimeError) as exc:
            raise self._broken_by(exc) from None

    async def _drain(
        self, pieces: Sequence[tuple[Channel, bytes | memoryview | FileSlice]]
    ) -> None:
        try:
            for channel in {channel for channel, _ in pieces}:
                writer = self._writer_for(channel)
                if writer is not None:
                    await writer.drain()
        except (OSError, RuntimeError) as exc:
            raise self._broken_by(exc) from None

    async def _write_locked(
        self, pieces: Sequence[tuple[Channel, bytes | memoryview | FileSlice]]
    ) -> None:
        async with self._write_lock:
            if self._error is not None:
                raise self._error
            try:
                for channel, data in pieces:
                    writer = self._writer_for(channel)
                    if writer is None:
                        continue
                    if isinstance(data, FileSlice):
                        await writer.drain()
                        await asyncio.get_running_loop().sendfile(
                            writer.transport,
                            data.file,  # type: ignore[arg-type]
                            data.offset,
                            data.length,
                        )
                    else:
                        writer.write(data)
                        await writer.drain()
            except (OSError, RuntimeError) as exc:
                raise self._broken_by(exc) from None

    def _broken_by(self, exc: BaseException) -> TransportError:
        err = _map_error(exc, f"{self.name} write")
        if self._error is None:
            self._error = err
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(err)
        return err

    async def aclose(self) -> None:
        """Close both connections and stop the reader tasks. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._error is None:
            self._error = DeviceGone(f"{self.name}: link closed")
        for task in self._tasks:
            task.cancel()
        for writer in (self._cmd_writer, self._event_writer):
            if writer is None:
                continue
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task


def _consume_exception(task: asyncio.Future[None]) -> None:
    # a shielded write whose caller was cancelled: its error is already sticky on the link
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True, slots=True)
class InitiatorIdentity:
    """Who we say we are in the Init Command Request."""

    guid: bytes
    friendly_name: str


async def open_ptpip_link(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    identity: InitiatorIdentity,
    event_port: int | None = None,
    timeout: float = HANDSHAKE_TIMEOUT,
    on_cancel: Callable[[int], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> tuple[PtpIpLink, ptpip.InitCommandAck]:
    """Connect as an initiator: command connection, Init Command, event connection, Init Event.

    Returns the link and the responder's Ack (its GUID and friendly name). Raises ConnectError
    when the device cannot be reached or answers Init Fail (the reason is in the message).
    """
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=STREAM_LIMIT)
    except (OSError, TimeoutError) as exc:
        raise ConnectError(f"cannot connect to ptpip://{host}:{port}: {exc}") from None
    framer = ptpip.PacketFramer()
    try:
        writer.write(ptpip.InitCommandRequest(identity.guid, identity.friendly_name).build())
        await writer.drain()
        ack = await _read_packet(reader, framer, timeout)
        if isinstance(ack, ptpip.InitFail):
            raise ConnectError(f"ptpip://{host}:{port} refused us: {_reason(ack.reason)}")
        if not isinstance(ack, ptpip.InitCommandAck):
            raise RemoteProtocolError(f"expected Init Command Ack, got {type(ack).__name__}")
        ev_reader, ev_writer = await asyncio.wait_for(
            asyncio.open_connection(host, event_port or port), timeout
        )
    except BaseException as exc:
        writer.close()
        if isinstance(exc, OpenWpdError | asyncio.CancelledError):
            raise
        raise ConnectError(f"ptpip://{host}:{port}: handshake failed: {exc}") from None
    ev_framer = ptpip.PacketFramer()
    try:
        ev_writer.write(ptpip.InitEventRequest(ack.connection_number).build())
        await ev_writer.drain()
        ev_ack = await _read_packet(ev_reader, ev_framer, timeout)
        if isinstance(ev_ack, ptpip.InitFail):
            raise ConnectError(
                f"ptpip://{host}:{port} refused the event connection: {_reason(ev_ack.reason)}"
            )
        if not isinstance(ev_ack, ptpip.InitEventAck):
            raise RemoteProtocolError(f"expected Init Event Ack, got {type(ev_ack).__name__}")
    except BaseException as exc:
        writer.close()
        ev_writer.close()
        if isinstance(exc, OpenWpdError | asyncio.CancelledError):
            raise
        raise ConnectError(f"ptpip://{host}:{port}: event handshake failed: {exc}") from None
    link = PtpIpLink(
        (reader, writer),
        cmd_framer=framer,
        on_cancel=on_cancel,
        on_event=on_event,
        name=f"ptpip://{host}:{port}",
    )
    link.attach_event_connection(ev_reader, ev_writer, ev_framer)
    return link, ack


def _reason(code: int) -> str:
    try:
        return InitFailReason(code).name.lower().replace("_", " ")
    except ValueError:
        return f"reason {code}"


# --- the responder's listener --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponderIdentity:
    """What the responder answers in the Init Command Ack."""

    guid: bytes
    friendly_name: str


SessionFactory = Callable[[PtpIpLink, ptpip.InitCommandRequest], "asyncio.Task[None]"]


class PtpIpListener:
    """Accepts PTP/IP initiators on a loopback-or-given address and hands each link to
    ``start_session(link, request)`` (which returns the task serving it).

    ``allowed_guids`` (if given) limits who may connect; others get Init Fail "rejected
    initiator". Several initiators may be connected at once, each with its own link.
    """

    def __init__(
        self,
        identity: ResponderIdentity,
        start_session: SessionFactory,
        *,
        allowed_guids: Sequence[bytes] | None = None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        self.identity = identity
        self._start_session = start_session
        self._allowed = set(allowed_guids) if allowed_guids else None
        self._timeout = handshake_timeout
        self._pending: dict[int, PtpIpLink] = {}
        self._next_number = 1
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._handshakes: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> tuple[str, int]:
        """Listen; returns the real (host, port) (port 0 picks a free one)."""
        self._server = await asyncio.start_server(self._accept, host, port, limit=STREAM_LIMIT)
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handshakes.add(task)
        try:
            await self._handshake(reader, writer)
        except asyncio.CancelledError:
            # shutting down while this initiator had not finished its handshake: the stream
            # callback must not end cancelled (asyncio would log it as an error)
            writer.close()
        except Exception as exc:  # one bad initiator must not stop the listener
            log.info("PTP/IP handshake failed: %s", exc)
            writer.close()
        finally:
            if task is not None:
                self._handshakes.discard(task)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = ptpip.PacketFramer()
        first = await _read_packet(reader, framer, self._timeout)
        if isinstance(first, ptpip.InitCommandRequest):
            if self._allowed is not None and first.guid not in self._allowed:
                writer.write(ptpip.InitFail(InitFailReason.REJECTED_INITIATOR).build())
                await writer.drain()
                writer.close()
                return
            number = self._next_number
            self._next_number += 1
            writer.write(
                ptpip.InitCommandAck(
                    number, self.identity.guid, self.identity.friendly_name
                ).build()
            )
            await writer.drain()
            link = PtpIpLink(
                (reader, writer),
                cmd_framer=framer,
                name=f"initiator {first.friendly_name!r} #{number}",
            )
            self._pending[number] = link
            session = self._start_session(link, first)
            self._sessions.add(session)
            session.add_done_callback(self._sessions.discard)
            session.add_done_callback(self._forget(number))
        elif isinstance(first, ptpip.InitEventRequest):
            link_for = self._pending.get(first.connection_number)
            if link_for is None:
                writer.write(ptpip.InitFail(InitFailReason.UNSPECIFIED).build())
                await writer.drain()
                writer.close()
                return
            writer.write(ptpip.InitEventAck().build())
            await writer.drain()
            link_for.attach_event_connection(reader, writer, framer)
        elif isinstance(first, ptpip.ProbeRequest):
            writer.write(ptpip.ProbeResponse().build())
            await writer.drain()
            writer.close()
        else:
            writer.write(ptpip.InitFail(InitFailReason.UNSPECIFIED).build())
            await writer.drain()
            writer.close()

    def _forget(self, number: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._pending.pop(number, None)

        return forget

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def aclose(self) -> None:
        """Stop listening and end every session. Never raises."""
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions) + list(self._handshakes):
            task.cancel()
        for task in list(self._sessions) + list(self._handshakes):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)


__all__ = [
    "DEFAULT_PORT",
    "InitiatorIdentity",
    "PtpIpLink",
    "PtpIpListener",
    "ResponderIdentity",
    "WriteTimeout",
    "open_ptpip_link",
]
