"""Sync over async: one background event loop for the whole process, and the connections it owns.

Theory of operation
-------------------
The WPD API is synchronous and may be called from any number of threads; the client below it
(:mod:`openwpd.client`) is asyncio. The bridge runs **one** event loop in a daemon thread
(started on first use). A blocking WPD call submits a coroutine to it with
:func:`asyncio.run_coroutine_threadsafe` and waits for the result (:func:`run`); calling a
blocking method on the loop thread itself would deadlock and raises instead.

:class:`ConnectionPool` keeps **one** client :class:`~openwpd.client.Connection` (one MTP
session) per device URL. Each ``PortableDevice.open()`` acquires it (opening it the first time)
and gets a client handle of its own; the last release closes the session. A *keeper task* owns
each connection's ``async with open_connection(...)`` block, so the connection is opened and
closed by the same task. A connection that broke (the device went away) is dropped from the pool:
the next ``open()`` connects afresh while handles still attached to the broken one get its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openwpd.client import Connection, Quirks, open_connection, parse_device_url
from openwpd.wpd.errors import E_UNEXPECTED, WpdError

log = logging.getLogger("openwpd.wpd")

T = TypeVar("T")


class _LoopThread:
    """The process-wide event loop and its daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="openwpd-wpd-loop", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()


_lock = threading.Lock()
_started: list[_LoopThread] = []  # at most one


def get_loop() -> asyncio.AbstractEventLoop:
    """The bridge's event loop (started on first use)."""
    with _lock:
        if not _started:
            _started.append(_LoopThread())
        return _started[0].loop


def on_loop_thread() -> bool:
    """True when called from the bridge's loop thread."""
    return bool(_started) and threading.current_thread() is _started[0].thread


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the bridge loop and wait for its result (its exception is raised here).

    Raises WpdError(E_UNEXPECTED) when called on the loop thread (it would wait for itself).
    A KeyboardInterrupt while waiting cancels the coroutine and propagates.
    """
    if on_loop_thread():
        coro.close()
        raise WpdError(E_UNEXPECTED, "a blocking WPD call was made on the openwpd loop thread")
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise


def submit(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Start ``coro`` on the bridge loop without waiting; must be called on the loop thread."""
    return asyncio.ensure_future(coro, loop=get_loop())


@dataclass(eq=False)
class SharedConnection:
    """One device's MTP session, shared by every handle opened on it."""

    key: str
    conn: Connection
    refs: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    keeper: asyncio.Task[None] | None = None
    #: set when the device's session ended under us (ResetDevice): the next open reconnects
    retired: bool = False

    @property
    def usable(self) -> bool:
        """False once the connection broke, closed or was retired."""
        return self.conn.broken is None and not self.conn.closed and not self.retired


class ConnectionPool:
    """One :class:`SharedConnection` per device URL (see the module docstring). Its methods run
    on the bridge loop."""

    def __init__(self) -> None:
        self._shared: dict[str, SharedConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def acquire(
        self, url: str, *, client_name: str, quirks: Quirks | None = None
    ) -> SharedConnection:
        """The shared connection of ``url`` with one more reference (connected when needed,
        with ``quirks`` -- a device profile -- if given). Raises what
        :func:`~openwpd.client.open_connection` raises."""
        key = str(parse_device_url(url))
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            shared = self._shared.get(key)
            if shared is None or not shared.usable:
                shared = await self._connect(key, client_name, quirks)
                self._shared[key] = shared
            shared.refs += 1
            return shared

    async def _connect(self, key: str, client_name: str, quirks: Quirks | None) -> SharedConnection:
        ready: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()

        async def keeper() -> None:
            try:
                async with open_connection(key, client_name=client_name, quirks=quirks) as conn:
                    ready.set_result(conn)
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                elif not isinstance(exc, Exception):
                    raise
                else:
                    log.info("%s: closing the connection failed: %s", key, exc)

        task = asyncio.create_task(keeper(), name=f"openwpd keeper {key}")
        conn = await ready
        return SharedConnection(key, conn, stop=stop, keeper=task)

    async def release(self, shared: SharedConnection) -> None:
        """Drop one reference; the last one closes the session (and forgets the connection)."""
        shared.refs -= 1
        if shared.refs > 0:
            return
        if self._shared.get(shared.key) is shared:
            del self._shared[shared.key]
        shared.stop.set()
        if shared.keeper is not None:
            with contextlib.suppress(Exception):
                await shared.keeper

    def connections(self) -> list[SharedConnection]:
        """The connections in the pool (for tests and diagnostics)."""
        return list(self._shared.values())


#: The process-wide pool.
POOL = ConnectionPool()


__all__ = [
    "POOL",
    "ConnectionPool",
    "SharedConnection",
    "get_loop",
    "on_loop_thread",
    "run",
    "submit",
]
