"""Quirk profiles and the one policy object: which devices match which profile, how profiles
layer, and the answers the client and transport ask for."""

from __future__ import annotations

import pytest

from openwpd.client.policy import DEFAULT_WINDOW, Quirks
from openwpd.client.quirks import (
    DEFAULTS,
    PROFILES,
    DeviceIdentity,
    Match,
    QuirkPolicy,
    QuirkProfile,
    Settings,
)
from openwpd.protocol.codes import ALL, OperationCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.errors import LocalProtocolError

# what umtprd 1.3.10 says in the USB lab: USB strings, then DeviceInfo
UMTPRD_USB = dict(
    vid=0x1D6B, pid=0x0100, manufacturer="Viveris Technologies", product="The Viveris Product !"
)
UMTPRD_INFO = DeviceInfo(
    manufacturer="Viveris Technologies",
    model="Viveris Technologies",
    vendor_extension_desc="microsoft.com: 1.0; android.com: 1.0;",
)
PIXEL_INFO = DeviceInfo(
    manufacturer="Google",
    model="Pixel 7",
    vendor_extension_desc="microsoft.com: 1.0; android.com: 1.0;",
)


def test_unknown_device_gets_the_protocol_as_written() -> None:
    policy = QuirkPolicy.for_usb(0x1234, 0x5678, "Acme", "Camera")
    assert policy.profiles == ()
    assert policy.settings == DEFAULTS
    assert policy.storage_id_for_listing(None) == ALL
    assert policy.storage_id_for_listing(0x10001) == 0x10001
    assert not policy.device_info_needs_session
    assert policy.whole_storage_listing_complete
    assert policy.cancel_in_flight_safe
    assert policy.recovery == ("device-reset", "usb-reset")
    assert policy.parent_param(OperationCode.GET_OBJECT_HANDLES, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 42) == 42
    assert policy.client_quirks() == Quirks(frozenset(), DEFAULT_WINDOW)
    assert "Acme Camera" in repr(policy)


def test_umtprd_before_and_after_device_info() -> None:
    before = QuirkPolicy.for_usb(**UMTPRD_USB)  # type: ignore[arg-type]
    assert before.profiles == ("umtprd-1.3",)
    assert before.device_info_needs_session  # known before GetDeviceInfo can be asked
    with pytest.raises(LocalProtocolError, match="each storage"):
        before.storage_id_for_listing(None)
    with pytest.raises(LocalProtocolError):
        before.storage_id_for_listing(ALL)
    assert before.storage_id_for_listing(0x10001) == 0x10001
    after = before.with_device_info(UMTPRD_INFO)
    # android.com in its vendor extension matches the Android profile too, but the umtprd
    # profile comes later and puts back what does not apply to it
    assert after.profiles == ("android", "umtprd-1.3")
    assert after.cancel_in_flight_safe
    assert after.whole_storage_listing_complete
    assert not after.skip_unreadable_objects
    assert after.session_survives_device_reset
    assert after.parent_param(OperationCode.COPY_OBJECT, 0) == 0  # from the Android profile
    assert OperationCode.GET_OBJECT_PROP_LIST in after.client_quirks().disabled_operations
    with pytest.raises(LocalProtocolError):
        after.storage_id_for_listing(None)


def test_umtprd_matched_by_manufacturer_on_another_gadget_id() -> None:
    policy = QuirkPolicy.for_usb(0x0525, 0xA4A2, "VIVERIS technologies", "x")
    assert "umtprd-1.3" in policy.profiles


def test_android_field_notes() -> None:
    identity = DeviceIdentity(0x0BB4, 0x0C02).with_device_info(
        DeviceInfo(manufacturer="HTC", model="One", vendor_extension_desc="android.com: 1.0;")
    )
    policy = QuirkPolicy.for_identity(identity)
    assert policy.profiles == ("android",)
    assert not policy.whole_storage_listing_complete
    assert policy.skip_unreadable_objects
    assert not policy.cancel_in_flight_safe
    assert policy.parent_param(OperationCode.SEND_OBJECT_INFO, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 0) == 0
    assert policy.storage_id_for_listing(None) == ALL


def test_pixel_goes_quiet_instead_of_resetting() -> None:
    policy = QuirkPolicy.for_usb(0x18D1, 0x4EE1, "Google", "Pixel 7").with_device_info(PIXEL_INFO)
    assert policy.profiles == ("android", "google-pixel")
    assert policy.recovery == ()
    assert policy.reopen_delays == (1.0, 2.0, 4.0)


def test_samsung() -> None:
    policy = QuirkPolicy.for_usb(0x04E8, 0x6860, "SAMSUNG", "SAMSUNG_Android")
    assert "samsung" in policy.profiles
    assert policy.parent_param(OperationCode.GET_OBJECT_HANDLES, 0) == ALL


def test_match_criteria_all_must_hold() -> None:
    m = Match(vid=1, pid=2, manufacturer="^ac", model="cam", vendor_extension="foo")
    ok = DeviceIdentity(1, 2, "Acme", "Big Camera", "x foo y")
    assert m.matches(ok)
    for wrong in (
        DeviceIdentity(9, 2, "Acme", "Big Camera", "foo"),
        DeviceIdentity(1, 9, "Acme", "Big Camera", "foo"),
        DeviceIdentity(1, 2, "The Acme", "Big Camera", "foo"),
        DeviceIdentity(1, 2, "Acme", "Phone", "foo"),
        DeviceIdentity(1, 2, "Acme", "Big Camera", ""),
    ):
        assert not m.matches(wrong)
    assert Match().matches(DeviceIdentity())


def test_custom_table_layers_in_order_and_disables_operations() -> None:
    table = (
        QuirkProfile(
            "a", (Match(manufacturer="acme"),), Settings(window=1024, recovery=("usb-reset",))
        ),
        QuirkProfile(
            "b",
            (Match(model="slow"),),
            Settings(
                window=2048, disabled_operations=frozenset({OperationCode.GET_OBJECT_PROP_LIST})
            ),
        ),
    )
    policy = QuirkPolicy.for_identity(DeviceIdentity(manufacturer="Acme", model="Slow one"), table)
    assert policy.profiles == ("a", "b")
    assert policy.recovery == ("usb-reset",)
    assert policy.client_quirks() == Quirks(frozenset({OperationCode.GET_OBJECT_PROP_LIST}), 2048)
    # re-matching keeps the custom table
    refined = policy.with_device_info(DeviceInfo(manufacturer="", model="fast"))
    assert refined.profiles == ("a",)
    assert refined.identity.model == "fast" and refined.identity.manufacturer == "Acme"


def test_every_profile_names_its_source_and_sets_something() -> None:
    for profile in PROFILES:
        assert profile.source
        assert profile.matches
        assert profile.settings != Settings()
