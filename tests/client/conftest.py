"""Client fixtures: connections to the real virtual device over loopback TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from client_support import Connect, Device

from openwpd.client import Connection, Handle, open_connection


@pytest.fixture
def url(device: Device) -> str:
    return f"ptpip://127.0.0.1:{device[1]}"


@pytest.fixture
def connect(url: str) -> Connect:
    """``async with connect(**kwargs) as conn`` opens another connection to the device."""

    def opener(**kwargs: Any) -> AbstractAsyncContextManager[Connection]:
        kwargs.setdefault("client_name", "pytest")
        return open_connection(url, **kwargs)

    return opener


@pytest.fixture
async def conn(connect: Connect) -> AsyncIterator[Connection]:
    async with connect() as c:
        yield c


@pytest.fixture
async def h(conn: Connection) -> Handle:
    return conn.open_handle()
