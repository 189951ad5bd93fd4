"""Translate between transaction messages and PTP/IP packets.

Theory of operation
-------------------
The transaction machine (:mod:`openwpd.protocol.transaction`) speaks in transport-neutral
messages (``Operation``, ``StartData``, ``DataChunk``, ``EndData``, ``Response``, ``Event``,
``CancelTransaction``); :mod:`openwpd.protocol.ptpip` knows the packets. :class:`PtpIpCodec`
maps one onto the other for one end of the link and absorbs PTP/IP's peculiarities so the
machine never sees them:

- a data phase is Start Data, Data..., End Data; the final bytes may ride in End Data, so an
  End Data packet becomes ``DataChunk`` + ``EndData``;
- gphoto sends a lone Start Data for an empty data phase with no End Data at all (PTP/IP, CIPA
  DC-005): Start Data with length 0 becomes ``StartData(0)`` + ``EndData`` at once, and an empty End
  Data for that transaction arriving afterwards is swallowed;
- a Start Data length of ``0xFFFFFFFFFFFFFFFF`` means "unknown" (``None`` for the machine);
- Cancel may arrive on either connection (both, normally); the machine ignores the second;
- DataPhaseInfo in an Operation Request is never trusted (gphoto, ptpy); we send 2 when a data
  phase from us follows, else 1, as gphoto does;
- a :class:`~openwpd.protocol.transaction.SendCancel` action becomes a Cancel packet for each
  connection.

Init, Probe packets and anything else outside a session's transactions are the transport's
business, not the codec's: :meth:`PtpIpCodec.decode` rejects them.
"""

from __future__ import annotations

import enum

from openwpd.protocol import ptpip
from openwpd.protocol.codes import DataPhaseInfo, PtpIpPacketType
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError
from openwpd.protocol.messages import (
    CancelTransaction,
    DataChunk,
    EndData,
    Event,
    FileSlice,
    Message,
    Operation,
    Response,
    SendCancel,
    StartData,
)


class Channel(enum.Enum):
    """The two TCP connections of a PTP/IP link."""

    COMMAND = "command"
    EVENT = "event"


class PtpIpCodec:
    """Messages <-> PTP/IP packets for one end of a link (stateless but for gphoto's quirk)."""

    def __init__(self) -> None:
        self._auto_ended: int | None = None  # tid whose empty phase we completed ourselves

    def encode(
        self, msg: Message, *, data_follows: bool = False
    ) -> list[tuple[Channel, bytes | memoryview | FileSlice]]:
        """Wire bytes for one message (its ``tid`` must be filled in: pass what the machine's
        ``send`` returned), as (connection, bytes) pieces to write in order. A data chunk comes
        as its packet header followed by the payload itself, uncopied (a FileSlice stays one: the
        link sends it straight from the file). ``data_follows`` marks an
        Operation whose data phase we will send."""
        tid = msg.tid
        if tid is None:
            raise LocalProtocolError(f"{type(msg).__name__} has no transaction ID yet")
        packet: ptpip.Packet
        if isinstance(msg, Operation):
            info = DataPhaseInfo.DATA_OUT if data_follows else DataPhaseInfo.NO_DATA_OR_DATA_IN
            packet = ptpip.OperationRequest(info, msg.code, tid, msg.params)
        elif isinstance(msg, StartData):
            total = ptpip.UNKNOWN_DATA_LENGTH if msg.total_length is None else msg.total_length
            packet = ptpip.StartData(tid, total)
        elif isinstance(msg, DataChunk):
            data = msg.data if not isinstance(msg.data, bytearray) else bytes(msg.data)
            header = ptpip.payload_packet_header(PtpIpPacketType.DATA, tid, len(data))
            return [(Channel.COMMAND, header), (Channel.COMMAND, data)]
        elif isinstance(msg, EndData):
            packet = ptpip.EndData(tid, b"")
        elif isinstance(msg, Response):
            packet = ptpip.OperationResponse(msg.code, tid, msg.params)
        elif isinstance(msg, Event):
            return [(Channel.EVENT, ptpip.Event(msg.code, tid, msg.params).build())]
        else:
            cancel = ptpip.Cancel(tid).build()
            return [(Channel.COMMAND, cancel), (Channel.EVENT, cancel)]
        return [(Channel.COMMAND, packet.build())]

    @staticmethod
    def encode_cancel(action: SendCancel) -> list[tuple[Channel, bytes]]:
        """The packets for a cancel action: one Cancel on each connection, command first."""
        cancel = ptpip.Cancel(action.tid).build()
        return [(Channel.COMMAND, cancel), (Channel.EVENT, cancel)]

    def decode(self, packet: ptpip.Packet, channel: Channel) -> list[Message]:
        """The messages one received packet stands for (possibly none)."""
        if isinstance(packet, ptpip.Cancel):
            return [CancelTransaction(packet.transaction_id)]
        if channel is Channel.EVENT:
            if isinstance(packet, ptpip.Event):
                return [Event(packet.code, packet.params, packet.transaction_id)]
            raise RemoteProtocolError(
                f"unexpected {type(packet).__name__} packet on the event connection"
            )
        if isinstance(packet, ptpip.OperationRequest):
            self._auto_ended = None
            return [Operation(packet.code, packet.params, packet.transaction_id)]
        if isinstance(packet, ptpip.OperationResponse):
            self._auto_ended = None
            return [Response(packet.code, packet.params, packet.transaction_id)]
        if isinstance(packet, ptpip.StartData):
            tid = packet.transaction_id
            if packet.total_length == 0:
                self._auto_ended = tid
                return [StartData(0, tid), EndData(tid)]
            unknown = packet.total_length == ptpip.UNKNOWN_DATA_LENGTH
            return [StartData(None if unknown else packet.total_length, tid)]
        if isinstance(packet, ptpip.Data):
            return [DataChunk(packet.payload, packet.transaction_id)]
        if isinstance(packet, ptpip.EndData):
            tid = packet.transaction_id
            if self._auto_ended == tid and not packet.payload:
                self._auto_ended = None
                return []
            out: list[Message] = []
            if packet.payload:
                out.append(DataChunk(packet.payload, tid))
            out.append(EndData(tid))
            return out
        raise RemoteProtocolError(
            f"unexpected {type(packet).__name__} packet on the command connection"
        )
