"""A hostile PTP/IP peer on the handshake: it cannot take over another initiator's event
connection (which carries no GUID, only the connection number of the command connection's
Ack), and idle or oversized first packets cost the device a connection, not memory.
Raw sockets (``ptpip_raw``) against the device over loopback."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.protocol import ptpip
from openwpd.protocol.codes import InitFailReason, OperationCode, PtpIpPacketType, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport import ptpip as transport_ptpip
from ptpip_raw import Conn, RawInitiator

ALLOWED = bytes(range(16))


@pytest.fixture
async def guarded(served: Path, tmp_path: Path) -> AsyncIterator[int]:
    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0, allowed_guids=[ALLOWED])
    try:
        yield port
    finally:
        await dev.aclose()


async def open_from(port: int, source: str) -> Conn:
    """A connection to the device from loopback address ``source`` (any 127.x.y.z is ours)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return Conn(reader, writer)


async def command_connection(port: int, guid: bytes = ALLOWED) -> tuple[Conn, int]:
    cmd = await Conn.open(port)
    await cmd.send(ptpip.InitCommandRequest(guid, "legit").build())
    ack = await cmd.recv()
    assert isinstance(ack, ptpip.InitCommandAck), ack
    return cmd, ack.connection_number


async def event_request(conn: Conn, number: int) -> ptpip.Packet:
    await conn.send(ptpip.InitEventRequest(number).build())
    return await conn.recv()


async def refused(conn: Conn, number: int) -> None:
    try:
        assert isinstance(await event_request(conn, number), ptpip.InitFail)
        await conn.wait_closed_by_peer()
    finally:
        await conn.close()


async def test_a_rejected_initiator_cannot_take_an_event_connection(guarded: int) -> None:
    legit = await RawInitiator.connect(guarded, guid=ALLOWED)
    try:
        assert (await legit.transact(OperationCode.OPEN_SESSION, 0, (1,))).code == ResponseCode.OK
        # the stranger is turned away on its command connection ...
        stranger = await Conn.open(guarded)
        await stranger.send(ptpip.InitCommandRequest(os.urandom(16), "stranger").build())
        assert await stranger.recv() == ptpip.InitFail(InitFailReason.REJECTED_INITIATOR)
        await stranger.close()
        # ... and gets nowhere with the legit initiator's number (it even knows it), nor with
        # its neighbours, the numbers sequential numbering would have handed out
        number = legit.ack.connection_number
        for guess in {number, number - 1, number + 1, 1, 2}:
            await refused(await Conn.open(guarded), guess)
        # the legit session and its event connection go on
        assert (await legit.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK
        await legit.event.send(ptpip.ProbeRequest().build())
        assert isinstance(await legit.event.recv(), ptpip.ProbeResponse)
    finally:
        await legit.close()


async def test_connection_numbers_are_unpredictable(guarded: int) -> None:
    numbers = []
    for _ in range(6):
        cmd, number = await command_connection(guarded)
        numbers.append(number)
        await cmd.close()
    assert 0 not in numbers
    assert len(set(numbers)) == len(numbers)
    steps = {b - a for a, b in itertools.pairwise(numbers)}
    assert len(steps) > 1 or abs(steps.pop()) > 1000, numbers


async def test_the_event_connection_must_come_from_the_command_connections_address(
    guarded: int,
) -> None:
    cmd, number = await command_connection(guarded)
    try:
        await refused(await open_from(guarded, "127.0.0.2"), number)
        # the refused request did not use up the number: the initiator itself still gets in
        event = await Conn.open(guarded)
        try:
            assert isinstance(await event_request(event, number), ptpip.InitEventAck)
            # and only once
            await refused(await Conn.open(guarded), number)
        finally:
            await event.close()
    finally:
        await cmd.close()


async def test_the_event_connection_must_come_soon(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_ptpip, "EVENT_CONNECTION_WINDOW", 0.2)
    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        cmd, number = await command_connection(port)
        try:
            await asyncio.sleep(0.5)
            await refused(await Conn.open(port), number)
        finally:
            await cmd.close()
    finally:
        await dev.aclose()


async def test_an_oversized_first_packet_ends_the_connection_at_once(
    device: tuple[VirtualDevice, int],
) -> None:
    # an Init Command Request announcing 1 MiB: the device must not wait to buffer it
    conn = await Conn.open(device[1])
    try:
        header = (1 << 20).to_bytes(4, "little")
        header += PtpIpPacketType.INIT_COMMAND_REQUEST.to_bytes(4, "little")
        await conn.send(header + ALLOWED + b"\x41\x00" * 1000)
        with pytest.raises(EOFError):
            while True:
                packet = await conn.recv(timeout=3)
                assert isinstance(packet, ptpip.InitFail), packet
    finally:
        await conn.close()
    raw = await RawInitiator.connect(device[1])  # others still get in
    await raw.close()


async def test_an_idle_connection_is_dropped_after_the_handshake_timeout(
    served: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_ptpip, "HANDSHAKE_TIMEOUT", 0.3)
    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        silent, partial = await Conn.open(port), await Conn.open(port)
        await partial.send(b"\x40\x00\x00\x00\x01")  # half a header, then nothing
        for conn in (silent, partial):
            await conn.wait_closed_by_peer(timeout=5)
            await conn.close()
    finally:
        await dev.aclose()
