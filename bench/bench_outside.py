"""How fast the virtual device takes in files another program adds to a folder it serves.

A folder is listed by an :class:`~openwpd.server.store.ObjectStore` that watches it; then a
separate process (another program, as a user's file manager or camera import would be) creates
``OPENWPD_BENCH_FILES`` (default 10,000) small files in it. Measured: the time from the first
file created to the moment the store has reported every one of them (one ObjectAdded each) and
lists them all. Baseline, same run: a fresh listing of the same folder -- a new store on a new
state directory reading the folder cold, which also gives every file a handle and a PUID.

Printed: the intake time from the first file made and from the last (the other program's own
pace is not the device's), the fresh listing, and the ratio of intake after the last file to
the fresh listing (at most 1 is the target).
Usage: ``.venv/bin/python bench/bench_outside.py``. ``OPENWPD_BENCH_DIR`` places the temporary
folders (default /dev/shm when writable, else the system temp dir).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from openwpd.server.store import ROOT, ObjectStore, StoreEvent, StoreEventKind

FILES = int(os.environ.get("OPENWPD_BENCH_FILES", "10000"))
BASE = os.environ.get("OPENWPD_BENCH_DIR") or (
    "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
)

_MAKER = """
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    with open(os.path.join(folder, f"IMG_{i:05d}.jpg"), "wb") as f:
        f.write(b"x" * 100)
"""


def intake(tmp: Path) -> tuple[float, float]:
    """Seconds until the store has taken in FILES files made by another process: from the
    first file made, and from the last."""
    served = tmp / "intake"
    served.mkdir()
    done = threading.Event()
    added = 0

    def on_event(event: StoreEvent) -> None:
        nonlocal added
        if event.kind is StoreEventKind.OBJECT_ADDED:
            added += 1
            if added >= FILES:
                done.set()

    with ObjectStore(state_dir=tmp / "state-intake") as store:
        storage = store.add_storage(served)
        store.start_watching()
        assert store.children(storage.id, ROOT) == []
        store.subscribe(on_event)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", _MAKER, str(served), str(FILES)], check=True)
        made = time.perf_counter()
        if not done.wait(600):
            raise SystemExit(f"only {added} of {FILES} files were reported")
        end = time.perf_counter()
        listed = len(store.children(storage.id, ROOT))
        if listed != FILES:
            raise SystemExit(f"{listed} listed, {FILES} expected")
    return end - start, end - made


def fresh_listing(tmp: Path) -> float:
    """Seconds for a cold listing of the same folder by a new store."""
    with ObjectStore(state_dir=tmp / "state-fresh") as store:
        storage = store.add_storage(tmp / "intake")
        start = time.perf_counter()
        listed = len(store.children(storage.id, ROOT))
        elapsed = time.perf_counter() - start
    if listed != FILES:
        raise SystemExit(f"{listed} listed, {FILES} expected")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="openwpd-bench-outside-", dir=BASE) as tmp_name:
        tmp = Path(tmp_name)
        took_in, after_last = intake(tmp)
        listed = fresh_listing(tmp)
    print(f"{FILES} files added by another program: all reported {took_in:.2f} s after the")
    print(f"  first was made, {after_last:.2f} s after the last")
    print(f"a fresh listing of the same folder: {listed:.2f} s")
    print(
        f"ratio intake (after the last file) / fresh listing: {after_last / listed:.2f}"
        " (target: at most 1)"
    )


if __name__ == "__main__":
    main()
