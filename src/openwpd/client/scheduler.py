"""Turns on the one MTP session: FIFO per handle, round-robin across handles.

Theory of operation
-------------------
MTP runs one transaction at a time, and every handle of a connection shares that session.
Before each transaction an operation asks the :class:`Scheduler` for a *turn* on behalf of its
owner (a handle). Each owner has a FIFO of waiting requests; when the session is free the turn
goes to the next owner after the one served last that has a request waiting (round-robin), and
within that owner to its oldest request. So a handle that transfers a large object window by
window gets every other turn at most while another handle has work, and nobody starves.

A turn is held for one transaction, or for a short run of transactions that must not be
separated (SendObjectInfo directly followed by SendObject). :meth:`Scheduler.turn` is an async
context manager that waits for the turn and releases it on exit, whatever happens.

Cancellation: :meth:`Scheduler.fail_waiting` fails every request an owner has waiting (its
``turn()`` raises a fresh exception from the given factory, e.g.
:class:`~openwpd.protocol.errors.Cancelled`); :meth:`Scheduler.fail_all` does it for every owner
(a session reset). A waiter whose own task is
cancelled simply leaves the queue; if the turn had just been granted to it, it is passed on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

#: Makes the exception a failed request raises (one instance per request: an exception object
#: must not be raised in two tasks).
ErrorFactory = Callable[[], BaseException]


class Scheduler:
    """Round-robin turns across owners; see the module docstring. Owners are any hashable
    objects (the client uses its handles)."""

    def __init__(self) -> None:
        self._queues: dict[object, deque[asyncio.Future[None]]] = {}
        self._order: list[object] = []  # registration order = round-robin order
        self._holder: object | None = None
        self._busy = False
        self._last = -1  # index in _order of the owner served last

    @property
    def busy(self) -> bool:
        """True while some owner holds the turn."""
        return self._busy

    @property
    def holder(self) -> object | None:
        """The owner holding the turn (None when idle)."""
        return self._holder

    def waiting(self, owner: object) -> int:
        """How many requests ``owner`` has waiting."""
        return sum(1 for f in self._queues.get(owner, ()) if not f.done())

    def others_waiting(self, owner: object) -> bool:
        """True when an owner other than ``owner`` has a request waiting for its turn."""
        for other, queue in self._queues.items():
            if other is not owner and any(not f.done() for f in queue):
                return True
        return False

    def register(self, owner: object) -> None:
        """Give ``owner`` a place in the round-robin order (idempotent)."""
        if owner not in self._queues:
            self._queues[owner] = deque()
            self._order.append(owner)

    def unregister(self, owner: object, error: ErrorFactory) -> None:
        """Remove ``owner``; its waiting requests fail with ``error()``."""
        self.fail_waiting(owner, error)
        if owner in self._queues:
            index = self._order.index(owner)
            del self._queues[owner]
            self._order.pop(index)
            if index <= self._last:
                self._last -= 1

    def fail_waiting(self, owner: object, error: ErrorFactory) -> int:
        """Fail every request ``owner`` has waiting with a fresh ``error()`` each; returns how
        many."""
        queue = self._queues.get(owner)
        failed = 0
        while queue:
            fut = queue.popleft()
            if not fut.done():
                fut.set_exception(error())
                failed += 1
        return failed

    def fail_all(self, error: ErrorFactory) -> int:
        """Fail every waiting request of every owner with a fresh ``error()`` each."""
        return sum(self.fail_waiting(owner, error) for owner in list(self._queues))

    @asynccontextmanager
    async def turn(self, owner: object) -> AsyncIterator[None]:
        """Wait for ``owner``'s turn, hold it for the body, release it on exit.

        Raises what :meth:`fail_waiting` was given if the request is failed while waiting, and
        CancelledError if the waiting task is cancelled (the request leaves the queue).
        """
        await self._acquire(owner)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, owner: object) -> None:
        self.register(owner)
        if not self._busy:
            self._grant(owner)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[owner].append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._release()  # granted in the same instant we were cancelled: pass it on
            raise

    def _grant(self, owner: object) -> None:
        self._busy = True
        self._holder = owner
        if owner in self._queues:
            self._last = self._order.index(owner)

    def _release(self) -> None:
        self._busy = False
        self._holder = None
        n = len(self._order)
        for step in range(1, n + 1):
            index = (self._last + step) % n
            owner = self._order[index]
            queue = self._queues[owner]
            while queue:
                fut = queue.popleft()
                if fut.done():
                    continue  # cancelled or failed while waiting
                self._grant(owner)
                fut.set_result(None)
                return


__all__ = ["Scheduler"]
