"""Helpers shared by tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import os

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.transaction import Timeouts
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link


async def connect(
    port: int, *, timeouts: Timeouts | None = None, name: str = "pytest"
) -> TransactionRunner:
    """A raw initiator with an open session."""
    link, _ack = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), name)
    )
    runner = TransactionRunner(link, timeouts=timeouts)
    result = await runner.transact(OperationCode.OPEN_SESSION, (1,))
    assert result.code == ResponseCode.OK
    return runner
