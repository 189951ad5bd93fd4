"""The connection: one MTP session per device, shared by any number of handles.

Theory of operation
-------------------
:func:`open_connection` opens the transport (a URL, or a link the caller opened), opens the MTP
session and reads DeviceInfo. The :class:`Connection` then owns three things: the
:class:`~openwpd.client.wire.TransactionRunner` (one transaction at a time on the link), the
:class:`~openwpd.client.scheduler.Scheduler` (whose turn it is), and the
:class:`~openwpd.client.events.EventHub` (events from the link's callback, outside the
transaction queue).

Every operation of a :class:`~openwpd.client.handle.Handle` runs in its caller's task through an
:class:`OpScope`. For each transaction the scope waits for its handle's turn, then runs
``runner.transact`` in a task of its own and waits for that task:

* ``handle.cancel()`` fails the handle's waiting requests with
  :class:`~openwpd.protocol.errors.Cancelled`, bumps the handle's *epoch* (so operations of the
  handle that are between two transactions fail at their next turn), and cancels the transaction
  task if the handle owns the wire: the runner cancels it on the wire and the scope raises
  ``Cancelled``.
* Cancelling the caller's task (targeted cancel) cancels the transaction task the same way, waits
  for the wire to be idle, and lets ``CancelledError`` propagate, as asyncio requires.

Recovery: the runner has a budget for every transaction (response timeout) and every cancel.
When the link fails (:class:`~openwpd.protocol.errors.TransportError`), the error is sticky:
every waiting and later operation raises it. When the device stops making sense or does not
finish a cancel within the budget, the connection *escalates*: it closes the link, fails every
waiting operation with :class:`~openwpd.protocol.errors.SessionReset`, and (when it knows how to
reconnect: a URL, or a ``reconnect`` factory) opens a new link and session. Operations that
started before the reset fail with ``SessionReset`` at their next transaction (their object
handles may mean something else in the new session); new operations use the new session. If the
reconnect fails, ``SessionReset`` becomes sticky. Nothing ever reports a false success.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from openwpd.client.events import DeviceEvent, EventHub, EventStream
from openwpd.client.policy import DevicePolicy
from openwpd.client.quirks import DeviceIdentity, policy_for
from openwpd.client.scheduler import Scheduler
from openwpd.client.urls import DeviceUrl, attach_event_callback, open_link, parse_device_url
from openwpd.client.wire import DataSource, Link, Result, Sink, TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.errors import (
    Cancelled,
    ConnectError,
    LocalProtocolError,
    OpenWpdError,
    ResponseError,
    SessionReset,
    TransportError,
)
from openwpd.protocol.messages import Event, EventReceived
from openwpd.protocol.transaction import Timeouts

if TYPE_CHECKING:
    from openwpd.client.handle import Handle
    from openwpd.client.services import ServiceState

log = logging.getLogger("openwpd.client")

DEFAULT_CONNECT_TIMEOUT = 10.0
#: How long aclose() waits for CloseSession before it just drops the link.
CLOSE_TIMEOUT = 2.0
SESSION_ID = 1

LinkFactory = Callable[[], Awaitable[Link]]
T = TypeVar("T")


class Connection:
    """One MTP session with a device; hands out :class:`~openwpd.client.handle.Handle` objects.

    Create it with :func:`open_connection`. ``device_info`` is the DeviceInfo dataset read when
    the session opened; ``policy`` (:class:`~openwpd.client.policy.DevicePolicy`) is everything the
    client decides for this device: the caller's policy, or the one the device profiles give for
    what the device says about itself, completed with DeviceInfo. The connection applies it to
    every link it makes: the first, and each one after a recovery (which re-reads DeviceInfo).
    ``generation`` counts session resets (0 for the first session).
    """

    def __init__(
        self,
        runner: TransactionRunner,
        device_info: DeviceInfo,
        *,
        name: str,
        timeouts: Timeouts,
        policy: DevicePolicy | None = None,
        reconnect: LinkFactory | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.name = name
        self.timeouts = timeouts
        #: the caller's policy (None: the profiles decide, per link)
        self._given = policy
        self.device_info = device_info
        self.policy = self._policy_for(runner.link, device_info)
        self.generation = 0
        self._runner = runner
        self._reconnect = reconnect
        self._connect_timeout = connect_timeout
        self._scheduler = Scheduler()
        self._rate: float | None = None  # bytes/s of windowed transfers (window_done)
        self._hub = EventHub()
        self._handles: set[Handle] = set()
        self._broken: OpenWpdError | None = None
        self._closed = False
        self._escalation: asyncio.Task[None] | None = None
        #: per-connection caches (property descriptions...) keyed by the modules that fill them
        self.cache: dict[object, object] = {}
        #: the device-services state (client/services.py), made on first use; kept across resets
        self.service_state: ServiceState | None = None
        self._hook_events(runner)

    def _policy_for(self, link: Link, info: DeviceInfo) -> DevicePolicy:
        """The policy for a new link and its DeviceInfo, applied to the link (its recovery
        steps)."""
        base = self._given if self._given is not None else device_policy(link, info)
        policy = base.for_device(info)
        link.recovery = policy.recovery
        return policy

    # -- public -------------------------------------------------------------------------------

    @property
    def broken(self) -> OpenWpdError | None:
        """The sticky error once the connection is unusable, else None."""
        return self._broken

    @property
    def closed(self) -> bool:
        return self._closed

    def window_for(self, owner: object) -> int:
        """Bytes for the next window of a windowed transfer by ``owner``: the policy's window
        while other handles wait for turns (they get theirs between windows), its solo window
        while none does (grown with the throughput measured by :meth:`window_done`)."""
        if self._scheduler.others_waiting(owner):
            return self.policy.window
        return self.policy.solo_window_at(self._rate)

    def window_done(self, nbytes: int, seconds: float) -> None:
        """A window moved ``nbytes`` in ``seconds``: the throughput estimate the solo window
        grows with (an average weighted to the recent windows; windows under 1 MiB, whose
        time is mostly the round trip, say nothing about it)."""
        if nbytes < 1024 * 1024 or seconds <= 0:
            return
        rate = nbytes / seconds
        self._rate = rate if self._rate is None else (self._rate + rate) / 2

    def supports(self, op: int) -> bool:
        """True when the device offers operation ``op`` (and no quirk disables it)."""
        return self.policy.supports(op)

    @property
    def supports_file_slices(self) -> bool:
        """True when the link sends FileSlices with sendfile (PTP/IP; not USB)."""
        return self._runner.link.supports_file_slices

    def open_handle(self) -> Handle:
        """A new handle: its own queue of pending operations and its own cancel."""
        from openwpd.client.handle import Handle

        self._check_usable(None)
        handle = Handle(self)
        self._handles.add(handle)
        self._scheduler.register(handle)
        return handle

    def events(self) -> EventStream:
        """Every device event from now on, as an async iterator (ends when the connection
        closes)."""
        return self._hub.subscribe()

    async def aclose(self) -> None:
        """Close every handle (their pending operations fail with Cancelled), end the session
        (CloseSession, bounded by a short timeout) and close the link. Idempotent; never
        raises."""
        if self._closed:
            return
        self._closed = True
        for handle in list(self._handles):
            await handle.aclose()
        self._scheduler.fail_all(lambda: LocalProtocolError(f"{self.name}: connection closed"))
        if self._escalation is not None:
            with contextlib.suppress(BaseException):
                await self._escalation
        if self._broken is None and self._runner.broken is None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self._runner.transact(OperationCode.CLOSE_SESSION)
        with contextlib.suppress(Exception):
            await self._runner.aclose()
        self._hub.close()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- for handles --------------------------------------------------------------------------

    def _forget(self, handle: Handle) -> None:
        self._handles.discard(handle)
        self._scheduler.unregister(handle, Cancelled)

    def _check_usable(self, generation: int | None) -> None:
        if self._closed:
            raise LocalProtocolError(f"{self.name}: connection closed")
        if self._broken is not None:
            raise _fresh(self._broken)
        if generation is not None and generation != self.generation:
            raise SessionReset(f"{self.name}: the session was reset while the operation ran")

    async def _transact_held(
        self,
        handle: Handle | None,
        code: int,
        params: tuple[int, ...],
        data: DataSource | None,
        data_length: int | None,
        sink: Sink | None,
        max_data: int | None = None,
    ) -> Result:
        """Run one transaction while the caller holds the turn (see the module docstring);
        ``handle`` (when given) can cancel it with ``handle.cancel()``."""
        task = asyncio.create_task(
            self._runner.transact(
                code, params, data=data, data_length=data_length, sink=sink, max_data=max_data
            ),
            name=f"{self.name} 0x{code:04X}",
        )
        if handle is not None:
            handle._inflight = task
        try:
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                if self.policy.cancel_in_flight_safe:
                    task.cancel()
                # else the transaction (a bounded window) ends by itself: cancelling it on the
                # wire would wedge the device (DevicePolicy.cancel_in_flight_safe)
                await wait_quietly(task)
                await self._after_failure()
                raise
        finally:
            if handle is not None:
                handle._inflight = None
        if task.cancelled():
            await self._after_failure()
            if self._broken is not None:
                raise _fresh(self._broken)
            raise Cancelled()
        exc = task.exception()
        if exc is not None:
            generation = self.generation
            await self._after_failure()
            if self._broken is not None:
                if exc is self._broken:
                    raise exc
                raise _fresh(self._broken) from exc
            if self.generation != generation:
                raise SessionReset(f"{self.name}: the session was reset: {exc}") from exc
            raise exc
        return task.result()

    async def _after_failure(self) -> None:
        """After a failed or cancelled transaction: escalate if the runner broke."""
        broken = self._runner.broken
        if broken is None or self._broken is not None:
            return
        if self._escalation is None or self._escalation.done():
            self._escalation = asyncio.create_task(self._escalate(broken))
        await wait_quietly(self._escalation)

    async def _escalate(self, cause: OpenWpdError) -> None:
        """Close the broken link; reconnect and reopen the session when that makes sense."""
        self.generation += 1
        with contextlib.suppress(Exception):
            await self._runner.aclose()
        if isinstance(cause, TransportError) or self._reconnect is None:
            self._broken = (
                cause
                if isinstance(cause, TransportError)
                else SessionReset(f"{self.name}: the device did not recover: {cause}")
            )
            self._scheduler.fail_all(lambda: _fresh(self._broken or cause))
            self._hub.close()
            return
        self._scheduler.fail_all(
            lambda: SessionReset(f"{self.name}: the session was reset: {cause}")
        )
        log.warning("%s: the device did not recover (%s): reconnecting", self.name, cause)
        delays = (0.0, *self.policy.reopen_delays)
        for attempt, delay in enumerate(delays):
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(self._connect_timeout):
                    link = await self._reconnect()
                    runner, info = await open_session(link, self.timeouts, self.name)
            except (OpenWpdError, TimeoutError, OSError) as exc:
                if attempt + 1 < len(delays):
                    log.warning("%s: could not reopen the session (%s): retrying", self.name, exc)
                    continue
                self._broken = SessionReset(f"{self.name}: could not reopen the session: {exc}")
                self._hub.close()
                return
            break
        self._runner = runner
        self._hook_events(runner)
        self.device_info = info
        self.policy = self._policy_for(runner.link, info)
        self.cache.clear()

    # -- events -------------------------------------------------------------------------------

    def _hook_events(self, runner: TransactionRunner) -> None:
        attach_event_callback(runner.link, self._on_link_event)
        runner.on_event = self._on_machine_event
        runner.link.on_broken = functools.partial(self._on_link_broken, runner)

    def _on_link_broken(self, runner: TransactionRunner, exc: OpenWpdError) -> None:
        """The link broke by itself (device gone): noticed even with no transaction running,
        so event streams end and waiting operations fail now, not at the next call."""
        if runner is not self._runner or self._closed or self._broken is not None:
            return
        if not isinstance(exc, TransportError):
            return  # a protocol error surfaces through the transaction that meets it
        self._broken = exc
        self._scheduler.fail_all(lambda: _fresh(exc))
        self._hub.close()

    def _on_link_event(self, event: Event) -> None:
        self._hub.publish(DeviceEvent(event.code, tuple(event.params)))

    def _on_machine_event(self, event: EventReceived) -> None:
        self._hub.publish(DeviceEvent(event.code, tuple(event.params)))


def _fresh(error: OpenWpdError) -> OpenWpdError:
    """A new instance of a sticky error (an exception object must not be raised twice)."""
    try:
        clone = type(error)(str(error))
    except (TypeError, ValueError):  # an error class with another constructor
        return error
    clone.hresult = error.hresult
    return clone


async def wait_quietly(task: asyncio.Future[Any]) -> None:
    """Wait until ``task`` is done even if we are cancelled meanwhile (the task's own budget
    bounds the wait); a cancel that arrived is re-raised afterwards."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


