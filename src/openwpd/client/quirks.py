"""Device quirks as data: profiles matched on what a device says about itself, read by one
policy object.

Theory of operation
-------------------
Devices get MTP wrong in ways a client must work around (field reports about umtprd, and
the mtp-rs project's Android notes). Each workaround is a *field* of a :class:`QuirkProfile`, a
profile says which devices it applies to (:class:`Match`: USB VID/PID, manufacturer, model,
vendor-extension string -- regular expressions, case-insensitive), and :data:`PROFILES` is the
table. :class:`QuirkPolicy` is the one object the rest of the code asks
(``policy.storage_id_for_listing(storage)``, ``policy.device_info_needs_session``...); no other
module tests for a device.

Matching happens twice: with what the USB descriptors say before the session opens
(:meth:`QuirkPolicy.for_usb`; enough for "open a session before GetDeviceInfo" and for the
recovery steps), then again with DeviceInfo (:meth:`QuirkPolicy.with_device_info`), which adds
the manufacturer/model/vendor-extension strings of the MTP layer. Every matching profile
applies, in table order; a field a profile leaves as ``None`` keeps the value of the profiles
before it, so specific profiles (a vendor) come after general ones (Android).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from openwpd.client.policy import DEFAULT_WINDOW, Quirks
from openwpd.protocol.codes import ALL, OperationCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.errors import LocalProtocolError

T = TypeVar("T")

__all__ = [
    "DEFAULTS",
    "PROFILES",
    "DeviceIdentity",
    "Match",
    "QuirkPolicy",
    "QuirkProfile",
    "Settings",
]


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What a device says about itself: USB IDs (when known) and its identity strings. Before the
    session, ``manufacturer``/``model`` are the USB strings; after it, DeviceInfo's."""

    vid: int | None = None
    pid: int | None = None
    manufacturer: str = ""
    model: str = ""
    vendor_extension: str = ""

    def with_device_info(self, info: DeviceInfo) -> DeviceIdentity:
        """This identity completed with DeviceInfo's strings (non-empty ones win)."""
        return replace(
            self,
            manufacturer=info.manufacturer or self.manufacturer,
            model=info.model or self.model,
            vendor_extension=info.vendor_extension_desc or self.vendor_extension,
        )


@dataclass(frozen=True, slots=True)
class Match:
    """Which devices a profile applies to: every criterion given must hold (strings are
    case-insensitive regular expressions searched in the identity's field)."""

    vid: int | None = None
    pid: int | None = None
    manufacturer: str | None = None
    model: str | None = None
    vendor_extension: str | None = None

    def matches(self, identity: DeviceIdentity) -> bool:
        """True when ``identity`` meets every criterion given."""
        if self.vid is not None and identity.vid != self.vid:
            return False
        if self.pid is not None and identity.pid != self.pid:
            return False
        for pattern, value in (
            (self.manufacturer, identity.manufacturer),
            (self.model, identity.model),
            (self.vendor_extension, identity.vendor_extension),
        ):
            if pattern is not None and not re.search(pattern, value, re.IGNORECASE):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Settings:
    """The workarounds; each field is one decision some code asks the policy about.

    In a :class:`QuirkProfile` every field may be ``None`` ("no opinion"); the policy resolves
    them over :data:`DEFAULTS`.
    """

    #: May GetObjectHandles/GetNumObjects name StorageID 0xFFFFFFFF (all storages)?
    all_storages_listing: bool | None = None
    #: Must the session be open before GetDeviceInfo?
    device_info_needs_session: bool | None = None
    #: Does a whole-storage handle listing (parent 0) return every object, or folders only?
    whole_storage_listing_complete: bool | None = None
    #: Parent parameter naming the storage root in GetObjectHandles and SendObjectInfo.
    root_parent: int | None = None
    #: Parent parameter naming the storage root in MoveObject and CopyObject.
    root_parent_move_copy: int | None = None
    #: Skip objects whose info the device refuses (GeneralError) instead of failing a listing.
    skip_unreadable_objects: bool | None = None
    #: Is cancelling a transfer in flight safe, or does it wedge the device (then transfers use
    #: bounded windows so that a cancel happens between transactions)?
    cancel_in_flight_safe: bool | None = None
    #: What to try, in order, when a cancel does not finish in its budget ("device-reset",
    #: "usb-reset"); empty: go quiet and reopen.
    recovery: tuple[str, ...] | None = None
    #: Seconds to wait before each reopen attempt after a failed recovery.
    reopen_delays: tuple[float, ...] | None = None
    #: Does the session survive a class Device Reset (the next OpenSession answers
    #: SessionAlreadyOpen)?
    session_survives_device_reset: bool | None = None
    #: Operations the client must not use even though DeviceInfo lists them.
    disabled_operations: frozenset[int] | None = None
    #: Bytes per windowed transfer (GetPartialObject64 / SendPartialObject).
    window: int | None = None
    #: Do edits work on a copy that replaces the object at EndEditObject (an edit that never
    #: ends leaves the object as it was), rather than in place?
    edits_on_copy: bool | None = None


