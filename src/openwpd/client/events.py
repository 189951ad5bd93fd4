"""Device events, fanned out to every subscriber.

Theory of operation
-------------------
PTP/IP delivers events on their own connection; the link hands each one to the connection's
callback the moment it arrives, whether or not a transaction is running (no polling). The
:class:`EventHub` turns it into a :class:`DeviceEvent` and puts it into the queue of every open
:class:`EventStream` (broadcast, as the Windows MTP driver does for every handle that advised).

A stream's queue is bounded: a subscriber that does not keep up loses the *oldest* events, and
``stream.dropped`` counts them (events are hints to re-read something, never the data itself).
A stream ends (``StopAsyncIteration``) when it is closed, when its handle is closed, or when the
connection closes; every wait can be bounded with ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from openwpd.protocol.codes import EventCode, describe

STREAM_DEPTH = 1024


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """An event the device sent: ``code`` (an :class:`~openwpd.protocol.codes.EventCode` value)
    and its parameters (ObjectAdded carries the new handle in ``params[0]``...)."""

    code: int
    params: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """The event's spec name, or its hex code for unknown events."""
        return describe(EventCode, self.code)


_END = object()


class EventStream(AsyncIterator[DeviceEvent]):
    """Async iterator over the device's events from the moment it was opened.

    ``async for event in stream`` ends when the stream, its handle or the connection is closed.
    ``stream.dropped`` counts events lost because the stream fell more than ``depth`` behind.
    Use ``async with`` (or ``aclose()``) to stop receiving.
    """

    def __init__(self, hub: EventHub, depth: int = STREAM_DEPTH) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[object] = asyncio.Queue(depth)
        self.dropped = 0
        self._closed = False

    def _put(self, item: object) -> None:
        if self._closed:
            return
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()
                    self.dropped += 1

    def _end(self) -> None:
        # closing ends the stream at once: events still queued are dropped
        while not self._queue.empty():
            self._queue.get_nowait()
        self._put(_END)
        self._closed = True

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> DeviceEvent:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # stays ended
            raise StopAsyncIteration
        assert isinstance(item, DeviceEvent)
        return item

    async def aclose(self) -> None:
        """Stop receiving events (idempotent); a pending ``__anext__`` ends."""
        self._hub.unsubscribe(self)
        self._end()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class EventHub:
    """Fans device events out to streams; owned by the connection."""

    def __init__(self) -> None:
        self._streams: set[EventStream] = set()
        self._closed = False

    def subscribe(self, depth: int = STREAM_DEPTH) -> EventStream:
        """A new stream (already ended if the hub is closed)."""
        stream = EventStream(self, depth)
        if self._closed:
            stream._end()
        else:
            self._streams.add(stream)
        return stream

    def unsubscribe(self, stream: EventStream) -> None:
        self._streams.discard(stream)

    def publish(self, event: DeviceEvent) -> None:
        """Give ``event`` to every stream (never blocks)."""
        for stream in list(self._streams):
            stream._put(event)

    def close(self) -> None:
        """End every stream; later subscriptions are ended from the start."""
        self._closed = True
        for stream in list(self._streams):
            stream._end()
        self._streams.clear()


__all__ = ["DeviceEvent", "EventHub", "EventStream"]
