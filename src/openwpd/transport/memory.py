"""An in-memory link pair: an initiator and a responder in one process, without sockets.

Theory of operation
-------------------
:func:`memory_link_pair` returns two :class:`MemoryLink` objects wired back to back. Each has the
interface of :class:`~openwpd.transport.ptpip.PtpIpLink` that the client's runner and the device's
session use: ``receive(timeout)``, ``send(msg, data_follows=)``, ``send_cancel(action)``,
``aclose()``, and the ``on_cancel`` / ``on_event`` callback slots. Messages travel as objects (no
encoding), through a bounded queue per direction so a fast sender waits for a slow receiver the
way TCP flow control makes it wait. Payload views are copied on send (the sender may reuse its
buffer).

Like PTP/IP, a cancel reaches the peer twice: at once through ``on_cancel`` (the Cancel on the
event connection) and in order in the message stream (the Cancel on the command connection).
Events go to the peer's ``on_event`` the moment they are sent when it is set.

Closing either end breaks both: the peer's ``receive`` raises
:class:`~openwpd.protocol.errors.DeviceGone` (sticky), as a dropped TCP connection would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from openwpd.protocol.errors import DeviceGone, OpenWpdError, ReadTimeout
from openwpd.protocol.messages import (
    CancelTransaction,
    DataChunk,
    Event,
    FileSlice,
    Message,
    SendCancel,
)
from openwpd.transport.link import Link

QUEUE_DEPTH = 64


class MemoryLink(Link):
    """One end of an in-memory link; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.on_cancel: Callable[[int], None] | None = None
        self.on_event: Callable[[Event], None] | None = None
        self._queue: asyncio.Queue[Message | OpenWpdError] = asyncio.Queue(QUEUE_DEPTH)
        self._peer: MemoryLink | None = None
        self._error: OpenWpdError | None = None

    @property
    def closed(self) -> bool:
        return self._error is not None

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message from the peer; raises ReadTimeout after ``timeout`` seconds and the
        sticky DeviceGone once either end closed."""
        if self._error is not None and self._queue.empty():
            raise self._error
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            raise ReadTimeout(f"{self.name}: nothing received for {timeout} s") from None
        if isinstance(item, OpenWpdError):
            self._queue.put_nowait(item)  # sticky for every later caller
            raise item
        return item

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        """Deliver ``msg`` to the peer (waiting while its queue is full)."""
        peer = self._live_peer()
        if isinstance(msg, DataChunk) and not isinstance(msg.data, bytes):
            assert not isinstance(msg.data, FileSlice)  # supports_file_slices is not set here
            msg = DataChunk(bytes(msg.data), msg.tid)
        if isinstance(msg, Event) and peer.on_event is not None:
            peer.on_event(msg)
            return
        await peer._queue.put(msg)

    async def send_cancel(self, action: SendCancel) -> None:
        """Cancel ``action.tid`` at the peer: its ``on_cancel`` at once, then in the stream."""
        peer = self._live_peer()
        if peer.on_cancel is not None:
            peer.on_cancel(action.tid)
        await peer._queue.put(CancelTransaction(action.tid))

    def _live_peer(self) -> MemoryLink:
        if self._error is not None:
            raise self._error
        assert self._peer is not None
        return self._peer

    def _break(self, error: OpenWpdError) -> None:
        if self._error is not None:
            return
        self._error = error
        while True:
            try:
                self._queue.put_nowait(error)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()

    async def aclose(self) -> None:
        """Close both ends (idempotent, never raises)."""
        self._break(DeviceGone(f"{self.name}: link closed"))
        if self._peer is not None:
            self._peer._break(DeviceGone(f"{self._peer.name}: the peer closed the link"))


def memory_link_pair(name: str = "memory") -> tuple[MemoryLink, MemoryLink]:
    """``(initiator_end, responder_end)``, connected back to back (call inside an event loop)."""
    a, b = MemoryLink(f"{name} (initiator)"), MemoryLink(f"{name} (responder)")
    a._peer, b._peer = b, a
    return a, b


__all__ = ["MemoryLink", "memory_link_pair"]
