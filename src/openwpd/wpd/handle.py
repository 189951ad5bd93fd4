"""A WPD handle: one ``open()`` of a device, with WPD's handle-wide Cancel.

Theory of operation
-------------------
Every ``PortableDevice.open()`` creates one :class:`WpdHandle`, holding a client handle of its
own (:meth:`openwpd.client.Connection.open_handle`) on the connection shared by every open of
that device. The facet objects (content, properties, resources, capabilities, enumerators,
streams, bulk operations) all keep a reference to the handle they came from, and every blocking
method of theirs goes through :meth:`WpdHandle.call`: the coroutine runs as a task on the bridge
loop, the task is recorded in the handle's set of *pending operations*, and the caller's thread
waits for it.

:meth:`WpdHandle.cancel` is WPD's Cancel. It

1. aborts the handle's open *contexts* -- enumerations, stream transfers, bulk operations, as
   the driver tears down its per-handle contexts: each of them raises 0x800704C7 from then on
   (an enumerator can be ``reset()``; a write stream can only be reverted or closed; nothing is
   left on the device);
2. cancels every pending task of the handle and the client handle (which fails its queued
   transactions and cancels its transaction on the wire), then waits until they have all
   finished -- each blocked caller raises ``WpdError(0x800704C7)``;
3. returns. The handle is usable at once; other handles on the same device were never touched
   (they share the MTP session, not the cancel).

``cancel()`` with nothing pending does nothing; on a closed handle it raises
E_WPD_DEVICE_NOT_OPEN, as does every method of an object obtained from a closed handle.
A *service* handle (a later issue) is the same object with another ``not_open`` HRESULT and a
scope: nothing here is device-specific.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from openwpd.client import Connection, Handle, Quirks
from openwpd.wpd import bridge
from openwpd.wpd.errors import (
    E_ACCESSDENIED,
    E_WPD_DEVICE_NOT_OPEN,
    HRESULT_CANCELLED,
    WpdError,
    wpd_error_from,
)

T = TypeVar("T")


class Context(Protocol):
    """Something a cancel must tear down (an enumeration, a stream, a bulk operation)."""

    def abort(self) -> None:
        """Mark the context cancelled; its pending and later calls raise 0x800704C7.
        Called from any thread; must not block."""


class WpdHandle:
    """One open of a device: see the module docstring."""

    def __init__(
        self,
        pnp_id: str,
        shared: bridge.SharedConnection,
        client: Handle,
        aux: Handle,
        *,
        read_only: bool = False,
        not_open: int = E_WPD_DEVICE_NOT_OPEN,
    ) -> None:
        self.pnp_id = pnp_id
        self.shared = shared
        self.client = client
        #: an internal client handle for steps a Cancel must not split (commit swaps)
        self.aux = aux
        self.read_only = read_only
        self.not_open = not_open
        self._closed = False
        self._lock = threading.Lock()
        self._contexts: set[Context] = set()
        # loop thread only: pending task -> tag (the bulk operation it belongs to, or None)
        self._tasks: dict[asyncio.Task[object], object] = {}
        self._cancelled: set[asyncio.Task[object]] = set()

    @property
    def conn(self) -> Connection:
        """The shared client connection (its DeviceInfo, policy, cache)."""
        return self.shared.conn

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise the not-open error when the handle is closed."""
        if self._closed:
            raise WpdError(self.not_open)

    def check_writable(self) -> None:
        """Raise E_ACCESSDENIED on a handle opened for reading only."""
        if self.read_only:
            raise WpdError(E_ACCESSDENIED, "the device was opened with GENERIC_READ access")

    # -- running operations -------------------------------------------------------------------

    def call(self, operation: Callable[[], Awaitable[T]], *, tag: object = None) -> T:
        """Run ``operation()`` on the bridge loop as a pending operation of this handle and wait
        for it. Raises WpdError for every failure (0x800704C7 when cancelled)."""
        self.check_open()
        try:
            return bridge.run(self._track(operation, tag))
        except WpdError:
            raise
        except Exception as exc:
            raise wpd_error_from(exc) from exc

    async def _track(self, operation: Callable[[], Awaitable[T]], tag: object) -> T:
        task = asyncio.current_task()
        assert task is not None
        self.check_open()
        self._tasks[task] = tag
        try:
            return await operation()
        except asyncio.CancelledError:
            if task not in self._cancelled:
                raise
            task.uncancel()
            raise WpdError(HRESULT_CANCELLED, "the operation was cancelled") from None
        finally:
            del self._tasks[task]
            self._cancelled.discard(task)

    # -- contexts -----------------------------------------------------------------------------

    def register(self, context: Context) -> None:
        """Track ``context`` so that a cancel aborts it."""
        with self._lock:
            self._contexts.add(context)

    def unregister(self, context: Context) -> None:
        """Stop tracking ``context`` (it finished or was closed)."""
        with self._lock:
            self._contexts.discard(context)

    # -- cancel and close ---------------------------------------------------------------------

    def cancel(self) -> None:
        """WPD's Cancel: see the module docstring. Raises the not-open error when closed."""
        self.check_open()
        self._abort_contexts()
        bridge.run(self._cancel_all())

    def _abort_contexts(self) -> None:
        with self._lock:
            contexts = list(self._contexts)
        for context in contexts:
            context.abort()

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            self._cancelled.add(task)
            task.cancel()
        await self.client.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def cancel_tagged(self, tag: object) -> None:
        """Targeted cancel: cancel only the pending operations tagged ``tag`` (a bulk
        operation's), on the wire as well; the handle's other operations go on."""
        bridge.run(self._cancel_tagged(tag))

    async def _cancel_tagged(self, tag: object) -> None:
        tasks = [task for task, owner in self._tasks.items() if owner is tag]
        for task in tasks:
            self._cancelled.add(task)
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def close(self) -> None:
        """Cancel what is pending, detach from the shared connection (the last handle closes
        the session). Idempotent."""
        if self._closed:
            return
        self._abort_contexts()
        self._closed = True
        bridge.run(self._close())

    async def _close(self) -> None:
        await self._cancel_all()
        await self.client.aclose()
        await self.aux.aclose()
        await bridge.POOL.release(self.shared)


async def open_handle(
    pnp_id: str, *, client_name: str, read_only: bool = False, quirks: Quirks | None = None
) -> WpdHandle:
    """Open a handle on device ``pnp_id`` (a device URL) through the shared pool; runs on the
    bridge loop. ``quirks`` apply when this open creates the connection."""
    shared = await bridge.POOL.acquire(pnp_id, client_name=client_name, quirks=quirks)
    try:
        client = shared.conn.open_handle()
        aux = shared.conn.open_handle()
    except BaseException:
        await bridge.POOL.release(shared)
        raise
    return WpdHandle(pnp_id, shared, client, aux, read_only=read_only)


__all__ = ["Context", "WpdHandle", "open_handle"]
