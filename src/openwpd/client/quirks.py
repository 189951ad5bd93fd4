"""Device quirks: the profiles (``openwpd.protocol.profiles``) matched on what a device says
about itself, resolved into the one :class:`~openwpd.client.policy.DevicePolicy`.

Matching happens twice: with what the USB descriptors say before the session opens
(:func:`policy_for_usb`: enough for the recovery steps), then again with DeviceInfo
(:meth:`DeviceIdentity.with_device_info`), which adds the manufacturer/model/vendor-extension
strings of the MTP layer. Every matching profile applies, in table order; a setting a later
profile gives overrides the ones before it, so specific profiles (a vendor) come after general
ones (Android). No other module tests for a device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from openwpd.client.policy import DevicePolicy
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.profiles import PROFILES, Match, Profile

__all__ = ["PROFILES", "DeviceIdentity", "Match", "Profile", "policy_for", "policy_for_usb"]

_FIELDS = frozenset(f.name for f in fields(DevicePolicy)) - {"operations", "profiles"}


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

    def matching(self, profiles: Sequence[Profile] = PROFILES) -> tuple[Profile, ...]:
        """The profiles that apply to this identity, in table order."""
        return tuple(
            p
            for p in profiles
            if p.applies_to(
                self.vid, self.pid, self.manufacturer, self.model, self.vendor_extension
            )
        )


def policy_for(
    identity: DeviceIdentity,
    profiles: Sequence[Profile] = PROFILES,
    base: DevicePolicy | None = None,
) -> DevicePolicy:
    """The policy for ``identity``: ``base`` (default: the protocol as written) with the
    settings of every matching profile applied in order. A profile setting that names no
    DevicePolicy field is a ValueError (a typo in the table must not pass silently)."""
    policy = base or DevicePolicy()
    names: list[str] = []
    for profile in identity.matching(profiles):
        unknown = set(profile.settings) - _FIELDS
        if unknown:
            raise ValueError(f"profile {profile.name!r}: unknown settings {sorted(unknown)}")
        changes: dict[str, Any] = dict(profile.settings)
        policy = replace(policy, **changes)
        names.append(profile.name)
    return replace(policy, profiles=tuple(names))


def policy_for_usb(
    vid: int,
    pid: int,
    manufacturer: str | None = None,
    product: str | None = None,
    profiles: Sequence[Profile] = PROFILES,
) -> DevicePolicy:
    """The policy from USB descriptors alone (before DeviceInfo can be read)."""
    return policy_for(DeviceIdentity(vid, pid, manufacturer or "", product or ""), profiles)
