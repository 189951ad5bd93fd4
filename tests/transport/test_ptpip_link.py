"""The PTP/IP link over real loopback TCP: flow control towards a receiver that lags."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from openwpd.protocol import ptpip
from openwpd.protocol.codes import OperationCode
from openwpd.protocol.messages import (
    CancelTransaction,
    DataChunk,
    EndData,
    FileSlice,
    Message,
    Operation,
    SendCancel,
    StartData,
)
from openwpd.transport import ptpip as transport
from openwpd.transport.ptpip import (
    InitiatorIdentity,
    PtpIpLink,
    PtpIpListener,
    ResponderIdentity,
    open_ptpip_link,
)
from ptpip_raw import RawInitiator

MiB = 1024 * 1024


async def connected(
    on_link: Callable[[PtpIpLink], None],
) -> tuple[PtpIpListener, PtpIpLink]:
    """A listener on loopback whose sessions only hand their link to ``on_link`` (and then idle,
    reading nothing), and an initiator's link connected to it."""

    def start_session(link: PtpIpLink, _request: ptpip.InitCommandRequest) -> asyncio.Task[None]:
        on_link(link)
        return asyncio.ensure_future(asyncio.Event().wait())

    listener = PtpIpListener(ResponderIdentity(os.urandom(16), "lab"), start_session)
    _, port = await listener.start("127.0.0.1", 0)
    sender, _ = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "sender")
    )
    return listener, sender


