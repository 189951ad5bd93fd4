"""Payloads of the Still Image class control requests (USB Still Image class, PTP/MTP).

Theory of operation: these are not data phases but the data stages of USB control transfers on
the default pipe -- Cancel Request (0x64, host to device), Get Extended Event Data (0x65) and
Get Device Status (0x67, device to host). They live with the datasets because they share the
parse/build contract.

Get Device Status is parsed leniently, because devices get it wrong: the leading u16 wLength is
**not trusted** (one Android version put the size of a pointer there) -- the length is whatever
the control transfer actually returned, and 4 bytes (wLength + code) is the minimum. What
follows the code is a list of stalled endpoint addresses whose slot width implementations
disagree on: Android uses 16-bit slots, Symbian 32-bit slots. We read 16-bit slots and skip the
zero ones; endpoint 0 is never reported stalled, so both layouts give the same endpoint list
(a 32-bit slot is its endpoint followed by a zero 16-bit slot). A dangling odd byte is ignored.
We build 16-bit slots, like Android, which every host talks to.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import EventCode
from openwpd.protocol.datasets._base import Dataset
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = ["CancelRequestData", "DeviceStatus", "ExtendedEventData"]


@dataclass(frozen=True, slots=True)
class CancelRequestData(Dataset):
    """Data of the Cancel Request (0x64): u16 CancelTransaction event code 0x4001, u32 the
    transaction ID to cancel."""

    transaction_id: int

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the 6 bytes; raises RemoteProtocolError if truncated or the code is not
        CancelTransaction."""
        code = reader.u16("CancellationCode")
        if code != EventCode.CANCEL_TRANSACTION:
            raise RemoteProtocolError(f"cancel request with code 0x{code:04X}, not 0x4001")
        return cls(reader.u32("TransactionID"))

    def build(self, writer: Writer) -> None:
        """Write the 6 bytes; raises LocalProtocolError if the transaction ID does not fit."""
        writer.u16(EventCode.CANCEL_TRANSACTION, "CancellationCode")
        writer.u32(self.transaction_id, "TransactionID")


@dataclass(frozen=True, slots=True)
class DeviceStatus(Dataset):
    """Reply to Get Device Status (0x67): a response code (OK, DeviceBusy,
    TransactionCancelled...) and the addresses of stalled endpoints (non-zero)."""

    code: int
    params: tuple[int, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a status block; see the module docstring for the leniency. Raises
        RemoteProtocolError if fewer than 4 bytes are present."""
        reader.u16("wLength")  # untrusted: the transfer length is what counts
        code = reader.u16("Code")
        rest = reader.read_rest()
        slots = struct.unpack(f"<{len(rest) // 2}H", rest[: len(rest) // 2 * 2])
        return cls(code, tuple(slot for slot in slots if slot))

    def build(self, writer: Writer) -> None:
        """Write wLength (4 + 2 per endpoint), the code and 16-bit endpoint slots. Raises
        LocalProtocolError for a zero or out-of-range entry or code."""
        if 0 in self.params:
            raise LocalProtocolError("a Device Status parameter of 0 cannot be represented")
        writer.u16(4 + 2 * len(self.params), "wLength")
        writer.u16(self.code, "Code")
        for param in self.params:
            writer.u16(param, "endpoint address")


@dataclass(frozen=True, slots=True)
class ExtendedEventData(Dataset):
    """Reply to Get Extended Event Data (0x65): u16 event code, u32 transaction ID, u16 number
    of parameters, then per parameter a u16 size and that many bytes."""

    event_code: int
    transaction_id: int
    params: tuple[bytes, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the block; raises RemoteProtocolError if truncated or the parameter count is
        larger than the data could hold."""
        event_code = reader.u16("EventCode")
        tid = reader.u32("TransactionID")
        count = reader.u16("NumParameters")
        if count * 2 > reader.remaining:
            raise RemoteProtocolError(
                f"{count} extended event parameters cannot fit in {reader.remaining} bytes"
            )
        params = []
        for _ in range(count):
            size = reader.u16("parameter size")
            params.append(reader.read_bytes(size, "parameter"))
        return cls(event_code, tid, tuple(params))

    def build(self, writer: Writer) -> None:
        """Write the block; raises LocalProtocolError for a parameter that is not bytes or is
        longer than 65535 bytes, or out-of-range fields."""
        writer.u16(self.event_code, "EventCode")
        writer.u32(self.transaction_id, "TransactionID")
        writer.u16(len(self.params), "NumParameters")
        for param in self.params:
            if not isinstance(param, bytes | bytearray):
                raise LocalProtocolError(f"parameter must be bytes, not {type(param).__name__}")
            writer.u16(len(param), "parameter size")
            writer.write_bytes(param)
