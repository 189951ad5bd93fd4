"""ObjectStore two-phase writes: uploads, folders, edits, hostile names, full storages."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from openwpd.protocol.codes import ResponseCode
from openwpd.server.store import (
    ROOT,
    InvalidNameError,
    NameExistsError,
    ObjectStore,
    StoreError,
    StoreEvent,
    StoreEventKind,
    tempfiles,
)
from support import nameless_files


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    return root


NAMELESS = sys.platform == "linux"


@pytest.fixture(params=["nameless", "named"] if NAMELESS else ["named"])
def temp_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with both kinds of temp file (store/tempfiles.py): nameless
    (O_TMPFILE, Linux) and hidden names (elsewhere, and the fallback on Linux)."""
    monkeypatch.setitem(tempfiles._probed, "linkable", request.param == "nameless")
    return str(request.param)


@pytest.fixture
def store(tmp_path: Path, temp_kind: str):  # type: ignore[no-untyped-def]
    s = ObjectStore(state_dir=tmp_path / "state")
    yield s
    s.close()


def pending_temps(served: Path, temp_kind: str) -> list[str]:
    """The temp files of transfers in progress in ``served``, named or nameless."""
    if temp_kind == "nameless":
        assert not [n for n in os.listdir(served) if n.startswith(".openwpd-")]
        return list(nameless_files(served))
    return [n for n in os.listdir(served) if n.startswith(".openwpd-")]


