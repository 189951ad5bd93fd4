"""StoreRemoved / StoreAdded: a served folder goes away (an unmounted card) and comes back; the
virtual device notices, a client sees the events and the storage go and return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client import DeviceEvent, EventStream, open_connection
from openwpd.protocol.codes import EventCode, OperationCode, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Path, str]]:
    (tmp_path / "phone").mkdir()
    card = tmp_path / "card"
    card.mkdir()
    (card / "a.jpg").write_bytes(b"jpeg")
    dev = VirtualDevice(
        [StorageSpec(tmp_path / "phone", "Phone"), StorageSpec(card, "Card")],
        state_dir=tmp_path / "state",
        storage_check_interval=0.05,
    )
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        yield card, f"ptpip://127.0.0.1:{port}"
    finally:
        await dev.aclose()


async def _next(events: EventStream, code: int) -> DeviceEvent:
    async with asyncio.timeout(10):
        async for event in events:
            if event.code == code:
                return event
    raise AssertionError("the event stream ended")


async def test_a_served_folder_goes_away_and_comes_back(served: tuple[Path, str]) -> None:
    card, url = served
    async with open_connection(url, client_name="pytest") as conn:
        h = conn.open_handle()
        events = h.events()
        before = {s.description: s.id for s in await h.storages()}
        card_id = before["Card"]
        (entry,) = [e async for e in h.list("/Card")]
        away = card.with_name("card-unmounted")
        card.rename(away)  # the card is pulled
        removed = await _next(events, EventCode.STORE_REMOVED)
        assert removed.params[0] == card_id
        assert [s.description for s in await h.storages()] == ["Phone"]
        res = await h.execute(OperationCode.GET_STORAGE_INFO, (card_id,))
        assert res.code == ResponseCode.STORE_NOT_AVAILABLE
        res = await h.execute(OperationCode.GET_OBJECT_INFO, (entry.handle,))
        assert res.code == ResponseCode.INVALID_OBJECT_HANDLE
        away.rename(card)  # and put back
        added = await _next(events, EventCode.STORE_ADDED)
        assert added.params[0] == card_id
        assert {s.description: s.id for s in await h.storages()} == before
        (again,) = [e async for e in h.list("/Card")]
        assert again.name == "a.jpg" and await h.read(again) == b"jpeg"
        (card / "b.jpg").write_bytes(b"new")  # the folder is watched again
        new = await _next(events, EventCode.OBJECT_ADDED)
        assert (await h.entry(new.params[0])).name == "b.jpg"
