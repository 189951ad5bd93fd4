"""The lab VM's responder (umtprd) as the USB tests see it: is it alive, restart it.
(Importable as ``usb_lab`` by conftest and tests alike; no openwpd import.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RESPONDER = Path(__file__).resolve().parents[2] / "tools" / "usbvm" / "guest" / "responder.sh"


def responder(action: str) -> None:
    """Drive the responder: "restart" gives a fresh umtprd (its handle database empty)."""
    subprocess.run(["sh", str(RESPONDER), action], check=True, timeout=60)


def umtprd_alive() -> bool:
    """True while umtprd runs and answers its status check."""
    try:
        pid = int(Path("/run/umtprd.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return subprocess.run(["sh", str(RESPONDER), "status"], check=False).returncode == 0
