"""The state of one open service: its WPD handle, its identity, its method invocations.

Theory of operation
-------------------
``PortableDeviceService.open`` creates one :class:`ServiceScope`. It owns a
:class:`~openwpd.wpd.handle.WpdHandle` of its own (so a client handle of its own on the device's
shared MTP session): every facet of the service (capabilities, content, properties, methods,
streams, enumerators) works through it, and the handle's cancel is the service's cancel --
the device handle and other services' handles are never touched.

Method invocations (:mod:`openwpd.wpd.service_methods`) run as tasks on the bridge loop and are
recorded here with the callback they were started with (None for a synchronous ``invoke``).
The registry is a *context* of the handle: whatever cancels the handle -- ``service.cancel()``,
the ``cancel()`` of any facet or stream -- cancels every invocation too (each fails with
0x800704C7 and its method object is deleted, which cancels the method on the device).
:meth:`ServiceScope.cancel_invocations` is the targeted cancel of
``PortableDeviceServiceMethods.cancel(callback)``.

Completion callbacks run on one thread per service (:class:`CallbackThread`), never on the
loop, so they may call blocking WPD methods.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from openwpd.client import Storage
from openwpd.client.services import (
    MethodInvocation,
    ServiceDescription,
    ServiceHandle,
    drain_cleanups,
)
from openwpd.wpd import bridge
from openwpd.wpd.handle import WpdHandle
from openwpd.wpd.objects import storage_info

log = logging.getLogger("openwpd.wpd")

T = TypeVar("T")

#: Marks a synchronous invocation in the registry (it has no callback).
NO_CALLBACK = object()


class CallbackThread:
    """Runs completion callbacks in order on a daemon thread started on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def post(self, job: Callable[[], object]) -> None:
        """Run ``job()`` on the thread (exceptions are logged)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put(job)

    def stop(self) -> None:
        """End the thread once the jobs posted so far have run (does not wait)."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread = None

    def _main(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.warning("a service method callback failed", exc_info=True)


@dataclass(eq=False)
class Pending:
    """One running invocation: the client invocation, the callback it was started with
    (:data:`NO_CALLBACK` for a synchronous one) and the task running it."""

    invocation: MethodInvocation
    callback: object
    task: asyncio.Task[object] | None = None


class ServiceScope:
    """One open of a service (see the module docstring)."""

    def __init__(
        self,
        handle: WpdHandle,
        *,
        service_id: int,
        object_id: str,
        pnp_id: str,
    ) -> None:
        self.handle = handle
        self.service = ServiceHandle(handle.client, service_id)
        self.service_id = service_id
        self.object_id = object_id
        self.pnp_id = pnp_id
        #: handles of objects seen in the service (for ObjectRemoved events); loop thread only
        self.known: set[int] = set()
        self.callbacks = CallbackThread(f"openwpd service {service_id} callbacks")
        self._pending: dict[MethodInvocation, Pending] = {}  # loop thread only
        handle.register(self)

    # -- running things -------------------------------------------------------------------------

    def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation()`` as a pending operation of the service handle (see
        :meth:`WpdHandle.call`)."""
        return self.handle.call(operation)

    def description(self) -> ServiceDescription:
        """The service's description (cached by the client per connection)."""
        return self.call(self.service.description)

    async def storage(self) -> Storage | None:
        """The service's storage (None for a service without one)."""
        desc = await self.service.description()
        if not desc.info.storage_id:
            return None
        return await storage_info(self.handle.client, desc.info.storage_id)

    # -- invocations (loop thread) ----------------------------------------------------------------

    def add(self, pending: Pending) -> None:
        self._pending[pending.invocation] = pending

    def remove(self, invocation: MethodInvocation) -> None:
        self._pending.pop(invocation, None)

    async def cancel_invocations(self, callback: object = None) -> None:
        """Cancel the invocations started with ``callback`` (identity), or all of them for
        None, and wait until they have finished."""
        await self.wait(self.mark_cancelled(callback))

    def mark_cancelled(self, callback: object = None) -> list[asyncio.Task[object]]:
        """Cancel the invocations of ``callback`` (None: all) at once; returns their tasks."""
        chosen = [p for p in self._pending.values() if callback is None or p.callback is callback]
        for pending in chosen:
            pending.invocation.cancel()
        return [p.task for p in chosen if p.task is not None]

    @staticmethod
    async def wait(tasks: list[asyncio.Task[object]]) -> None:
        """Wait until ``tasks`` have finished."""
        if tasks:
            await asyncio.wait(tasks)

    def abort(self) -> None:
        """Context protocol: a cancel of the handle cancels every invocation."""
        bridge.get_loop().call_soon_threadsafe(self._cancel_all_now)

    def _cancel_all_now(self) -> None:
        for pending in list(self._pending.values()):
            pending.invocation.cancel()

    # -- cancel and close -------------------------------------------------------------------------

    def cancel(self) -> None:
        """The service handle's Cancel: every pending operation and invocation of this service
        handle fails with 0x800704C7; returns when they have stopped. Raises
        E_WPD_SERVICE_NOT_OPEN when closed."""
        self.handle.check_open()

        async def snapshot() -> list[asyncio.Task[object]]:
            return self.mark_cancelled()

        # the invocations pending now are cancelled in one step, before the handle's other
        # operations; an invocation started after this call returned is not touched
        tasks = bridge.run(snapshot())
        self.handle.cancel()
        bridge.run(self.wait(tasks))

    def close(self) -> None:
        """Cancel what is pending and close the handle (idempotent)."""
        if self.handle.closed:
            return
        self.handle.unregister(self)
        bridge.run(self.cancel_invocations())
        # method objects of cancelled invocations are deleted before the session may close
        bridge.run(drain_cleanups(self.handle.conn))
        self.handle.close()
        self.callbacks.stop()


__all__ = ["NO_CALLBACK", "CallbackThread", "Pending", "ServiceScope"]
