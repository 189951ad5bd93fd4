"""ObjectStore under real OS failures: immutable files (chattr), file-size limits (RLIMIT_FSIZE),
failed cross-file-system moves, and odd watcher batches. Nothing here is mocked."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from openwpd.protocol.codes import ResponseCode
from openwpd.server.store import ROOT, ObjectStore, StoreError, StoreEvent
from openwpd.server.store.fsops import Folder, move_across


def _chattr(flag: str, path: Path) -> bool:
    try:
        return (
            subprocess.run(["chattr", flag, str(path)], check=False, capture_output=True).returncode
            == 0
        )
    except FileNotFoundError:
        return False


@pytest.fixture
def immutable() -> Iterator:  # type: ignore[type-arg]
    """Make paths immutable (chattr +i) for the test; always undone afterwards."""
    done: list[Path] = []

    def make(path: Path) -> None:
        if not _chattr("+i", path):
            pytest.skip("needs chattr +i (immutable files) on this file system")
        done.append(path)

    yield make
    for path in reversed(done):
        _chattr("-i", path)


@pytest.fixture
def small_file_limit() -> Iterator[int]:
    """RLIMIT_FSIZE of 64 KiB: larger writes fail with EFBIG instead of killing us (SIGXFSZ)."""
    limit = 64 * 1024
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def test_immutable_folder_and_file(store: ObjectStore, served: Path, immutable) -> None:  # type: ignore[no-untyped-def]
    (served / "locked").mkdir()
    (served / "locked" / "f.txt").write_text("x")
    (served / "frozen.txt").write_text("frozen")
    s = store.add_storage(served)
    objs = {o.name: o for o in store.children(s.id)}
    inner = store.children(s.id, objs["locked"].handle)[0]
    immutable(served / "locked")
    immutable(served / "frozen.txt")
    with pytest.raises(StoreError) as ei:
        store.begin_create(s.id, objs["locked"].handle, "new.txt", 1)
    assert ei.value.code is ResponseCode.ACCESS_DENIED
    with pytest.raises(StoreError) as ei:
        store.rename(inner.handle, "g.txt")
    assert ei.value.code is ResponseCode.ACCESS_DENIED
    with pytest.raises(StoreError) as ei:
        store.open_for_edit(objs["frozen.txt"].handle)
    assert ei.value.code is ResponseCode.OBJECT_WRITE_PROTECTED
    with pytest.raises(StoreError) as ei:
        store.set_mtime(objs["frozen.txt"].handle, datetime(2000, 1, 1, tzinfo=UTC))
    assert ei.value.code is ResponseCode.ACCESS_DENIED
    with pytest.raises(StoreError) as ei:
        store.move(objs["frozen.txt"].handle, s.id, objs["locked"].handle)
    assert ei.value.code is ResponseCode.ACCESS_DENIED
    assert os.listdir(served / "locked") == ["f.txt"]
    assert (served / "frozen.txt").read_text() == "frozen"


def test_upload_write_fails_for_real(
    store: ObjectStore, served: Path, small_file_limit: int
) -> None:
    s = store.add_storage(served)
    p = store.begin_create(s.id, ROOT, "big.bin", None)
    with pytest.raises(StoreError) as ei:
        p.write(b"x" * (4 * small_file_limit))
    assert ei.value.code is ResponseCode.GENERAL_ERROR
    assert not p.is_open
    assert os.listdir(served) == []


def test_edit_truncate_fails_for_real(
    store: ObjectStore, served: Path, small_file_limit: int
) -> None:
    (served / "f.bin").write_bytes(b"abc")
    s = store.add_storage(served)
    e = store.open_for_edit(store.children(s.id)[0].handle)
    with pytest.raises(StoreError) as ei:
        e.truncate(4 * small_file_limit)
    assert ei.value.code is ResponseCode.GENERAL_ERROR
    assert not e.is_open
    assert os.listdir(served) == ["f.bin"]
    assert (served / "f.bin").read_bytes() == b"abc"


def test_commit_of_a_file_replaced_by_a_fifo(store: ObjectStore, served: Path) -> None:
    (served / "f.txt").write_text("x")
    s = store.add_storage(served)
    h = store.children(s.id)[0].handle
    (served / "f.txt").unlink()
    os.mkfifo(served / "f.txt")  # another program swaps in something the store never serves
    with pytest.raises(StoreError) as ei:
        store.set_mtime(h, datetime(2000, 1, 1, tzinfo=UTC))
    assert ei.value.code is ResponseCode.GENERAL_ERROR


def test_move_across_cleans_up_after_itself(tmp_path: Path, immutable) -> None:  # type: ignore[no-untyped-def]
    src_dir, dst_dir = tmp_path / "src", tmp_path / "dst"
    (src_dir / "tree" / "sub").mkdir(parents=True)
    (src_dir / "tree" / "sub" / "x.txt").write_text("x")
    (src_dir / "clash").mkdir()
    (src_dir / "clash" / "tree").write_text("in the way")
    dst_dir.mkdir()
    with Folder.at(tmp_path, ["src"]) as src, Folder.at(tmp_path, ["dst"]) as dst:
        # The copy cannot be put in place (a file has the name): the source stays, no temp
        # is left.
        with Folder.at(tmp_path, ["src", "clash"]) as clash, pytest.raises(OSError):
            move_across(src, "tree", clash)
        assert sorted(os.listdir(src_dir / "clash")) == ["tree"]
        assert (src_dir / "tree" / "sub" / "x.txt").exists()
        # The source cannot be deleted: the copy is removed again, exactly one survives.
        immutable(src_dir / "tree" / "sub" / "x.txt")
        with pytest.raises(OSError):
            move_across(src, "tree", dst)
    assert os.listdir(dst_dir) == []
    assert (src_dir / "tree" / "sub" / "x.txt").read_text() == "x"


def test_fs_helpers(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    with Folder.at(tmp_path, []) as folder:
        assert folder.same_entry("a", "a")
        assert not folder.same_entry("a", "missing")
        folder.remove_any("missing")
        with pytest.raises(OSError):
            folder.remove_any("missing", strict=True)


def test_watcher_batches_outside_listed_folders_are_ignored(
    store: ObjectStore, served: Path
) -> None:
    (served / "listed" / "unlisted").mkdir(parents=True)
    s = store.add_storage(served)
    listed = store.children(s.id)[0]
    store.children(s.id, listed.handle)  # "unlisted" is known but not listed
    got: list[StoreEvent] = []
    store.subscribe(got.append)
    (served / "listed" / "unlisted" / "x").write_text("x")
    store._on_disk_batch(
        {
            "/definitely/not/served": {"x"},
            str(served.resolve() / "nope" / "deeper"): {"x"},
            str(served.resolve() / "listed" / "unlisted"): {"x"},
        }
    )
    assert got == []
    store.close()
    store._on_disk_batch({str(served.resolve()): {"listed"}})  # after close: ignored
    assert got == []


def test_watching_with_folders_that_vanish(store: ObjectStore, served: Path) -> None:
    store._watch_trees = False  # the per-folder watches (a tree too big to watch whole)
    (served / "a").mkdir()
    (served / "b").mkdir()
    (served / "b" / "f").write_text("f")
    s = store.add_storage(served)
    objs = {o.name: o for o in store.children(s.id)}
    store.children(s.id, objs["b"].handle)  # listed before watching
    store.start_watching()
    (served / "a").rmdir()
    with pytest.raises(StoreError) as ei:
        store.children(s.id, objs["a"].handle)
    assert ei.value.code is ResponseCode.INVALID_OBJECT_HANDLE
    assert store._watcher is not None and objs["a"].handle not in store._watcher.watched()
    # A listed, unwatched folder that vanished keeps what was known until its parent says so.
    (served / "b" / "f").unlink()
    (served / "b").rmdir()
    assert [o.name for o in store.children(s.id, objs["b"].handle)] == ["f"]
    # all_objects re-scans unwatched folders without adding watches.
    (served / "c").mkdir()
    names = {o.name for o in store.all_objects(s.id)}
    assert "c" in names and "a" not in names


def test_renaming_a_watched_folder_drops_its_watch(store: ObjectStore, served: Path) -> None:
    store._watch_trees = False  # the per-folder watches (a tree too big to watch whole)
    (served / "d" / "e").mkdir(parents=True)
    s = store.add_storage(served)
    store.start_watching()
    d = store.children(s.id)[0]
    e = store.children(s.id, d.handle)[0]
    store.children(s.id, e.handle)
    assert store._watcher is not None
    assert set(store._watcher.watched()) == {-s.id, d.handle, e.handle}
    store.rename(d.handle, "d2")
    assert store._watcher.watched() == [-s.id]
    assert store.children(s.id, e.handle) == []
    assert set(store._watcher.watched()) == {-s.id, e.handle}
