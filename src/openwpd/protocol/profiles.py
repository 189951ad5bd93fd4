"""Device profiles as data: how real MTP/PTP devices behave, for both sides.

Theory of operation
-------------------
One :class:`Profile` describes a family of devices once. The client reads its ``settings``
(overrides of :class:`openwpd.client.policy.DevicePolicy` fields: how to work around the
devices) when a device it opens :class:`Match`\\ es; the virtual device (``wpd serve --profile
NAME``) reads its ``device`` part (:class:`Imitation`: what it advertises, which operations it
refuses, how it answers) to behave like those devices. So the test suite runs the client's
workarounds against a device that really misbehaves the way the workaround assumes, and a
profile cannot claim one thing to the client and imitate another.

The module is pure data (standard library only, no I/O) so that the server and the client may
both import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from openwpd.protocol.codes import ALL, OperationCode

_O = OperationCode

__all__ = ["PROFILES", "Imitation", "Match", "Profile", "imitated_profiles", "profile_named"]


@dataclass(frozen=True, slots=True)
class Match:
    """Which devices a profile applies to: every criterion given must hold (strings are
    case-insensitive regular expressions searched in what the device says: USB descriptors
    before the session, DeviceInfo after it)."""

    vid: int | None = None
    pid: int | None = None
    manufacturer: str | None = None
    model: str | None = None
    vendor_extension: str | None = None

    def matches(
        self,
        vid: int | None,
        pid: int | None,
        manufacturer: str,
        model: str,
        vendor_extension: str,
    ) -> bool:
        """True when the identity meets every criterion given."""
        if self.vid is not None and vid != self.vid:
            return False
        if self.pid is not None and pid != self.pid:
            return False
        for pattern, value in (
            (self.manufacturer, manufacturer),
            (self.model, model),
            (self.vendor_extension, vendor_extension),
        ):
            if pattern is not None and not re.search(pattern, value, re.IGNORECASE):
                return False
        return True


#: Property code / depth values of GetObjectPropList behaviours (Imitation.prop_list).
PROP_LIST_FULL = "full"
PROP_LIST_ANDROID = "android"
PROP_LIST_DEPTH_IGNORED = "depth-ignored"


@dataclass(frozen=True, slots=True)
class Imitation:
    """How the virtual device imitates a profile's devices (every field's default is openwpd's
    own behaviour)."""

    #: DeviceInfo's Manufacturer and Model (the client matches profiles on them).
    manufacturer: str = "openwpd"
    model: str = "Virtual MTP Device"
    #: DeviceInfo's VendorExtensionDesc items; None keeps openwpd's own.
    vendor_extensions: tuple[tuple[str, str], ...] | None = None
    #: The only operations offered (advertised and answered); None: every one implemented.
    operations: frozenset[int] | None = None
    #: Operations neither advertised nor answered (OperationNotSupported).
    withheld: frozenset[int] = frozenset()
    #: The only parent parameter MoveObject/CopyObject accept for a storage root (the other
    #: spelling names no object: InvalidParentObject); None: both 0 and 0xFFFFFFFF.
    move_copy_root: int | None = None
    #: GetObjectPropList: "full" (MTP 1.1), "android" (depth 0 or 1 only, one object or the
    #: children of one folder, a property code rather than a group), "depth-ignored" (every
    #: request answers with the named object's own properties).
    prop_list: str = PROP_LIST_FULL
    #: GetObjectHandles/GetNumObjects for all storages (0xFFFFFFFF) are never answered.
    all_storages_stall: bool = False
    #: GetObjectHandles with parent 0 (the whole storage) lists folders only.
    whole_storage_folders_only: bool = False
    #: GetDeviceInfo is refused (SessionNotOpen) outside a session.
    device_info_needs_session: bool = False
    #: A Cancel during a data phase wedges the session: nothing is answered any more on that
    #: connection (a new connection works).
    wedge_on_data_cancel: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """A named family of devices: who they are, how the client works around them
    (``settings``: DevicePolicy field overrides), how the virtual device imitates them
    (``device``; None: no imitation). ``summary`` says what the profile changes (shown by
    ``wpd serve --help`` and the docs); ``source`` where the facts come from."""

    name: str
    matches: tuple[Match, ...]
    settings: Mapping[str, object] = field(default_factory=dict)
    device: Imitation | None = None
    summary: str = ""
    source: str = ""

    def applies_to(
        self,
        vid: int | None,
        pid: int | None,
        manufacturer: str,
        model: str,
        vendor_extension: str,
    ) -> bool:
        """True when any of the profile's matches holds."""
        return any(m.matches(vid, pid, manufacturer, model, vendor_extension) for m in self.matches)


