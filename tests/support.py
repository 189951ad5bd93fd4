"""Helpers shared by tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.transaction import Timeouts
from openwpd.server.store import StoreEvent
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


def nameless_files(root: Path, pid: int | None = None) -> dict[str, int]:
    """Open files of process ``pid`` (default: this one) under ``root`` that have no name --
    the device's O_TMPFILE temp files (server/store/tempfiles.py) -- as {"/proc/PID/fd/N":
    size}. Linux only (empty elsewhere)."""
    fd_dir = f"/proc/{pid or 'self'}/fd"
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for name in os.listdir(fd_dir):
            link = f"{fd_dir}/{name}"
            with contextlib.suppress(OSError):
                target = os.readlink(link)
                if target.startswith(f"{root}/") and target.endswith(" (deleted)"):
                    found[link] = os.stat(link).st_size
    return found


class Recorder:
    """Collects a store's events from any thread; waits for one with a bounded poll."""

    def __init__(self) -> None:
        self.events: list[StoreEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: StoreEvent) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[StoreEvent]:
        with self._lock:
            return list(self.events)

    def wait_for(self, pred: Callable[[StoreEvent], bool], timeout: float = 10.0) -> StoreEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.snapshot():
                if pred(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no matching event within {timeout}s: {self.snapshot()}")

    def clear(self) -> None:
        with self._lock:
            self.events.clear()


def device_temp_files(root: Path, pid: int | None = None) -> list[str]:
    """The device's temp files in folder ``root``: hidden ``.openwpd-*`` names and nameless
    open files of process ``pid`` (default: this one)."""
    hidden = [n for n in os.listdir(root) if n.startswith(".openwpd-")]
    return hidden + list(nameless_files(root, pid))
