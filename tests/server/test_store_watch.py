"""ObjectStore events for changes made on disk by other programs (watchdog), real folders."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from openwpd.server.store import ROOT, ObjectStore, StoreError, StoreEventKind
from openwpd.server.store.watch import FolderWatcher
from support import Recorder

ADDED, REMOVED, CHANGED, STORAGE = (
    StoreEventKind.OBJECT_ADDED,
    StoreEventKind.OBJECT_REMOVED,
    StoreEventKind.OBJECT_INFO_CHANGED,
    StoreEventKind.STORAGE_INFO_CHANGED,
)


def settle(seconds: float = 0.6) -> None:
    # Long enough for the watcher (debounce 0.05 s, max delay 1 s) to have flushed.
    time.sleep(seconds)


def test_file_created_changed_and_deleted_on_disk(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    rec = Recorder()
    store.subscribe(rec)
    store.start_watching()
    store.start_watching()  # idempotent
    assert store.children(s.id, ROOT) == []
    (served / "new.txt").write_text("made by another program")
    added = rec.wait_for(lambda e: e.kind is ADDED)
    assert added.external
    obj = store.get(added.target)
    assert (obj.name, obj.size, obj.parent) == ("new.txt", 23, 0)
    assert [o.handle for o in store.children(s.id)] == [obj.handle]
    rec.wait_for(lambda e: e.kind is STORAGE and e.target == s.id)

    rec.clear()
    with open(served / "new.txt", "a") as f:
        f.write(" and appended")
    rec.wait_for(lambda e: e.kind is CHANGED and e.target == obj.handle)
    assert store.get(obj.handle).size == 36

    rec.clear()
    (served / "new.txt").unlink()
    gone = rec.wait_for(lambda e: e.kind is REMOVED)
    assert gone.target == obj.handle and gone.external
    assert store.children(s.id) == []


def test_changes_through_the_store_are_reported_once(store: ObjectStore, served: Path) -> None:
    (served / "sub").mkdir()
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    store.start_watching()
    objs = {o.name: o for o in store.children(s.id)}
    store.children(s.id, objs["sub"].handle)
    rec = Recorder()
    store.subscribe(rec)
    p = store.begin_create(s.id, ROOT, "up.bin", 3)
    p.write(b"abc")
    up = p.commit()
    folder = store.create_folder(s.id, objs["sub"].handle, "made")
    store.rename(objs["f.txt"].handle, "g.txt")
    store.set_mtime(up.handle, up.mtime.replace(year=2001))
    e = store.open_for_edit(up.handle)
    e.write_at(0, b"X")
    e.commit()
    store.move(up.handle, s.id, objs["sub"].handle)
    copy = store.copy(objs["sub"].handle, s.id, folder.handle)
    store.delete(copy.handle)
    settle()
    assert not [e for e in rec.snapshot() if e.external], rec.snapshot()
    kinds = [(e.kind, e.target) for e in rec.snapshot() if e.kind is not STORAGE]
    assert kinds == [
        (ADDED, up.handle),
        (ADDED, folder.handle),
        (CHANGED, objs["f.txt"].handle),
        (CHANGED, up.handle),
        (CHANGED, up.handle),
        (CHANGED, up.handle),
        (ADDED, copy.handle),
        (REMOVED, copy.handle),
    ]


def test_temp_files_of_other_uploads_raise_no_events(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    store.start_watching()
    store.children(s.id)
    rec = Recorder()
    store.subscribe(rec)
    p = store.begin_create(s.id, ROOT, "slow.bin", None)
    p.write(b"x" * 100_000)
    (served / ".openwpd-upload-feedfacefeedface.part").write_text("someone else's temp")
    settle()
    p.abort()
    settle()
    assert rec.snapshot() == []
    (served / "after.txt").write_text("y")  # the watcher is still alive
    rec.wait_for(lambda e: e.kind is ADDED)


def test_nested_folder_and_subtree_removal(store: ObjectStore, served: Path) -> None:
    (served / "a" / "b").mkdir(parents=True)
    s = store.add_storage(served)
    store.start_watching()
    a = store.children(s.id)[0]
    b = store.children(s.id, a.handle)[0]
    store.children(s.id, b.handle)
    rec = Recorder()
    store.subscribe(rec)
    (served / "a" / "b" / "deep.txt").write_text("deep")
    added = rec.wait_for(lambda e: e.kind is ADDED)
    assert store.get(added.target).parent == b.handle
    rec.clear()
    # renamed by another program: the folder and what is listed in it keep their handles
    os.rename(served / "a" / "b", served / "a" / "b2")
    rec.wait_for(lambda e: e.kind is CHANGED and e.target == b.handle)
    assert store.get(b.handle).name == "b2"
    assert [o.handle for o in store.children(s.id, b.handle)] == [added.target]
    assert store.path_of(added.target) == served / "a" / "b2" / "deep.txt"
    # removed by another program: the folder and its subtree go
    shutil.rmtree(served / "a" / "b2")
    rec.wait_for(lambda e: e.kind is REMOVED and e.target == b.handle)
    for h in (b.handle, added.target):
        with pytest.raises(StoreError):
            store.get(h)


def test_folders_listed_before_watching_are_rescanned(store: ObjectStore, served: Path) -> None:
    (served / "old.txt").write_text("old")
    (served / "changes.txt").write_text("1")
    s = store.add_storage(served)
    objs = {o.name: o for o in store.children(s.id)}
    rec = Recorder()
    store.subscribe(rec)
    (served / "old.txt").unlink()
    (served / "new.txt").write_text("new")
    (served / "changes.txt").write_text("12345")
    assert {o.name for o in store.children(s.id)} == {"old.txt", "changes.txt"}  # not watching
    store.start_watching()
    assert {o.name for o in store.children(s.id)} == {"changes.txt", "new.txt"}
    got = {(e.kind, e.external) for e in rec.snapshot()}
    assert got == {(REMOVED, True), (ADDED, True), (CHANGED, True), (STORAGE, True)}
    assert store.get(objs["changes.txt"].handle).size == 5


def test_evicted_folders_are_rescanned_when_listed(tmp_path: Path, served: Path) -> None:
    for n in ("a", "b", "c"):
        (served / n).mkdir()
    with ObjectStore(
        state_dir=tmp_path / "state", debounce=0.05, max_watched_folders=2, watch_trees=False
    ) as st:
        s = st.add_storage(served)
        st.start_watching()
        folders = {o.name: o.handle for o in st.children(s.id)}  # root watched
        st.children(s.id, folders["a"])  # a watched
        st.children(s.id, folders["b"])  # b watched, root evicted
        assert st._watcher is not None
        assert st._watcher.watched() == [folders["a"], folders["b"]]
        rec = Recorder()
        st.subscribe(rec)
        (served / "late.txt").write_text("root is not watched now")
        settle()
        assert rec.snapshot() == []
        assert "late.txt" in {o.name for o in st.children(s.id)}  # re-scanned on listing
        assert rec.snapshot()[0].kind is ADDED
        st.delete(folders["a"])
        assert st._watcher.watched() == [folders["b"], -s.id]


def test_stop_watching_and_close(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    store.start_watching()
    store.children(s.id)
    rec = Recorder()
    store.subscribe(rec)
    store.stop_watching()
    store.stop_watching()
    (served / "unseen.txt").write_text("x")
    settle()
    assert rec.snapshot() == []


def test_a_watched_folder_deleted_on_disk(store: ObjectStore, served: Path) -> None:
    (served / "d").mkdir()
    s = store.add_storage(served)
    store.start_watching()
    d = store.children(s.id)[0]
    store.children(s.id, d.handle)
    rec = Recorder()
    store.subscribe(rec)
    (served / "d").rmdir()
    rec.wait_for(lambda e: e.kind is REMOVED and e.target == d.handle)
    assert store.children(s.id) == []


def test_watcher_unit_debounce_and_filtering(tmp_path: Path) -> None:
    batches: list[dict[str, set[str]]] = []
    w = FolderWatcher(batches.append, debounce=0.05, max_delay=0.3, max_watches=1)
    w.start()
    try:
        assert w.watch(1, str(tmp_path))
        assert w.watch(1, str(tmp_path))  # already watched
        assert not w.watch(2, str(tmp_path / "missing"))
        for i in range(5):
            (tmp_path / f"f{i}.txt").write_text("x")
        (tmp_path / ".openwpd-edit-0000.part").write_text("ignored")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not batches:
            time.sleep(0.02)
        time.sleep(0.3)
        merged: set[str] = set().union(*(b.get(str(tmp_path), set()) for b in batches))
        assert merged == {f"f{i}.txt" for i in range(5)}
        w.unwatch(1)
        w.unwatch(1)
        assert w.watched() == []
    finally:
        w.stop()
        w.stop()


def test_watcher_survives_a_failing_batch_handler(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def boom(batch: dict[str, set[str]]) -> None:
        calls.append(1)
        raise RuntimeError("handler bug")

    w = FolderWatcher(boom, debounce=0.02, max_delay=0.1)
    w.start()
    try:
        w.watch(7, str(tmp_path))
        (tmp_path / "a").write_text("x")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not calls:
            time.sleep(0.02)
        assert calls
        (tmp_path / "b").write_text("x")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(calls) < 2:
            time.sleep(0.02)
        assert len(calls) >= 2
    finally:
        w.stop()
    assert "failed to apply a batch" in caplog.text


def test_a_mass_deletion_on_disk_does_not_stall_the_store(tmp_path: Path) -> None:
    """Another program deleting a 20,000-file folder the device watches: the store stays
    responsive. (Indexed deletes: this took ~19 s of lock-holding once; then one hold of
    ~120 ms for the whole batch; now a slice of DISK_BATCH_SLICE names per hold, ~5 ms.) The
    bound is relative to the time the store spent on the batch, which scales with the machine:
    a request may wait for one slice, never for the whole batch."""
    root = tmp_path / "root"
    (root / "many").mkdir(parents=True)
    for i in range(20_000):
        (root / "many" / f"f{i:05}.jpg").write_bytes(b"")
    store = ObjectStore(state_dir=tmp_path / "state")
    try:
        storage = store.add_storage(root, "P", False)
        removed: list[int] = []
        store.subscribe(lambda e: removed.append(e.target))
        applying: list[float] = []
        apply_batch = store._on_disk_batch

        def timed_batch(batch: dict[str, set[str]]) -> None:
            started = time.monotonic()
            apply_batch(batch)
            applying.append(time.monotonic() - started)

        store._on_disk_batch = timed_batch  # type: ignore[method-assign]
        store.start_watching()
        (many,) = [o for o in store.children(storage.id) if o.name == "many"]
        assert len(store.children(storage.id, many.handle)) == 20_000
        shutil.rmtree(root / "many")
        worst = 0.0
        deadline = time.monotonic() + 20
        listed = [many]
        while (listed or not applying) and time.monotonic() < deadline:
            started = time.monotonic()
            # takes the store's lock, like every request; a listing of the root once "many"
            # is gone from it reports that at once (its subtree goes with it)
            listed = [o for o in store.children(storage.id) if o.name == "many"]
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.002)
        assert not listed and many.handle in removed
        spent = sum(applying)
        assert worst < spent / 8, f"blocked {worst * 1000:.0f} ms; batches {spent * 1000:.0f} ms"
    finally:
        store.stop_watching()
        store.close()
