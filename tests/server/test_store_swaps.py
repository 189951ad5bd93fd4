"""A served folder that another program swaps for a symlink to an outside folder, after the
device listed it: no change the device makes may land outside (delete, move, copy, rename,
upload, edit, DateModified), whether the watcher has not yet reported the swap (within its
debounce) or no longer watches the folder at all (its watch was evicted). Real files, real
symlinks; the device over loopback for the wire's answer."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.server.device import VirtualDevice
from openwpd.server.store import ROOT, ObjectStore, StoredObject, StoreError, fsops

OUTSIDE_FILES = {"a.txt": b"outside a", "b.txt": b"outside b", "keep.txt": b"keep"}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    for name, data in OUTSIDE_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "deeper").mkdir()
    (folder / "deeper" / "c.txt").write_bytes(b"outside c")
    return folder


def outside_intact(outside: Path) -> None:
    assert sorted(os.listdir(outside)) == sorted([*OUTSIDE_FILES, "deeper"])
    for name, data in OUTSIDE_FILES.items():
        assert (outside / name).read_bytes() == data
    assert os.listdir(outside / "deeper") == ["c.txt"]


def swap(served: Path, name: str, outside: Path) -> None:
    """What the other program does: the listed folder goes, a symlink to outside takes its
    name."""
    shutil.rmtree(served / name)
    (served / name).symlink_to(outside, target_is_directory=True)


@pytest.fixture(params=["within-debounce", "watch-evicted"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    # within-debounce: the watcher runs but reports nothing for a minute; watch-evicted: one
    # watch only, taken over by another folder before the swap
    evicted = request.param == "watch-evicted"
    s = ObjectStore(
        tmp_path / "state",
        debounce=60.0,
        max_watched_folders=1 if evicted else 32,
        watch_trees=not evicted,  # evicted: the per-folder watches, as when a tree does not fit
    )
    s.start_watching()
    s.evict = evicted  # type: ignore[attr-defined]
    yield s
    s.close()


def listed(store: ObjectStore, served: Path) -> dict[str, StoredObject]:
    """Serve ``served`` (sub/ with a.txt, b.txt and deeper/c.txt; other/; f.txt), list it all,
    and in the watch-evicted case list ``other`` last so that ``sub`` loses its watch."""
    (served / "sub" / "deeper").mkdir(parents=True)
    (served / "sub" / "a.txt").write_bytes(b"mine a")
    (served / "sub" / "b.txt").write_bytes(b"mine b")
    (served / "sub" / "deeper" / "c.txt").write_bytes(b"mine c")
    (served / "other").mkdir()
    (served / "f.txt").write_bytes(b"file")
    sid = store.add_storage(served).id
    objs = {o.name: o for o in store.children(sid)}
    for o in store.children(sid, objs["sub"].handle):
        objs[o.name] = o
    objs["c.txt"] = store.children(sid, objs["deeper"].handle)[0]
    if store.evict:  # type: ignore[attr-defined]
        store.children(sid, objs["other"].handle)
        assert store._watcher is not None and set(store._watcher.watched()) == {
            objs["other"].handle
        }
    return objs


#: what the device may answer: the swap is refused, or -- once the device has looked at the
#: folder again and dropped it -- the object or the destination folder is gone
REFUSALS = (
    ResponseCode.ACCESS_DENIED,
    ResponseCode.INVALID_OBJECT_HANDLE,
    ResponseCode.INVALID_PARENT_OBJECT,
)


def refused(call: Callable[[], object]) -> None:
    with pytest.raises(StoreError) as ei:
        call()
    assert ei.value.code in REFUSALS, ei


def test_delete_of_a_swapped_folder_leaves_the_outside_alone(
    store: ObjectStore, served: Path, outside: Path
) -> None:
    objs = listed(store, served)
    swap(served, "sub", outside)
    refused(lambda: store.delete(objs["sub"].handle))
    refused(lambda: store.delete(objs["a.txt"].handle))
    refused(lambda: store.delete(objs["c.txt"].handle))
    refused(lambda: store.delete(objs["deeper"].handle))
    outside_intact(outside)
    assert (served / "sub").is_symlink()


def test_changes_in_or_through_a_swapped_folder_are_refused(
    store: ObjectStore, served: Path, outside: Path
) -> None:
    objs = listed(store, served)
    sid = objs["f.txt"].storage_id
    upload = store.begin_create(sid, objs["sub"].handle, "up.txt", 4)
    upload.write(b"data")
    folder_upload = store.begin_create(sid, objs["sub"].handle, "newdir", is_folder=True)
    edit = store.open_for_edit(objs["a.txt"].handle)
    edit.write_at(0, b"EDIT")
    swap(served, "sub", outside)
    for name in ("a.txt", "deeper", "keep.txt"):  # the outside names the attacker lines up
        assert (served / "sub" / name).exists()
    sub, a, deeper = objs["sub"].handle, objs["a.txt"].handle, objs["deeper"].handle
    refused(upload.commit)
    refused(folder_upload.commit)
    refused(edit.commit)
    refused(lambda: store.begin_create(sid, sub, "x.txt", 1))
    refused(lambda: store.create_folder(sid, sub, "made"))
    refused(lambda: store.move(a, sid, ROOT))  # out of the swapped folder
    refused(lambda: store.move(deeper, sid, ROOT))
    refused(lambda: store.move(objs["f.txt"].handle, sid, sub))  # into it
    refused(lambda: store.copy(a, sid, ROOT))  # reading the outside file
    refused(lambda: store.copy(deeper, sid, objs["other"].handle))
    refused(lambda: store.copy(objs["f.txt"].handle, sid, sub))  # writing into it
    refused(lambda: store.rename(a, "renamed.txt"))
    refused(lambda: store.set_mtime(a, datetime(2000, 1, 1, tzinfo=UTC)))
    refused(lambda: store.set_mtime(deeper, datetime(2000, 1, 1, tzinfo=UTC)))
    refused(lambda: store.read(a))
    refused(lambda: store.open_for_edit(a))
    outside_intact(outside)
    assert os.stat(outside / "a.txt").st_mtime > datetime(2001, 1, 1, tzinfo=UTC).timestamp()
    assert sorted(os.listdir(served)) == ["f.txt", "other", "sub"]
    assert os.listdir(served / "other") == []


def test_a_folder_swapped_during_a_copy_gets_nothing(
    store: ObjectStore, served: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the copy runs without the store's lock: the destination is swapped while it runs
    objs = listed(store, served)
    real_copy = fsops.copy_data

    def copy_then_swap(src, dst):  # type: ignore[no-untyped-def]
        real_copy(src, dst)
        if (served / "other").is_dir() and not (served / "other").is_symlink():
            shutil.rmtree(served / "other")
            (served / "other").symlink_to(outside, target_is_directory=True)

    monkeypatch.setattr(fsops, "copy_data", copy_then_swap)
    sid = objs["f.txt"].storage_id
    # the copy was made in the folder that was opened (which the other program removed, with
    # the copy in it), never in the outside folder
    with pytest.raises(StoreError):
        store.copy(objs["f.txt"].handle, sid, objs["other"].handle)
    outside_intact(outside)


# -- over the wire -------------------------------------------------------------------------


async def test_delete_object_of_a_swapped_folder_over_the_wire(
    device: tuple[VirtualDevice, int], runner: TransactionRunner, served: Path, outside: Path
) -> None:
    # within the watcher's debounce: the device has not heard of the swap
    (served / "sub").mkdir()
    for name in OUTSIDE_FILES:
        (served / "sub" / name).write_bytes(b"mine")
    sid = device[0].store.storages[0].id
    top = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (sid, 0, ROOT))
    assert top.code == ResponseCode.OK and len(top.data) == 8  # sub only
    sub_handle = int.from_bytes(top.data[4:8], "little")
    kids = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (sid, 0, sub_handle))
    assert kids.code == ResponseCode.OK and len(kids.data) == 4 + 4 * len(OUTSIDE_FILES)
    swap(served, "sub", outside)
    res = await runner.transact(OperationCode.DELETE_OBJECT, (sub_handle,))
    assert res.code in (ResponseCode.ACCESS_DENIED, ResponseCode.INVALID_OBJECT_HANDLE)
    outside_intact(outside)
    # the session goes on
    assert (await runner.transact(OperationCode.GET_STORAGE_IDS, ())).code == ResponseCode.OK
