"""The store tells the truth about changes other programs make, and quickly: real folders,
the real watcher (watchdog), no mocks."""

from __future__ import annotations

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
