"""Small uploads by the real gphoto2 CLI (libgphoto2 leaves Nagle's algorithm on) to the virtual
device, with the device's quick ACKs on (the default) and off, in the same run.

libgphoto2 writes a data phase's header and its payload separately; with Nagle on, the second
write waits until the first is acknowledged, and a receiver that delays its ACKs (Linux does,
~40 ms) stalls every data phase. The device acknowledges at once (TCP_QUICKACK, re-armed after
every read) to hide that.

Each mode: one gphoto2 process uploads ``OPENWPD_BENCH_UPLOADS`` (default 50) files of 1 KiB
(``--upload-file`` repeated), and another uploads one; the time per upload is the difference
divided by the extra uploads, so gphoto2's start-up and camera detection are left out.
Printed: ms per upload in both modes and their ratio. Needs gphoto2 on PATH (Linux).
Usage: ``.venv/bin/python bench/bench_quickack.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from openwpd.server.device import StorageSpec, VirtualDevice

UPLOADS = int(os.environ.get("OPENWPD_BENCH_UPLOADS", "50"))
STORE = "/store_00010001"


class Device:
    """A virtual device on its own event loop thread."""

    def __init__(self, served: Path, state: Path, *, quickack: bool) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.dev = VirtualDevice([StorageSpec(served, "Bench")], state_dir=state)
        _, self.port = self._call(self.dev.serve("127.0.0.1", 0, quickack=quickack))

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(60)

    def close(self) -> None:
        self._call(self.dev.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


def gphoto_uploads(port: int, files: list[Path], home: Path, folder: str) -> float:
    """Seconds for one gphoto2 process to upload ``files`` into ``folder``."""
    args = ["gphoto2", "--camera", "PTP/IP Camera", "--port", f"ptpip:127.0.0.1:{port}:{port}"]
    args += ["--folder", folder]
    for f in files:
        args += ["--upload-file", str(f)]
    env = dict(os.environ, HOME=str(home), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    start = time.perf_counter()
    subprocess.run(args, cwd=home, env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def per_upload(tmp: Path, files: list[Path], *, quickack: bool) -> float:
    tag = "on" if quickack else "off"
    served = tmp / f"served-{tag}"
    for sub in ("many", "one"):
        (served / sub).mkdir(parents=True)
    home = tmp / f"home-{tag}"
    home.mkdir()
    device = Device(served, tmp / f"state-{tag}", quickack=quickack)
    try:
        one = gphoto_uploads(device.port, files[:1], home, f"{STORE}/one")
        many = gphoto_uploads(device.port, files, home, f"{STORE}/many")
    finally:
        device.close()
    if len(list((served / "many").iterdir())) != len(files):
        raise SystemExit("not every file arrived")
    return (many - one) / (len(files) - 1)


def main() -> None:
    if shutil.which("gphoto2") is None:
        raise SystemExit("gphoto2 is not installed")
    with tempfile.TemporaryDirectory(prefix="openwpd-bench-quickack-") as name:
        tmp = Path(name)
        local = tmp / "local"
        local.mkdir()
        files = []
        for i in range(UPLOADS):
            path = local / f"small{i:03}.txt"
            path.write_bytes(os.urandom(1024))
            files.append(path)
        on = per_upload(tmp, files, quickack=True)
        off = per_upload(tmp, files, quickack=False)
    print(f"{UPLOADS} gphoto2 uploads of 1 KiB, per upload:")
    print(f"  quick ACKs on (default): {on * 1000:6.1f} ms")
    print(f"  quick ACKs off:          {off * 1000:6.1f} ms")
    print(f"  ratio off / on: {off / on:.1f}x")


if __name__ == "__main__":
    main()
