"""The store tells the truth about changes other programs make, and quickly: real folders,
the real watcher (watchdog), no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openwpd.server.store import ROOT, ObjectStore, StoreEventKind
from support import Recorder

ADDED, REMOVED, CHANGED = (
    StoreEventKind.OBJECT_ADDED,
    StoreEventKind.OBJECT_REMOVED,
    StoreEventKind.OBJECT_INFO_CHANGED,
)


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
    # one ObjectAdded per file, for the handle it is listed with, and no removal (a file
    # listed between its creation and its write is reported changed too: that is true)
    rec.wait_for(lambda e: sum(x.kind is ADDED for x in rec.snapshot()) >= count, timeout=120)
    time.sleep(1.5)
    added = [e.target for e in rec.snapshot() if e.kind is ADDED]
    assert sorted(added) == sorted(h for n, h in listed.items() if n != "keep.txt")
    assert not [e for e in rec.snapshot() if e.kind is REMOVED]
    # a file listed between its creation and its write has its size once the watcher reports
    for o in store.children(s.id, ROOT):
        assert (o.size, o.puid != 0) == ((served / o.name).stat().st_size, True)
    # PUIDs are the ones a fresh device on the same state gives
    puids = {o.name: o.puid for o in store.children(s.id, ROOT)}
    store.close()
    with ObjectStore(state_dir=served.parent / "state") as again:
        s2 = again.add_storage(served)
        assert {o.name: o.puid for o in again.children(s2.id, ROOT)} == puids


def test_changes_in_folders_no_one_listed_are_reported(store: ObjectStore, served: Path) -> None:
    for i in range(40):  # more folders than the per-folder watches the store used to keep
        (served / f"album{i:02}").mkdir()
    s = store.add_storage(served)
    store.start_watching()
    rec = Recorder()
    store.subscribe(rec)
    top = {o.name: o.handle for o in store.children(s.id, ROOT)}  # only the root is listed
    (served / "album39" / "new.jpg").write_bytes(b"photo")
    added = rec.wait_for(lambda e: e.kind is ADDED)
    obj = store.get(added.target)
    assert (obj.name, obj.parent, obj.size, added.external) == (
        "new.jpg",
        top["album39"],
        5,
        True,
    )
    assert [o.handle for o in store.children(s.id, top["album39"])] == [obj.handle]
    # a folder made and filled by another program, two levels down
    (served / "album07" / "trip" / "day1").mkdir(parents=True)
    (served / "album07" / "trip" / "day1" / "a.jpg").write_bytes(b"a")
    added_a = rec.wait_for(lambda e: e.kind is ADDED and store.get(e.target).name == "a.jpg")
    trip = rec.wait_for(lambda e: e.kind is ADDED and store.get(e.target).name == "trip")
    assert store.get(trip.target).parent == top["album07"]
    assert store.get(store.get(added_a.target).parent).name == "day1"


def test_a_file_moved_into_an_unlisted_folder_is_added_there(
    store: ObjectStore, served: Path
) -> None:
    (served / "inbox").mkdir()
    (served / "archive").mkdir()
    (served / "inbox" / "doc.pdf").write_bytes(b"pdf")
    s = store.add_storage(served)
    store.start_watching()
    top = {o.name: o.handle for o in store.children(s.id, ROOT)}
    (doc,) = store.children(s.id, top["inbox"])  # "archive" is never listed
    rec = Recorder()
    store.subscribe(rec)
    (served / "inbox" / "doc.pdf").rename(served / "archive" / "doc.pdf")
    rec.wait_for(lambda e: e.kind is REMOVED and e.target == doc.handle)
    added = rec.wait_for(lambda e: e.kind is ADDED)
    moved = store.get(added.target)
    assert (moved.name, moved.parent) == ("doc.pdf", top["archive"])


def test_a_rename_by_another_program_keeps_handle_and_puid(
    store: ObjectStore, served: Path
) -> None:
    (served / "DCIM").mkdir()
    (served / "Backup").mkdir()
    (served / "DCIM" / "IMG_1.jpg").write_bytes(b"one")
    (served / "DCIM" / "IMG_2.jpg").write_bytes(b"two")
    s = store.add_storage(served)
    store.start_watching()
    top = {o.name: o for o in store.children(s.id, ROOT)}
    photos = {o.name: o for o in store.children(s.id, top["DCIM"].handle)}
    store.children(s.id, top["Backup"].handle)
    rec = Recorder()
    store.subscribe(rec)
    # renamed in place
    (served / "DCIM" / "IMG_1.jpg").rename(served / "DCIM" / "holiday.jpg")
    one = photos["IMG_1.jpg"]
    rec.wait_for(lambda e: e.kind is CHANGED and e.target == one.handle)
    after = store.get(one.handle)
    assert (after.name, after.puid, after.parent) == ("holiday.jpg", one.puid, one.parent)
    # moved to another listed folder
    (served / "DCIM" / "IMG_2.jpg").rename(served / "Backup" / "IMG_2.jpg")
    two = photos["IMG_2.jpg"]
    rec.wait_for(lambda e: e.kind is CHANGED and e.target == two.handle)
    assert store.get(two.handle).parent == top["Backup"].handle
    # a folder renamed: it and what is listed in it keep their handles
    (served / "DCIM").rename(served / "Camera")
    rec.wait_for(lambda e: e.kind is CHANGED and e.target == top["DCIM"].handle)
    assert store.get(top["DCIM"].handle).name == "Camera"
    assert store.path_of(one.handle) == served / "Camera" / "holiday.jpg"
    time.sleep(0.5)
    assert not [e for e in rec.snapshot() if e.kind in (ADDED, REMOVED)]
    # and the PUIDs stay across a restart
    puid = store.get(one.handle).puid
    store.close()
    with ObjectStore(state_dir=served.parent / "state") as again:
        s2 = again.add_storage(served)
        (camera,) = [o for o in again.children(s2.id, ROOT) if o.name == "Camera"]
        (holiday,) = again.children(s2.id, camera.handle)
        assert holiday.puid == puid


def test_a_tree_that_cannot_be_watched_whole_is_said_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from openwpd.server.store.watch import FolderWatcher

    w = FolderWatcher(lambda batch: None)
    w.start()
    try:
        with caplog.at_level("INFO", logger="openwpd.server.store.watch"):
            assert not w.watch_tree(str(tmp_path / "missing"))
            assert w.watch_tree(str(tmp_path))
        assert "cannot watch all of" in caplog.text
        assert "listed folders only" in caplog.text
        assert w.touch(5, str(tmp_path / "any" / "folder"))
    finally:
        w.stop()


def test_names_that_cannot_be_served_are_said_with_the_reason(
    store: ObjectStore, served: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = os.fsencode(served) + b"/caf\xe9.jpg"  # Latin-1, not UTF-8
    with open(bad, "wb") as f:
        f.write(b"x")
    (served / ("n" * 251 + ".txt")).write_bytes(b"y")  # 255 UTF-16 units: one too many
    (served / "fine.txt").write_bytes(b"z")
    s = store.add_storage(served)
    with caplog.at_level("INFO", logger="openwpd.server.store.scan"):
        assert [o.name for o in store.children(s.id, ROOT)] == ["fine.txt"]
    assert "caf\\xe9.jpg: not valid UTF-8" in caplog.text
    assert "UTF-16 code units, more than the 254" in caplog.text