class OpScope:
    """One operation of a handle: its transactions, each at the handle's turn.

    It remembers the handle's cancel epoch and the session generation at the start, so a
    ``handle.cancel()`` or a session reset that happens between two of its transactions fails
    the next one (Cancelled / SessionReset) instead of letting it run.
    """

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.conn = handle._conn
        self.epoch = handle._epoch
        self.generation = self.conn.generation
        #: who queues for the turn, and whether ``handle.cancel()`` may cancel the transaction
        self.owner: object = handle
        self.track = True

    def check(self) -> None:
        """Raise Cancelled / SessionReset / the sticky error if the operation must stop."""
        if self.handle._epoch != self.epoch:
            raise Cancelled()
        if self.handle._closed:
            raise Cancelled("the handle was closed")
        self.conn._check_usable(self.generation)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the session for the body (one transaction, or a pair that must not be split)."""
        self.check()
        async with self.conn._scheduler.turn(self.owner):
            self.check()
            yield

    async def protected(
        self, step: Callable[[OpScope], Awaitable[T]]
    ) -> tuple[T, BaseException | None]:
        """Run ``step`` so that no cancel interrupts it, for transactions whose outcome the
        client must learn (creating an object: a create cancelled on the wire may still have
        happened, and then nobody would know the new handle to delete it).

        ``step`` gets a :class:`ProtectedScope` (same session generation, its own place in the
        queue, invisible to ``handle.cancel()``) and runs in a task of its own. Returns its
        result and, when the operation was cancelled meanwhile, the exception to raise once the
        caller has undone the step (CancelledError for a task cancel, Cancelled for
        ``handle.cancel()``); the caller must raise it. If ``step`` fails, its error propagates
        (CancelledError instead when the task was cancelled meanwhile).
        """
        task = asyncio.ensure_future(step(ProtectedScope(self)))
        interrupted: BaseException | None = None
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                interrupted = asyncio.CancelledError()
        if task.exception() is not None and isinstance(interrupted, asyncio.CancelledError):
            raise interrupted
        result = task.result()
        if interrupted is None and self.handle._epoch != self.epoch:
            interrupted = Cancelled()
        return result, interrupted

    async def run(
        self,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data: DataSource | None = None,
        data_length: int | None = None,
        sink: Sink | None = None,
        check: bool = True,
        max_data: int | None = None,
    ) -> Result:
        """One transaction at the handle's next turn. Raises ResponseError for a non-OK
        response when ``check`` (else returns it), Cancelled, SessionReset, transport errors;
        RemoteProtocolError when the device sends more than ``max_data`` bytes (see
        :meth:`TransactionRunner.transact <openwpd.client.wire.TransactionRunner.transact>`)."""
        async with self.turn():
            return await self.run_held(
                code,
                params,
                data=data,
                data_length=data_length,
                sink=sink,
                check=check,
                max_data=max_data,
            )

    async def run_held(
        self,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data: DataSource | None = None,
        data_length: int | None = None,
        sink: Sink | None = None,
        check: bool = True,
        max_data: int | None = None,
    ) -> Result:
        """Like :meth:`run` inside a ``turn()`` the caller holds."""
        result = await self.conn._transact_held(
            self.handle if self.track else None, code, params, data, data_length, sink, max_data
        )
        if check and result.code != ResponseCode.OK:
            raise ResponseError(result.code, params=result.params)
        return result


class ProtectedScope(OpScope):
    """The scope of a step no cancel may interrupt (see :meth:`OpScope.protected`), also used
    for clean-up steps of a failed or cancelled operation: it ignores the handle's cancel (the
    step must run *because* of it) but not a session reset, and queues under an owner of its
    own, so ``handle.cancel()`` neither fails its turn nor cancels its transaction."""

    def __init__(self, op: OpScope) -> None:
        super().__init__(op.handle)
        self.generation = op.generation
        self.owner = ("protected", op.handle)
        self.track = False

    def check(self) -> None:
        self.conn._check_usable(self.generation)


async def open_session(
    link: Link, timeouts: Timeouts, name: str
) -> tuple[TransactionRunner, DeviceInfo]:
    """OpenSession (SessionAlreadyOpen counts as success, PTP) then GetDeviceInfo inside the
    session. Closes the link and raises on failure."""
    runner = TransactionRunner(link, timeouts=timeouts)
    try:
        res = await runner.transact(OperationCode.OPEN_SESSION, (SESSION_ID,))
        if res.code not in (ResponseCode.OK, ResponseCode.SESSION_ALREADY_OPEN):
            raise ResponseError(res.code, f"{name}: OpenSession failed", params=res.params)
        res = await runner.transact(OperationCode.GET_DEVICE_INFO)
        if res.code != ResponseCode.OK:
            raise ResponseError(res.code, f"{name}: GetDeviceInfo failed", params=res.params)
        return runner, DeviceInfo.from_bytes(res.data)
    except BaseException:
        await runner.aclose()
        raise


def device_policy(link: Link, info: DeviceInfo) -> DevicePolicy:
    """The policy the device profiles give (client/quirks.py): matched on the link's USB
    identity when it has one, and on DeviceInfo's manufacturer, model and vendor extensions."""
    usb = link.usb_info
    identity = (
        DeviceIdentity(usb.vid, usb.pid, usb.manufacturer or "", usb.product or "")
        if usb is not None
        else DeviceIdentity()
    )
    return policy_for(identity.with_device_info(info))


