"""An idle connection notices its device vanishing: event streams end and the error is sticky,
without waiting for the next operation to fail."""

from __future__ import annotations

import asyncio

import pytest

from openwpd import DeviceGone
from openwpd.client import Connection, Handle
from openwpd.server.device import VirtualDevice


async def test_idle_connection_notices_the_device_going_away(
    device: tuple[VirtualDevice, int], conn: Connection, h: Handle
) -> None:
    events = h.events()
    assert await h.storages()  # the session works
    await device[0].aclose()  # the device goes away while nothing is in flight

    async def drain() -> None:
        async for _ in events:
            pass

    await asyncio.wait_for(drain(), 5)  # the stream ends by itself
    assert isinstance(conn.broken, DeviceGone)
    with pytest.raises(DeviceGone):
        await h.storages()
