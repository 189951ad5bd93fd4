"""Device profiles and the one policy object: which devices match which profile, how profiles
layer, and the answers the client and transport ask for. (That each setting is needed by a
device that behaves that way: tests/client/test_profiles.py, against the virtual device.)"""

from __future__ import annotations

import pytest

from openwpd.client.policy import DEFAULT_WINDOW, DevicePolicy
from openwpd.client.quirks import (
    PROFILES,
    DeviceIdentity,
    Match,
    Profile,
    policy_for,
    policy_for_usb,
)
from openwpd.protocol.codes import ALL, OperationCode
from openwpd.protocol.datasets import DeviceInfo
from openwpd.protocol.profiles import profile_named

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
    policy = policy_for_usb(0x1234, 0x5678, "Acme", "Camera")
    assert policy.profiles == ()
    assert policy == DevicePolicy()
    assert policy.cancel_in_flight_safe
    assert policy.recovery == ("device-reset", "usb-reset")
    assert policy.parent_param(OperationCode.SEND_OBJECT_INFO, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 42) == 42
    assert policy.window == DEFAULT_WINDOW and not policy.disabled_operations


def test_umtprd_before_and_after_device_info() -> None:
    before = policy_for_usb(**UMTPRD_USB)  # type: ignore[arg-type]
    assert before.profiles == ("umtprd",)
    after = policy_for(DeviceIdentity(0x1D6B, 0x0100).with_device_info(UMTPRD_INFO))
    # android.com in its vendor extension matches the Android profile too, but the umtprd
    # profile comes later and puts back what does not apply to it
    assert after.profiles == ("android", "umtprd")
    assert after.cancel_in_flight_safe
    assert after.parent_param(OperationCode.COPY_OBJECT, 0) == ALL
    assert OperationCode.GET_OBJECT_PROP_LIST in after.disabled_operations


def test_umtprd_matched_by_manufacturer_on_another_gadget_id() -> None:
    assert "umtprd" in policy_for_usb(0x0525, 0xA4A2, "VIVERIS technologies", "x").profiles


def test_android_field_notes() -> None:
    identity = DeviceIdentity(0x0BB4, 0x0C02).with_device_info(
        DeviceInfo(manufacturer="HTC", model="One", vendor_extension_desc="android.com: 1.0;")
    )
    policy = policy_for(identity)
    assert policy.profiles == ("android",)
    assert not policy.cancel_in_flight_safe
    assert policy.parent_param(OperationCode.SEND_OBJECT_INFO, 0) == ALL
    assert policy.parent_param(OperationCode.MOVE_OBJECT, 0) == 0


def test_pixel_goes_quiet_instead_of_resetting() -> None:
    identity = DeviceIdentity(0x18D1, 0x4EE1).with_device_info(PIXEL_INFO)
    policy = policy_for(identity)
    assert policy.profiles == ("android", "google-pixel")
    assert policy.recovery == ()
    assert policy.reopen_delays == (1.0, 2.0, 4.0)


def test_samsung() -> None:
    assert "samsung" in policy_for_usb(0x04E8, 0x6860, "SAMSUNG", "SAMSUNG_Android").profiles


def test_match_criteria_all_must_hold() -> None:
    m = Match(vid=1, pid=2, manufacturer="^ac", model="cam", vendor_extension="foo")
    assert m.matches(1, 2, "Acme", "Big Camera", "x foo y")
    for wrong in (
        (9, 2, "Acme", "Big Camera", "foo"),
        (1, 9, "Acme", "Big Camera", "foo"),
        (1, 2, "The Acme", "Big Camera", "foo"),
        (1, 2, "Acme", "Phone", "foo"),
        (1, 2, "Acme", "Big Camera", ""),
    ):
        assert not m.matches(*wrong)
    assert Match().matches(None, None, "", "", "")


def test_custom_table_layers_in_order_and_disables_operations() -> None:
    table = (
        Profile("a", (Match(manufacturer="acme"),), {"window": 1024, "recovery": ("usb-reset",)}),
        Profile(
            "b",
            (Match(model="slow"),),
            {
                "window": 2048,
                "disabled_operations": frozenset({OperationCode.GET_OBJECT_PROP_LIST}),
            },
        ),
    )
    policy = policy_for(DeviceIdentity(manufacturer="Acme", model="Slow one"), table)
    assert policy.profiles == ("a", "b")
    assert policy.recovery == ("usb-reset",)
    assert policy.window == 2048
    assert not policy.for_device(
        DeviceInfo(operations_supported=(OperationCode.GET_OBJECT_PROP_LIST,))
    ).prop_list
    assert policy_for(DeviceIdentity(manufacturer="Acme", model="fast"), table).profiles == ("a",)


def test_a_setting_that_names_no_policy_field_is_refused() -> None:
    table = (Profile("typo", (Match(),), {"windw": 1}),)
    with pytest.raises(ValueError, match="windw"):
        policy_for(DeviceIdentity(), table)


def test_every_profile_names_its_source_and_says_what_it_changes() -> None:
    for profile in PROFILES:
        assert profile.source and profile.summary
        assert profile.settings or profile.device is not None
        policy_for(DeviceIdentity(), (Profile("x", (Match(),), profile.settings),))
    with pytest.raises(KeyError, match="android"):
        profile_named("nokia")
