"""PTP/IP Cancel at every phase of GetObject, GetPartialObject, SendObjectInfo and SendObject
(PTP/IP, CIPA DC-005), with the packets written by hand so the moment of the Cancel is exact:
before the data phase, in the middle of it, and after it while the initiator waits for the
response; on both connections (what our initiator does) and on only one of them.

After every cancel: the device answers that transaction exactly once (TransactionCancelled, or
OK when the transaction had already finished), sends nothing more for it, serves the next
transaction ID, and leaves no partial or temporary file behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.protocol import ptpip
from openwpd.protocol.codes import ALL, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo, parse_uint32_array
from openwpd.server.device import VirtualDevice
from ptpip_raw import RawInitiator, Reply

PHONE = 0x00010001
MIB = 1 << 20
BIG = 32 * MIB

CHANNELS = {
    "both": {"command": True, "event": True},
    "command only": {"command": True, "event": False},
    "event only": {"command": False, "event": True},
}


def tree(root: Path) -> set[str]:
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


class Session:
    """A raw initiator with an open session and its own transaction counter."""

    def __init__(self, raw: RawInitiator) -> None:
        self.raw = raw
        self.tid = 0

    def next_tid(self) -> int:
        self.tid += 1
        return self.tid

    async def transact(
        self, code: int, params: tuple[int, ...] = (), data: bytes | None = None
    ) -> Reply:
        return await self.raw.transact(code, self.next_tid(), params, data)

    async def check_alive(self, handle: int, expected: bytes) -> None:
        """The next transaction works and the device still serves the whole object."""
        reply = await self.transact(OperationCode.GET_OBJECT, (handle,))
        assert reply.code == ResponseCode.OK
        assert hashlib.sha256(reply.data).digest() == hashlib.sha256(expected).digest()


@pytest.fixture
def payload(served: Path) -> bytes:
    data = os.urandom(BIG)
    (served / "big.bin").write_bytes(data)
    return data


@pytest.fixture
async def session(
    device: tuple[VirtualDevice, int], payload: bytes
) -> AsyncIterator[tuple[Session, int]]:
    raw = await RawInitiator.connect(device[1])
    try:
        reply = await raw.transact(OperationCode.OPEN_SESSION, 0, (1,))
        assert reply.code == ResponseCode.OK
        s = Session(raw)
        reply = await s.transact(OperationCode.GET_OBJECT_HANDLES, (PHONE, 0, ALL))
        (handle,) = parse_uint32_array(reply.data)
        yield s, handle
    finally:
        await raw.close()


async def read_some_data(raw: RawInitiator, tid: int, at_least: int) -> int:
    """Read Start Data and Data packets of ``tid`` until ``at_least`` payload bytes came."""
    got = 0
    start = await raw.cmd.recv()
    assert isinstance(start, ptpip.StartData) and start.transaction_id == tid, start
    while got < at_least:
        packet = await raw.cmd.recv()
        assert isinstance(packet, ptpip.Data) and packet.transaction_id == tid, packet
        got += len(packet.payload)
    return got


async def no_more_packets(raw: RawInitiator) -> None:
    """Nothing else arrives for the finished transaction (a second response would be a bug)."""
    with pytest.raises(TimeoutError):
        await raw.cmd.recv(timeout=0.2)


# -- GetObject / GetPartialObject -----------------------------------------------------------


READS = {
    "GetObject": (OperationCode.GET_OBJECT, lambda h: (h,), BIG),
    "GetPartialObject": (OperationCode.GET_PARTIAL_OBJECT, lambda h: (h, MIB, 16 * MIB), 16 * MIB),
}


@pytest.mark.parametrize("op", READS.values(), ids=READS.keys())
async def test_cancel_read_right_after_the_request(
    session: tuple[Session, int], payload: bytes, op: tuple
) -> None:
    s, handle = session
    code, params, _ = op
    tid = s.next_tid()
    await s.raw.cmd.send(s.raw.request(code, tid, params(handle)))
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid, skip_data=True)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    await no_more_packets(s.raw)
    await s.check_alive(handle, payload)


@pytest.mark.parametrize("channels", CHANNELS.values(), ids=CHANNELS.keys())
@pytest.mark.parametrize("op", READS.values(), ids=READS.keys())
async def test_cancel_read_mid_data(
    session: tuple[Session, int], payload: bytes, op: tuple, channels: dict[str, bool]
) -> None:
    s, handle = session
    code, params, size = op
    tid = s.next_tid()
    await s.raw.cmd.send(s.raw.request(code, tid, params(handle)))
    got = await read_some_data(s.raw, tid, 2 * MIB)
    await s.raw.send_cancel(tid, **channels)
    reply = await s.raw.read_reply(tid, skip_data=True)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    received = got + sum(
        len(p.payload) for p in reply.packets if isinstance(p, ptpip.Data | ptpip.EndData)
    )
    assert received < size
    await no_more_packets(s.raw)
    await s.check_alive(handle, payload)


@pytest.mark.parametrize("op", READS.values(), ids=READS.keys())
async def test_cancel_read_while_waiting_for_the_response(
    session: tuple[Session, int], payload: bytes, op: tuple
) -> None:
    s, handle = session
    code, params, size = op
    tid = s.next_tid()
    await s.raw.cmd.send(s.raw.request(code, tid, params(handle)))
    received = 0
    while received < size:  # the whole data phase, but not the response yet
        packet = await s.raw.cmd.recv()
        if isinstance(packet, ptpip.Data | ptpip.EndData):
            received += len(packet.payload)
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid)
    # all data was sent: the device had finished; either answer is fine, but only one
    assert reply.code in (ResponseCode.OK, ResponseCode.TRANSACTION_CANCELLED)
    await no_more_packets(s.raw)
    await s.check_alive(handle, payload)


# -- SendObjectInfo / SendObject ------------------------------------------------------------


def upload_info(size: int, name: str = "up.bin") -> bytes:
    return ObjectInfo(
        object_format=ObjectFormatCode.UNDEFINED, compressed_size=size, filename=name
    ).to_bytes()


async def test_cancel_send_object_info_before_its_data(
    session: tuple[Session, int], payload: bytes, served: Path
) -> None:
    s, handle = session
    tid = s.next_tid()
    await s.raw.cmd.send(
        s.raw.request(OperationCode.SEND_OBJECT_INFO, tid, (PHONE, ALL), data_out=True)
    )
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    await no_more_packets(s.raw)
    reply = await s.transact(OperationCode.SEND_OBJECT, (), b"data")
    assert reply.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == {"big.bin"}
    await s.check_alive(handle, payload)


async def test_cancel_send_object_info_mid_data(
    session: tuple[Session, int], payload: bytes, served: Path
) -> None:
    s, handle = session
    tid = s.next_tid()
    info = upload_info(10)
    await s.raw.cmd.send(
        s.raw.request(OperationCode.SEND_OBJECT_INFO, tid, (PHONE, ALL), data_out=True)
        + ptpip.StartData(tid, len(info)).build()
        + ptpip.Data(tid, info[:20]).build()
    )
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    await no_more_packets(s.raw)
    reply = await s.transact(OperationCode.SEND_OBJECT, (), b"0123456789")
    assert reply.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == {"big.bin"}
    await s.check_alive(handle, payload)


async def _announce(s: Session, size: int) -> None:
    reply = await s.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ALL), upload_info(size))
    assert reply.code == ResponseCode.OK


async def test_cancel_send_object_before_data(
    session: tuple[Session, int], payload: bytes, served: Path
) -> None:
    s, handle = session
    await _announce(s, 8 * MIB)
    tid = s.next_tid()
    await s.raw.cmd.send(s.raw.request(OperationCode.SEND_OBJECT, tid, data_out=True))
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    await no_more_packets(s.raw)
    assert tree(served) == {"big.bin"}
    # the announced upload is gone with the cancel
    reply = await s.transact(OperationCode.SEND_OBJECT, (), b"late")
    assert reply.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == {"big.bin"}
    await s.check_alive(handle, payload)


@pytest.mark.parametrize("channels", CHANNELS.values(), ids=CHANNELS.keys())
async def test_cancel_send_object_mid_data(
    session: tuple[Session, int], payload: bytes, served: Path, channels: dict[str, bool]
) -> None:
    s, handle = session
    size = 8 * MIB
    await _announce(s, size)
    tid = s.next_tid()
    data = os.urandom(size)
    sent = 3 * MIB
    await s.raw.cmd.send(
        s.raw.request(OperationCode.SEND_OBJECT, tid, data_out=True)
        + ptpip.StartData(tid, size).build()
        + b"".join(ptpip.Data(tid, data[i : i + 65536]).build() for i in range(0, sent, 65536))
    )
    await asyncio.sleep(0.05)  # let the device write some of it
    await s.raw.send_cancel(tid, **channels)
    reply = await s.raw.read_reply(tid)
    assert reply.code == ResponseCode.TRANSACTION_CANCELLED
    await no_more_packets(s.raw)
    assert tree(served) == {"big.bin"}
    await s.check_alive(handle, payload)
    # a new upload of the same name works afterwards
    await _announce(s, 4)
    assert (await s.transact(OperationCode.SEND_OBJECT, (), b"done")).code == ResponseCode.OK
    assert (served / "up.bin").read_bytes() == b"done"


async def test_cancel_send_object_while_waiting_for_the_response(
    session: tuple[Session, int], payload: bytes, served: Path
) -> None:
    s, handle = session
    size = 4 * MIB
    await _announce(s, size)
    tid = s.next_tid()
    data = os.urandom(size)
    await s.raw.cmd.send(
        s.raw.request(OperationCode.SEND_OBJECT, tid, data_out=True) + s.raw.data_phase(tid, data)
    )
    await s.raw.send_cancel(tid)
    reply = await s.raw.read_reply(tid)
    assert reply.code in (ResponseCode.OK, ResponseCode.TRANSACTION_CANCELLED)
    await no_more_packets(s.raw)
    if reply.code == ResponseCode.OK:
        assert tree(served) == {"big.bin", "up.bin"}
        assert (served / "up.bin").read_bytes() == data
    else:
        assert tree(served) == {"big.bin"}
    await s.check_alive(handle, payload)


async def test_cancel_of_a_finished_transaction_is_ignored(
    session: tuple[Session, int], payload: bytes
) -> None:
    s, handle = session
    reply = await s.transact(OperationCode.GET_STORAGE_IDS)
    assert reply.code == ResponseCode.OK
    await s.raw.send_cancel(s.tid)
    await no_more_packets(s.raw)
    await s.check_alive(handle, payload)
