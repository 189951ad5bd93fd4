"""What the client may ask of a device: one policy object read by every operation.

Theory of operation
-------------------
Which MTP operations a device offers decides how the client does things: listing through
GetObjectPropList or GetObjectHandles + GetObjectInfo, downloads in GetPartialObject64 /
GetPartialObject windows or one GetObject, uploads through an edit session (SendPartialObject
windows) or one SendObject data phase. Those choices are made here, once, from DeviceInfo's
OperationsSupported minus the operations the :class:`DevicePolicy` disables (device quirks are
declarative profiles, ``openwpd.protocol.profiles``, read into this one object, not conditionals
spread around). Tests use ``DevicePolicy(disabled_operations=...)`` to exercise every fallback
against the real device, and the virtual device's profiles to meet real misbehaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from openwpd.protocol.codes import ALL, OperationCode
from openwpd.protocol.datasets import DeviceInfo

_O = OperationCode

#: Default data-phase window of a windowed transfer: small enough that other handles get a turn
#: every few milliseconds on a fast link, large enough that per-transaction costs stay small.
DEFAULT_WINDOW = 8 * 1024 * 1024
#: The window while no other handle waits for a turn: nobody needs the turns, so fewer round
#: trips (a cancel still stops in the middle of a window; measured: 1 GiB downloads from the
#: virtual device went from 0.3-0.9 GB/s with 8 MiB windows to ~1.5 GB/s with 32 MiB).
SOLO_WINDOW = 32 * 1024 * 1024
#: On a fast link the solo window grows so that one window takes about SOLO_SECONDS at the
#: throughput measured so far (up to MAX_SOLO_WINDOW): each window ends with a round trip in
#: which the pipe runs empty, and at 2.5 GB/s a 32 MiB window was 32 such stalls per GiB
#: (1 GiB uploads to the virtual device: ~2.4 GB/s with 32 MiB windows, ~2.6 with 256 MiB). A
#: handle that starts waiting meanwhile waits at most about that long for its turn; on a slow
#: link (USB 2.0, ~35 MB/s) the window stays at SOLO_WINDOW.
SOLO_SECONDS = 0.1
MAX_SOLO_WINDOW = 256 * 1024 * 1024

#: Operations a windowed upload needs (besides creating the object and deleting it on failure).
EDIT_OPERATIONS = (_O.BEGIN_EDIT_OBJECT, _O.SEND_PARTIAL_OBJECT, _O.END_EDIT_OBJECT)


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    """Everything the client decides per device, in one object owned by the connection.

    Built from the device profiles (``openwpd.protocol.profiles``) that match what the device
    says about itself (:func:`openwpd.client.quirks.policy_for`), or given by the caller
    (``open_connection(..., policy=DevicePolicy(...))``: then used as it is). The connection
    completes it with DeviceInfo (:meth:`for_device`) for every session it opens, and applies it
    to every link it makes (the first one and every one after a recovery).
    """

    #: Operations the client must not use even though DeviceInfo lists them (read by
    #: :meth:`supports`, so by every choice below).
    disabled_operations: frozenset[int] = field(default_factory=frozenset)
    #: Bytes per windowed transaction while other handles wait for turns
    #: (``Connection.window_for``).
    window: int = DEFAULT_WINDOW
    #: Bytes per window while no other handle waits; None: :data:`SOLO_WINDOW` with the
    #: default window, growing with the measured throughput (:data:`SOLO_SECONDS`), else the
    #: same as an explicitly chosen ``window`` (so a window set by hand applies always).
    solo_window: int | None = None
    #: The device's edits (BeginEditObject ... EndEditObject) work on a copy that replaces the
    #: object only at EndEditObject, so an edit that never ends leaves the object as it was
    #: (openwpd's own device); else they edit in place (Android). Read by uploads
    #: (:attr:`atomic_replace`) and by the end of a cancelled windowed upload.
    edits_on_copy: bool = False
    #: Parent parameter naming a storage root in MoveObject and CopyObject (Android: 0; the
    #: protocol as written: 0xFFFFFFFF). Read by ``Handle.move`` and ``Handle.copy``.
    root_parent_move_copy: int = ALL
    #: Whether a transaction may be cancelled on the wire while it runs. When False (Android
    #: phones wedge when a read in flight is cancelled), ``Handle.cancel()`` and a task cancel
    #: let the running transaction (a bounded window) finish and stop the operation before its
    #: next one. Read by :class:`~openwpd.client.connection.Connection`.
    cancel_in_flight_safe: bool = True
    #: What the link tries, in order, when a cancel does not finish in its budget
    #: ("device-reset", "usb-reset"; empty: go quiet and reopen). Set on every link the
    #: connection makes (USB links read it; PTP/IP links have no such steps).
    recovery: tuple[str, ...] = ("device-reset", "usb-reset")
    #: Seconds to wait before each further reopen attempt when reopening the session after a
    #: failed recovery fails (one attempt, then one more per delay). Read by the connection.
    reopen_delays: tuple[float, ...] = (0.5, 2.0)
    #: Names of the profiles this policy came from (for messages; no behaviour).
    profiles: tuple[str, ...] = ()
    #: The operations the device offers (DeviceInfo) less ``disabled_operations``; None until
    #: :meth:`for_device` (then every operation counts as offered).
    operations: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.window <= 0 or (self.solo_window is not None and self.solo_window <= 0):
            raise ValueError("the transfer window must be positive")

    def for_device(self, info: DeviceInfo) -> DevicePolicy:
        """This policy for a device whose DeviceInfo is ``info``."""
        return replace(
            self,
            operations=frozenset(info.operations_supported) - self.disabled_operations,
        )

    @property
    def adaptive(self) -> bool:
        """The solo window grows with the throughput (only when neither window was chosen)."""
        return self.solo_window is None and self.window == DEFAULT_WINDOW

    @property
    def solo(self) -> int:
        """The solo window before any growth."""
        if self.solo_window is not None:
            return self.solo_window
        return max(SOLO_WINDOW, self.window) if self.window == DEFAULT_WINDOW else self.window

    def solo_window_at(self, rate: float | None) -> int:
        """The solo window for a link moving ``rate`` bytes/s (None: not measured yet): the
        solo window, grown to SOLO_SECONDS' worth when adaptive, whole MiB, at most
        MAX_SOLO_WINDOW."""
        if not self.adaptive or rate is None:
            return self.solo
        grown = int(rate * SOLO_SECONDS) & ~(1024 * 1024 - 1)
        return max(self.solo, min(grown, MAX_SOLO_WINDOW))

    def supports(self, op: int) -> bool:
        """True when the device offers ``op`` and the policy does not disable it."""
        if op in self.disabled_operations:
            return False
        return self.operations is None or op in self.operations

    def parent_param(self, op: int, parent: int) -> int:
        """The parent parameter of ``op`` for ``parent`` (0: the storage root): the root is
        0xFFFFFFFF in the protocol, ``root_parent_move_copy`` in MoveObject/CopyObject."""
        if parent and parent != ALL:
            return parent
        if op in (_O.MOVE_OBJECT, _O.COPY_OBJECT):
            return self.root_parent_move_copy
        return ALL

    @property
    def prop_list(self) -> bool:
        """List and describe objects with GetObjectPropList."""
        return self.supports(_O.GET_OBJECT_PROP_LIST)

    @property
    def send_prop_list(self) -> bool:
        """Create objects with SendObjectPropList (64-bit size) instead of SendObjectInfo."""
        return self.supports(_O.SEND_OBJECT_PROP_LIST)

    @property
    def partial_read(self) -> int | None:
        """The windowed read operation (GetPartialObject64 first), or None for GetObject only."""
        for op in (_O.GET_PARTIAL_OBJECT_64, _O.GET_PARTIAL_OBJECT):
            if self.supports(op):
                return op
        return None

    @property
    def windowed_upload(self) -> bool:
        """Upload through create-empty + BeginEdit + SendPartialObject windows + EndEdit."""
        return all(self.supports(op) for op in EDIT_OPERATIONS) and self.supports(_O.DELETE_OBJECT)

    @property
    def in_place_edits(self) -> bool:
        """The device edits objects in place (the Android edit operations, TruncateObject
        included, on a device whose edits do not work on a copy)."""
        return (
            not self.edits_on_copy
            and all(self.supports(op) for op in EDIT_OPERATIONS)
            and self.supports(_O.TRUNCATE_OBJECT)
        )

    @property
    def atomic_replace(self) -> bool:
        """Replace a file's data in one edit (BeginEdit, TruncateObject, SendPartialObject
        windows, EndEdit): only where edits work on a copy (``edits_on_copy``), so that an
        upload cut anywhere leaves the old data."""
        return (
            self.edits_on_copy
            and all(self.supports(op) for op in EDIT_OPERATIONS)
            and self.supports(_O.TRUNCATE_OBJECT)
        )


#: The old name of :class:`DevicePolicy` (``Quirks(window=...)``), kept for callers.
Quirks = DevicePolicy


__all__ = [
    "DEFAULT_WINDOW",
    "MAX_SOLO_WINDOW",
    "SOLO_SECONDS",
    "SOLO_WINDOW",
    "DevicePolicy",
    "Quirks",
]