@asynccontextmanager
async def open_connection(
    target: str | Link,
    *,
    client_name: str = "openwpd",
    timeouts: Timeouts | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    policy: DevicePolicy | None = None,
    reconnect: LinkFactory | None = None,
    guid: bytes | None = None,
    quirks: DevicePolicy | None = None,
) -> AsyncIterator[Connection]:
    """Open a device (``ptpip://HOST[:PORT]``, or an already-open transport link) and its MTP
    session; yields the :class:`Connection` and closes it on exit.

    The device profiles (``openwpd.protocol.profiles``: Android, umtprd...) decide the
    :class:`~openwpd.client.policy.DevicePolicy` by themselves unless ``policy`` is given (then
    it is used as it is; ``quirks`` is its old name). ``timeouts`` bound every transaction and
    every cancel (the recovery budget); ``connect_timeout`` bounds connecting and (re)opening
    the session. A URL connection reconnects by itself after an unrecoverable cancel; for a
    link, pass ``reconnect`` (an async factory of new links) to get the same.

    Raises ConnectError (cannot reach the device), ResponseError (it refused the session),
    LocalProtocolError (a malformed URL).
    """
    timeouts = timeouts or Timeouts()
    if isinstance(target, str):
        url: DeviceUrl = parse_device_url(target)
        name = str(url)

        async def factory() -> Link:
            return await open_link(url, client_name=client_name, guid=guid, timeout=connect_timeout)

        reconnect = reconnect or factory
        try:
            async with asyncio.timeout(connect_timeout):
                link = await factory()
        except TimeoutError:
            raise ConnectError(f"{name}: timed out connecting") from None
    else:
        link = target
        name = link.name
    try:
        async with asyncio.timeout(connect_timeout):
            runner, info = await open_session(link, timeouts, name)
    except TimeoutError:
        raise ConnectError(f"{name}: timed out opening the session") from None
    conn = Connection(
        runner,
        info,
        name=name,
        timeouts=timeouts,
        policy=policy if policy is not None else quirks,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
    )
    try:
        yield conn
    finally:
        await conn.aclose()


__all__ = [
    "Connection",
    "OpScope",
    "ProtectedScope",
    "device_policy",
    "open_connection",
    "open_session",
    "wait_quietly",
]
