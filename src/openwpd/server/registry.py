"""The operation-handler registry of the virtual device.

One async handler per operation, registered with ``@handles(OperationCode.X)``. The registry is
the single source of truth for what the device supports: DeviceInfo's OperationsSupported is
derived from it (``docs/conventions.md``), and so is the knowledge of which operations carry a
data phase from the initiator (``data_out=True``), which the session needs to drain that phase
when a handler fails before reading it (PTP).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openwpd.protocol.codes import OperationCode

if TYPE_CHECKING:
    from openwpd.server.context import OperationContext, Reply

Handler = Callable[["OperationContext"], Coroutine[Any, Any, "Reply | None"]]


@dataclass(frozen=True, slots=True)
class Registration:
    """A handler and what the session must know about its operation."""

    code: OperationCode
    handler: Handler
    data_out: bool
    needs_session: bool


HANDLERS: dict[int, Registration] = {}


def handles(
    code: OperationCode, *, data_out: bool = False, needs_session: bool = True
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``code``.

    ``data_out``: the initiator sends a data phase with this operation. ``needs_session``: the
    operation is refused with SessionNotOpen outside a session (all but GetDeviceInfo and
    OpenSession).
    """

    def register(handler: Handler) -> Handler:
        if code in HANDLERS:
            raise RuntimeError(f"two handlers for {code.name}")
        HANDLERS[code] = Registration(code, handler, data_out, needs_session)
        return handler

    return register


def supported_operations() -> tuple[int, ...]:
    """Every operation code with a handler, ascending (DeviceInfo.OperationsSupported)."""
    return tuple(sorted(HANDLERS))
