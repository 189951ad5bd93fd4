"""The link interface: defaults of the optional members, and the device session following the
link's cancel procedure (USB: no response for a cancelled transaction, DeviceBusy in Get Device
Status until the cancel is carried out)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.errors import LocalProtocolError
from openwpd.protocol.messages import (
    DataChunk,
    EndData,
    Message,
    Operation,
    Response,
    SendCancel,
    StartData,
)
from openwpd.protocol.transaction import CancelFlow
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.link import Link
from openwpd.transport.memory import MemoryLink, memory_link_pair


class _Bare(Link):
    """Only what a link must do."""

    name = "bare"

    @property
    def closed(self) -> bool:
        return False

    async def receive(self, timeout: float | None = None) -> Message:
        raise AssertionError("not used")

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        return None


async def test_optional_members_have_defaults_that_say_not_here() -> None:
    link = _Bare()
    assert link.cancel_flow is CancelFlow.PTPIP
    assert link.supports_file_slices is False
    assert link.usb_info is None
    assert link.on_event is None and link.on_cancel is None and link.device_status is None
    with pytest.raises(LocalProtocolError, match="cannot cancel"):
        await link.send_cancel(SendCancel(1))
    with pytest.raises(LocalProtocolError, match="device status"):
        await link.request_device_status()
    assert await link.recover() is None
    await link.flush()


def test_an_incomplete_link_cannot_be_made() -> None:
    class Half(Link):
        async def aclose(self) -> None:
            return None

    with pytest.raises(TypeError):
        Half()  # type: ignore[abstract]


class _UsbLikeLink(MemoryLink):
    """A responder end that follows the USB cancel procedure."""

    cancel_flow = CancelFlow.USB


async def _expect(link: MemoryLink, kind: type, timeout: float = 10.0) -> Message:
    while True:
        msg = await link.receive(timeout)
        if isinstance(msg, kind):
            return msg
        assert not isinstance(msg, Response), f"unexpected {msg}"


async def test_session_over_a_usb_link_cancels_without_a_response(
    served: Path, tmp_path: Path
) -> None:
    big = served / "big.bin"
    with big.open("wb") as f:  # more than the memory link's queue holds: the device blocks
        f.truncate(200 * 1024 * 1024)
    device = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    ini, res_end = memory_link_pair("usb-like")
    res = _UsbLikeLink(res_end.name)
    res._peer, ini._peer = ini, res  # rewire the pair to the USB-flavoured responder end
    task = device.serve_link(res, "pytest")
    try:
        await ini.send(Operation(OperationCode.OPEN_SESSION, (1,), 0))
        assert (await _expect(ini, Response)).code == ResponseCode.OK  # type: ignore[attr-defined]
        await ini.send(Operation(OperationCode.GET_OBJECT_HANDLES, (0xFFFFFFFF, 0, 0), 1))
        await _expect(ini, StartData)
        chunk = await _expect(ini, DataChunk)
        handles = chunk.data[4:]  # type: ignore[attr-defined]
        handle = int.from_bytes(handles[:4], "little")
        await _expect(ini, EndData)
        assert (await _expect(ini, Response)).code == ResponseCode.OK  # type: ignore[attr-defined]

        await ini.send(Operation(OperationCode.GET_OBJECT, (handle,), 2))
        await _expect(ini, StartData)
        await asyncio.sleep(0.2)  # the device fills the queue and waits
        assert res.device_status is not None and res.on_cancel is not None
        assert res.device_status() == ResponseCode.OK
        res.on_cancel(2)  # the class Cancel request, as a FunctionFS link reports it
        assert res.device_status() == ResponseCode.DEVICE_BUSY
        for _ in range(200):
            if res.device_status() == ResponseCode.OK:
                break
            while not ini._queue.empty():
                ini._queue.get_nowait()  # the host drains what the device had queued
            await asyncio.sleep(0.01)
        assert res.device_status() == ResponseCode.OK
        # no response for the cancelled transaction; the session goes on with the next one
        while not ini._queue.empty():
            msg = ini._queue.get_nowait()
            assert not isinstance(msg, Response), f"a cancelled USB transaction answered {msg}"
        await ini.send(Operation(OperationCode.GET_STORAGE_IDS, (), 3))
        await _expect(ini, StartData)
        reply = await _expect(ini, Response)
        assert reply.tid == 3 and reply.code == ResponseCode.OK  # type: ignore[attr-defined]
    finally:
        await ini.aclose()
        await task
        await device.aclose()
    assert sorted(os.listdir(served)) == ["big.bin"]


async def test_after_session_already_open_the_next_transaction_id_starts_the_count(
    served: Path, tmp_path: Path
) -> None:
    # a second program on a USB host that kept the device configured: its OpenSession finds
    # the session open, and it numbers its transactions from 1 again
    device = VirtualDevice([StorageSpec(served, "Phone")], state_dir=tmp_path / "state")
    ini, res = memory_link_pair("usb-like")
    task = device.serve_link(res, "pytest")

    async def transact(code: int, params: tuple[int, ...], tid: int) -> int:
        await ini.send(Operation(code, params, tid))
        reply = await _expect(ini, Response)
        assert isinstance(reply, Response) and reply.tid == tid
        return reply.code

    try:
        assert await transact(OperationCode.OPEN_SESSION, (1,), 0) == ResponseCode.OK
        for tid in (1, 2, 3):
            assert await transact(OperationCode.GET_STORAGE_IDS, (), tid) == ResponseCode.OK
        code = await transact(OperationCode.OPEN_SESSION, (1,), 0)
        assert code == ResponseCode.SESSION_ALREADY_OPEN
        for tid in (1, 2):
            assert await transact(OperationCode.GET_STORAGE_IDS, (), tid) == ResponseCode.OK
        # past the first one, the count is checked again
        bad = await transact(OperationCode.GET_STORAGE_IDS, (), 7)
        assert bad == ResponseCode.INVALID_TRANSACTION_ID
    finally:
        await ini.aclose()
        await task
        await device.aclose()
