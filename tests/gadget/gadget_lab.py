"""openwpd's device as the lab VM's USB gadget: start it (``wpd gadget up`` + ``wpd serve
--usb``), unplug and replug it, stop it. Importable as ``gadget_lab`` by conftest and tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
VID, PID, SERIAL = 0x1D6B, 0x0104, "0123456789"
DEVICE_URL = f"usb://{VID:04x}:{PID:04x}/{SERIAL}"
FFS = Path("/dev/ffs-openwpd")
GADGET = Path("/sys/kernel/config/usb_gadget/openwpd")


def wpd(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the ``wpd`` command of this checkout."""
    env = dict(os.environ, PYTHONPATH=str(CHECKOUT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "openwpd.cli", *args],
        check=check,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def present() -> bool:
    """The gadget is enumerated on the VM's host side."""
    for dev in Path("/sys/bus/usb/devices").glob("*"):
        with contextlib.suppress(OSError):
            if (dev / "idVendor").read_text().strip() == f"{VID:04x}" and (
                dev / "idProduct"
            ).read_text().strip() == f"{PID:04x}":
                return True
    return False


def wait_for(predicate: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_usbfs_nodes() -> None:
    """udev does not run in the VM: wait until devtmpfs has the usbfs node of every device."""

    def ready() -> bool:
        for dev in Path("/sys/bus/usb/devices").glob("*"):
            busnum, devnum = dev / "busnum", dev / "devnum"
            if busnum.exists() and devnum.exists():
                node = Path(
                    f"/dev/bus/usb/{int(busnum.read_text()):03d}/{int(devnum.read_text()):03d}"
                )
                if not node.exists():
                    return False
        return True

    with contextlib.suppress(TimeoutError):
        wait_for(ready, "usbfs nodes", 5)


class Device:
    """``wpd serve --usb STORE`` as a child process."""

    def __init__(self, store: Path, state: Path) -> None:
        self.store = store
        self.state = state
        self.proc: subprocess.Popen[str] | None = None
        # kept with the VM job's logs when there is a job folder
        job = Path("/mnt/job")
        self.log = (job if job.is_dir() else state.parent) / "device.log"

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(CHECKOUT / "src"))
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "openwpd.cli",
                    "serve",
                    "--usb",
                    f"{self.store}:Phone",
                    "--state-dir",
                    str(self.state),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("serving usb"):
            self.proc.wait(10)
            raise RuntimeError(f"wpd serve --usb: {line!r}; log: {self.log.read_text()[-2000:]}")
        wait_for(present, "the gadget to enumerate")
        wait_usbfs_nodes()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def unplug() -> None:
    """Unbind the gadget from its UDC: the host sees the cable pulled."""
    (GADGET / "UDC").write_text("\n")
    wait_for(lambda: not present(), "the gadget to disappear")


def replug() -> None:
    udc = sorted(p.name for p in Path("/sys/class/udc").iterdir())[0]
    (GADGET / "UDC").write_text(udc + "\n")
    wait_for(present, "the gadget to enumerate again")
    wait_usbfs_nodes()


def run(
    *cmd: str, timeout: float = 120, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A host program, its output kept for the assertion message."""
    result = subprocess.run(
        cmd, check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n"
            f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}"
        )
    return result
