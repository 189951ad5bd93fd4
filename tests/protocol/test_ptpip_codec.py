"""Initiator and responder machines back to back over real PTP/IP bytes, with a fake clock."""

from __future__ import annotations

import hashlib

import pytest

from openwpd.protocol import ptpip
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.ptpip_codec import Channel, PtpIpCodec
from openwpd.protocol.transaction import (
    CancelRequested,
    DataChunk,
    DataFinished,
    DataReceived,
    DataStarted,
    EndData,
    Event,
    EventReceived,
    MachineEvent,
    Message,
    Operation,
    OperationReceived,
    Response,
    ResponseReceived,
    Role,
    SendCancel,
    StartData,
    State,
    Timeouts,
    TransactionCancelled,
    TransactionMachine,
    TransactionTimedOut,
)

OK = ResponseCode.OK


class End:
    """One end: machine + codec + a framer per connection."""

    def __init__(self, role: Role) -> None:
        t = Timeouts(response=2.0, cancel_budget=1.0)
        self.machine = TransactionMachine(role, timeouts=t)
        self.codec = PtpIpCodec()
        self.framers = {ch: ptpip.PacketFramer() for ch in Channel}
        self.wire: list[tuple[Channel, bytes]] = []  # bytes we sent, not yet delivered

    def send(self, msg: Message, now: float, *, data_follows: bool = False) -> Message:
        sent = self.machine.send(msg, now)
        self.wire += self.codec.encode(sent, data_follows=data_follows)
        return sent

    def flush_actions(self) -> None:
        for action in self.machine.pending_actions():
            assert isinstance(action, SendCancel)
            self.wire += PtpIpCodec.encode_cancel(action)

    def receive(self, channel: Channel, data: bytes, now: float) -> list[MachineEvent]:
        framer = self.framers[channel]
        out: list[MachineEvent] = []
        # feed byte by byte at odd split points to exercise the framer as TCP would
        for i in range(0, len(data), 7000):
            framer.feed(data[i : i + 7000])
            for packet in framer:
                for msg in self.codec.decode(packet, channel):
                    out += self.machine.receive(msg, now)
        return out


class Wire:
    def __init__(self) -> None:
        self.now = 0.0
        self.ini = End(Role.INITIATOR)
        self.res = End(Role.RESPONDER)

    def deliver(self, src: End, dst: End) -> list[MachineEvent]:
        out: list[MachineEvent] = []
        pending, src.wire = src.wire, []
        for channel, data in pending:
            out += dst.receive(channel, data, self.now)
        return out

    def to_res(self) -> list[MachineEvent]:
        self.ini.flush_actions()
        return self.deliver(self.ini, self.res)

    def to_ini(self) -> list[MachineEvent]:
        return self.deliver(self.res, self.ini)


def _data_in(w: Wire, code: int, payload: bytes, chunk: int) -> bytes:
    w.ini.send(Operation(code), w.now)
    (op,) = w.to_res()
    assert isinstance(op, OperationReceived)
    w.res.send(StartData(len(payload)), w.now)
    got = bytearray()
    for i in range(0, len(payload), chunk):
        w.res.send(DataChunk(payload[i : i + chunk]), w.now)
        for ev in w.to_ini():
            if isinstance(ev, DataReceived):
                got += ev.data
            else:
                assert ev == DataStarted(op.tid, len(payload))
    w.res.send(EndData(), w.now)
    w.res.send(Response(OK), w.now)
    assert w.to_ini() == [DataFinished(op.tid, len(payload)), ResponseReceived(OK, op.tid, ())]
    return bytes(got)


