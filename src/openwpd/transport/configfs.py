"""The Linux USB gadget around our FunctionFS function, through configfs.

Theory of operation
-------------------
A gadget is a folder under ``/sys/kernel/config/usb_gadget``: device IDs and strings, one
configuration, and functions linked into it. Ours has one function, a FunctionFS instance
(``functions/ffs.NAME``) mounted at a folder where the device
(:class:`~openwpd.transport.functionfs.FunctionFsGadget`) writes its descriptors. Microsoft OS
descriptors are switched on (``os_desc``: the kernel then answers string 0xEE and the vendor
request with our extended compat ID "MTP").

The gadget reaches a host when it is bound to a USB Device Controller (UDC, ``/sys/class/udc``)
by writing the UDC's name into ``UDC``, which the kernel refuses until every FunctionFS function
has its descriptors: :func:`bind` is called once the device wrote them (``wpd serve --usb``
does, and ``wpd gadget up`` when the device is already running).

Every step needs root, configfs and the gadget modules (``libcomposite``, ``usb_f_fs``), and a
UDC to bind to: :func:`missing` says in one line what is not there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from openwpd.protocol.errors import ConnectError

CONFIGFS = Path("/sys/kernel/config")
GADGETS = CONFIGFS / "usb_gadget"
UDC_CLASS = Path("/sys/class/udc")

#: defaults of ``wpd gadget up`` (the Linux Foundation's vendor ID with a product ID for
#: testing, as the kernel's own gadget examples use)
DEFAULT_NAME = "openwpd"
DEFAULT_VID = 0x1D6B
DEFAULT_PID = 0x0104
DEFAULT_MANUFACTURER = "openwpd"
DEFAULT_PRODUCT = "openwpd virtual MTP device"
DEFAULT_SERIAL = "0123456789"
#: where the FunctionFS instance is mounted (``wpd serve --usb`` looks there by default)
DEFAULT_FFS_DIR = Path("/dev/ffs-openwpd")
#: the vendor request code the host uses to fetch our Microsoft OS feature descriptors
MS_VENDOR_CODE = 0xCD

__all__ = [
    "DEFAULT_FFS_DIR",
    "DEFAULT_NAME",
    "GadgetConfig",
    "bind",
    "bound_udc",
    "gadget_down",
    "gadget_up",
    "missing",
    "udcs",
    "unbind",
]


@dataclass(frozen=True, slots=True)
class GadgetConfig:
    """What ``wpd gadget up`` creates."""

    name: str = DEFAULT_NAME
    vid: int = DEFAULT_VID
    pid: int = DEFAULT_PID
    manufacturer: str = DEFAULT_MANUFACTURER
    product: str = DEFAULT_PRODUCT
    serial: str = DEFAULT_SERIAL
    ffs_dir: Path = DEFAULT_FFS_DIR

    @property
    def path(self) -> Path:
        return GADGETS / self.name


def udcs() -> list[str]:
    """The USB Device Controllers of this machine."""
    try:
        return sorted(p.name for p in UDC_CLASS.iterdir())
    except OSError:
        return []


def _modprobe(*modules: str) -> None:
    for module in modules:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["modprobe", module], check=False, capture_output=True, timeout=30)


def missing() -> str | None:
    """What this machine lacks to run a gadget, in one line (None: nothing). Loads the gadget
    modules first when it may."""
    if os.geteuid() != 0:
        return "creating a USB gadget needs root (configfs and mount)"
    _modprobe("libcomposite", "usb_f_fs")
    if not CONFIGFS.is_dir():
        return f"no configfs at {CONFIGFS} (a kernel without CONFIG_CONFIGFS_FS?)"
    if not GADGETS.is_dir():
        if not os.path.ismount(CONFIGFS):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(["mount", "-t", "configfs", "none", str(CONFIGFS)], check=False)
        if not GADGETS.is_dir():
            return "no USB gadget support in configfs (load the libcomposite module)"
    if not udcs():
        return "no USB Device Controller in /sys/class/udc (this machine cannot be a USB device)"
    return None


def _write(path: Path, value: str) -> None:
    path.write_text(value + "\n")


def gadget_up(config: GadgetConfig) -> None:
    """Create the gadget and mount its FunctionFS instance at ``config.ffs_dir`` (idempotent:
    an existing gadget of that name is kept). Raises ConnectError with what is missing."""
    problem = missing()
    if problem is not None:
        raise ConnectError(problem)
    g = config.path
    function = g / "functions" / f"ffs.{config.name}"
    try:
        if not g.is_dir():
            g.mkdir()
            _write(g / "idVendor", f"0x{config.vid:04X}")
            _write(g / "idProduct", f"0x{config.pid:04X}")
            _write(g / "bcdUSB", "0x0200")
            _write(g / "bcdDevice", "0x0100")
            strings = g / "strings" / "0x409"
            strings.mkdir(parents=True, exist_ok=True)
            _write(strings / "manufacturer", config.manufacturer)
            _write(strings / "product", config.product)
            _write(strings / "serialnumber", config.serial)
            conf = g / "configs" / "c.1"
            (conf / "strings" / "0x409").mkdir(parents=True, exist_ok=True)
            _write(conf / "strings" / "0x409" / "configuration", "MTP")
            _write(conf / "MaxPower", "500")
            function.mkdir(parents=True, exist_ok=True)
            (conf / function.name).symlink_to(function)
            os_desc = g / "os_desc"
            if os_desc.is_dir():
                _write(os_desc / "use", "1")
                _write(os_desc / "b_vendor_code", f"0x{MS_VENDOR_CODE:02X}")
                _write(os_desc / "qw_sign", "MSFT100")
                with contextlib.suppress(FileExistsError):
                    (os_desc / "c.1").symlink_to(conf)
        config.ffs_dir.mkdir(parents=True, exist_ok=True)
        if not os.path.ismount(config.ffs_dir):
            subprocess.run(
                ["mount", "-t", "functionfs", config.name, str(config.ffs_dir)],
                check=True,
                capture_output=True,
                text=True,
            )
    except subprocess.CalledProcessError as exc:
        raise ConnectError(
            f"cannot mount FunctionFS at {config.ffs_dir}: {exc.stderr.strip()}"
        ) from None
    except OSError as exc:
        raise ConnectError(f"cannot create the gadget {g}: {exc.strerror or exc}") from None


def bound_udc(name: str = DEFAULT_NAME) -> str | None:
    """The UDC the gadget is bound to, or None."""
    try:
        return (GADGETS / name / "UDC").read_text().strip() or None
    except OSError:
        return None


def bind(name: str = DEFAULT_NAME, udc: str | None = None, timeout: float = 10.0) -> str:
    """Bind the gadget to ``udc`` (default: the first free one); returns its name. Waits up to
    ``timeout`` for the device to have written its descriptors. Raises ConnectError."""
    current = bound_udc(name)
    if current is not None:
        return current
    choices = [udc] if udc else udcs()
    if not choices:
        raise ConnectError("no USB Device Controller in /sys/class/udc")
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while True:
        for candidate in choices:
            try:
                _write(GADGETS / name / "UDC", candidate)
                return candidate
            except OSError as exc:
                last = exc
        if time.monotonic() > deadline:
            why = last.strerror if last is not None else "unknown error"
            raise ConnectError(
                f"cannot bind the gadget {name} to {', '.join(choices)}: {why} (is a device "
                "serving its FunctionFS, and the UDC free?)"
            )
        time.sleep(0.1)


def unbind(name: str = DEFAULT_NAME) -> None:
    """Unbind the gadget from its UDC (the host sees the device unplugged). Never raises."""
    with contextlib.suppress(OSError):
        if bound_udc(name) is not None:
            _write(GADGETS / name / "UDC", "")


def gadget_down(config: GadgetConfig) -> None:
    """Unbind, unmount and remove the gadget (what exists of it). Raises ConnectError when
    the FunctionFS instance is still in use (a device serving it)."""
    g = config.path
    unbind(config.name)
    if os.path.ismount(config.ffs_dir):
        result = subprocess.run(
            ["umount", str(config.ffs_dir)], check=False, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ConnectError(
                f"cannot unmount {config.ffs_dir}: {result.stderr.strip()} (stop the device first)"
            )
    with contextlib.suppress(OSError):
        config.ffs_dir.rmdir()
    if not g.is_dir():
        return
    try:
        conf = g / "configs" / "c.1"
        for link in (g / "os_desc" / "c.1", conf / f"ffs.{config.name}"):
            if link.is_symlink():
                link.unlink()
        for folder in (
            conf / "strings" / "0x409",
            conf,
            g / "functions" / f"ffs.{config.name}",
            g / "strings" / "0x409",
        ):
            if folder.is_dir():
                folder.rmdir()
        g.rmdir()
    except OSError as exc:
        raise ConnectError(f"cannot remove the gadget {g}: {exc.strerror or exc}") from None
