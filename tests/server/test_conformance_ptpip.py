"""The PTP/IP handshake of the virtual device (PTP/IP, CIPA DC-005): what it answers to
wrong first packets, unknown connection numbers, initiators not on the allow list, probes and
garbage -- and that it keeps accepting well-behaved initiators afterwards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.protocol import ptpip
from openwpd.protocol.codes import InitFailReason, OperationCode, PtpIpPacketType, ResponseCode
from openwpd.protocol.errors import ConnectError
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link
from ptpip_raw import Conn, RawInitiator
from support import connect


async def still_serving(port: int) -> None:
    runner = await connect(port)
    try:
        res = await runner.transact(OperationCode.GET_STORAGE_IDS)
        assert res.code == ResponseCode.OK
    finally:
        await runner.aclose()


def header(length: int, ptype: int) -> bytes:
    return length.to_bytes(4, "little") + ptype.to_bytes(4, "little")


NOT_AN_INIT = {
    "operation request": ptpip.OperationRequest(1, OperationCode.OPEN_SESSION, 0, (1,)).build(),
    "start data": ptpip.StartData(0, 10).build(),
    "init command ack": ptpip.InitCommandAck(1, os.urandom(16), "me").build(),
    "init fail": ptpip.InitFail(InitFailReason.BUSY).build(),
    "cancel": ptpip.Cancel(0).build(),
    "event ack": ptpip.InitEventAck().build(),
}


@pytest.mark.parametrize("first", NOT_AN_INIT.values(), ids=NOT_AN_INIT.keys())
async def test_first_packet_that_is_not_an_init_request_gets_init_fail(
    device: tuple[VirtualDevice, int], first: bytes
) -> None:
    port = device[1]
    conn = await Conn.open(port)
    try:
        await conn.send(first)
        answer = await conn.recv()
        assert isinstance(answer, ptpip.InitFail), answer
        await conn.wait_closed_by_peer()
    finally:
        await conn.close()
    await still_serving(port)


GARBAGE = {
    "unknown packet type": header(8, 0x77),
    "length below the header": header(4, PtpIpPacketType.INIT_COMMAND_REQUEST),
    "truncated init request payload": header(12, PtpIpPacketType.INIT_COMMAND_REQUEST)
    + b"\x01" * 4,
    "absurd length": header(0xFFFFFFF0, PtpIpPacketType.DATA) + b"\x00" * 64,
}


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_first_packet_closes_that_connection_only(
    device: tuple[VirtualDevice, int], data: bytes
) -> None:
    port = device[1]
    conn = await Conn.open(port)
    try:
        await conn.send(data)
        # an Init Fail first is fine; what matters is that the device hangs up, and fast
        with pytest.raises(EOFError):
            while True:
                packet = await conn.recv(timeout=5)
                assert isinstance(packet, ptpip.InitFail), packet
    finally:
        await conn.close()
    await still_serving(port)


async def test_init_event_request_with_unknown_connection_number(
    device: tuple[VirtualDevice, int],
) -> None:
    port = device[1]
    # a real command connection exists (number from its Ack); ask for another number
    raw = await RawInitiator.connect(port)
    try:
        for number in (raw.ack.connection_number + 1000, 0, 0xFFFFFFFF):
            conn = await Conn.open(port)
            try:
                await conn.send(ptpip.InitEventRequest(number).build())
                answer = await conn.recv()
                assert isinstance(answer, ptpip.InitFail), answer
                await conn.wait_closed_by_peer()
            finally:
                await conn.close()
        # the real initiator is unaffected
        reply = await raw.transact(OperationCode.OPEN_SESSION, 0, (1,))
        assert reply.code == ResponseCode.OK
    finally:
        await raw.close()


async def test_connection_numbers_are_distinct_per_initiator(
    device: tuple[VirtualDevice, int],
) -> None:
    a = await RawInitiator.connect(device[1], name="a")
    b = await RawInitiator.connect(device[1], name="b")
    try:
        assert a.ack.connection_number != b.ack.connection_number
        assert a.ack.guid == b.ack.guid == device[0].guid
        assert a.ack.friendly_name == "test device"
    finally:
        await a.close()
        await b.close()


ALLOWED = bytes(range(16))


@pytest.fixture
async def guarded(served: Path, tmp_path: Path) -> AsyncIterator[int]:
    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0, allowed_guids=[ALLOWED])
    try:
        yield port
    finally:
        await dev.aclose()


async def test_allow_list_rejects_other_guids_with_reason_1(guarded: int) -> None:
    for guid in (os.urandom(16), ALLOWED[::-1], b"\x00" * 16):
        conn = await Conn.open(guarded)
        try:
            await conn.send(ptpip.InitCommandRequest(guid, "stranger").build())
            answer = await conn.recv()
            assert answer == ptpip.InitFail(InitFailReason.REJECTED_INITIATOR)
            await conn.wait_closed_by_peer()
        finally:
            await conn.close()
    with pytest.raises(ConnectError, match="rejected initiator"):
        await open_ptpip_link("127.0.0.1", guarded, identity=InitiatorIdentity(os.urandom(16), "x"))


async def test_allow_list_accepts_the_listed_guid(guarded: int) -> None:
    raw = await RawInitiator.connect(guarded, guid=ALLOWED)
    try:
        reply = await raw.transact(OperationCode.OPEN_SESSION, 0, (1,))
        assert reply.code == ResponseCode.OK
        reply = await raw.transact(OperationCode.GET_STORAGE_IDS, 1)
        assert reply.code == ResponseCode.OK
    finally:
        await raw.close()


async def test_probe_request_is_answered(device: tuple[VirtualDevice, int]) -> None:
    port = device[1]
    # as the first packet of a connection
    conn = await Conn.open(port)
    try:
        await conn.send(ptpip.ProbeRequest().build())
        assert isinstance(await conn.recv(), ptpip.ProbeResponse)
    finally:
        await conn.close()
    # on the event connection of a live session, between transactions
    raw = await RawInitiator.connect(port)
    try:
        assert (await raw.transact(OperationCode.OPEN_SESSION, 0, (1,))).code == ResponseCode.OK
        for _ in range(3):
            await raw.event.send(ptpip.ProbeRequest().build())
            assert isinstance(await raw.event.recv(), ptpip.ProbeResponse)
        # and the session did not notice
        assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK
    finally:
        await raw.close()


async def test_many_failed_handshakes_do_not_stop_the_listener(
    device: tuple[VirtualDevice, int],
) -> None:
    port = device[1]

    async def bad(i: int) -> None:
        conn = await Conn.open(port)
        try:
            await conn.send(list(NOT_AN_INIT.values())[i % len(NOT_AN_INIT)])
            if i % 2:
                conn.abort()  # hang up without waiting for the answer
                return
            assert isinstance(await conn.recv(), ptpip.InitFail)
        finally:
            await conn.close()

    await asyncio.gather(*(bad(i) for i in range(40)))
    await still_serving(port)