def test_scripted_session_over_ptpip_bytes() -> None:
    w = Wire()
    w.ini.send(Operation(OperationCode.OPEN_SESSION, (1,)), w.now)
    assert w.to_res() == [OperationReceived(OperationCode.OPEN_SESSION, 0, (1,))]
    w.res.send(Response(OK), w.now)
    assert w.to_ini() == [ResponseReceived(OK, 0, ())]

    assert _data_in(w, OperationCode.GET_DEVICE_INFO, b"device info bytes", 5) == (
        b"device info bytes"
    )
    payload = hashlib.sha256(b"seed").digest() * (10 * 1024 * 1024 // 32)
    got = _data_in(w, OperationCode.GET_OBJECT, payload, 1 << 20)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()

    # data-out, the way gphoto sends an empty file: lone Start Data(0), no End Data
    w.ini.send(Operation(OperationCode.SEND_OBJECT), w.now, data_follows=True)
    w.ini.send(StartData(0), w.now)
    w.ini.send(EndData(), w.now)
    events = w.to_res()
    assert [type(e) for e in events] == [OperationReceived, DataStarted, DataFinished]
    w.res.send(Response(OK), w.now)
    w.to_ini()

    # cancel during data-in: packets already on the wire are discarded by the initiator
    w.ini.send(Operation(OperationCode.GET_OBJECT, (3,)), w.now)
    (op,) = w.to_res()
    assert isinstance(op, OperationReceived)
    w.res.send(StartData(1 << 30), w.now)
    w.res.send(DataChunk(b"x" * 65536), w.now)
    w.to_ini()
    w.ini.machine.cancel(w.now)
    w.res.send(DataChunk(b"y" * 65536), w.now)  # in flight when the cancel crosses it
    assert w.to_res() == [CancelRequested(op.tid)]  # the second Cancel packet is ignored
    resp = w.res.machine.complete_cancel(w.now)
    assert resp is not None
    w.res.wire += w.res.codec.encode(resp)
    (done,) = w.to_ini()
    assert isinstance(done, TransactionCancelled) and done.response is not None
    assert done.response.code == ResponseCode.TRANSACTION_CANCELLED

    # cancel during data-out
    w.ini.send(Operation(OperationCode.SEND_OBJECT), w.now, data_follows=True)
    w.ini.send(StartData(10_000), w.now)
    w.ini.send(DataChunk(b"z" * 4000), w.now)
    w.ini.machine.cancel(w.now)
    events = w.to_res()
    assert isinstance(events[-1], CancelRequested)
    resp = w.res.machine.complete_cancel(w.now)
    assert resp is not None
    w.res.wire += w.res.codec.encode(resp)
    assert isinstance(w.to_ini()[0], TransactionCancelled)

    # cancel while waiting for the response, then a response timeout
    for timeout in (False, True):
        w.ini.send(Operation(OperationCode.DELETE_OBJECT, (9,)), w.now)
        (op,) = w.to_res()
        assert isinstance(op, OperationReceived)
        if timeout:
            w.now += 2.5
            assert w.ini.machine.handle_timer(w.now) == [TransactionTimedOut(op.tid)]
        else:
            w.ini.machine.cancel(w.now)
        assert w.to_res() == [CancelRequested(op.tid)]
        resp = w.res.machine.complete_cancel(w.now)
        assert resp is not None
        w.res.wire += w.res.codec.encode(resp)
        assert isinstance(w.to_ini()[0], TransactionCancelled)

    # events travel on the event connection
    w.res.send(Event(0x4002, (77,)), w.now)
    assert w.res.wire[0][0] is Channel.EVENT
    (ev,) = w.to_ini()
    assert isinstance(ev, EventReceived) and ev.params == (77,)

    # the next transaction after all that succeeds, then close
    assert _data_in(w, OperationCode.GET_STORAGE_IDS, b"\x00" * 4, 4) == b"\x00" * 4
    w.ini.send(Operation(OperationCode.CLOSE_SESSION), w.now)
    w.to_res()
    w.res.send(Response(OK), w.now)
    w.to_ini()
    assert w.ini.machine.state is w.res.machine.state is State.IDLE
    assert not w.ini.machine.session_open


def test_codec_edges() -> None:
    codec = PtpIpCodec()
    with pytest.raises(LocalProtocolError):
        codec.encode(Operation(1))
    # unknown length both ways
    (pkt,) = codec.encode(StartData(None, 4))
    assert ptpip.parse_packet(pkt[1]) == ptpip.StartData(4, ptpip.UNKNOWN_DATA_LENGTH)
    assert codec.decode(ptpip.StartData(4, ptpip.UNKNOWN_DATA_LENGTH), Channel.COMMAND) == [
        StartData(None, 4)
    ]
    # final bytes riding in End Data
    assert codec.decode(ptpip.EndData(4, b"tail"), Channel.COMMAND) == [
        DataChunk(b"tail", 4),
        EndData(4),
    ]
    # a Cancel message is one packet per connection
    from openwpd.protocol.transaction import CancelTransaction

    assert [ch for ch, _ in codec.encode(CancelTransaction(3))] == [Channel.COMMAND, Channel.EVENT]
    assert codec.decode(ptpip.Cancel(3), Channel.EVENT) == [CancelTransaction(3)]
    with pytest.raises(RemoteProtocolError):
        codec.decode(ptpip.Data(1, b""), Channel.EVENT)
    with pytest.raises(RemoteProtocolError):
        codec.decode(ptpip.ProbeRequest(), Channel.COMMAND)
    with pytest.raises(RemoteProtocolError):
        codec.decode(ptpip.InitEventAck(), Channel.COMMAND)
