"""A raw PTP/IP initiator for conformance tests: it writes packets byte for byte (wrong
transaction IDs, hand-made datasets, Cancel at a chosen moment, a socket cut after N bytes) and
reads what the device answers, with no transaction machine in between to tidy things up.

Importable as ``ptpip_raw`` (pytest puts tests/ on the path).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from openwpd.protocol import ptpip
from openwpd.protocol.codes import DataPhaseInfo
from openwpd.protocol.errors import LocalProtocolError

#: How long a test waits for one packet from the device before failing.
RECV_TIMEOUT = 10.0


class Conn:
    """One TCP connection with a packet framer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = ptpip.PacketFramer()

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, *packets: bytes) -> None:
        for packet in packets:
            self.writer.write(packet)
        await self.writer.drain()

    async def recv(self, timeout: float = RECV_TIMEOUT) -> ptpip.Packet:
        """The next whole packet; raises EOFError when the device closed the connection."""
        async with asyncio.timeout(timeout):
            while True:
                packet = self.framer.next_packet()
                if packet is not None:
                    return packet
                data = await self.reader.read(256 * 1024)
                if not data:
                    raise EOFError("the device closed the connection")
                self.framer.feed(data)

    async def wait_closed_by_peer(self, timeout: float = RECV_TIMEOUT) -> None:
        """Return once the device has closed this connection (whatever it sent before is
        discarded); TimeoutError if it does not within ``timeout``."""
        async with asyncio.timeout(timeout):
            try:
                while await self.reader.read(65536):
                    pass
            except OSError:
                pass

    def abort(self) -> None:
        """Close abruptly: RST, nothing flushed."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)


def iter_data_packets(
    transaction_id: int,
    total_length: int,
    chunks: Iterable[bytes | bytearray | memoryview],
    *,
    max_payload: int = 64 * 1024,
) -> Iterator[bytes]:
    """The packets of one data phase, as wire bytes: Start Data, Data..., End Data, cut as gphoto
    does (64 KiB payloads by default).

    Chunks of any size are re-chunked into payloads of at most ``max_payload`` bytes; the last
    payload rides in End Data (an empty End Data follows Start Data for a total of 0). At most
    one payload's worth of bytes is held back, to know which one is last.

    ``total_length`` may be ``ptpip.UNKNOWN_DATA_LENGTH``; otherwise the chunks must add up to
    exactly that many bytes: LocalProtocolError as soon as they exceed it, or before End Data
    if they fall short (the packets already yielded stand -- the caller must cancel).
    LocalProtocolError also for ``max_payload`` < 1 or a total that is not a u64.
    """
    if not isinstance(max_payload, int) or max_payload < 1:
        raise LocalProtocolError(f"invalid max payload {max_payload!r}")
    start = ptpip.StartData(transaction_id, total_length).build()
    return _iter_data_packets(start, transaction_id, total_length, chunks, max_payload)


def _iter_data_packets(
    start: bytes,
    tid: int,
    total: int,
    chunks: Iterable[bytes | bytearray | memoryview],
    max_payload: int,
) -> Iterator[bytes]:
    yield start
    known = total != ptpip.UNKNOWN_DATA_LENGTH
    held: bytes | None = None  # a full payload that is not known yet to be the last
    buf = bytearray()  # a partial payload being assembled from small chunks
    sent = 0
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        sent += len(view)
        if known and sent > total:
            raise LocalProtocolError(f"data phase announced {total} bytes, got at least {sent}")
        while view:
            take = min(max_payload - len(buf), len(view))
            if buf or take < max_payload:
                buf += view[:take]
                view = view[take:]
                if len(buf) < max_payload:
                    break
                piece = bytes(buf)
                buf.clear()
            else:  # a whole payload straight from the chunk, without staging it in buf
                piece = bytes(view[:max_payload])
                view = view[max_payload:]
            if held is not None:
                yield ptpip.Data(tid, held).build()
            held = piece
    if known and sent != total:
        raise LocalProtocolError(f"data phase announced {total} bytes, got {sent}")
    if buf:
        if held is not None:
            yield ptpip.Data(tid, held).build()
        held = bytes(buf)
    yield ptpip.EndData(tid, held if held is not None else b"").build()


@dataclass
class Reply:
    """What the device answered to one transaction."""

    code: int
    params: tuple[int, ...]
    data: bytes
    tid: int
    start: ptpip.StartData | None = None
    packets: list[ptpip.Packet] = field(default_factory=list)


class RawInitiator:
    """Both PTP/IP connections, handshake done by hand. Transaction IDs are the caller's."""

    def __init__(self, cmd: Conn, event: Conn, ack: ptpip.InitCommandAck) -> None:
        self.cmd = cmd
        self.event = event
        self.ack = ack

    @classmethod
    async def connect(
        cls, port: int, *, guid: bytes | None = None, name: str = "raw"
    ) -> RawInitiator:
        cmd = await Conn.open(port)
        await cmd.send(ptpip.InitCommandRequest(guid or os.urandom(16), name).build())
        ack = await cmd.recv()
        assert isinstance(ack, ptpip.InitCommandAck), ack
        event = await Conn.open(port)
        await event.send(ptpip.InitEventRequest(ack.connection_number).build())
        ev_ack = await event.recv()
        assert isinstance(ev_ack, ptpip.InitEventAck), ev_ack
        return cls(cmd, event, ack)

    # -- packets ----------------------------------------------------------------------------

    @staticmethod
    def request(
        code: int, tid: int, params: tuple[int, ...] = (), *, data_out: bool = False
    ) -> bytes:
        info = DataPhaseInfo.DATA_OUT if data_out else DataPhaseInfo.NO_DATA_OR_DATA_IN
        return ptpip.OperationRequest(info, code, tid, params).build()

    @staticmethod
    def data_phase(tid: int, data: bytes, chunk: int = 65536) -> bytes:
        """Start Data, Data..., End Data for ``data`` (gphoto's framing, PTP/IP, CIPA DC-005)."""
        return b"".join(iter_data_packets(tid, len(data), [data], max_payload=chunk))

    async def send_cancel(self, tid: int, *, command: bool = True, event: bool = True) -> None:
        packet = ptpip.Cancel(tid).build()
        if event:
            await self.event.send(packet)
        if command:
            await self.cmd.send(packet)

    # -- transactions -----------------------------------------------------------------------

    async def read_reply(self, tid: int, *, skip_data: bool = False) -> Reply:
        """Read an incoming data phase (if any) and the response. The response must carry
        ``tid``. ``skip_data`` discards data packets of ``tid`` after a cancel."""
        parts: list[bytes] = []
        start: ptpip.StartData | None = None
        packets: list[ptpip.Packet] = []
        while True:
            packet = await self.cmd.recv()
            packets.append(packet)
            if isinstance(packet, ptpip.StartData):
                assert packet.transaction_id == tid, packet
                start = packet
            elif isinstance(packet, ptpip.Data | ptpip.EndData):
                assert packet.transaction_id == tid, packet
                if not skip_data:
                    parts.append(packet.payload)
            elif isinstance(packet, ptpip.OperationResponse):
                assert packet.transaction_id == tid, (packet, tid)
                return Reply(packet.code, packet.params, b"".join(parts), tid, start, packets)
            else:
                raise AssertionError(f"unexpected packet {packet!r}")

    async def transact(
        self, code: int, tid: int, params: tuple[int, ...] = (), data: bytes | None = None
    ) -> Reply:
        out = self.request(code, tid, params, data_out=data is not None)
        if data is not None:
            out += self.data_phase(tid, data)
        await self.cmd.send(out)
        return await self.read_reply(tid)

    def abort(self) -> None:
        self.cmd.abort()
        self.event.abort()

    async def close(self) -> None:
        await self.cmd.close()
        await self.event.close()
