"""FormatStore end to end: the virtual device over loopback, ``Handle.format`` and real folders."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client import open_connection
from openwpd.protocol.codes import EventCode, FilesystemType, OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.errors import LocalProtocolError, ResponseError
from openwpd.server.device import StorageSpec, VirtualDevice


def _fill(root: Path) -> None:
    (root / "DCIM" / "100").mkdir(parents=True)
    (root / "DCIM" / "100" / "a.jpg").write_bytes(b"a" * 100)
    (root / "notes.txt").write_text("hello")


async def _serve(tmp_path: Path, *, allow_format: bool) -> tuple[VirtualDevice, str]:
    dev = VirtualDevice(
        [
            StorageSpec(tmp_path / "card", "Card"),
            StorageSpec(tmp_path / "rom", "Rom", read_only=True),
        ],
        state_dir=tmp_path / "state",
        allow_format=allow_format,
    )
    _, port = await dev.serve("127.0.0.1", 0)
    return dev, f"ptpip://127.0.0.1:{port}"


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    for name in ("card", "rom"):
        (tmp_path / name).mkdir()
        _fill(tmp_path / name)
    return tmp_path


@pytest.fixture
async def formatting(folders: Path) -> AsyncIterator[str]:
    dev, url = await _serve(folders, allow_format=True)
    try:
        yield url
    finally:
        await dev.aclose()


async def test_format_empties_the_served_folder_only(folders: Path, formatting: str) -> None:
    outside = folders / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not served")
    os.symlink(outside, folders / "card" / "link")  # not served: stays
    os.symlink(outside, folders / "card" / "DCIM" / "100" / "out")  # goes with DCIM, unfollowed
    async with open_connection(formatting, client_name="pytest") as conn:
        h = conn.open_handle()
        info = DeviceInfo.from_bytes((await h.execute(OperationCode.GET_DEVICE_INFO)).data)
        assert OperationCode.FORMAT_STORE in info.operations_supported
        events = h.events()
        listed = {e.handle async for e in h.list("/Card")}
        card = next(s for s in await h.storages() if s.description == "Card")
        await h.format(card)
        assert [e async for e in h.list("/Card")] == []
        seen: list[tuple[int, int]] = []
        async with asyncio.timeout(5):
            async for event in events:
                seen.append((event.code, event.params[0]))
                if event.code == EventCode.STORAGE_INFO_CHANGED:
                    break
        removed = {p for c, p in seen if c == EventCode.OBJECT_REMOVED}
        assert removed == listed and len(removed) == 2  # DCIM, notes.txt
        assert seen[-1] == (EventCode.STORAGE_INFO_CHANGED, card.id)
    assert os.listdir(folders / "card") == ["link"]  # the folder itself stays
    assert (outside / "keep.txt").read_text() == "not served"
    assert (folders / "rom" / "notes.txt").exists()


async def test_format_refusals(folders: Path, formatting: str) -> None:
    async with open_connection(formatting, client_name="pytest") as conn:
        h = conn.open_handle()
        with pytest.raises(ResponseError) as ro:
            await h.format("/Rom")
        assert ro.value.code == ResponseCode.STORE_READ_ONLY
        with pytest.raises(LocalProtocolError):
            await h.format("/Card/notes.txt")
        card = next(s for s in await h.storages() if s.description == "Card")
        res = await h.execute(OperationCode.FORMAT_STORE, (card.id, FilesystemType.DCF))
        assert res.code == ResponseCode.PARAMETER_NOT_SUPPORTED
        res = await h.execute(OperationCode.FORMAT_STORE, (0x7777_0001, 0))
        assert res.code == ResponseCode.INVALID_STORAGE_ID
        await h.storages()  # the session goes on
    assert (folders / "card" / "notes.txt").exists()
    assert (folders / "rom" / "DCIM" / "100" / "a.jpg").exists()


async def test_without_allow_format_the_device_does_not_format(folders: Path) -> None:
    dev, url = await _serve(folders, allow_format=False)
    try:
        async with open_connection(url, client_name="pytest") as conn:
            h = conn.open_handle()
            info = DeviceInfo.from_bytes((await h.execute(OperationCode.GET_DEVICE_INFO)).data)
            assert OperationCode.FORMAT_STORE not in info.operations_supported
            with pytest.raises(ResponseError) as refused:
                await h.format("/Card")
            assert refused.value.code == ResponseCode.OPERATION_NOT_SUPPORTED
            assert len([e async for e in h.list("/Card")]) == 2
    finally:
        await dev.aclose()
    assert (folders / "card" / "DCIM" / "100" / "a.jpg").exists()
