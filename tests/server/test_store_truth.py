"""The store tells the truth about changes other programs make, and quickly: real folders,
the real watcher (watchdog), no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openwpd.server.store import ROOT, ObjectStore, StoreEvent, StoreEventKind

ADDED, REMOVED, CHANGED = (
    StoreEventKind.OBJECT_ADDED,
    StoreEventKind.OBJECT_REMOVED,
    StoreEventKind.OBJECT_INFO_CHANGED,
)


class Recorder:
    """Collects events from any thread; waits with a bounded poll."""

    def __init__(self) -> None:
        self.events: list[StoreEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: StoreEvent) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[StoreEvent]:
        with self._lock:
            return list(self.events)

    def wait_for(self, pred: Callable[[StoreEvent], bool], timeout: float = 10.0) -> StoreEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.snapshot():
                if pred(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no matching event within {timeout}s: {self.snapshot()}")


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ObjectStore]:
    s = ObjectStore(state_dir=tmp_path / "state", debounce=0.05)
    yield s
    s.close()


def test_a_name_deleted_by_another_program_is_free_at_once(tmp_path: Path, served: Path) -> None:
    (served / "photo.jpg").write_bytes(b"old")
    (served / "other.jpg").write_bytes(b"old")
    # a watcher that waits long before it reports: the name must be free before it does
    with ObjectStore(state_dir=tmp_path / "state", debounce=30) as st:
        s = st.add_storage(served)
        st.start_watching()
        rec = Recorder()
        st.subscribe(rec)
        old = {o.name: o.handle for o in st.children(s.id)}
        (served / "photo.jpg").unlink()
        pending = st.begin_create(s.id, ROOT, "photo.jpg", 3)
        pending.write(b"new")
        new = pending.commit()
        assert new.handle != old["photo.jpg"]
        assert (served / "photo.jpg").read_bytes() == b"new"
        kinds = [(e.kind, e.target) for e in rec.snapshot()]
        assert kinds.index((REMOVED, old["photo.jpg"])) < kinds.index((ADDED, new.handle))
        # the same for a rename onto it and a folder made with it
        (served / "photo.jpg").unlink()
        assert st.rename(old["other.jpg"], "photo.jpg").handle == old["other.jpg"]
        (served / "photo.jpg").unlink()
        assert st.create_folder(s.id, ROOT, "photo.jpg").is_folder
        assert [o.name for o in st.children(s.id)] == ["photo.jpg"]


_MAKER = """
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    with open(os.path.join(folder, f"IMG_{i:05d}.jpg"), "wb") as f:
        f.write(b"x" * (i % 7))
"""


def test_files_another_program_adds_appear_all_and_listings_stay_complete(
    store: ObjectStore, served: Path
) -> None:
    count = 3000
    (served / "keep.txt").write_text("known before")
    s = store.add_storage(served)
    store.start_watching()
    rec = Recorder()
    store.subscribe(rec)
    (keep,) = store.children(s.id, ROOT)
    maker = subprocess.Popen([sys.executable, "-c", _MAKER, str(served), str(count)])
    try:
        # listings during the intake: every file already on disk is listed, handles stay put
        handles: dict[str, int] = {}
        while maker.poll() is None:
            on_disk_before = set(os.listdir(served))
            listed = {o.name: o.handle for o in store.children(s.id, ROOT)}
            assert on_disk_before <= set(listed)
            for name, handle in handles.items():
                assert listed[name] == handle
            handles = listed
            time.sleep(0.05)
    finally:
        maker.wait()
    listed = {o.name: o.handle for o in store.children(s.id, ROOT)}
    assert len(listed) == count + 1 and listed["keep.txt"] == keep.handle
    assert all(listed[name] == handle for name, handle in handles.items())
    for o in store.children(s.id, ROOT):
        assert (o.size, o.puid != 0) == ((served / o.name).stat().st_size, True)
    # one ObjectAdded per file, for the handle it is listed with, and no removal (a file
    # listed between its creation and its write is reported changed too: that is true)
    rec.wait_for(lambda e: sum(x.kind is ADDED for x in rec.snapshot()) >= count, timeout=120)
    time.sleep(1.5)
    added = [e.target for e in rec.snapshot() if e.kind is ADDED]
    assert sorted(added) == sorted(h for n, h in listed.items() if n != "keep.txt")
    assert not [e for e in rec.snapshot() if e.kind is REMOVED]
    # PUIDs are the ones a fresh device on the same state gives
    puids = {o.name: o.puid for o in store.children(s.id, ROOT)}
    store.close()
    with ObjectStore(state_dir=served.parent / "state") as again:
        s2 = again.add_storage(served)
        assert {o.name: o.puid for o in again.children(s2.id, ROOT)} == puids