#: What a device that matches no profile gets: the protocol as written.
DEFAULTS = Settings(
    all_storages_listing=True,
    device_info_needs_session=False,
    whole_storage_listing_complete=True,
    root_parent=ALL,
    root_parent_move_copy=ALL,
    skip_unreadable_objects=False,
    cancel_in_flight_safe=True,
    recovery=("device-reset", "usb-reset"),
    reopen_delays=(0.5, 2.0),
    session_survives_device_reset=False,
    disabled_operations=frozenset(),
    window=DEFAULT_WINDOW,
    edits_on_copy=False,
)


@dataclass(frozen=True, slots=True)
class QuirkProfile:
    """A named set of workarounds for the devices one of ``matches`` describes; ``source``
    says where the fact comes from."""

    name: str
    matches: tuple[Match, ...]
    settings: Settings
    source: str = ""

    def applies_to(self, identity: DeviceIdentity) -> bool:
        """True when any of the profile's matches holds."""
        return any(m.matches(identity) for m in self.matches)


_ANDROID = re.escape("android.com")

#: The table, general profiles first (later ones override their fields).
PROFILES: tuple[QuirkProfile, ...] = (
    QuirkProfile(
        "android",
        (Match(vendor_extension=_ANDROID), Match(vid=0x18D1)),
        Settings(
            whole_storage_listing_complete=False,  # "list everything" returns folders only
            root_parent=ALL,
            root_parent_move_copy=0,  # root is 0xFFFFFFFF in SendObjectInfo, 0 in Move/Copy
            skip_unreadable_objects=True,  # GeneralError for one object: skip, do not fail
            cancel_in_flight_safe=False,  # an abandoned read wedges Samsung and Pixel
        ),
        "mtp-rs Android field notes",
    ),
    QuirkProfile(
        "samsung",
        (Match(vid=0x04E8), Match(manufacturer="samsung", vendor_extension=_ANDROID)),
        Settings(root_parent=ALL),  # InvalidObjectHandle for a root listing with parent 0
        "mtp-rs community notes",
    ),
    QuirkProfile(
        "google-pixel",
        (Match(vid=0x18D1), Match(manufacturer="google", vendor_extension=_ANDROID)),
        # a class Device Reset kills MtpServer until replug: go quiet, reopen with spaced tries
        Settings(recovery=(), reopen_delays=(1.0, 2.0, 4.0)),
        "mtp-rs hardware notes",
    ),
    QuirkProfile(
        "umtprd-1.3",
        (Match(manufacturer="viveris"), Match(vid=0x1D6B, pid=0x0100)),
        Settings(
            # GetObjectHandles with StorageID 0xFFFFFFFF leaves a mutex locked and the next
            # GetObjectHandles hangs for good (fixed upstream in 1.5.1)
            all_storages_listing=False,
            device_info_needs_session=True,  # 0x2003 outside a session (changed in 1.6.5)
            session_survives_device_reset=True,  # seen in the lab: SessionAlreadyOpen after 0x66
            # GetObjectPropList ignores Depth: asked for the children of a folder (depth 1) it
            # returns the folder's own properties (seen in the lab), so listings must use
            # GetObjectHandles + GetObjectInfo
            disabled_operations=frozenset({OperationCode.GET_OBJECT_PROP_LIST}),
            # its vendor extension says android.com, but it is not Android's MtpServer
            cancel_in_flight_safe=True,
            whole_storage_listing_complete=True,
            skip_unreadable_objects=False,
        ),
        "usbvm lab README; tests/usb",
    ),
    QuirkProfile(
        "openwpd",
        (Match(manufacturer="^openwpd$"),),
        # BeginEditObject copies the file, EndEditObject renames the copy over it
        Settings(edits_on_copy=True),
        "openwpd.server.handlers.edits",
    ),
)


