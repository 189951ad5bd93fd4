"""What the client may ask of a device: one policy object read by every operation.

Theory of operation
-------------------
Which MTP operations a device offers decides how the client does things: listing through
GetObjectPropList or GetObjectHandles + GetObjectInfo, downloads in GetPartialObject64 /
GetPartialObject windows or one GetObject, uploads through an edit session (SendPartialObject
windows) or one SendObject data phase. Those choices are made here, once, from DeviceInfo's
OperationsSupported minus the operations a :class:`Quirks` profile disables (quirks are declarative
profiles read by one policy object, not conditionals spread around). Tests use
``Quirks(disabled_operations=...)`` to exercise every fallback against the real device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openwpd.protocol.codes import OperationCode
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
class Quirks:
    """A declarative device profile. ``disabled_operations``: operations the client must not
    use even though the device lists them. ``window``: bytes per windowed transaction while
    other handles wait for turns. ``solo_window``: bytes per window while none does; None means
    :data:`SOLO_WINDOW` with the default window, growing with the measured throughput (see
    :data:`SOLO_SECONDS`), else the same as an explicitly chosen ``window`` (so a window set by
    hand applies always). ``edits_on_copy``: the device's edits (BeginEditObject ...
    EndEditObject) work on a copy that replaces the object only at EndEditObject, so an edit
    that never ends leaves the object as it was (openwpd's own device; Android edits in place)."""

    disabled_operations: frozenset[int] = field(default_factory=frozenset)
    window: int = DEFAULT_WINDOW
    solo_window: int | None = None
    edits_on_copy: bool = False


class DevicePolicy:
    """The client's choices for one device (DeviceInfo + Quirks)."""

    def __init__(self, info: DeviceInfo, quirks: Quirks | None = None) -> None:
        self.quirks = quirks or Quirks()
        self.operations = frozenset(info.operations_supported) - self.quirks.disabled_operations
        if self.quirks.window <= 0:
            raise ValueError("the transfer window must be positive")
        self.window = self.quirks.window
        solo = self.quirks.solo_window
        #: the solo window grows with the throughput (only when neither window was chosen)
        self.adaptive = solo is None and self.window == DEFAULT_WINDOW
        if solo is None:
            solo = max(SOLO_WINDOW, self.window) if self.window == DEFAULT_WINDOW else self.window
        if solo <= 0:
            raise ValueError("the transfer window must be positive")
        self.solo_window = solo

    def solo_window_at(self, rate: float | None) -> int:
        """The solo window for a link moving ``rate`` bytes/s (None: not measured yet): the
        solo window, grown to SOLO_SECONDS' worth when adaptive, whole MiB, at most
        MAX_SOLO_WINDOW."""
        if not self.adaptive or rate is None:
            return self.solo_window
        grown = int(rate * SOLO_SECONDS) & ~(1024 * 1024 - 1)
        return max(self.solo_window, min(grown, MAX_SOLO_WINDOW))

    def supports(self, op: int) -> bool:
        """True when the device offers ``op`` and no quirk disables it."""
        return op in self.operations

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
    def atomic_replace(self) -> bool:
        """Replace a file's data in one edit (BeginEdit, TruncateObject, SendPartialObject
        windows, EndEdit): only where edits work on a copy (``Quirks.edits_on_copy``), so that
        an upload cut anywhere leaves the old data."""
        return (
            self.quirks.edits_on_copy
            and all(self.supports(op) for op in EDIT_OPERATIONS)
            and self.supports(_O.TRUNCATE_OBJECT)
        )


__all__ = ["DEFAULT_WINDOW", "MAX_SOLO_WINDOW", "SOLO_SECONDS", "DevicePolicy", "Quirks"]
