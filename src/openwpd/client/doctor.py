"""``wpd doctor``: every reason a device may not open, checked in one go.

Each check is one :class:`Check` (OK, WARN or FAIL, a line of detail and a hint for what to
do). FAIL means something a user needs is broken (libusb missing, a device that cannot be
opened, a configured PTP/IP device that does not answer); WARN means something may get in the
way (no udev rules, a file manager's MTP service running, no FUSE for ``wpd mount``). The checks
only look: the one thing they touch is each free MTP interface, claimed and released at once to
tell whether another process holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes.util
import enum
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openwpd.client.urls import parse_device_url
from openwpd.protocol.errors import OpenWpdError
from openwpd.transport.udev import installed_rules
from openwpd.transport.usb import UsbDeviceStatus, libusb_version, survey_usb_devices


class Status(enum.Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    hint: str = ""


#: Programs that open MTP/PTP devices on their own: (command name, what it is).
GRABBERS: tuple[tuple[str, str], ...] = (
    ("gvfs-mtp-volume-monitor", "GNOME's MTP volume monitor"),
    ("gvfs-gphoto2-volume-monitor", "GNOME's PTP volume monitor"),
    ("gvfsd-mtp", "GNOME's MTP backend (a mounted phone)"),
    ("gvfsd-gphoto2", "GNOME's PTP backend (a mounted camera)"),
    ("kiod5", "KDE's KIO daemon (kio-mtp)"),
    ("kiod6", "KDE's KIO daemon (kio-mtp)"),
    ("kiod", "KDE's KIO daemon (kio-mtp)"),
    ("wpd", "another wpd"),
)


def check_libusb() -> Check:
    try:
        version = libusb_version()
    except OpenWpdError as exc:
        return Check(
            "libusb", Status.FAIL, str(exc), "install libusb-1.0 and `pip install libusb1`"
        )
    return Check("libusb", Status.OK, f"libusb {version}")


def check_usb_visible(statuses: Sequence[UsbDeviceStatus], devfs: Path) -> Check:
    if not devfs.is_dir():
        return Check(
            "usb devices",
            Status.WARN,
            f"{devfs} does not exist: no USB devices are visible",
            "in a container, pass the host's /dev/bus/usb through",
        )
    if not statuses:
        return Check("usb devices", Status.WARN, "no USB devices (besides hubs)", "plug one in")
    return Check("usb devices", Status.OK, f"{len(statuses)} USB device(s) visible")


def check_candidates(statuses: Sequence[UsbDeviceStatus]) -> list[Check]:
    """One check saying how many MTP/PTP devices there are, then one per device."""
    candidates = [s for s in statuses if s.candidate]
    if not candidates:
        return [
            Check(
                "mtp/ptp devices",
                Status.WARN,
                "no MTP/PTP device found",
                "unlock the phone and choose 'File transfer' (MTP) in its USB notification",
            )
        ]
    out = [Check("mtp/ptp devices", Status.OK, f"{len(candidates)} MTP/PTP device(s)")]
    for s in candidates:
        label = s.info.name if s.info is not None else f"{s.vid:04x}:{s.pid:04x}"
        name = f"{s.url} ({label})"
        if s.problem is None:
            extra = ", a kernel driver is bound (wpd detaches it)" if s.kernel_driver else ""
            out.append(Check(name, Status.OK, f"can be opened{extra}"))
        elif s.holders:
            pids = " ".join(str(h.pid) for h in s.holders)
            out.append(
                Check(
                    name,
                    Status.FAIL,
                    "held by " + "; ".join(f"pid {h.pid} ({h.command})" for h in s.holders),
                    f"unmount it in the file manager or `kill {pids}`",
                )
            )
        elif "permission" in s.problem:
            out.append(
                Check(
                    name,
                    Status.FAIL,
                    s.problem,
                    "`sudo wpd udev-rules --install`, then unplug and replug the device",
                )
            )
        else:
            out.append(Check(name, Status.FAIL, s.problem))
    return out


def check_udev_rules(dirs: tuple[Path, ...] | None = None) -> Check:
    found = installed_rules(dirs) if dirs is not None else installed_rules()
    if found:
        return Check("udev rules", Status.OK, ", ".join(str(p) for p in found))
    return Check(
        "udev rules",
        Status.WARN,
        "no udev rule grants access to MTP devices",
        "`sudo wpd udev-rules --install` (without it only root can open a device)",
    )


def _process_name(entry: Path) -> tuple[str, str]:
    """(program name, command line) of one /proc entry; ("", "") when it cannot be read."""
    try:
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        return "", ""
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not args:
        return "", ""
    program = os.path.basename(args[0])
    # `python -m openwpd.cli` or a script: the program is the script after the interpreter
    if program.startswith("python") and len(args) > 1:
        if args[1] == "-m" and len(args) > 2 and args[2].startswith("openwpd"):
            program = "wpd"
        else:
            program = os.path.basename(args[1])
    return program, " ".join(args)


def check_grabbers(proc: Path = Path("/proc"), *, exclude: Sequence[int] = ()) -> Check:
    """Processes known to grab MTP/PTP devices (file managers' services, another wpd)."""
    skip = {os.getpid(), *exclude}
    seen: list[str] = []
    try:
        entries = list(proc.iterdir())
    except OSError:
        return Check("device grabbers", Status.WARN, f"cannot read {proc}")
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        program, _command = _process_name(entry)
        for name, what in GRABBERS:
            if program == name:
                seen.append(f"pid {entry.name} {name} ({what})")
                break
    if not seen:
        return Check("device grabbers", Status.OK, "no MTP/PTP services or other wpd running")
    return Check(
        "device grabbers",
        Status.WARN,
        "; ".join(seen),
        "they may take a phone the moment it is plugged in: unmount it in the file manager, "
        "or stop them (e.g. `systemctl --user stop gvfs-mtp-volume-monitor`)",
    )


def check_fuse(device: Path = Path("/dev/fuse")) -> Check:
    if not device.exists():
        return Check(
            "fuse", Status.WARN, f"{device} is missing: `wpd mount` cannot work", "modprobe fuse"
        )
    if not os.access(device, os.R_OK | os.W_OK):
        return Check("fuse", Status.WARN, f"no read/write access to {device}")
    if ctypes.util.find_library("fuse3") is None:
        return Check("fuse", Status.WARN, "libfuse3 not found", "install fuse3 for `wpd mount`")
    if shutil.which("fusermount3") is None:
        return Check("fuse", Status.WARN, "fusermount3 not found", "install fuse3")
    return Check("fuse", Status.OK, f"{device}, libfuse3 and fusermount3 present")


async def check_ptpip(urls: Sequence[str], timeout: float = 3.0) -> list[Check]:
    """One check per configured ``ptpip://`` device: does its port accept a TCP connection?"""

    async def one(url: str) -> Check:
        try:
            parsed = parse_device_url(url)
        except OpenWpdError as exc:
            return Check(url, Status.FAIL, str(exc))
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        except (OSError, TimeoutError) as exc:
            return Check(
                url,
                Status.FAIL,
                f"not reachable: {exc or 'timed out'}",
                "is the device on, on this network, and PTP/IP enabled?",
            )
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return Check(url, Status.OK, "TCP port reachable")

    return list(await asyncio.gather(*(one(u) for u in urls if u.lower().startswith("ptpip:"))))


def run_checks(
    ptpip_urls: Sequence[str] = (), *, devfs: Path = Path("/dev/bus/usb")
) -> list[Check]:
    """Every check, in the order the report shows them."""
    checks = [check_libusb()]
    statuses: list[UsbDeviceStatus] = []
    if checks[0].status is Status.OK:
        try:
            statuses = survey_usb_devices()
        except OpenWpdError as exc:
            checks.append(Check("usb devices", Status.FAIL, str(exc)))
    checks.append(check_usb_visible(statuses, devfs))
    checks += check_candidates(statuses)
    checks.append(check_udev_rules())
    checks.append(check_grabbers())
    checks.append(check_fuse())
    if ptpip_urls:
        checks += asyncio.run(check_ptpip(ptpip_urls))
    return checks


__all__ = [
    "Check",
    "Status",
    "check_candidates",
    "check_fuse",
    "check_grabbers",
    "check_libusb",
    "check_ptpip",
    "check_udev_rules",
    "check_usb_visible",
    "run_checks",
]