class QuirkPolicy:
    """The one object that answers quirk questions for one device; see the module docstring.

    Build it with :meth:`for_usb` (before the session) or :meth:`for_identity`, refine it with
    :meth:`with_device_info`. ``profiles`` names the profiles that applied.
    """

    def __init__(
        self, identity: DeviceIdentity, profiles: Sequence[QuirkProfile] = PROFILES
    ) -> None:
        self.identity = identity
        self._table = tuple(profiles)
        applied = [p for p in self._table if p.applies_to(identity)]
        self.profiles = tuple(p.name for p in applied)
        self.settings = _resolve(DEFAULTS, (p.settings for p in applied))

    @classmethod
    def for_identity(
        cls, identity: DeviceIdentity, profiles: Sequence[QuirkProfile] = PROFILES
    ) -> QuirkPolicy:
        """The policy for ``identity``."""
        return cls(identity, profiles)

    @classmethod
    def for_usb(
        cls,
        vid: int,
        pid: int,
        manufacturer: str | None = None,
        product: str | None = None,
        profiles: Sequence[QuirkProfile] = PROFILES,
    ) -> QuirkPolicy:
        """The policy from USB descriptors alone (before GetDeviceInfo can be read)."""
        identity = DeviceIdentity(vid, pid, manufacturer or "", product or "")
        return cls(identity, profiles)

    def with_device_info(self, info: DeviceInfo) -> QuirkPolicy:
        """A policy re-matched with DeviceInfo's manufacturer, model and vendor extension."""
        return QuirkPolicy(self.identity.with_device_info(info), self._table)

    # -- the questions -------------------------------------------------------------------------

    def storage_id_for_listing(self, storage: int | None) -> int:
        """The StorageID to name in GetObjectHandles/GetNumObjects: ``storage``, or ALL for
        ``None`` ("every storage"). Raises LocalProtocolError when the device must never be
        asked about all storages at once (umtprd 1.3 deadlocks): list per storage instead."""
        if storage is not None and storage != ALL:
            return storage
        if not self.settings.all_storages_listing:
            raise LocalProtocolError(
                f"{self._who()} must not be asked for all storages at once: list each storage"
            )
        return ALL

    def parent_param(self, op: int, parent: int) -> int:
        """The parent parameter of ``op`` for ``parent`` (0 = the storage root): the root is
        spelled differently by operation and device
        (ObjectInfo says 0, operations say 0xFFFFFFFF; Android's Move/Copy)."""
        if parent:
            return parent
        if op in (OperationCode.MOVE_OBJECT, OperationCode.COPY_OBJECT):
            return _set(self.settings.root_parent_move_copy)
        return _set(self.settings.root_parent)

    @property
    def device_info_needs_session(self) -> bool:
        """Open the session before GetDeviceInfo."""
        return _set(self.settings.device_info_needs_session)

    @property
    def whole_storage_listing_complete(self) -> bool:
        """Whether one storage-wide handle listing returns every object (else walk folders)."""
        return _set(self.settings.whole_storage_listing_complete)

    @property
    def skip_unreadable_objects(self) -> bool:
        """Skip objects the device refuses to describe instead of failing the listing."""
        return _set(self.settings.skip_unreadable_objects)

    @property
    def cancel_in_flight_safe(self) -> bool:
        """Whether a transfer may be cancelled mid-transaction (else use bounded windows)."""
        return _set(self.settings.cancel_in_flight_safe)

    @property
    def recovery(self) -> tuple[str, ...]:
        """Recovery steps after a cancel that missed its budget (UsbLink.recover's steps)."""
        return _set(self.settings.recovery)

    @property
    def reopen_delays(self) -> tuple[float, ...]:
        """Seconds to wait before each reopen attempt."""
        return _set(self.settings.reopen_delays)

    @property
    def session_survives_device_reset(self) -> bool:
        """After a Device Reset, expect SessionAlreadyOpen (and accept it)."""
        return _set(self.settings.session_survives_device_reset)

    def client_quirks(self) -> Quirks:
        """The operation-level part for :class:`~openwpd.client.policy.DevicePolicy`."""
        return Quirks(
            disabled_operations=_set(self.settings.disabled_operations),
            window=_set(self.settings.window),
            edits_on_copy=_set(self.settings.edits_on_copy),
        )

    def _who(self) -> str:
        name = " ".join(w for w in (self.identity.manufacturer, self.identity.model) if w)
        profiles = f" ({', '.join(self.profiles)})" if self.profiles else ""
        return (name or "this device") + profiles

    def __repr__(self) -> str:
        return f"QuirkPolicy({self._who()})"


def _resolve(base: Settings, layers: Iterable[Settings]) -> Settings:
    values = {f.name: getattr(base, f.name) for f in fields(Settings)}
    for layer in layers:
        for f in fields(Settings):
            value = getattr(layer, f.name)
            if value is not None:
                values[f.name] = value
    return Settings(**values)


def _set(value: T | None) -> T:
    """A resolved setting (every field is set in DEFAULTS, so never None after _resolve)."""
    assert value is not None
    return value
