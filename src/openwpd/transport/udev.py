"""udev rules that let a logged-in user open MTP/PTP devices without root (``wpd udev-rules``).

Two kinds of rule, as libmtp's ``mtp-hotplug`` writes them:

- by interface class: any USB device with a Still Image interface (class 6, subclass 1,
  protocol 1) is a PTP camera or an MTP device, whoever made it;
- by vendor: Android phones (and some players) present MTP as a vendor-specific interface
  (class 0xFF) that is only recognisable by its string, which udev does not read. For the known
  phone vendors, a device with a vendor-specific interface (``ff`` class, ``ff`` subclass,
  protocol ``00``, as Android's MTP function has) is tagged too. Matching the interface as well
  as the vendor keeps a vendor's keyboards and disks out of the rule.

Each matched device gets ``ENV{ID_MTP_DEVICE}="1"`` (what desktop services look for),
``TAG+="uaccess"`` (systemd-logind grants the user at the seat read/write access) and a
``MODE``; a ``GROUP`` is added only when asked for (groups differ between distributions).
Pure text: nothing here reads or writes files except :func:`install_rules`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Where ``wpd udev-rules --install`` writes (before 73-seat-late.rules, which applies uaccess).
RULES_PATH = Path("/etc/udev/rules.d/69-openwpd.rules")

#: Vendors whose phones/players present MTP on a vendor-specific interface (USB vendor IDs).
HIDDEN_CLASS_VENDORS: dict[int, str] = {
    0x0408: "Quanta",
    0x045E: "Microsoft",
    0x0489: "Foxconn",
    0x04E8: "Samsung",
    0x05C6: "Qualcomm",
    0x0B05: "ASUS",
    0x0BB4: "HTC",
    0x0FCE: "Sony",
    0x1004: "LG",
    0x12D1: "Huawei",
    0x1949: "Amazon",
    0x17EF: "Lenovo",
    0x18D1: "Google",
    0x19D2: "ZTE",
    0x1BBB: "T & A Mobile Phones (Alcatel)",
    0x2207: "Rockchip",
    0x22B8: "Motorola",
    0x22D9: "OPPO / realme",
    0x2717: "Xiaomi",
    0x2A45: "Meizu",
    0x2A70: "OnePlus",
    0x2AE5: "Fairphone",
    0x2D95: "vivo",
    0x2E04: "HMD Global (Nokia)",
    0x091E: "Garmin",
}

_HEADER = """\
# udev rules for MTP and PTP devices (phones, cameras, players), written by `wpd udev-rules`.
# They let the user logged in at the seat open the device without root (TAG+="uaccess").
# Install: wpd udev-rules --install (or copy to {path}),
# then: udevadm control --reload && udevadm trigger --subsystem-match=usb
"""


def udev_rules(*, mode: str = "0660", group: str | None = None) -> str:
    """The rules text. ``mode`` is the node's permission bits (octal, e.g. ``0660``);
    ``group`` adds ``GROUP="…"`` (e.g. ``plugdev``) for machines without logind's uaccess.
    Raises ValueError for a mode that is not four octal digits or a group with odd characters.
    """
    if len(mode) != 4 or any(c not in "01234567" for c in mode):
        raise ValueError(f"mode must be four octal digits, e.g. 0660, not {mode!r}")
    if group is not None and (not group or not all(c.isalnum() or c in "-_." for c in group)):
        raise ValueError(f"bad group name {group!r}")
    grant = f'ENV{{ID_MTP_DEVICE}}="1", ENV{{ID_MEDIA_PLAYER}}="1", MODE="{mode}"'
    if group:
        grant += f', GROUP="{group}"'
    grant += ', TAG+="uaccess"'
    lines = [
        _HEADER.format(path=RULES_PATH),
        'ACTION!="add|change|bind", GOTO="openwpd_end"',
        'SUBSYSTEM!="usb", GOTO="openwpd_end"',
        'ENV{DEVTYPE}!="usb_device", GOTO="openwpd_end"',
        "",
        "# any Still Image interface (class 6, subclass 1, protocol 1): PTP cameras, MTP devices",
        f'ENV{{ID_USB_INTERFACES}}=="*:060101:*", {grant}, GOTO="openwpd_end"',
        "",
        "# phones of these vendors hide MTP behind a vendor-specific interface (ff/ff/00)",
    ]
    for vid, name in sorted(HIDDEN_CLASS_VENDORS.items()):
        lines.append(f"# {name}")
        lines.append(
            f'ATTR{{idVendor}}=="{vid:04x}", ENV{{ID_USB_INTERFACES}}=="*:ffff00:*", '
            f'{grant}, GOTO="openwpd_end"'
        )
    lines += ["", 'LABEL="openwpd_end"', ""]
    return "\n".join(lines)


def installed_rules(
    dirs: tuple[Path, ...] = (
        Path("/etc/udev/rules.d"),
        Path("/run/udev/rules.d"),
        Path("/usr/lib/udev/rules.d"),
        Path("/lib/udev/rules.d"),
    ),
) -> list[Path]:
    """Rules files that grant access to MTP devices (they set ``ID_MTP_DEVICE``: ours,
    libmtp's ``69-libmtp.rules``, a distribution's). Unreadable files and missing folders are
    skipped."""
    found = []
    for folder in dirs:
        try:
            files = sorted(folder.glob("*.rules"))
        except OSError:
            continue
        for f in files:
            try:
                text = f.read_text(errors="replace")
            except OSError:
                continue
            if "ID_MTP_DEVICE" in text:
                found.append(f)
    return found


def install_rules(text: str, path: Path = RULES_PATH) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a
    rename), mode 0644. Raises OSError (PermissionError without root)."""
    fd, tmp = tempfile.mkstemp(prefix=".openwpd-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["HIDDEN_CLASS_VENDORS", "RULES_PATH", "install_rules", "installed_rules", "udev_rules"]
