"""FunctionFS ep0 handling against the real device session: the Still Image class requests
(Get Device Status answered with at most wLength bytes, DeviceBusy while a host Cancel is being
carried out, Get Extended Event Data, Device Reset closing the session) and the host coming and
going (ENABLE starts a session, DISABLE ends it and rolls back).

There is no USB gadget stack on the host, so ep0 is one end of a SOCK_SEQPACKET socket pair
(which keeps each control transfer's data one message, as ep0 does); the gadget's ep0 handler
runs in a thread exactly as it does with the kernel, and the session is the device's own.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.container import build_command
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.functionfs import (
    Ep0Event,
    Ep0EventType,
    FunctionFsGadget,
    FunctionFsLink,
    Setup,
)

STATUS = Setup(0xA1, 0x67, 0, 0, 12)


class Rig:
    def __init__(self, device: VirtualDevice, tmp_path: Path) -> None:
        self.links: list[FunctionFsLink] = []
        self.tasks: list[asyncio.Task[None]] = []

        def start(link: FunctionFsLink) -> asyncio.Task[None]:
            self.links.append(link)
            task = device.serve_link(link, "usb host")
            self.tasks.append(task)
            return task

        self.gadget = FunctionFsGadget(tmp_path, start)
        self.host, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.gadget._ep0 = ours.detach()
        self.gadget._loop = asyncio.get_running_loop()

    async def event(self, kind: Ep0EventType, setup: Setup | None = None) -> None:
        await asyncio.to_thread(self.gadget._on_ep0_event, Ep0Event(kind, setup))
        await asyncio.sleep(0.05)  # what the handler handed to the loop runs

    async def control_in(self, setup: Setup) -> bytes:
        await self.event(Ep0EventType.SETUP, setup)
        return self.host.recv(4096)

    async def cancel_then_status(self, tid: int) -> bytes:
        """A host's Cancel request directly followed by Get Device Status (one ep0 read)."""

        def both() -> None:
            self.host.send(struct.pack("<HI", 0x4001, tid))
            self.gadget._on_ep0_event(Ep0Event(Ep0EventType.SETUP, Setup(0x21, 0x64, 0, 0, 6)))
            self.gadget._on_ep0_event(Ep0Event(Ep0EventType.SETUP, STATUS))

        await asyncio.to_thread(both)
        return self.host.recv(4096)

    async def control_out(self, setup: Setup, data: bytes) -> None:
        self.host.send(data)
        await self.event(Ep0EventType.SETUP, setup)


@pytest.fixture
async def rig(served: Path, tmp_path: Path) -> AsyncIterator[Rig]:
    device = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    r = Rig(device, tmp_path)
    try:
        yield r
    finally:
        await r.gadget.aclose()
        r.host.close()
        await device.aclose()


async def test_get_device_status_answers_at_most_wlength_bytes(rig: Rig) -> None:
    await rig.event(Ep0EventType.ENABLE)
    assert await rig.control_in(STATUS) == struct.pack("<HH", 4, ResponseCode.OK)
    assert await rig.control_in(Setup(0xA1, 0x67, 0, 0, 2)) == struct.pack("<H", 4)


async def test_extended_event_data_is_an_empty_record_cut_to_wlength(rig: Rig) -> None:
    await rig.event(Ep0EventType.ENABLE)
    assert await rig.control_in(Setup(0xA1, 0x65, 0, 0, 64)) == bytes(8)
    assert await rig.control_in(Setup(0xA1, 0x65, 0, 0, 3)) == bytes(3)


async def test_cancel_makes_the_device_busy_then_ok_and_sends_no_response(
    rig: Rig, served: Path
) -> None:
    (served / "big.bin").write_bytes(bytes(8 * 1024 * 1024))
    await rig.event(Ep0EventType.ENABLE)
    link = rig.links[-1]
    written: list[bytes] = []
    gate = asyncio.Event()

    async def slow_host(_link: FunctionFsLink, data: bytes) -> None:
        # the host stopped reading: the write returns only when the gate opens, even when
        # the handler is cancelled meanwhile (as a USB write in progress finishes first)
        written.append(data)
        cancelled = False
        while not gate.is_set():
            try:
                await gate.wait()
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError

    rig.gadget.write_bulk = slow_host  # type: ignore[method-assign]
    link.deliver(build_command(OperationCode.OPEN_SESSION, 0, (1,)))
    link.deliver(build_command(OperationCode.GET_OBJECT_HANDLES, 1, (0xFFFFFFFF, 0, 0)))
    for _ in range(100):
        if len(written) >= 1:
            break
        await asyncio.sleep(0.02)
    gate.set()
    await asyncio.sleep(0.1)
    handles = next(w for w in written if len(w) > 16)
    handle = struct.unpack_from("<I", handles, 16)[0]
    gate.clear()
    written.clear()
    link.deliver(build_command(OperationCode.GET_OBJECT, 2, (handle,)))
    for _ in range(100):
        if written:
            break
        await asyncio.sleep(0.02)
    assert written, "the data phase did not start"
    session = next(iter(rig.gadget._sessions))
    assert not session.done()
    busy = await rig.cancel_then_status(2)
    assert busy == struct.pack("<HH", 4, ResponseCode.DEVICE_BUSY)
    assert await rig.control_in(STATUS) == struct.pack("<HH", 4, ResponseCode.DEVICE_BUSY)
    gate.set()
    await asyncio.sleep(0.1)  # the handler stopped at its write and rolled back
    assert await rig.control_in(STATUS) == struct.pack("<HH", 4, ResponseCode.OK)
    # a second cancel for the same transaction finds nothing to stop
    await rig.control_out(Setup(0x21, 0x64, 0, 0, 6), struct.pack("<HI", 0x4001, 2))
    assert await rig.control_in(STATUS) == struct.pack("<HH", 4, ResponseCode.OK)
    written.clear()
    link.deliver(build_command(OperationCode.GET_STORAGE_IDS, 3, ()))
    for _ in range(100):
        if any(len(w) == 12 for w in written):
            break
        await asyncio.sleep(0.02)
    responses = [w for w in written if len(w) == 12 and w[4:6] == b"\x03\x00"]
    assert len(responses) == 1  # only GetStorageIDs answered: none for the cancelled one
    assert struct.unpack_from("<HI", responses[0], 6) == (ResponseCode.OK, 3)


async def test_device_reset_closes_the_session_and_disable_ends_it(rig: Rig) -> None:
    await rig.event(Ep0EventType.ENABLE)
    first = rig.links[-1]
    written: list[bytes] = []

    async def host(_link: FunctionFsLink, data: bytes) -> None:
        written.append(data)

    rig.gadget.write_bulk = host  # type: ignore[method-assign]
    first.deliver(build_command(OperationCode.OPEN_SESSION, 0, (1,)))
    await asyncio.sleep(0.1)
    assert written and struct.unpack_from("<H", written[-1], 6)[0] == ResponseCode.OK
    await rig.control_out(Setup(0x21, 0x66, 0, 0, 0), b"")
    await asyncio.sleep(0.1)
    assert first.closed and rig.tasks[0].done()
    second = rig.links[-1]
    assert second is not first and not second.closed
    written.clear()
    second.deliver(build_command(OperationCode.OPEN_SESSION, 0, (1,)))
    await asyncio.sleep(0.1)
    # a fresh session: OK, not SessionAlreadyOpen
    assert struct.unpack_from("<H", written[-1], 6)[0] == ResponseCode.OK
    await rig.event(Ep0EventType.DISABLE)
    await asyncio.sleep(0.1)
    assert second.closed and rig.tasks[1].done() and rig.gadget.link is None