_ANDROID = re.escape("android.com")

#: The PTP object and device-property operations both Android and a plain still camera offer.
_PTP_CORE = frozenset(
    {
        _O.GET_DEVICE_INFO,
        _O.OPEN_SESSION,
        _O.CLOSE_SESSION,
        _O.GET_STORAGE_IDS,
        _O.GET_STORAGE_INFO,
        _O.GET_NUM_OBJECTS,
        _O.GET_OBJECT_HANDLES,
        _O.GET_OBJECT_INFO,
        _O.GET_OBJECT,
        _O.GET_THUMB,
        _O.DELETE_OBJECT,
        _O.SEND_OBJECT_INFO,
        _O.SEND_OBJECT,
        _O.GET_DEVICE_PROP_DESC,
        _O.GET_DEVICE_PROP_VALUE,
        _O.SET_DEVICE_PROP_VALUE,
        _O.GET_PARTIAL_OBJECT,
    }
)

#: The operations Android's MtpServer offers to an MTP initiator (its public source): the PTP
#: core, Move/Copy, GetPartialObject, the MTP property operations except SetObjectPropList and
#: SendObjectPropList, object references, and the Android extensions 0x95C1-0x95C5.
ANDROID_OPERATIONS = _PTP_CORE | {
    _O.RESET_DEVICE_PROP_VALUE,
    _O.MOVE_OBJECT,
    _O.COPY_OBJECT,
    _O.GET_OBJECT_PROPS_SUPPORTED,
    _O.GET_OBJECT_PROP_DESC,
    _O.GET_OBJECT_PROP_VALUE,
    _O.SET_OBJECT_PROP_VALUE,
    _O.GET_OBJECT_PROP_LIST,
    _O.GET_OBJECT_REFERENCES,
    _O.SET_OBJECT_REFERENCES,
    _O.GET_PARTIAL_OBJECT_64,
    _O.SEND_PARTIAL_OBJECT,
    _O.TRUNCATE_OBJECT,
    _O.BEGIN_EDIT_OBJECT,
    _O.END_EDIT_OBJECT,
}

#: PTP 1.0's object operations a still camera offers (no MTP operations, no Move/Copy).
PTP_CAMERA_OPERATIONS = _PTP_CORE

_ANDROID_DEVICE = Imitation(
    manufacturer="Android",
    model="MTP imitation",
    vendor_extensions=(("microsoft.com", "1.0"), ("android.com", "1.0")),
    operations=ANDROID_OPERATIONS,
    move_copy_root=0,
    prop_list=PROP_LIST_ANDROID,
    whole_storage_folders_only=True,
    wedge_on_data_cancel=True,
)

