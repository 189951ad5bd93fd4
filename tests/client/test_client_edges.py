"""Edge cases: devices that refuse or stay silent while the session opens, failing local files,
devices without the optional answers the client would like."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import pytest
from client_support import Connect

from openwpd import ConnectError, LocalProtocolError, ResponseError
from openwpd.client import Entry, Quirks, open_connection
from openwpd.client.connection import _fresh
from openwpd.protocol.codes import ObjectPropCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.errors import DeviceGone
from openwpd.protocol.messages import DataChunk, EndData, Operation, Response, StartData
from openwpd.server.context import MtpError, OperationContext
from openwpd.server.registry import HANDLERS, Registration
from openwpd.transport.memory import MemoryLink, memory_link_pair

_O = OperationCode


async def _script(link: MemoryLink, answers: dict[int, int]) -> None:
    """A scripted responder: answers each operation with ``answers[code]`` (DeviceInfo data
    for GetDeviceInfo when OK); silence for codes it has no answer for."""
    while True:
        msg = await link.receive()
        if not isinstance(msg, Operation) or msg.code not in answers:
            continue
        code = answers[msg.code]
        if msg.code == _O.GET_DEVICE_INFO and code == ResponseCode.OK:
            data = DeviceInfo(operations_supported=(_O.GET_DEVICE_INFO,)).to_bytes()
            await link.send(StartData(len(data), msg.tid))
            await link.send(DataChunk(data, msg.tid))
            await link.send(EndData(msg.tid))
        await link.send(Response(code, (), msg.tid))


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({_O.OPEN_SESSION: ResponseCode.DEVICE_BUSY}, "OpenSession failed"),
        (
            {_O.OPEN_SESSION: ResponseCode.SESSION_ALREADY_OPEN, _O.GET_DEVICE_INFO: 0x2002},
            "GetDeviceInfo failed",
        ),
    ],
)
async def test_a_device_that_refuses_the_session(answers: dict[int, int], error: str) -> None:
    ini, res = memory_link_pair()
    device = asyncio.create_task(_script(res, answers))
    with pytest.raises(ResponseError, match=error):
        async with open_connection(ini):
            pass
    assert ini.closed
    device.cancel()


async def test_session_already_open_counts_as_success() -> None:
    ini, res = memory_link_pair()
    answers = {
        _O.OPEN_SESSION: ResponseCode.SESSION_ALREADY_OPEN,
        _O.GET_DEVICE_INFO: ResponseCode.OK,
        _O.CLOSE_SESSION: ResponseCode.OK,
    }
    device = asyncio.create_task(_script(res, answers))
    async with open_connection(ini) as conn, conn:
        assert conn.device_info.operations_supported == (_O.GET_DEVICE_INFO,)
    device.cancel()


async def test_a_silent_device_times_out_opening_the_session() -> None:
    ini, res = memory_link_pair()
    device = asyncio.create_task(_script(res, {}))
    with pytest.raises(ConnectError, match="timed out"):
        async with open_connection(ini, connect_timeout=0.2):
            pass
    device.cancel()


def test_sticky_errors_are_raised_as_fresh_copies() -> None:
    gone = DeviceGone("x", hresult=0x1234)
    copy = _fresh(gone)
    assert copy is not gone and isinstance(copy, DeviceGone) and copy.hresult == 0x1234
    odd = ResponseError(0x2002)
    assert _fresh(odd) is odd  # cannot be rebuilt from its message: raised as it is


async def test_a_failing_local_file_cancels_on_the_wire(
    connect: Connect, served: Path, tmp_path: Path
) -> None:
    (served / "f.bin").write_bytes(bytes(3 * 1024 * 1024))

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            raise OSError(28, "No space left on device")

    async with connect(quirks=Quirks(window=1024 * 1024)) as conn:
        h = conn.open_handle()
        with pytest.raises(OSError, match="No space"):
            await h.download("/Phone/f.bin", Full())  # type: ignore[arg-type]
        assert conn.generation == 0
        assert len(await h.read("/Phone/f.bin", 0, 10)) == 10


def _failing(monkeypatch: pytest.MonkeyPatch, code: OperationCode) -> None:
    async def fail(ctx: OperationContext) -> None:
        raise MtpError(ResponseCode.GENERAL_ERROR, "broken on purpose")

    data_out = HANDLERS[code].data_out
    monkeypatch.setitem(HANDLERS, code, Registration(code, fail, data_out, True))


async def test_a_storage_that_cannot_be_described_is_left_out(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _failing(monkeypatch, _O.GET_STORAGE_INFO)
    async with connect() as conn:
        with caplog.at_level(logging.WARNING, logger="openwpd.client"):
            assert await conn.open_handle().storages() == []
        assert "skipping storage" in caplog.text


async def test_listing_without_prop_descs_and_without_object_size(
    connect: Connect, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 4 * 1024**3 + 5
    with open(served / "big", "wb") as f:
        f.truncate(size)
    _failing(monkeypatch, _O.GET_OBJECT_PROP_DESC)
    _failing(monkeypatch, _O.GET_OBJECT_PROP_VALUE)
    async with connect() as conn:
        h = conn.open_handle()
        [entry] = [e async for e in h.list("/Phone")]  # every property, no group
        assert entry.size == size
        with pytest.raises(ResponseError):  # GetObjectPropValue is broken on this device
            await h.get_property(entry, ObjectPropCode.OBJECT_SIZE)
    no_list = Quirks(disabled_operations=frozenset({_O.GET_OBJECT_PROP_LIST}))
    async with connect(quirks=no_list) as conn:
        h = conn.open_handle()
        [entry] = [e async for e in h.list("/Phone")]
        assert entry.size == 0xFFFFFFFF and not entry.size_exact  # ObjectSize unavailable
        again = await h.entry(entry)
        assert not again.size_exact


async def test_property_types_without_descriptions(connect: Connect, served: Path) -> None:
    (served / "p.txt").write_text("abc")
    quirks = Quirks(disabled_operations=frozenset({_O.GET_OBJECT_PROP_DESC}))
    async with connect(quirks=quirks) as conn:
        h = conn.open_handle()
        assert await h.get_property("/Phone/p.txt", ObjectPropCode.OBJECT_SIZE) == 3
        with pytest.raises(LocalProtocolError, match="unknown"):
            await h.get_property("/Phone/p.txt", 0xDFFF)


async def test_entry_by_path_and_rereading_a_renamed_entry(connect: Connect, served: Path) -> None:
    (served / "d").mkdir()
    (served / "d" / "a.txt").write_text("a")
    async with connect() as conn:
        h = conn.open_handle()
        entry = await h.entry("/Phone/d/a.txt")
        assert isinstance(entry, Entry) and entry.path == "/Phone/d/a.txt"
        await h.rename(entry, "b.txt")
        again = await h.entry(entry)
        assert again.name == "b.txt" and again.path == "/Phone/d/b.txt"
        assert (await h.entry(entry.handle)).path is None


async def test_cancelling_the_task_that_waits_in_cancel(connect: Connect, served: Path) -> None:
    (served / "f.bin").write_bytes(bytes(32 * 1024 * 1024))
    async with connect(quirks=Quirks(window=1024 * 1024)) as conn:
        h = conn.open_handle()
        reading = asyncio.create_task(h.read("/Phone/f.bin"))
        while h._inflight is None:
            await asyncio.sleep(0)
        canceller = asyncio.create_task(h.cancel())
        await asyncio.sleep(0)
        canceller.cancel()  # the cancel goes on; only the waiting stops
        with pytest.raises(asyncio.CancelledError):
            await canceller
        with pytest.raises(Exception, match="cancelled"):
            await reading
        assert len(await h.read("/Phone/f.bin", 0, 5)) == 5