async def test_a_lagging_receiver_stops_reading_instead_of_queueing_everything() -> None:
    # The responder's session reads nothing for a while: the link must stop taking bytes off
    # the socket after QUEUE_BYTES of data (TCP then slows the sender), not queue all 24 MiB,
    # and must take them again once receive() has drained the queue.
    links: list[PtpIpLink] = []
    listener, sender = await connected(links.append)
    payload = [os.urandom(64) * (MiB // 64) for _ in range(24)]
    try:

        async def send_all() -> None:
            await sender.send(Operation(OperationCode.SEND_OBJECT, (), 1), data_follows=True)
            await sender.send(StartData(24 * MiB, 1))
            for piece in payload:
                await sender.send(DataChunk(piece, 1))
            await sender.send(EndData(1))

        sending = asyncio.ensure_future(send_all())
        async with asyncio.timeout(10):
            while not links or links[0]._queued_bytes < transport.QUEUE_BYTES:
                await asyncio.sleep(0.01)
        [link] = links
        await asyncio.sleep(0.2)  # time to overrun the limit, were reading not paused
        assert link._cmd.transport is not None and not link._cmd.transport.is_reading()
        assert link._queued_bytes < transport.QUEUE_BYTES + 2 * transport.RECV_SIZE
        assert not sending.done()  # the sender is held back by TCP

        received: list[Message] = []
        async with asyncio.timeout(10):
            while not received or not isinstance(received[-1], EndData):
                received.append(await link.receive())
            await sending
        data = b"".join(bytes(m.data) for m in received if isinstance(m, DataChunk))  # type: ignore[arg-type]
        assert data == b"".join(payload)
        assert link._queued_bytes == 0 and link._cmd.transport.is_reading()
    finally:
        await sender.aclose()
        await listener.aclose()


async def test_the_event_connection_cancel_overtakes_a_data_packet_still_being_written(
    tmp_path: Path,
) -> None:
    # A 16 MiB FileSlice is one Data packet: the command connection's Cancel must wait until
    # all of it is written, but the responder must hear of the cancel at once, through the
    # event connection (PTP/IP, CIPA DC-005 allows either order). The responder does not read its
    # command connection at first, so the slice cannot finish.
    links: list[PtpIpLink] = []
    cancels: list[int] = []

    def on_link(link: PtpIpLink) -> None:
        link.on_cancel = cancels.append
        link._cmd.pause_reading()
        links.append(link)

    listener, sender = await connected(on_link)
    source = tmp_path / "big.bin"
    with open(source, "wb") as f:
        f.truncate(16 * MiB)
    try:
        with open(source, "rb") as f:
            await sender.send(Operation(OperationCode.SEND_OBJECT, (), 1), data_follows=True)
            await sender.send(StartData(16 * MiB, 1))
            sending = asyncio.ensure_future(sender.send(DataChunk(FileSlice(f, 0, 16 * MiB), 1)))
            await asyncio.sleep(0.2)
            assert not sending.done()  # TCP holds the slice back
            cancelling = asyncio.ensure_future(sender.send_cancel(SendCancel(1)))
            async with asyncio.timeout(5):
                while not cancels:
                    await asyncio.sleep(0.01)
            assert cancels == [1]  # from the event connection, the data packet still unfinished
            assert not sending.done() and not cancelling.done()
            [link] = links
            link._cmd.resume_reading()
            got: list[Message] = []
            async with asyncio.timeout(10):  # the receiver drains: the slice, then the Cancel
                while sum(isinstance(m, CancelTransaction) for m in got) < 2:
                    got.append(await link.receive())
                await cancelling
                await sending
                await sender.flush()
            data = sum(len(m.data) for m in got if isinstance(m, DataChunk))  # type: ignore[arg-type]
            assert data == 16 * MiB
            assert isinstance(got[-1], CancelTransaction)  # the command connection's, last
        assert cancels == [1, 1]
    finally:
        await sender.aclose()
        await listener.aclose()


@pytest.mark.skipif(not transport._LOWAT, reason="SO_RCVLOWAT is used on Linux only")
async def test_in_the_middle_of_a_data_piece_the_receiver_waits_for_all_of_it() -> None:
    # SO_RCVLOWAT is raised to the bytes still missing from the data piece in progress (so
    # epoll wakes the loop once per piece, not every few hundred KiB) and lowered back to 1
    # once no piece is in progress (a 30-byte request must wake it at once).
    links: list[PtpIpLink] = []
    listener, sender = await connected(links.append)
    raw = await RawInitiator.connect(listener_port(listener))
    try:
        async with asyncio.timeout(5):
            while len(links) < 2:
                await asyncio.sleep(0.01)
        link = links[1]
        sock = link._cmd.transport.get_extra_info("socket")  # type: ignore[union-attr]

        def lowat() -> int:
            return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT))

        assert lowat() == 1
        payload = os.urandom(3 * MiB + 100)
        packet = ptpip.Data(7, payload).build()
        await raw.cmd.send(RawInitiator.request(OperationCode.SEND_OBJECT, 7, data_out=True))
        await raw.cmd.send(ptpip.StartData(7, len(payload)).build())
        await raw.cmd.send(packet[: 12 + 200_000])  # header and 200,000 bytes of the first MiB
        async with asyncio.timeout(5):
            while lowat() == 1:
                await asyncio.sleep(0.01)
        # what is missing of the first 1 MiB piece, counted from what the framer had read
        # when it set it (the kernel counts the bytes already in the socket towards it)
        assert transport.RECV_SIZE - 200_000 <= lowat() < transport.RECV_SIZE
        await raw.cmd.send(packet[12 + 200_000 :])
        got = b""
        async with asyncio.timeout(5):
            while len(got) < len(payload):
                msg = await link.receive()
                if isinstance(msg, DataChunk):
                    got += bytes(msg.data)  # type: ignore[arg-type]
        assert got == payload
        assert lowat() == 1  # the packet is complete: back to waking for any byte
    finally:
        await raw.close()
        await sender.aclose()
        await listener.aclose()


def listener_port(listener: PtpIpListener) -> int:
    assert listener._server is not None
    return int(listener._server.sockets[0].getsockname()[1])


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux TCP_QUICKACK")
@pytest.mark.parametrize("quickack", [True, False])
async def test_accepted_connections_acknowledge_at_once(quickack: bool) -> None:
    # The kernel drops TCP_QUICKACK by itself (it reads 0 once a reply went out soon after a
    # receipt): the device re-arms it after every read, so it reads 1 after each request.
    links: list[PtpIpLink] = []

    def start_session(link: PtpIpLink, _request: ptpip.InitCommandRequest) -> asyncio.Task[None]:
        links.append(link)
        return asyncio.ensure_future(asyncio.Event().wait())

    listener = PtpIpListener(
        ResponderIdentity(os.urandom(16), "lab"), start_session, quickack=quickack
    )
    _, port = await listener.start("127.0.0.1", 0)
    sender, _ = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "nagle")
    )
    try:
        for tid in (1, 2, 3):
            await sender.send(Operation(OperationCode.GET_DEVICE_INFO, (), tid))
            async with asyncio.timeout(10):
                while links[0]._queue.qsize() < tid:
                    await asyncio.sleep(0.01)
            sock = links[0]._cmd.transport.get_extra_info("socket")  # type: ignore[union-attr]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == int(quickack)
    finally:
        await sender.aclose()
        await listener.aclose()