def everything(root: Path) -> list[str]:
    """Every entry below root, hidden ones included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- uploads ----------------------------------------------------------------------------------


def test_upload_commit_makes_it_visible_with_the_initiators_mtime(
    store: ObjectStore, served: Path, temp_kind: str
) -> None:
    s = store.add_storage(served)
    events: list[StoreEvent] = []
    store.subscribe(events.append)
    when = datetime(2020, 5, 17, 10, 30, 0, tzinfo=UTC)
    p = store.begin_create(s.id, ROOT, "photo.jpg", 11, mtime=when)
    assert p.is_open and p.storage_id == s.id and p.name == "photo.jpg"
    assert p.declared_size == 11 and not p.is_folder
    temps = pending_temps(served, temp_kind)
    assert len(temps) == 1
    if temp_kind == "named":
        assert temps[0].startswith(".openwpd-upload-") and temps[0].endswith(".part")
    else:
        assert os.listdir(served) == []  # nothing the watcher or a listing could see
    assert store.children(s.id) == []  # invisible while pending
    with pytest.raises(StoreError):
        store.get(p.handle)
    p.write(b"hello ")
    p.write(b"world")
    assert p.size == 11
    assert events == []
    obj = p.commit()
    assert not p.is_open
    assert os.listdir(served) == ["photo.jpg"]
    assert (served / "photo.jpg").read_bytes() == b"hello world"
    assert os.stat(served / "photo.jpg").st_mtime == when.timestamp()
    assert (obj.handle, obj.name, obj.size, obj.mtime, obj.parent) == (
        p.handle,
        "photo.jpg",
        11,
        when,
        0,
    )
    assert store.get(p.handle) == obj
    assert [o.handle for o in store.children(s.id)] == [p.handle]
    assert events == [
        StoreEvent(StoreEventKind.OBJECT_ADDED, p.handle),
        StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, s.id),
    ]


def test_upload_abort_leaves_nothing_and_burns_the_handle(store: ObjectStore, served: Path) -> None:
    (served / "keep.txt").write_text("keep")
    s = store.add_storage(served)
    before = everything(served)
    p = store.begin_create(s.id, ROOT, "big.bin", 1 << 20)
    p.write(b"x" * 1000)
    p.abort()
    p.abort()  # idempotent
    assert everything(served) == before
    assert [o.name for o in store.children(s.id)] == ["keep.txt"]
    with pytest.raises(StoreError) as ei:
        p.write(b"more")
    assert ei.value.code is ResponseCode.GENERAL_ERROR
    with pytest.raises(StoreError):
        p.commit()
    again = store.begin_create(s.id, ROOT, "big.bin", 3)
    assert again.handle > p.handle  # never reused
    again.write(b"abc")
    assert again.commit().size == 3


def test_upload_as_context_manager_aborts_on_error(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    with pytest.raises(RuntimeError), store.begin_create(s.id, ROOT, "f.bin", 4) as p:
        p.write(b"ab")
        raise RuntimeError("transport died")
    assert os.listdir(served) == []
    with store.begin_create(s.id, ROOT, "f.bin", 4) as p:
        p.write(b"abcd")
        p.commit()
    assert (served / "f.bin").read_bytes() == b"abcd"


def test_zero_size_and_offset_writes(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    empty = store.begin_create(s.id, ROOT, "empty.txt", 0).commit()
    assert empty.size == 0 and (served / "empty.txt").read_bytes() == b""
    p = store.begin_create(s.id, ROOT, "sparse.bin", None)
    p.write_at(4, b"tail")
    p.write_at(0, b"he")
    assert p.size == 8
    assert p.commit().size == 8
    bad = store.begin_create(s.id, ROOT, "bad.bin", None)
    with pytest.raises(StoreError) as ei:
        bad.write_at(-1, b"x")
    assert ei.value.code is ResponseCode.INVALID_PARAMETER
    assert not bad.is_open  # any failed write aborts the upload
    assert (served / "sparse.bin").read_bytes() == b"he\0\0tail"


def test_upload_into_a_subfolder_and_unknown_parents(store: ObjectStore, served: Path) -> None:
    (served / "sub").mkdir()
    (served / "file.txt").write_text("x")
    s = store.add_storage(served)
    objs = {o.name: o for o in store.children(s.id)}
    p = store.begin_create(0, objs["sub"].handle, "in.txt", 2)  # storage 0: taken from parent
    p.write(b"in")
    obj = p.commit()
    assert obj.parent == objs["sub"].handle
    assert (served / "sub" / "in.txt").read_bytes() == b"in"
    for storage_id, parent, code in [
        (s.id, objs["file.txt"].handle, ResponseCode.INVALID_PARENT_OBJECT),
        (s.id, 0x4242, ResponseCode.INVALID_PARENT_OBJECT),
        (0, ROOT, ResponseCode.INVALID_STORAGE_ID),
        (0x00070001, ROOT, ResponseCode.INVALID_STORAGE_ID),
        (0x00070001, objs["sub"].handle, ResponseCode.INVALID_PARENT_OBJECT),
    ]:
        with pytest.raises(StoreError) as ei:
            store.begin_create(storage_id, parent, "x.txt", 1)
        assert ei.value.code is code


def test_existing_names_are_never_overwritten(store: ObjectStore, served: Path) -> None:
    (served / "exists.txt").write_text("original")
    s = store.add_storage(served)
    with pytest.raises(NameExistsError) as ei:
        store.begin_create(s.id, ROOT, "exists.txt", 3)
    assert ei.value.code is ResponseCode.GENERAL_ERROR and ei.value.name == "exists.txt"
    first = store.begin_create(s.id, ROOT, "new.txt", 1)
    with pytest.raises(NameExistsError):
        store.begin_create(s.id, ROOT, "new.txt", 1)  # reserved by the pending upload
    with pytest.raises(NameExistsError):
        store.create_folder(s.id, ROOT, "new.txt")
    first.abort()
    store.create_folder(s.id, ROOT, "new.txt")  # released by the abort
    # Another program takes the name between begin and commit: the upload fails cleanly.
    p = store.begin_create(s.id, ROOT, "race.txt", 4)
    p.write(b"ours")
    (served / "race.txt").write_text("theirs")
    with pytest.raises(NameExistsError):
        p.commit()
    assert (served / "race.txt").read_text() == "theirs"
    assert (served / "exists.txt").read_text() == "original"
    assert sorted(os.listdir(served)) == ["exists.txt", "new.txt", "race.txt"]


def test_commit_after_the_parent_was_deleted(store: ObjectStore, served: Path) -> None:
    (served / "sub").mkdir()
    s = store.add_storage(served)
    sub = store.children(s.id)[0]
    p = store.begin_create(s.id, sub.handle, "orphan.txt", 2)
    p.write(b"ab")
    store.delete(sub.handle)  # another session deletes the destination folder
    with pytest.raises(StoreError) as ei:
        p.commit()
    assert ei.value.code is ResponseCode.INVALID_PARENT_OBJECT
    assert os.listdir(served) == []


def test_pending_upload_survives_a_rename_of_its_folder(store: ObjectStore, served: Path) -> None:
    (served / "sub").mkdir()
    s = store.add_storage(served)
    sub = store.children(s.id)[0]
    p = store.begin_create(s.id, sub.handle, "f.txt", 2)
    p.write(b"ab")
    store.rename(sub.handle, "renamed")
    assert p.commit().parent == sub.handle
    assert (served / "renamed" / "f.txt").read_bytes() == b"ab"
    q = store.begin_create(s.id, sub.handle, "g.txt", 2)
    store.rename(sub.handle, "again")
    q.abort()
    assert os.listdir(served / "again") == ["f.txt"]


def test_folders(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    when = datetime(2019, 1, 2, 3, 4, 5, tzinfo=UTC)
    d = store.create_folder(s.id, ROOT, "New Folder ✨", mtime=when)
    assert d.is_folder and d.size == 0 and d.mtime == when
    assert (served / "New Folder ✨").is_dir()
    inner = store.create_folder(s.id, d.handle, "inner")
    assert inner.parent == d.handle
    assert [o.name for o in store.children(s.id, d.handle)] == ["inner"]
    p = store.begin_create(s.id, ROOT, "later", is_folder=True)
    assert not (served / "later").exists()  # a folder upload is created at commit
    with pytest.raises(StoreError) as ei:
        p.write(b"folders have no data")
    assert ei.value.code is ResponseCode.INVALID_PARAMETER
    assert not p.is_open
    p = store.begin_create(s.id, ROOT, "later", is_folder=True)
    p.abort()
    assert sorted(os.listdir(served)) == ["New Folder ✨"]


HOSTILE = [
    "",
    ".",
    "..",
    "a/b",
    "../escape",
    "nul\0byte",
    "x" * 255,
    "😀" * 128,  # 256 UTF-16 units
    "lone \ud800 surrogate",
    ".openwpd-upload-0123.part",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_and_nothing_is_written(
    store: ObjectStore, served: Path, name: str
) -> None:
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    f = store.children(s.id)[0]
    before = everything(served.parent)
    for call in (
        lambda: store.begin_create(s.id, ROOT, name, 1),
        lambda: store.create_folder(s.id, ROOT, name),
        lambda: store.rename(f.handle, name),
    ):
        with pytest.raises(InvalidNameError) as ei:
            call()
        assert ei.value.code is ResponseCode.INVALID_PARAMETER
    assert everything(served.parent) == before


def test_longest_legal_name(store: ObjectStore, served: Path) -> None:
    s = store.add_storage(served)
    name = "😀" * 63 + "abcdefg.txt"  # 126 + 11 = 137 units, 263 UTF-8 bytes: too long on disk
    with pytest.raises(StoreError) as ei:
        store.create_folder(s.id, ROOT, name)
    assert ei.value.code in (ResponseCode.INVALID_PARAMETER, ResponseCode.GENERAL_ERROR)
    ok = "é" * 127  # 127 units, 254 UTF-8 bytes
    assert store.create_folder(s.id, ROOT, ok).name == ok


# -- full storages ----------------------------------------------------------------------------


def test_store_full(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    (served / "src.bin").write_bytes(b"s" * 100)
    (served / "dst").mkdir()
    s = store.add_storage(served, reserve_bytes=1 << 62)  # --reserve: nothing left to write
    assert s.free_bytes == 0 and s.storage_info().free_space_in_bytes == 0
    objs = {o.name: o for o in store.children(s.id)}
    with pytest.raises(StoreError) as ei:
        store.begin_create(s.id, ROOT, "big.bin", 10)
    assert ei.value.code is ResponseCode.STORE_FULL
    # Unknown size: refused at the first write, and the upload is gone.
    p = store.begin_create(s.id, ROOT, "unknown.bin", None)
    with pytest.raises(StoreError) as ei:
        p.write(b"x")
    assert ei.value.code is ResponseCode.STORE_FULL
    assert not p.is_open
    assert store.begin_create(s.id, ROOT, "empty.bin", 0).commit().size == 0
    with pytest.raises(StoreError) as ei:
        store.copy(objs["src.bin"].handle, s.id, objs["dst"].handle)
    assert ei.value.code is ResponseCode.STORE_FULL
    with pytest.raises(StoreError) as ei:
        store.open_for_edit(objs["src.bin"].handle)
    assert ei.value.code is ResponseCode.STORE_FULL
    assert sorted(os.listdir(served)) == ["dst", "empty.bin", "src.bin"]
    assert os.listdir(served / "dst") == []


def test_store_full_with_a_little_room(store: ObjectStore, served: Path) -> None:
    probe = store.add_storage(served)
    s = store.add_storage(served, "tight", reserve_bytes=probe.free_bytes - (64 << 20))
    assert 0 < s.free_bytes <= 80 << 20
    with pytest.raises(StoreError) as ei:
        store.begin_create(s.id, ROOT, "huge.bin", 1 << 30)
    assert ei.value.code is ResponseCode.STORE_FULL
    p = store.begin_create(s.id, ROOT, "small.bin", 4096)
    p.write(b"\0" * 4096)
    assert p.commit().size == 4096


# -- edits (Android BeginEditObject / SendPartialObject / TruncateObject / EndEditObject) ------


def test_edit_commit(store: ObjectStore, served: Path) -> None:
    (served / "doc.txt").write_bytes(b"0123456789")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    events: list[StoreEvent] = []
    store.subscribe(events.append)
    with store.open_for_edit(h) as e:
        assert e.size == 10
        e.write_at(2, b"AB")
        e.write_at(12, b"Z")  # past the end: zero-filled gap
        assert (served / "doc.txt").read_bytes() == b"0123456789"  # original untouched
        e.truncate(13)
        obj = e.commit()
    assert (served / "doc.txt").read_bytes() == b"01AB456789\0\0Z"
    assert obj.size == 13 and store.get(h).size == 13
    assert events == [
        StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, h),
        StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, s.id),
    ]
    e2 = store.open_for_edit(h)
    e2.truncate(3)
    assert e2.commit().size == 3
    assert (served / "doc.txt").read_bytes() == b"01A"
    assert os.listdir(served) == ["doc.txt"]


def test_edit_of_an_empty_original_lands_without_replacing_it(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a windowed upload edits the empty object it created: the copy is renamed onto a free
    # name (no rename over an existing file, which makes ext4 flush the whole copy first)
    (served / "new.bin").write_bytes(b"")
    (served / "new.bin").chmod(0o640)
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    replaced: list[object] = []
    real_replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda *a, **kw: replaced.append(a) or real_replace(*a, **kw)
    )
    with store.open_for_edit(h) as e:
        e.write_at(0, b"payload")
        assert e.commit().size == 7
    assert replaced == []
    assert (served / "new.bin").read_bytes() == b"payload"
    assert (served / "new.bin").stat().st_mode & 0o777 == 0o640
    assert everything(served) == ["new.bin"]
    # a non-empty original is still replaced atomically
    with store.open_for_edit(h) as e:
        e.write_at(0, b"P")
        e.commit()
    assert len(replaced) == 1
    assert (served / "new.bin").read_bytes() == b"Payload"


def test_edit_of_an_empty_original_that_fails_to_land_puts_it_back(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (served / "new.bin").write_bytes(b"")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    e = store.open_for_edit(h)
    e.write_at(0, b"payload")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "refused")

    monkeypatch.setattr(os, "rename", refuse)  # a hidden copy
    monkeypatch.setattr(os, "link", refuse)  # a nameless one
    with pytest.raises(StoreError):
        e.commit()
    monkeypatch.undo()
    assert everything(served) == ["new.bin"]  # the edit copy is gone, the original is back
    assert (served / "new.bin").read_bytes() == b""
    with store.open_for_edit(h) as e2:  # and the object can be edited again
        e2.write_at(0, b"x")
        e2.commit()
    assert (served / "new.bin").read_bytes() == b"x"


def test_edit_abort_keeps_the_original(store: ObjectStore, served: Path) -> None:
    (served / "doc.txt").write_bytes(b"original")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    e = store.open_for_edit(h)
    with pytest.raises(StoreError) as ei:
        store.open_for_edit(h)
    assert ei.value.code is ResponseCode.DEVICE_BUSY
    e.write_at(0, b"CHANGED")
    e.truncate(2)
    e.abort()
    e.abort()
    assert (served / "doc.txt").read_bytes() == b"original"
    assert os.listdir(served) == ["doc.txt"]
    for call in (lambda: e.truncate(1), lambda: e.write_at(0, b"x"), e.commit):
        with pytest.raises(StoreError):
            call()
    with store.open_for_edit(h) as e3:  # free again; leaving without commit aborts
        e3.write_at(0, b"X")
    assert (served / "doc.txt").read_bytes() == b"original"


def test_edit_refusals(store: ObjectStore, served: Path) -> None:
    (served / "dir").mkdir()
    (served / "doc.txt").write_bytes(b"abc")
    (served / "gone.txt").write_text("x")
    s = store.add_storage(served)
    objs = {o.name: o for o in store.children(s.id)}
    (served / "gone.txt").unlink()
    with pytest.raises(StoreError) as ei:
        store.open_for_edit(objs["dir"].handle)
    assert ei.value.code is ResponseCode.INVALID_PARAMETER
    e = store.open_for_edit(objs["doc.txt"].handle)
    with pytest.raises(StoreError) as ei:
        e.truncate(-1)
    assert ei.value.code is ResponseCode.INVALID_PARAMETER
    assert not e.is_open
    e = store.open_for_edit(objs["doc.txt"].handle)
    store.delete(objs["doc.txt"].handle)  # another session deletes the file mid-edit
    with pytest.raises(StoreError) as ei:
        e.commit()
    assert ei.value.code is ResponseCode.INVALID_OBJECT_HANDLE
    assert os.listdir(served) == ["dir"]
    with pytest.raises(StoreError) as ei:
        store.open_for_edit(objs["gone.txt"].handle)
    assert ei.value.code is ResponseCode.INVALID_OBJECT_HANDLE
    assert os.listdir(served) == ["dir"]


def test_edit_file_vanished_before_commit(store: ObjectStore, served: Path) -> None:
    (served / "doc.txt").write_bytes(b"abc")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    e = store.open_for_edit(h)
    e.write_at(0, b"X")
    # Another program deletes the folder content, temp copy included.
    for n in os.listdir(served):
        os.unlink(served / n)
    with pytest.raises(StoreError) as ei:
        e.commit()
    assert ei.value.code is ResponseCode.INVALID_OBJECT_HANDLE
    assert not e.is_open


def test_edit_growth_hits_the_reserve(store: ObjectStore, served: Path) -> None:
    (served / "doc.txt").write_bytes(b"")
    probe = store.add_storage(served)
    s = store.add_storage(served, "tight", reserve_bytes=probe.free_bytes - (8 << 20))
    h = store.children(s.id)[0].handle
    e = store.open_for_edit(h)
    with pytest.raises(StoreError) as ei:
        e.truncate(1 << 40)
    assert ei.value.code is ResponseCode.STORE_FULL
    assert not e.is_open
    e = store.open_for_edit(h)
    with pytest.raises(StoreError) as ei:
        e.write_at(1 << 40, b"x")
    assert ei.value.code is ResponseCode.STORE_FULL
    assert os.listdir(served) == ["doc.txt"]


def test_discard_removes_the_name_at_once_and_closes_on_a_thread(tmp_path: Path) -> None:
    import threading

    from openwpd._files import discard

    path = tmp_path / "partial.bin"
    file = open(path, "wb")  # noqa: SIM115 - handed to discard
    file.write(b"x" * 4096)
    discard(file, tmp_path / "not-there", path)
    assert not path.exists()  # the name goes before discard returns
    for thread in threading.enumerate():
        if thread.name == "openwpd-discard":
            thread.join(5)
    assert file.closed


def test_discard_closes_first_where_the_file_cannot_be_unlinked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openwpd._files import discard

    path = tmp_path / "partial.bin"
    file = open(path, "wb")  # noqa: SIM115 - handed to discard
    real_unlink = os.unlink

    def windows_like(p: os.PathLike[str] | str) -> None:  # an open file cannot be unlinked
        if not file.closed:
            raise PermissionError(13, "in use")
        real_unlink(p)

    monkeypatch.setattr(os, "unlink", windows_like)
    discard(file, path)
    assert file.closed and not path.exists()


def test_an_aborted_upload_leaves_no_temp_file_the_moment_abort_returns(
    store: ObjectStore, served: Path
) -> None:
    s = store.add_storage(served)
    p = store.begin_create(s.id, ROOT, "big.bin", 8 << 20)
    p.write(b"\1" * (8 << 20))
    p.abort()
    assert everything(served) == []


def test_the_state_database_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    import sqlite3

    from openwpd.server.store.state import DB_NAME, StateDB

    StateDB(tmp_path / "state")
    db = sqlite3.connect(tmp_path / "state" / DB_NAME)
    # WAL is a property of the file: it stays on for every later connection
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_deleting_a_big_file_frees_its_pages_off_the_callers_thread(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from openwpd import _files

    with open(served / "big.bin", "wb") as f:
        f.write(b"\1" * (_files.BIG_FILE + 1))
    (served / "small.bin").write_bytes(b"s")
    s = store.add_storage(served)
    handles = {o.name: o.handle for o in store.children(s.id)}
    started: list[str] = []
    real_thread = threading.Thread

    def spy(*args: object, **kwargs: object) -> threading.Thread:
        started.append(str(kwargs.get("name")))
        return real_thread(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(threading, "Thread", spy)
    store.delete(handles["small.bin"])
    assert started == []  # a small file is simply unlinked
    store.delete(handles["big.bin"])
    assert started == ["openwpd-discard"]
    assert everything(served) == []  # the name is gone when delete returns


def test_free_space_is_looked_at_every_so_often_not_per_write(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from openwpd.server.store import writes

    s = store.add_storage(served)
    real = shutil.disk_usage
    looks: list[int] = []
    # the disk this test pretends to have: `room` bytes free before the upload, less what it
    # has written since
    room = [200 << 20]
    written = [0]

    def usage(path: object) -> object:
        looks.append(1)
        du = real(path)  # type: ignore[arg-type]
        free = max(0, room[0] - written[0])
        return type(du)(du.total, du.total - free, free)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    p = store.begin_create(s.id, ROOT, "big.bin", None)
    looks.clear()
    chunk = b"x" * (1 << 20)
    for _ in range(64):
        p.write(chunk)
        written[0] += len(chunk)
    # 64 MiB out of 200 free: a look at the start, then one per ROOM_RECHECK at most
    assert 1 <= len(looks) <= 2 + (64 << 20) // writes.ROOM_RECHECK
    looks.clear()
    room[0] = written[0] + (3 << 20) + 100  # another program leaves room for 3 MiB more
    fitted = 0
    with pytest.raises(StoreError) as ei:
        for _ in range(64):
            p.write(chunk)
            written[0] += len(chunk)
            fitted += 1
    assert ei.value.code is ResponseCode.STORE_FULL
    assert fitted <= 3  # the budget never runs past what was free at the last look
    assert len(looks) >= 1
    assert not p.is_open