#: The table, general profiles first: every matching profile applies in this order, a later
#: one overriding the settings of the ones before.
PROFILES: tuple[Profile, ...] = (
    Profile(
        "android",
        (Match(vendor_extension=_ANDROID), Match(vid=0x18D1)),
        {
            # the root is 0xFFFFFFFF in SendObjectInfo but 0 in Move/Copy
            "root_parent_move_copy": 0,
            # cancelling or abandoning a read in flight wedges Samsung and Pixel phones
            "cancel_in_flight_safe": False,
        },
        _ANDROID_DEVICE,
        "Android's MtpServer: Move/Copy name a storage root as 0; GetObjectPropList at depth "
        "0 or 1 only, for one object or one folder, by property code (no groups); the edit "
        "operations 0x95C1-0x95C5 and GetPartialObject64; no SendObjectPropList; a whole-"
        "storage handle listing returns folders only; a Cancel during a data phase wedges "
        "the connection.",
        "Android MtpServer/MtpDatabase public source; mtp-rs hardware notes",
    ),
    Profile(
        "samsung",
        (Match(vid=0x04E8), Match(manufacturer="samsung", vendor_extension=_ANDROID)),
        {},
        Imitation(
            manufacturer="SAMSUNG",
            model="SAMSUNG_Android",
            vendor_extensions=_ANDROID_DEVICE.vendor_extensions,
            operations=ANDROID_OPERATIONS - {_O.GET_PARTIAL_OBJECT_64},
            move_copy_root=0,
            prop_list=PROP_LIST_ANDROID,
            whole_storage_folders_only=True,
            wedge_on_data_cancel=True,
        ),
        "as android, less GetPartialObject64 (downloads use 32-bit GetPartialObject).",
        "mtp-rs community notes",
    ),
    Profile(
        "google-pixel",
        (Match(vid=0x18D1), Match(manufacturer="google", vendor_extension=_ANDROID)),
        # a class Device Reset kills MtpServer until replug: go quiet, reopen with spaced tries
        {"recovery": (), "reopen_delays": (1.0, 2.0, 4.0)},
        None,
        "client only: no Device Reset; reopen after 1, 2 and 4 s.",
        "mtp-rs hardware notes",
    ),
    Profile(
        "umtprd",
        (Match(manufacturer="viveris"), Match(vid=0x1D6B, pid=0x0100)),
        {
            # GetObjectPropList ignores Depth (a folder's children come back as the folder's
            # own properties): list with GetObjectHandles + GetObjectInfo
            "disabled_operations": frozenset({_O.GET_OBJECT_PROP_LIST}),
            # its vendor extension says android.com, but it is not Android's MtpServer
            "cancel_in_flight_safe": True,
            "root_parent_move_copy": ALL,
        },
        Imitation(
            manufacturer="Viveris Technologies",
            model="The Imitation of umtprd 1.3",
            vendor_extensions=(("microsoft.com", "1.0"), ("android.com", "1.0")),
            withheld=frozenset({_O.SEND_OBJECT_PROP_LIST, _O.SET_OBJECT_PROP_LIST}),
            prop_list=PROP_LIST_DEPTH_IGNORED,
            all_storages_stall=True,
            device_info_needs_session=True,
        ),
        "umtprd 1.3.10 as in the USB lab: GetObjectPropList ignores Depth; GetObjectHandles "
        "for all storages (0xFFFFFFFF) never answers; GetDeviceInfo only inside a session.",
        "the USB lab (tests/usb)",
    ),
    Profile(
        "ptp-camera",
        (),  # nothing to work around: a camera gets the protocol as written
        {},
        Imitation(
            manufacturer="openwpd camera",
            model="PTP still camera",
            vendor_extensions=(),
            operations=PTP_CAMERA_OPERATIONS,
        ),
        "a plain PTP still camera: PTP 1.0 operations only (no MTP property operations, no "
        "GetObjectPropList, no Move/Copy, no edits, no 64-bit reads); folders are "
        "associations.",
        "PIMA 15740 (PTP 1.0)",
    ),
    Profile(
        "openwpd",
        (Match(manufacturer="^openwpd$"),),
        # BeginEditObject copies the file, EndEditObject renames the copy over it
        {"edits_on_copy": True},
        None,
        "client only: openwpd's own device, whose edits work on a copy.",
        "openwpd.server.handlers.edits",
    ),
)


def profile_named(name: str) -> Profile:
    """The profile called ``name``; KeyError names the known ones."""
    for profile in PROFILES:
        if profile.name == name:
            return profile
    raise KeyError(f"no profile {name!r} (known: {', '.join(p.name for p in PROFILES)})")


def imitated_profiles() -> tuple[str, ...]:
    """Names of the profiles the virtual device can imitate."""
    return tuple(p.name for p in PROFILES if p.device is not None)
