"""The udev rules ``wpd udev-rules`` prints: the golden text and what each rule matches.
(``udevadm verify`` would check the syntax too, but Debian 12's udev 252 has no such command.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openwpd.transport.udev import HIDDEN_CLASS_VENDORS, install_rules, installed_rules, udev_rules

GOLDEN = Path(__file__).parent / "golden" / "69-openwpd.rules"


def test_rules_match_the_golden_file() -> None:
    # a change to the rules is a change to what users install: it must be deliberate
    assert udev_rules() == GOLDEN.read_text()


def _rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_still_image_class_and_every_vendor_get_uaccess_and_mtp_tag() -> None:
    rules = _rules(udev_rules())
    granting = [r for r in rules if "uaccess" in r]
    assert any('ENV{ID_USB_INTERFACES}=="*:060101:*"' in r for r in granting)
    vendors = {
        int(m.group(1), 16) for r in granting if (m := re.search(r'idVendor}=="(\w{4})"', r))
    }
    assert vendors == set(HIDDEN_CLASS_VENDORS)
    for r in granting:
        assert 'ENV{ID_MTP_DEVICE}="1"' in r
        assert 'MODE="0660"' in r
        assert 'TAG+="uaccess"' in r
        assert "GROUP" not in r
        # a vendor rule must also ask for Android's vendor-specific MTP interface, so that the
        # vendor's keyboards and disks are not opened up
        if "idVendor" in r:
            assert 'ENV{ID_USB_INTERFACES}=="*:ffff00:*"' in r
    # rules apply to USB devices being added only, and every jump has its label
    assert rules[0].startswith('ACTION!="add|change|bind"')
    assert 'LABEL="openwpd_end"' in rules


def test_mode_and_group_options() -> None:
    text = udev_rules(mode="0666", group="plugdev")
    granting = [r for r in _rules(text) if "uaccess" in r]
    assert all('MODE="0666", GROUP="plugdev"' in r for r in granting)


@pytest.mark.parametrize(
    ("mode", "group"), [("660", None), ("0668", None), ("0660", 'a"b'), ("0660", "")]
)
def test_bad_mode_or_group_is_refused(mode: str, group: str | None) -> None:
    with pytest.raises(ValueError):
        udev_rules(mode=mode, group=group)


def test_install_writes_atomically_and_installed_rules_finds_it(tmp_path: Path) -> None:
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    (rules_d / "50-other.rules").write_text('SUBSYSTEM=="block", MODE="0600"\n')
    assert installed_rules((rules_d, tmp_path / "missing")) == []
    target = rules_d / "69-openwpd.rules"
    install_rules(udev_rules(), target)
    assert target.read_text() == udev_rules()
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in rules_d.iterdir()) == ["50-other.rules", "69-openwpd.rules"]
    assert installed_rules((rules_d, tmp_path / "missing")) == [target]


def test_install_into_a_missing_folder_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        install_rules(udev_rules(), tmp_path / "nowhere" / "69-openwpd.rules")
    assert list(tmp_path.iterdir()) == []
