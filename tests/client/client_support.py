"""Helpers for the client tests: a link wrapper that fires a callback at its N-th await point,
and file-system checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from openwpd.client import Connection
from openwpd.protocol.messages import Message, SendCancel
from openwpd.server.device import VirtualDevice
from openwpd.transport.link import Link
from openwpd.transport.ptpip import InitiatorIdentity, PtpIpLink, open_ptpip_link

#: the ``device`` fixture's value, and the ``connect`` fixture's type
Device = tuple[VirtualDevice, int]
Connect = Callable[..., AbstractAsyncContextManager[Connection]]


class TrapLink(Link):
    """Wraps a link; calls ``trap()`` at the ``arm_at``-th await point (send, receive or
    send_cancel, counted from ``arm()``), just before the wrapped call. Everything else is
    forwarded."""

    def __init__(self, inner: PtpIpLink) -> None:
        self.inner = inner
        self.name = inner.name
        self.count = 0
        self.arm_at: int | None = None
        self.trap: Callable[[], None] | None = None
        self.fired = False
        self.kinds: list[str] = []

    # the connection routes events through on_event: forward the slot
    @property
    def on_event(self) -> object:
        return self.inner.on_event

    @on_event.setter
    def on_event(self, value: object) -> None:
        self.inner.on_event = value  # type: ignore[assignment]

    def arm(self, at: int, trap: Callable[[], None]) -> None:
        self.count = 0
        self.arm_at = at
        self.trap = trap
        self.fired = False
        self.kinds = []

    def disarm(self) -> None:
        self.arm_at = None

    def _point(self, kind: str) -> None:
        if self.arm_at is None:
            return
        self.count += 1
        self.kinds.append(kind)
        if self.count == self.arm_at and self.trap is not None:
            self.fired = True
            self.arm_at = None
            self.trap()

    async def receive(self, timeout: float | None = None) -> Message:
        self._point("receive")
        return await self.inner.receive(timeout)

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        self._point(f"send {type(msg).__name__}")
        await self.inner.send(msg, data_follows=data_follows)

    async def send_cancel(self, action: SendCancel) -> None:
        self._point("send_cancel")
        await self.inner.send_cancel(action)

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def closed(self) -> bool:
        return self.inner.closed

    async def flush(self) -> None:
        await self.inner.flush()


async def open_trap_link(port: int, name: str = "pytest-trap") -> TrapLink:
    link, _ack = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), name)
    )
    return TrapLink(link)


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root`` (hidden ones included), as relative paths."""
    result = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            result.add(os.path.relpath(os.path.join(dirpath, name), root))
    return result


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
