"""ObjectStore: storages, listing, handles, PUIDs, symlinks, reads, delete/copy/move/rename.

Real files in tmp_path; no mocks except where a failure cannot be produced for real (marked).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from openwpd.protocol.codes import ObjectFormatCode, ResponseCode
from openwpd.server.store import (
    ALL,
    ROOT,
    NameExistsError,
    ObjectStore,
    PartialDeletionError,
    StoreError,
    StoreEvent,
    StoreEventKind,
    fsops,
)

UNICODE_NAMES = [
    "café crème.txt",
    "naïve résumé.jpg",
    "emoji 😀🎉.png",
    "quote \"double\" and 'single'.txt",
    "  leading and trailing spaces  ",
    "日本語のファイル.mp3",
]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    return root


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = ObjectStore(state_dir=tmp_path / "state")
    yield s
    s.close()


def names(objs) -> set[str]:  # type: ignore[no-untyped-def]
    return {o.name for o in objs}


def by_name(objs):  # type: ignore[no-untyped-def]
    return {o.name: o for o in objs}


def code_of(excinfo: pytest.ExceptionInfo[StoreError]) -> ResponseCode:
    return excinfo.value.code


def make_tree(root: Path) -> None:
    (root / "docs" / "deep" / "deeper").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha")
    (root / "docs" / "deep" / "b.jpg").write_bytes(b"\xff\xd8jpeg")
    (root / "docs" / "deep" / "deeper" / "c.bin").write_bytes(b"c" * 10)
    (root / "top.mp3").write_bytes(b"ID3")


# -- storages ---------------------------------------------------------------------------------


def test_storage_ids_descriptions_and_info(store: ObjectStore, tmp_path: Path) -> None:
    one, two, three = (tmp_path / n for n in ("one", "two", "three"))
    for d in (one, two, three):
        d.mkdir()
    s1 = store.add_storage(one)
    s2 = store.add_storage(two, "Camera", read_only=True)
    s3 = store.add_storage(three, None, False, reserve_bytes=1 << 20)
    assert [s.id for s in store.storages] == [0x00010001, 0x00020001, 0x00030001]
    assert store.storage(0x00020001) is s2
    assert (s1.description, s2.description) == ("one", "Camera")
    assert s2.read_only and not s1.read_only
    info1, info2 = s1.storage_info(), s2.storage_info()
    # PTP/MTP: FixedRAM 0x0003, GenericHierarchical 0x0002, ReadWrite 0x0000,
    # Read-only without object deletion 0x0001; PTP FreeSpaceInObjects unused = 0xFFFFFFFF.
    assert (info1.storage_type, info1.filesystem_type, info1.access_capability) == (3, 2, 0)
    assert info2.access_capability == 0x0001
    assert info1.free_space_in_objects == 0xFFFFFFFF
    assert info1.storage_description == "one" and info1.volume_label == "one"
    assert info2.storage_description == "Camera"
    usage = shutil.disk_usage(one)
    assert info1.max_capacity == usage.total
    assert 0 < info1.free_space_in_bytes <= usage.total
    assert info2.free_space_in_bytes == 0 and s2.free_bytes == 0
    assert s3.capacity_bytes == usage.total - (1 << 20)
    assert s3.free_bytes <= shutil.disk_usage(three).free - (1 << 20)
    assert repr(s1).startswith("Storage(0x00010001")


def test_add_storage_rejects_bad_roots(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        store.add_storage(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        store.add_storage(tmp_path / "file")
    with pytest.raises(ValueError):
        store.add_storage(tmp_path, reserve_bytes=-1)
    with pytest.raises(StoreError) as ei:
        store.storage(0x00090001)
    assert code_of(ei) is ResponseCode.INVALID_STORAGE_ID


def test_storage_root_is_resolved(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    link = tmp_path / "link-to-served"
    link.symlink_to(served)
    s = store.add_storage(link)
    assert s.root == served.resolve()
    assert s.description == "served"


# -- listing ----------------------------------------------------------------------------------


def test_lists_nested_unicode_names(store: ObjectStore, served: Path) -> None:
    (served / "Ünïcödé folder 📁").mkdir()
    for n in UNICODE_NAMES:
        (served / n).write_bytes(n.encode())
        (served / "Ünïcödé folder 📁" / n).write_bytes(b"x" * 3)
    s = store.add_storage(served)
    root = by_name(store.children(s.id, ROOT))
    assert set(root) == {*UNICODE_NAMES, "Ünïcödé folder 📁"}
    folder = root["Ünïcödé folder 📁"]
    assert folder.is_folder and folder.size == 0 and folder.parent == 0
    assert folder.format is ObjectFormatCode.ASSOCIATION
    for n in UNICODE_NAMES:
        obj = root[n]
        assert not obj.is_folder and obj.parent == 0 and obj.storage_id == s.id
        assert obj.size == len(n.encode())
        st = os.stat(served / n)
        assert obj.mtime == datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
        assert obj.mtime.tzinfo is not None
    inner = store.children(s.id, folder.handle)
    assert names(inner) == set(UNICODE_NAMES)
    assert all(o.parent == folder.handle and o.size == 3 for o in inner)
    assert store.read(by_name(inner)["café crème.txt"].handle) == b"xxx"


def test_formats_follow_extensions(store: ObjectStore, served: Path) -> None:
    for n in ("a.JPG", "b.txt", "c.mp3", "d.unknownext", "noext"):
        (served / n).write_bytes(b"")
    s = store.add_storage(served)
    fmt = {o.name: o.format for o in store.children(s.id)}
    # PTP/MTP: EXIF/JPEG 0x3801, Text 0x3004, MP3 0x3009, Undefined 0x3000.
    assert fmt == {
        "a.JPG": 0x3801,
        "b.txt": 0x3004,
        "c.mp3": 0x3009,
        "d.unknownext": 0x3000,
        "noext": 0x3000,
    }
    assert names(store.children(s.id, ROOT, format=0x3004)) == {"b.txt"}


def test_handles_are_stable_unique_and_valid(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    s = store.add_storage(served)
    first = store.children(s.id, ROOT)
    again = store.children(s.id, 0)
    assert [o.handle for o in first] == [o.handle for o in again]
    docs = by_name(first)["docs"]
    kids = store.children(s.id, docs.handle)
    handles = [o.handle for o in first + kids]
    assert len(set(handles)) == len(handles)
    assert all(0 < h < 0xFFFFFFFF for h in handles)
    for o in first + kids:
        assert store.get(o.handle) == o
    with pytest.raises(StoreError) as ei:
        store.get(0xDEAD)
    assert code_of(ei) is ResponseCode.INVALID_OBJECT_HANDLE


def test_children_parameter_errors(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    s = store.add_storage(served)
    top = by_name(store.children(s.id))
    for storage_id, parent, code in [
        (0x00050001, ROOT, ResponseCode.INVALID_STORAGE_ID),
        (0x00050001, top["docs"].handle, ResponseCode.INVALID_STORAGE_ID),
        (s.id, top["top.mp3"].handle, ResponseCode.INVALID_PARENT_OBJECT),
        (s.id, 0x7777, ResponseCode.INVALID_PARENT_OBJECT),
    ]:
        with pytest.raises(StoreError) as ei:
            store.children(storage_id, parent)
        assert code_of(ei) is code
    assert names(store.children(ALL, top["docs"].handle)) == {"a.txt", "deep"}


def test_children_of_all_storages_and_mismatched_storage(
    store: ObjectStore, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "fa").mkdir(parents=True)
    (b / "fb").mkdir(parents=True)
    sa, sb = store.add_storage(a), store.add_storage(b)
    assert names(store.children(ALL, ROOT)) == {"fa", "fb"}
    fa = store.children(sa.id)[0]
    with pytest.raises(StoreError) as ei:
        store.children(sb.id, fa.handle)
    assert code_of(ei) is ResponseCode.INVALID_PARENT_OBJECT


def test_all_objects_walks_everything(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    make_tree(served)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    s = store.add_storage(served)
    o = store.add_storage(other)
    everything = store.all_objects(s.id)
    assert names(everything) == {"docs", "a.txt", "deep", "b.jpg", "deeper", "c.bin", "top.mp3"}
    parents = {obj.name: obj.parent for obj in everything}
    handles = {obj.name: obj.handle for obj in everything}
    assert parents["c.bin"] == handles["deeper"] and parents["deeper"] == handles["deep"]
    assert names(store.all_objects(s.id, format=ObjectFormatCode.EXIF_JPEG)) == {"b.jpg"}
    assert names(store.all_objects()) == names(everything) | {"x.txt"}
    assert {x.storage_id for x in store.all_objects(o.id)} == {o.id}


def test_all_objects_skips_folders_that_vanished(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    s = store.add_storage(served)
    store.children(s.id)  # docs known, not listed
    shutil.rmtree(served / "docs")
    assert names(store.all_objects(s.id)) == {"docs", "top.mp3"}


def test_store_temp_files_and_special_files_are_never_listed(
    store: ObjectStore, served: Path
) -> None:
    (served / ".openwpd-upload-0123456789abcdef.part").write_bytes(b"partial")
    (served / ".hidden").write_text("dotfiles are served")
    os.mkfifo(served / "fifo")
    bad = os.fsdecode(b"bad-\xff-name")
    (served / bad).write_text("undecodable")
    (served / ("x" * 255)).write_text("too long for a PTP string")
    s = store.add_storage(served)
    assert names(store.children(s.id)) == {".hidden"}


# -- symlinks ---------------------------------------------------------------------------------


def test_symlinks_never_lead_outside(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (served / "inner.txt").write_text("inner")
    (served / "folder").mkdir()
    (served / "to-secret.txt").symlink_to(outside / "secret.txt")
    (served / "to-outside-dir").symlink_to(outside)
    (served / "to-inner.txt").symlink_to(served / "inner.txt")
    (served / "to-folder").symlink_to(served / "folder")
    (served / "dangling").symlink_to(served / "nowhere")
    s = store.add_storage(served)
    listed = by_name(store.children(s.id))
    assert set(listed) == {"inner.txt", "folder", "to-inner.txt"}
    assert store.read(listed["to-inner.txt"].handle) == b"inner"
    assert names(store.all_objects(s.id)) == {"inner.txt", "folder", "to-inner.txt"}


def test_paths_swapped_for_outside_symlinks_are_refused(
    store: ObjectStore, tmp_path: Path, served: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (served / "f.txt").write_text("fine")
    (served / "sub").mkdir()
    (served / "sub" / "in.txt").write_text("in")
    s = store.add_storage(served)
    listed = by_name(store.children(s.id))
    inner = store.children(s.id, listed["sub"].handle)[0]
    # Another program swaps the listed entries for symlinks to outside.
    (served / "f.txt").unlink()
    (served / "f.txt").symlink_to(outside / "secret.txt")
    shutil.rmtree(served / "sub")
    (served / "sub").symlink_to(outside)
    for call in (
        lambda: store.read(listed["f.txt"].handle),
        lambda: store.open_for_edit(listed["f.txt"].handle),
        lambda: store.set_mtime(listed["f.txt"].handle, datetime.now(UTC)),
        lambda: store.path_of(listed["f.txt"].handle),
        lambda: store.begin_create(s.id, listed["sub"].handle, "x.txt", 1),
        lambda: store.delete(inner.handle),
        lambda: store.read(inner.handle),
    ):
        with pytest.raises(StoreError) as ei:
            call()
        assert code_of(ei) is ResponseCode.ACCESS_DENIED
    assert (outside / "secret.txt").read_text() == "secret"
    assert os.listdir(outside) == ["secret.txt"]
    # The cached listing is served from memory; it never shows the outside folder's content.
    assert names(store.children(s.id, listed["sub"].handle)) == {"in.txt"}


# -- reading ----------------------------------------------------------------------------------


def test_read_and_open_read(store: ObjectStore, served: Path) -> None:
    (served / "data.bin").write_bytes(bytes(range(256)))
    (served / "dir").mkdir()
    s = store.add_storage(served)
    objs = by_name(store.children(s.id))
    h = objs["data.bin"].handle
    assert store.read(h) == bytes(range(256))
    assert store.read(h, 250, 100) == bytes(range(250, 256))
    assert store.read(h, 10, 3) == bytes([10, 11, 12])
    assert store.read(h, 1000, 10) == b""
    with store.open_read(h) as f:
        assert f.read(4) == bytes([0, 1, 2, 3])
    assert store.path_of(h) == served.resolve() / "data.bin"
    with pytest.raises(StoreError) as ei:
        store.read(h, -1, 1)
    assert code_of(ei) is ResponseCode.INVALID_PARAMETER
    with pytest.raises(StoreError) as ei:
        store.read(objs["dir"].handle)
    assert code_of(ei) is ResponseCode.INVALID_PARAMETER


def test_reading_a_vanished_file_reports_its_removal(store: ObjectStore, served: Path) -> None:
    (served / "gone.txt").write_text("soon gone")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    seen: list[StoreEvent] = []
    store.subscribe(seen.append)
    (served / "gone.txt").unlink()
    with pytest.raises(StoreError) as ei:
        store.read(h)
    assert code_of(ei) is ResponseCode.INVALID_OBJECT_HANDLE
    assert StoreEvent(StoreEventKind.OBJECT_REMOVED, h, True) in seen
    assert store.children(s.id) == []


def test_open_read_maps_other_os_errors(store: ObjectStore, served: Path) -> None:
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    # A file replaced by a folder of the same name behind the store's back.
    (served / "f.txt").unlink()
    (served / "f.txt").mkdir()
    with pytest.raises(StoreError) as ei:
        store.read(h)
    assert code_of(ei) is ResponseCode.GENERAL_ERROR


# -- PUIDs and device identity ----------------------------------------------------------------


def test_puids_and_guid_survive_a_restart(tmp_path: Path, served: Path) -> None:
    make_tree(served)
    with ObjectStore(state_dir=tmp_path / "state") as first:
        s = first.add_storage(served)
        before = {o.name: o.puid for o in first.all_objects(s.id)}
        guid = first.device_guid
    assert len(guid) == 16
    assert len(set(before.values())) == len(before)
    assert all(0 < p < 1 << 128 for p in before.values())
    with ObjectStore(state_dir=tmp_path / "state") as second:
        s = second.add_storage(served)
        # List in another order: PUIDs do not depend on the order objects are met.
        deep = by_name(second.children(s.id, by_name(second.children(s.id))["docs"].handle))
        assert deep["deep"].puid == before["deep"]
        after = {o.name: o.puid for o in second.all_objects(s.id)}
        assert after == before
        assert second.device_guid == guid
        assert second.serial_number == guid.hex().upper()
    with ObjectStore(state_dir=tmp_path / "elsewhere") as third:
        assert third.device_guid != guid


def test_puids_follow_renames_and_moves(tmp_path: Path, served: Path) -> None:
    make_tree(served)
    other = tmp_path / "other"
    other.mkdir()
    with ObjectStore(state_dir=tmp_path / "state") as st:
        s, o = st.add_storage(served), st.add_storage(other)
        before = {x.name: x.puid for x in st.all_objects(s.id)}
        objs = by_name(st.all_objects(s.id))
        st.rename(objs["docs"].handle, "papers")
        st.move(objs["top.mp3"].handle, s.id, objs["deeper"].handle)
        st.move(objs["deep"].handle, o.id, ROOT)  # subtree to another storage
        st.rename(objs["c.bin"].handle, "c2.bin")
        assert st.get(objs["docs"].handle).puid == before["docs"]
    with ObjectStore(state_dir=tmp_path / "state") as st:
        s, o = st.add_storage(served), st.add_storage(other)
        now_s = {x.name: x.puid for x in st.all_objects(s.id)}
        now_o = {x.name: x.puid for x in st.all_objects(o.id)}
    assert now_s == {"papers": before["docs"], "a.txt": before["a.txt"]}
    assert now_o == {
        "deep": before["deep"],
        "b.jpg": before["b.jpg"],
        "deeper": before["deeper"],
        "c2.bin": before["c.bin"],
        "top.mp3": before["top.mp3"],
    }


def test_a_new_object_never_inherits_a_stale_puid(tmp_path: Path, served: Path) -> None:
    (served / "f.txt").write_text("one")
    with ObjectStore(state_dir=tmp_path / "state") as st:
        s = st.add_storage(served)
        old = st.children(s.id)[0].puid
    (served / "f.txt").unlink()  # deleted while the device was off
    with ObjectStore(state_dir=tmp_path / "state") as st:
        s = st.add_storage(served)
        assert st.children(s.id) == []
        new = st.create_folder(s.id, ROOT, "f.txt")
        assert new.puid != old


def test_state_stays_out_of_the_served_tree(tmp_path: Path, served: Path) -> None:
    make_tree(served)
    before = sorted(p.relative_to(served) for p in served.rglob("*"))
    with ObjectStore(state_dir=tmp_path / "state") as st:
        s = st.add_storage(served)
        st.all_objects(s.id)
    assert sorted(p.relative_to(served) for p in served.rglob("*")) == before
    assert (tmp_path / "state" / "objects.sqlite3").is_file()


def test_default_state_dir_uses_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    with ObjectStore() as st:
        assert len(st.device_guid) == 16
    assert (tmp_path / "xdg" / "openwpd" / "objects.sqlite3").is_file()


# -- delete -----------------------------------------------------------------------------------


def test_recursive_delete(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    (served / "docs" / "deep" / "unlisted").mkdir()
    (served / "docs" / "deep" / "unlisted" / "u.txt").write_text("u")
    s = store.add_storage(served)
    top = by_name(store.children(s.id))
    docs = by_name(store.children(s.id, top["docs"].handle))
    deep = by_name(store.children(s.id, docs["deep"].handle))
    seen: list[StoreEvent] = []
    store.subscribe(seen.append)
    deleted = store.delete(top["docs"].handle)
    expected = {
        top["docs"].handle,
        docs["a.txt"].handle,
        docs["deep"].handle,
        *(o.handle for o in deep.values()),
    }
    assert set(deleted) == expected
    assert deleted[-1] == top["docs"].handle  # children before parents
    assert sorted(os.listdir(served)) == ["top.mp3"]
    for h in expected:
        with pytest.raises(StoreError):
            store.get(h)
    # Only the topmost object is announced; its descendants are implied.
    assert seen == [
        StoreEvent(StoreEventKind.OBJECT_REMOVED, top["docs"].handle),
        StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, s.id),
    ]
    assert names(store.children(s.id)) == {"top.mp3"}
    assert store.delete(top["top.mp3"].handle) == [top["top.mp3"].handle]
    assert os.listdir(served) == []


def test_deleting_something_already_gone_succeeds(store: ObjectStore, served: Path) -> None:
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    (served / "f.txt").unlink()
    assert store.delete(h) == [h]


def _chattr(flag: str, path: Path) -> bool:
    try:
        return (
            subprocess.run(["chattr", flag, str(path)], check=False, capture_output=True).returncode
            == 0
        )
    except FileNotFoundError:
        return False


def test_partial_deletion(store: ObjectStore, served: Path) -> None:
    (served / "dir").mkdir()
    (served / "dir" / "free.txt").write_text("x")
    (served / "dir" / "stuck.txt").write_text("y")
    if not _chattr("+i", served / "dir" / "stuck.txt"):
        pytest.skip("needs chattr +i (immutable files) on this file system")
    try:
        s = store.add_storage(served)
        d = store.children(s.id)[0]
        kids = by_name(store.children(s.id, d.handle))
        with pytest.raises(PartialDeletionError) as ei:
            store.delete(d.handle)
        assert ei.value.code is ResponseCode.PARTIAL_DELETION
        assert ei.value.deleted == [kids["free.txt"].handle]
        assert sorted(os.listdir(served / "dir")) == ["stuck.txt"]
        assert names(store.children(s.id, d.handle)) == {"stuck.txt"}
        with pytest.raises(StoreError) as e2:
            store.delete(kids["stuck.txt"].handle)
        assert e2.value.code is ResponseCode.ACCESS_DENIED
        assert store.get(kids["stuck.txt"].handle).name == "stuck.txt"
    finally:
        _chattr("-i", served / "dir" / "stuck.txt")


# -- rename, move, copy, set_mtime -----------------------------------------------------------


def test_rename(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    s = store.add_storage(served)
    top = by_name(store.children(s.id))
    a = by_name(store.children(s.id, top["docs"].handle))["a.txt"]
    seen: list[StoreEvent] = []
    store.subscribe(seen.append)
    renamed = store.rename(a.handle, "a.jpg")
    assert (renamed.handle, renamed.puid, renamed.name) == (a.handle, a.puid, "a.jpg")
    assert renamed.format is ObjectFormatCode.EXIF_JPEG
    assert (served / "docs" / "a.jpg").read_text() == "alpha"
    assert not (served / "docs" / "a.txt").exists()
    assert seen == [StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, a.handle)]
    assert store.rename(a.handle, "a.jpg") == renamed  # same name: nothing to do
    with pytest.raises(NameExistsError):
        store.rename(a.handle, "deep")
    (served / "docs" / "sneaky.txt").write_text("appeared behind our back")
    with pytest.raises(NameExistsError):
        store.rename(a.handle, "sneaky.txt")
    # A renamed folder's children are still reachable by their handles.
    store.rename(top["docs"].handle, "papers")
    assert store.read(a.handle) == b"alpha"
    assert store.path_of(a.handle) == served.resolve() / "papers" / "a.jpg"


def test_move_within_and_between_storages(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    make_tree(served)
    other = tmp_path / "other"
    other.mkdir()
    s, o = store.add_storage(served), store.add_storage(other)
    objs = by_name(store.all_objects(s.id))
    seen: list[StoreEvent] = []
    store.subscribe(seen.append)
    moved = store.move(objs["top.mp3"].handle, s.id, objs["deep"].handle)
    assert (moved.handle, moved.parent, moved.storage_id) == (
        objs["top.mp3"].handle,
        objs["deep"].handle,
        s.id,
    )
    assert (served / "docs" / "deep" / "top.mp3").read_bytes() == b"ID3"
    assert seen == [StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, moved.handle)]
    assert store.move(moved.handle, ALL, objs["deep"].handle) == moved  # same place: no-op
    seen.clear()
    deep = store.move(objs["deep"].handle, o.id, ROOT)
    assert (deep.storage_id, deep.parent) == (o.id, 0)
    assert store.get(objs["c.bin"].handle).storage_id == o.id
    assert store.get(objs["deeper"].handle).storage_id == o.id
    assert store.read(objs["c.bin"].handle) == b"c" * 10
    assert sorted(os.listdir(other / "deep")) == ["b.jpg", "deeper", "top.mp3"]
    assert names(store.children(o.id)) == {"deep"}
    assert names(store.children(s.id, objs["docs"].handle)) == {"a.txt"}
    assert StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, s.id) in seen
    assert StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, o.id) in seen


def test_move_refusals(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    make_tree(served)
    (served / "deep").mkdir()  # same name as docs/deep
    s = store.add_storage(served)
    objs = by_name(store.all_objects(s.id))
    for target in (objs["docs"].handle, objs["deeper"].handle):
        with pytest.raises(StoreError) as ei:
            store.move(objs["docs"].handle, s.id, target)
        assert code_of(ei) is ResponseCode.INVALID_PARENT_OBJECT
    with pytest.raises(NameExistsError):
        store.move(objs["deep"].handle, s.id, ROOT)
    with pytest.raises(StoreError) as ei:
        store.move(objs["a.txt"].handle, s.id, objs["top.mp3"].handle)
    assert code_of(ei) is ResponseCode.INVALID_PARENT_OBJECT
    with pytest.raises(StoreError) as ei:
        store.move(objs["a.txt"].handle, 0, ROOT)
    assert code_of(ei) is ResponseCode.INVALID_STORAGE_ID
    other = tmp_path / "other"
    other.mkdir()
    o = store.add_storage(other)
    (other / "f").mkdir()
    f = store.children(o.id)[0]
    with pytest.raises(StoreError) as ei:
        store.move(objs["a.txt"].handle, s.id, f.handle)
    assert code_of(ei) is ResponseCode.INVALID_PARENT_OBJECT
    assert (served / "docs" / "a.txt").exists()


def test_move_source_vanished(store: ObjectStore, served: Path) -> None:
    (served / "f.txt").write_text("x")
    (served / "d").mkdir()
    s = store.add_storage(served)
    objs = by_name(store.children(s.id))
    (served / "f.txt").unlink()
    with pytest.raises(StoreError) as ei:
        store.move(objs["f.txt"].handle, s.id, objs["d"].handle)
    assert code_of(ei) is ResponseCode.INVALID_OBJECT_HANDLE


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs a second file system")
def test_move_across_file_systems(store: ObjectStore, served: Path) -> None:
    make_tree(served)
    shm = Path(os.path.realpath("/dev/shm"))
    if os.stat(shm).st_dev == os.stat(served).st_dev:
        pytest.skip("/dev/shm is on the same file system")
    with __import__("tempfile").TemporaryDirectory(dir=shm) as other_dir:
        other = Path(other_dir)
        s, o = store.add_storage(served), store.add_storage(other)
        objs = by_name(store.all_objects(s.id))
        moved = store.move(objs["docs"].handle, o.id, ROOT)
        assert moved.handle == objs["docs"].handle and moved.puid == objs["docs"].puid
        assert not (served / "docs").exists()
        assert (other / "docs" / "deep" / "deeper" / "c.bin").read_bytes() == b"c" * 10
        assert sorted(os.listdir(other)) == ["docs"]
        assert store.read(objs["b.jpg"].handle) == b"\xff\xd8jpeg"
        back = store.move(objs["top.mp3"].handle, o.id, objs["deeper"].handle)
        assert back.storage_id == o.id
        assert (other / "docs" / "deep" / "deeper" / "top.mp3").read_bytes() == b"ID3"


def test_copy_file_and_folder(store: ObjectStore, tmp_path: Path, served: Path) -> None:
    make_tree(served)
    other = tmp_path / "other"
    other.mkdir()
    s, o = store.add_storage(served), store.add_storage(other)
    objs = by_name(store.all_objects(s.id))
    seen: list[StoreEvent] = []
    store.subscribe(seen.append)
    c = store.copy(objs["docs"].handle, o.id, ROOT)
    assert c.handle not in {x.handle for x in objs.values()}
    assert c.puid != objs["docs"].puid and c.storage_id == o.id and c.is_folder
    assert (other / "docs" / "deep" / "deeper" / "c.bin").read_bytes() == b"c" * 10
    assert (served / "docs" / "deep" / "deeper" / "c.bin").read_bytes() == b"c" * 10
    assert (
        os.stat(other / "docs" / "a.txt").st_mtime_ns
        == os.stat(served / "docs" / "a.txt").st_mtime_ns
    )
    assert seen == [
        StoreEvent(StoreEventKind.OBJECT_ADDED, c.handle),
        StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, o.id),
    ]
    copied = by_name(store.all_objects(o.id))
    assert set(copied) == {"docs", "a.txt", "deep", "b.jpg", "deeper", "c.bin"}
    assert not {x.puid for x in copied.values()} & {x.puid for x in objs.values()}
    f = store.copy(objs["top.mp3"].handle, s.id, objs["deeper"].handle)
    assert store.read(f.handle) == b"ID3" and f.parent == objs["deeper"].handle
    with pytest.raises(NameExistsError):
        store.copy(objs["top.mp3"].handle, s.id, objs["deeper"].handle)
    # A folder copied into itself: the copy in progress is hidden, so it is not copied again.
    inner = store.copy(objs["deep"].handle, s.id, objs["deep"].handle)
    assert sorted(os.listdir(served / "docs" / "deep" / "deep")) == ["b.jpg", "deeper"]
    assert inner.parent == objs["deep"].handle
    assert [n for n in os.listdir(served / "docs" / "deep") if n.startswith(".")] == []


def test_failed_copy_leaves_nothing(
    store: ObjectStore, tmp_path: Path, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(served)
    other = tmp_path / "other"
    other.mkdir()
    s, o = store.add_storage(served), store.add_storage(other)
    docs = by_name(store.children(s.id))["docs"]
    real_copy = fsops.copy_data
    calls = []

    def copy_that_fills_the_disk(src, dst):  # type: ignore[no-untyped-def]
        # Fault injection: a disk that fills up after the first file (cannot be staged for real).
        calls.append(src)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst)

    monkeypatch.setattr(fsops, "copy_data", copy_that_fills_the_disk)
    with pytest.raises(StoreError) as ei:
        store.copy(docs.handle, o.id, ROOT)
    assert ei.value.code is ResponseCode.STORE_FULL
    assert os.listdir(other) == []
    assert store.children(o.id) == []
    monkeypatch.setattr(fsops, "copy_data", real_copy)
    assert store.copy(docs.handle, o.id, ROOT).name == "docs"  # the name was released


def test_copy_loses_the_race_for_its_name(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (served / "f.txt").write_text("data")
    (served / "d").mkdir()
    s = store.add_storage(served)
    objs = by_name(store.children(s.id))
    real_copy = fsops.copy_data

    def copy_then_someone_creates_the_name(src, dst):  # type: ignore[no-untyped-def]
        # Another program creates the destination name while the data is being copied.
        real_copy(src, dst)
        (served / "d" / "f.txt").write_text("theirs")

    monkeypatch.setattr(fsops, "copy_data", copy_then_someone_creates_the_name)
    with pytest.raises(NameExistsError):
        store.copy(objs["f.txt"].handle, s.id, objs["d"].handle)
    assert os.listdir(served / "d") == ["f.txt"]
    assert (served / "d" / "f.txt").read_text() == "theirs"


def test_copy_destination_deleted_meanwhile(
    store: ObjectStore, served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (served / "f.txt").write_text("data")
    (served / "d").mkdir()
    s = store.add_storage(served)
    objs = by_name(store.children(s.id))
    real_copy = fsops.copy_data

    def copy_then_the_folder_is_deleted(src, dst):  # type: ignore[no-untyped-def]
        real_copy(src, dst)
        monkeypatch.setattr(fsops, "copy_data", real_copy)
        store.delete(objs["d"].handle)  # another session deletes the destination

    monkeypatch.setattr(fsops, "copy_data", copy_then_the_folder_is_deleted)
    with pytest.raises(StoreError) as ei:
        store.copy(objs["f.txt"].handle, s.id, objs["d"].handle)
    assert ei.value.code is ResponseCode.INVALID_PARENT_OBJECT
    assert sorted(os.listdir(served)) == ["f.txt"]


def test_set_mtime(store: ObjectStore, served: Path) -> None:
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    when = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    new = store.set_mtime(h, when)
    assert new.mtime == when
    assert os.stat(served / "f.txt").st_mtime == when.timestamp()
    assert store.get(h).mtime == when
    naive = datetime(2010, 1, 1, 12, 0, 0)  # local time
    assert store.set_mtime(h, naive).mtime.timestamp() == naive.timestamp()
    (served / "f.txt").unlink()
    with pytest.raises(StoreError) as ei:
        store.set_mtime(h, when)
    assert ei.value.code is ResponseCode.INVALID_OBJECT_HANDLE


# -- read-only storages -----------------------------------------------------------------------


def test_read_only_storage_refuses_every_change(
    store: ObjectStore, tmp_path: Path, served: Path
) -> None:
    make_tree(served)
    rw = tmp_path / "rw"
    rw.mkdir()
    s = store.add_storage(served, "RO", read_only=True)
    w = store.add_storage(rw)
    objs = by_name(store.all_objects(s.id))
    snapshot = sorted(str(p.relative_to(served)) for p in served.rglob("*"))
    a, docs = objs["a.txt"].handle, objs["docs"].handle
    for call in (
        lambda: store.begin_create(s.id, ROOT, "new.txt", 1),
        lambda: store.create_folder(s.id, docs, "newdir"),
        lambda: store.delete(a),
        lambda: store.delete(docs),
        lambda: store.rename(a, "b.txt"),
        lambda: store.move(a, s.id, ROOT),
        lambda: store.move(a, w.id, ROOT),
        lambda: store.copy(a, s.id, ROOT),
        lambda: store.set_mtime(a, datetime.now(UTC)),
        lambda: store.open_for_edit(a),
    ):
        with pytest.raises(StoreError) as ei:
            call()
        assert ei.value.code is ResponseCode.STORE_READ_ONLY
    assert sorted(str(p.relative_to(served)) for p in served.rglob("*")) == snapshot
    # Reading and copying out are fine.
    assert store.read(a) == b"alpha"
    assert store.copy(a, w.id, ROOT).name == "a.txt"
    with pytest.raises(StoreError) as ei:
        store.move(store.children(w.id)[0].handle, s.id, ROOT)
    assert ei.value.code is ResponseCode.STORE_READ_ONLY


# -- events and lifecycle ---------------------------------------------------------------------


def test_subscribers(store: ObjectStore, served: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = store.add_storage(served)
    got: list[StoreEvent] = []

    def broken(event: StoreEvent) -> None:
        raise RuntimeError("subscriber bug")

    store.subscribe(broken)
    unsubscribe = store.subscribe(got.append)
    folder = store.create_folder(s.id, ROOT, "d")
    assert got == [
        StoreEvent(StoreEventKind.OBJECT_ADDED, folder.handle),
        StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, s.id),
    ]
    assert "subscriber failed" in caplog.text
    unsubscribe()
    unsubscribe()
    store.create_folder(s.id, ROOT, "e")
    assert len(got) == 2


def test_closed_store_refuses_work(tmp_path: Path, served: Path) -> None:
    st = ObjectStore(state_dir=tmp_path / "state")
    s = st.add_storage(served)
    st.close()
    st.close()
    with pytest.raises(StoreError) as ei:
        st.children(s.id)
    assert ei.value.code is ResponseCode.STORE_NOT_AVAILABLE


def test_handles_run_out_cleanly(store: ObjectStore, served: Path) -> None:
    (served / "a").write_text("a")
    s = store.add_storage(served)
    store._next_handle = 0xFFFFFFFE  # white-box: jump to the end of the handle space
    with pytest.raises(StoreError) as ei:
        store.children(s.id)
        store.create_folder(s.id, ROOT, "b")
    assert ei.value.code is ResponseCode.GENERAL_ERROR
    assert {o.handle for o in store.children(s.id)} <= {0xFFFFFFFE}
