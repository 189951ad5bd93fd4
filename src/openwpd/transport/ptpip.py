"""PTP/IP over asyncio TCP: the link both roles share, the initiator's handshake, and the
responder's listener.

A :class:`PtpIpLink` turns the two TCP connections of a PTP/IP link into a stream of transaction
messages (:mod:`openwpd.protocol.messages`) and back. Each connection is a :class:`_Connection`,
an ``asyncio.BufferedProtocol``: the kernel copies received bytes straight into the buffer of
its :class:`~openwpd.protocol.ptpip.PacketFramer` (reused, never shrunk; no StreamReader, no
new object per read, reads of up to 1 MiB), which cuts them into packets in the same callback
-- data payloads in pieces of at most 1 MiB, whatever packet size the peer uses.
Decoded messages go into a queue which :meth:`PtpIpLink.receive` drains; past ``QUEUE_DEPTH``
messages or ``QUEUE_BYTES`` of data the connection stops reading (so a fast sender is slowed by
TCP flow control, not by our memory) until the queue is half empty again.
A Cancel packet is also reported at once through ``on_cancel``, from whichever connection it
arrives on, so a responder can abort a data phase without waiting for the queue. Probe Requests
on the event connection are answered here.

Errors are mapped at this boundary (as httpcore does): ``OSError``/EOF become
:class:`~openwpd.protocol.errors.DeviceGone`, timeouts :class:`ReadTimeout` /
:class:`ConnectError`; a malformed packet is a :class:`RemoteProtocolError`. Any of them is
sticky: the link is unusable afterwards and every later call raises the same error.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
from openwpd.protocol.messages import DataChunk, Event, FileSlice, Message, SendCancel
from openwpd.protocol.ptpip_codec import Channel, PtpIpCodec
from openwpd.transport.link import Link

log = logging.getLogger(__name__)

DEFAULT_PORT = 15740
#: bytes asked for per read: few at first (the event connection never needs more), RECV_SIZE
#: once a read filled what was asked (the command connection during bulk data)
RECV_FIRST = 64 * 1024
RECV_SIZE = 1024 * 1024
#: the queue between the read callbacks and receive(): reading stops past QUEUE_DEPTH messages
#: or QUEUE_BYTES of data payload (a slow consumer must not cost us 64 MiB of pieces), and
#: resumes once both are down to half
QUEUE_DEPTH = 64
QUEUE_BYTES = 8 * RECV_SIZE
HANDSHAKE_TIMEOUT = 10.0
#: the largest packet a responder accepts before a connection's handshake is done: an Init
#: Command Request is 32 bytes and the initiator's name (2 bytes a character), every other
#: first packet is smaller; a peer announcing more is hung up on at once (each such connection
#: could otherwise make the device buffer a 16 MiB packet)
HANDSHAKE_MAX_PACKET = 4096
#: seconds after its Init Command Ack within which an initiator must open its event connection
EVENT_CONNECTION_WINDOW = 10.0
#: the most SO_RCVLOWAT is raised to in the middle of a data piece (see _Connection._set_lowat);
#: Linux only, where the kernel grows the receive buffer to match
LOWAT_MAX = RECV_SIZE
_LOWAT = sys.platform == "linux" and hasattr(socket, "SO_RCVLOWAT")
#: Linux's TCP_QUICKACK (12), when the socket module knows it
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None) if sys.platform == "linux" else None


class _Connection(asyncio.BufferedProtocol):
    """One TCP connection of a PTP/IP link.

    Reading: ``get_buffer``/``buffer_updated`` receive straight into the framer's buffer
    (reused, never shrunk); each packet goes to ``sink`` (set by :meth:`start`), or waits in a
    deque for :meth:`next_packet` during the handshake. EOF, a reset or a malformed packet
    ends reading for good: the error goes to ``on_error`` (or to the handshake's waiter).

    Writing: ``write``/``drain``/``close``/``wait_closed`` behave like a StreamWriter's
    (``drain`` waits while the transport's buffer is above its high-water mark).
    """

    def __init__(
        self,
        on_made: Callable[[_Connection], None] | None = None,
        *,
        handshake_max_packet: int | None = None,
        quickack: bool = False,
    ) -> None:
        # data payloads come out in pieces of at most RECV_SIZE, whatever the peer sends
        self.framer = ptpip.PacketFramer(max_piece=RECV_SIZE)
        # until start(): the packet size limit of the handshake (the full one after)
        self._full_max = self.framer.max_packet_size
        if handshake_max_packet is not None:
            self.framer.max_packet_size = handshake_max_packet
        self.transport: asyncio.Transport | None = None
        self._recv_size = RECV_FIRST
        self._asked = 0
        self._lowat = 1
        self._on_made = on_made
        self._sink: Callable[[ptpip.Packet], None] | None = None
        self._on_error: Callable[[BaseException], None] | None = None
        self._early: collections.deque[ptpip.Packet] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._lost = asyncio.get_running_loop().create_future()
        self._quickack = quickack
        self._sock: Any = None  # the transport's socket while quick ACKs are kept on

    # -- protocol callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._quickack:
            self._sock = transport.get_extra_info("socket")
            self._ack_now()
        if self._on_made is not None:
            self._on_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        # The kernel copies straight into the framer's buffer: no copy of our own. In the
        # middle of a data piece, exactly the bytes that complete it: the piece is then cut at
        # the end of the buffer, which empties, and nothing is ever moved to its front.
        size = self._recv_size
        missing = self.framer.piece_missing()
        if missing:
            size = min(size, missing)
        self._asked = size
        return self.framer.get_buffer(size)

    def _ack_now(self) -> None:
        """Linux: acknowledge what arrives at once (TCP_QUICKACK). The kernel drops back to
        delayed ACKs by itself after a while, so this is re-armed after every read.

        Why: an initiator that leaves Nagle's algorithm on (libgphoto2 and everything built
        on it) sends a data phase's header and payload as separate small writes, the second
        held until the first is acknowledged -- and a delayed ACK makes that ~40 ms per data
        phase, ~89 ms per small upload. Acknowledging at once hides it."""
        if self._sock is None or _QUICKACK is None:
            return
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except OSError:
            self._sock = None  # not TCP after all (or gone): stop trying

    def buffer_updated(self, nbytes: int) -> None:
        if self._sock is not None:
            self._ack_now()
        try:
            self.framer.buffer_updated(nbytes)
            if nbytes == self._asked == self._recv_size:
                self._recv_size = RECV_SIZE  # bulk data on this connection: read more per call
            for packet in self.framer:
                if self._sink is not None:
                    self._sink(packet)
                else:
                    # a handshake reads one packet: nothing more is taken in before start()
                    self._early.append(packet)
                    self.pause_reading()
                    self._wake()
            self._set_lowat(self.framer.piece_missing())
        except Exception as exc:  # a malformed packet (or a sink's error) ends this connection
            self._end(exc)
            if self._sink is None and isinstance(exc, RemoteProtocolError):
                # a malformed handshake: reading stops, and the listener answers Init Fail
                # before it closes (PtpIpListener._accept)
                self.pause_reading()
            elif self.transport is not None:
                self.transport.abort()

    def _set_lowat(self, missing: int) -> None:
        """Linux: be woken when the rest of the data piece in progress has arrived, not for
        every few hundred KiB (SO_RCVLOWAT; it holds for epoll). Those bytes are sure to
        come -- a packet is never cut -- and EOF or a reset wakes us anyway. Reading a 1 GiB
        upload took ~3.5 loop passes per MiB before, one after."""
        want = min(missing, LOWAT_MAX) if missing else 1
        if want == self._lowat or not _LOWAT or self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, want)
        except OSError:
            return
        self._lowat = want

    def eof_received(self) -> bool:
        self._end(EOFError("EOF"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc or EOFError("connection closed"))
        self._write_paused = False
        self._wake_drainers()
        if not self._lost.done():
            self._lost.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drainers()

    # -- reading --------------------------------------------------------------------------

    def start(
        self, sink: Callable[[ptpip.Packet], None], on_error: Callable[[BaseException], None]
    ) -> None:
        """Hand every packet (those already received first) to ``sink`` from now on."""
        self._on_error = on_error
        self.framer.max_packet_size = self._full_max
        while self._early:
            sink(self._early.popleft())
        self._sink = sink
        if self._error is not None:
            on_error(self._error)
        else:
            self.resume_reading()

    async def next_packet(self, timeout: float) -> ptpip.Packet:
        """The next packet during a handshake (before :meth:`start`)."""
        async with asyncio.timeout(timeout):
            while not self._early:
                if self._error is not None:
                    if isinstance(self._error, RemoteProtocolError):
                        raise self._error
                    raise DeviceGone("the peer closed the connection during the handshake")
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
        return self._early.popleft()

    def pause_reading(self) -> None:
        if self.transport is not None and self.transport.is_reading():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if (
            self.transport is not None
            and not self.transport.is_closing()
            and not self.transport.is_reading()
        ):
            self.transport.resume_reading()

    def _end(self, exc: BaseException) -> None:
        if self._error is not None:
            return
        self._error = exc
        self._wake()
        if self._on_error is not None:
            self._on_error(exc)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- writing --------------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("Connection lost")
        self.transport.write(data)

    async def drain(self) -> None:
        if self.transport is None or self._lost.done() or self.transport.is_closing():
            raise ConnectionResetError("Connection lost")
        while self._write_paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(waiter)
            await waiter
            if self._lost.done():
                raise ConnectionResetError("Connection lost")

    def _wake_drainers(self) -> None:
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)


def _map_error(exc: BaseException, what: str) -> TransportError:
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionError | EOFError):
        return DeviceGone(f"{what}: the peer closed the connection")
    if isinstance(exc, TimeoutError):
        return ReadTimeout(f"{what}: timed out")
    return DeviceGone(f"{what}: {exc}")


class PtpIpLink(Link):
    """Async message I/O over one PTP/IP link (command + event connection), either role.

    ``receive()`` returns the next message from the peer (from either connection), in order per
    connection; when ``on_event`` is set, Event messages go to it instead, the moment they
    arrive (an initiator wants events while no transaction runs). ``send()`` encodes a message
    (its ``tid`` filled in by the machine) and writes it to the right connection.
    ``on_cancel(tid)`` is called from the read callbacks the moment a Cancel packet arrives.
    ``aclose()`` always releases both sockets.
    """

    def __init__(
        self,
        cmd: _Connection,
        *,
        on_cancel: Callable[[int], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        name: str = "ptpip",
    ) -> None:
        self.name = name
        self.codec = PtpIpCodec()
        self.on_cancel = on_cancel
        self.on_event = on_event
        #: called once, from a read callback, when the link breaks by itself (EOF, reset,
        #: garbage) -- not when it is closed with aclose(); lets an idle owner notice a vanished
        #: device
        self.on_broken: Callable[[OpenWpdError], None] | None = None
        self._cmd = cmd
        self._event: _Connection | None = None
        # unbounded: the connections stop reading past QUEUE_DEPTH (see _put)
        self._queue: asyncio.Queue[Message | TransportError | RemoteProtocolError] = asyncio.Queue()
        self._paused: set[_Connection] = set()
        self._queued_bytes = 0
        self._error: OpenWpdError | None = None
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._event_ready = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._inflight: set[asyncio.Future[None]] = set()
        self._start_reading(cmd, Channel.COMMAND)

    @property
    def closed(self) -> bool:
        return self._closed

    def attach_event_connection(self, conn: _Connection) -> None:
        """Bind the event connection (after Init Event Request/Ack)."""
        self._event = conn
        self._event_ready.set()
        self._start_reading(conn, Channel.EVENT)

    def _start_reading(self, conn: _Connection, channel: Channel) -> None:
        def sink(packet: ptpip.Packet) -> None:
            self._dispatch(packet, channel, conn)

        def on_error(exc: BaseException) -> None:
            if isinstance(exc, RemoteProtocolError):
                self._fail(exc)
            elif isinstance(exc, EOFError | ConnectionError):
                self._fail(
                    DeviceGone(f"{self.name}: the peer closed the {channel.value} connection")
                )
            else:
                self._fail(_map_error(exc, f"{self.name} {channel.value} connection"))

        conn.start(sink, on_error)

    def _dispatch(self, packet: ptpip.Packet, channel: Channel, conn: _Connection) -> None:
        if isinstance(packet, ptpip.ProbeRequest):
            task = asyncio.ensure_future(
                self._write_shielded([(channel, ptpip.ProbeResponse().build())])
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(_consume_exception)
            return
        if isinstance(packet, ptpip.ProbeResponse):
            return
        if isinstance(packet, ptpip.Cancel) and self.on_cancel is not None:
            self.on_cancel(packet.transaction_id)
        for msg in self.codec.decode(packet, channel):
            if isinstance(msg, Event) and self.on_event is not None:
                self.on_event(msg)  # events bypass the transaction queue: no waiting for a reader
            else:
                self._put(msg, conn)

    def _put(self, msg: Message, conn: _Connection) -> None:
        self._queue.put_nowait(msg)
        if isinstance(msg, DataChunk) and not isinstance(msg.data, FileSlice):
            self._queued_bytes += len(msg.data)
        if (
            self._queue.qsize() >= QUEUE_DEPTH or self._queued_bytes >= QUEUE_BYTES
        ) and conn not in self._paused:
            self._paused.add(conn)
            conn.pause_reading()

    def _fail(self, exc: TransportError | RemoteProtocolError) -> None:
        if self._error is None:
            self._error = exc
            if isinstance(exc, RemoteProtocolError):
                log.info("%s: protocol violation, the link is closed: %s", self.name, exc)
            if self.on_broken is not None and not self._closed:
                try:
                    self.on_broken(exc)
                except Exception:
                    log.exception("%s: on_broken callback failed", self.name)
        self._queue.put_nowait(exc)  # wakes a waiting receive()

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message from the peer. Raises the link's sticky error when it broke."""
        if self._closed:
            raise self._error or DeviceGone(f"{self.name}: link closed")
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            raise ReadTimeout(f"{self.name}: nothing received for {timeout} s") from None
        if isinstance(item, DataChunk) and not isinstance(item.data, FileSlice):
            self._queued_bytes -= len(item.data)
        if (
            self._paused
            and self._queue.qsize() <= QUEUE_DEPTH // 2
            and self._queued_bytes <= QUEUE_BYTES // 2
        ):
            for conn in self._paused:
                conn.resume_reading()
            self._paused.clear()
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
        """A Cancel packet on the command and the event connection (either order is allowed,
        PTP/IP, CIPA DC-005). The event connection's goes out at once: nothing else of ours can
        be half-written there, while the command connection's must wait behind the data packet
        still being written (up to a whole FileSlice), and a responder stops taking in the
        data phase when the first of the two arrives."""
        pieces = PtpIpCodec.encode_cancel(action)
        if self._error is None and self._event is not None:
            self._write_now(
                [(channel, data) for channel, data in pieces if channel is Channel.EVENT]
            )
        await self._write_shielded(
            [(channel, data) for channel, data in pieces if channel is not Channel.EVENT]
        )

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

    def _writer_for(self, channel: Channel) -> _Connection | None:
        return self._event if channel is Channel.EVENT else self._cmd

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
                        sent = await asyncio.get_running_loop().sendfile(
                            writer.transport,  # type: ignore[arg-type]
                            data.file,  # type: ignore[arg-type]
                            data.offset,
                            data.length,
                        )
                        if sent != data.length:
                            # the file shrank under us; the packet's header is already out,
                            # so the stream cannot be repaired: the link breaks
                            raise OSError(f"the file shrank: {sent} of {data.length} bytes sent")
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
        """Close both connections. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._error is None:
            self._error = DeviceGone(f"{self.name}: link closed")
        for conn in (self._cmd, self._event):
            if conn is None:
                continue
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 1.0)


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
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(_Connection, host, port)
    except (OSError, TimeoutError) as exc:
        raise ConnectError(f"cannot connect to ptpip://{host}:{port}: {exc}") from None
    try:
        conn.write(ptpip.InitCommandRequest(identity.guid, identity.friendly_name).build())
        await conn.drain()
        ack = await conn.next_packet(timeout)
        if isinstance(ack, ptpip.InitFail):
            raise ConnectError(f"ptpip://{host}:{port} refused us: {_reason(ack.reason)}")
        if not isinstance(ack, ptpip.InitCommandAck):
            raise RemoteProtocolError(f"expected Init Command Ack, got {type(ack).__name__}")
        _, ev_conn = await asyncio.wait_for(
            loop.create_connection(_Connection, host, event_port or port), timeout
        )
    except BaseException as exc:
        conn.close()
        if isinstance(exc, OpenWpdError | asyncio.CancelledError):
            raise
        raise ConnectError(f"ptpip://{host}:{port}: handshake failed: {exc}") from None
    try:
        ev_conn.write(ptpip.InitEventRequest(ack.connection_number).build())
        await ev_conn.drain()
        ev_ack = await ev_conn.next_packet(timeout)
        if isinstance(ev_ack, ptpip.InitFail):
            raise ConnectError(
                f"ptpip://{host}:{port} refused the event connection: {_reason(ev_ack.reason)}"
            )
        if not isinstance(ev_ack, ptpip.InitEventAck):
            raise RemoteProtocolError(f"expected Init Event Ack, got {type(ev_ack).__name__}")
    except BaseException as exc:
        conn.close()
        ev_conn.close()
        if isinstance(exc, OpenWpdError | asyncio.CancelledError):
            raise
        raise ConnectError(f"ptpip://{host}:{port}: event handshake failed: {exc}") from None
    link = PtpIpLink(
        conn,
        on_cancel=on_cancel,
        on_event=on_event,
        name=f"ptpip://{host}:{port}",
    )
    link.attach_event_connection(ev_conn)
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


@dataclass(slots=True)
class _AwaitingEvents:
    """A command connection whose event connection has not been opened yet."""

    link: PtpIpLink
    host: str
    deadline: float


def _peer_host(conn: _Connection) -> str:
    peer = conn.transport.get_extra_info("peername") if conn.transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class PtpIpListener:
    """Accepts PTP/IP initiators on a loopback-or-given address and hands each link to
    ``start_session(link, request)`` (which returns the task serving it).

    ``allowed_guids`` (if given) limits who may connect; others get Init Fail "rejected
    initiator". Several initiators may be connected at once, each with its own link.

    The event connection carries no GUID, only the connection number of the Init Command Ack,
    so that number is all that ties it to an initiator the allow list let in. It is therefore
    random (32 bits, never 0), and an Init Event Request is accepted only for a command
    connection that has no event connection yet, from the same peer address, within
    ``event_window`` seconds (:data:`EVENT_CONNECTION_WINDOW`) of its Ack; anything else gets
    Init Fail. Before its handshake a connection gets ``handshake_timeout`` seconds to send its
    first packet, which may be at most :data:`HANDSHAKE_MAX_PACKET` bytes.

    ``quickack`` (default on; Linux only): every accepted connection acknowledges what it
    receives at once, re-armed after each read, so initiators that leave Nagle's algorithm on
    do not wait for a delayed ACK in every data phase (see ``_Connection._ack_now``).
    """

    def __init__(
        self,
        identity: ResponderIdentity,
        start_session: SessionFactory,
        *,
        allowed_guids: Sequence[bytes] | None = None,
        handshake_timeout: float | None = None,
        event_window: float | None = None,
        quickack: bool = True,
    ) -> None:
        self.identity = identity
        self._quickack = quickack
        self._start_session = start_session
        self._allowed = set(allowed_guids) if allowed_guids else None
        self._timeout = HANDSHAKE_TIMEOUT if handshake_timeout is None else handshake_timeout
        self._event_window = EVENT_CONNECTION_WINDOW if event_window is None else event_window
        self._pending: dict[int, _AwaitingEvents] = {}
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._handshakes: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> tuple[str, int]:
        """Listen; returns the real (host, port) (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(
                on_made=self._accepted,
                handshake_max_packet=HANDSHAKE_MAX_PACKET,
                quickack=self._quickack,
            ),
            host,
            port,
        )
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    def _accepted(self, conn: _Connection) -> None:
        task = asyncio.ensure_future(self._accept(conn))
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def _accept(self, conn: _Connection) -> None:
        try:
            await self._handshake(conn)
        except asyncio.CancelledError:
            # shutting down while this initiator had not finished its handshake
            conn.close()
        except RemoteProtocolError as exc:
            # a malformed connection request: say so (Init Fail) before hanging up
            log.info("PTP/IP connection request from %s refused: %s", _peer_host(conn), exc)
            await _refuse(conn, InitFailReason.UNSPECIFIED)
        except Exception as exc:  # one bad initiator must not stop the listener
            log.info("PTP/IP handshake failed: %s", exc)
            conn.close()

    async def _handshake(self, conn: _Connection) -> None:
        first = await conn.next_packet(self._timeout)
        if isinstance(first, ptpip.InitCommandRequest):
            if self._allowed is not None and first.guid not in self._allowed:
                log.info(
                    "PTP/IP initiator %r (%s) refused: not in the allowed GUIDs",
                    first.friendly_name,
                    first.guid.hex(),
                )
                conn.write(ptpip.InitFail(InitFailReason.REJECTED_INITIATOR).build())
                await conn.drain()
                conn.close()
                return
            number = self._new_number()
            conn.write(
                ptpip.InitCommandAck(
                    number, self.identity.guid, self.identity.friendly_name
                ).build()
            )
            await conn.drain()
            link = PtpIpLink(conn, name=f"initiator {first.friendly_name!r} #{number:08X}")
            deadline = asyncio.get_running_loop().time() + self._event_window
            self._pending[number] = _AwaitingEvents(link, _peer_host(conn), deadline)
            session = self._start_session(link, first)
            self._sessions.add(session)
            session.add_done_callback(self._sessions.discard)
            session.add_done_callback(self._forget(number))
        elif isinstance(first, ptpip.InitEventRequest):
            link_for = self._event_link_for(first.connection_number, conn)
            if link_for is None:
                log.info(
                    "PTP/IP event connection from %s refused: connection number %08X is not "
                    "waiting for one from there",
                    _peer_host(conn),
                    first.connection_number,
                )
                conn.write(ptpip.InitFail(InitFailReason.UNSPECIFIED).build())
                await conn.drain()
                conn.close()
                return
            conn.write(ptpip.InitEventAck().build())
            await conn.drain()
            link_for.attach_event_connection(conn)
        elif isinstance(first, ptpip.ProbeRequest):
            conn.write(ptpip.ProbeResponse().build())
            await conn.drain()
            conn.close()
        else:
            log.info(
                "PTP/IP connection from %s refused: it began with %s, not a connection request",
                _peer_host(conn),
                type(first).__name__,
            )
            conn.write(ptpip.InitFail(InitFailReason.UNSPECIFIED).build())
            await conn.drain()
            conn.close()

    def _new_number(self) -> int:
        # unpredictable: it is the only credential of the event connection (class docstring)
        while True:
            number = secrets.randbits(32)
            if number and number not in self._pending:
                return number

    def _event_link_for(self, number: int, conn: _Connection) -> PtpIpLink | None:
        """The link whose event connection ``conn`` may become, or None (see the class
        docstring). A request from another address leaves the waiting link alone; one in time
        from the right address takes it, whatever happens next."""
        waiting = self._pending.get(number)
        if waiting is None or _peer_host(conn) != waiting.host:
            return None
        del self._pending[number]
        if asyncio.get_running_loop().time() > waiting.deadline or waiting.link.closed:
            return None
        return waiting.link

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


async def _refuse(conn: _Connection, reason: InitFailReason) -> None:
    """Send Init Fail with ``reason`` (if the connection still takes it), then close."""
    try:
        conn.write(ptpip.InitFail(reason).build())
        async with asyncio.timeout(2.0):
            await conn.drain()
    except Exception:  # gone already, or not reading: the close below is all there is
        pass
    conn.close()


__all__ = [
    "DEFAULT_PORT",
    "InitiatorIdentity",
    "PtpIpLink",
    "PtpIpListener",
    "ResponderIdentity",
    "WriteTimeout",
    "open_ptpip_link",
]
