"""The store's temp files (store/tempfiles.py): nameless where Linux allows, hidden elsewhere."""

from __future__ import annotations

import errno
import os
import sys
import threading
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent

from openwpd.server.store import ROOT, ObjectStore, tempfiles
from openwpd.server.store.tempfiles import TempFile
from support import nameless_files

linux = pytest.mark.skipif(sys.platform != "linux", reason="O_TMPFILE is Linux's")


@linux
def test_a_nameless_file_gets_its_name_only_at_link_and_never_replaces_one(tmp_path: Path) -> None:
    temp = TempFile.create(tmp_path, "upload")
    assert temp.anonymous and os.listdir(tmp_path) == []
    temp.file.write(b"data")
    assert list(nameless_files(tmp_path).values()) == [0]  # still buffered
    (tmp_path / "taken").write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        temp.link_as(tmp_path / "taken")  # a link fails where a rename would have replaced
    assert (tmp_path / "taken").read_bytes() == b"someone else's"
    temp.link_as(tmp_path / "final")
    temp.close()
    assert sorted(os.listdir(tmp_path)) == ["final", "taken"]
    assert (tmp_path / "final").read_bytes() == b"data"
    assert nameless_files(tmp_path) == {}


@linux
def test_discarding_a_nameless_file_leaves_nothing(tmp_path: Path) -> None:
    temp = TempFile.create(tmp_path, "edit", readable=True)
    temp.file.write(b"x" * 4096)
    temp.file.flush()
    assert list(nameless_files(tmp_path).values()) == [4096]
    temp.discard()
    for thread in threading.enumerate():
        if thread.name == "openwpd-discard":
            thread.join(5)
    assert nameless_files(tmp_path) == {} and os.listdir(tmp_path) == []


def test_without_o_tmpfile_the_file_has_a_hidden_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def no_tmpfile(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if getattr(os, "O_TMPFILE", 0) and flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "not on this file system")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_tmpfile)
    temp = TempFile.create(tmp_path, "upload")
    assert temp.path is not None and temp.path.parent == tmp_path
    assert temp.path.name.startswith(".openwpd-upload-") and temp.path.name.endswith(".part")
    temp.file.write(b"data")
    temp.link_as(tmp_path / "final")
    temp.close()
    assert os.listdir(tmp_path) == ["final"]


def test_a_missing_folder_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TempFile.create(tmp_path / "gone", "upload")


@linux
def test_when_proc_cannot_link_the_probe_falls_back_to_hidden_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(tempfiles._probed, "linkable", raising=False)
    monkeypatch.setattr(tempfiles, "_PROC_FD", tmp_path / "no-proc")
    temp = TempFile.create(tmp_path, "upload")
    assert temp.path is not None and tempfiles._probed["linkable"] is False
    temp.discard()
    assert os.listdir(tmp_path) == []  # the probe left nothing either


@linux
def test_a_watched_folder_sees_nothing_of_an_upload_in_progress(tmp_path: Path) -> None:
    """The reason for nameless temp files: inotify woke the watcher's threads for every write
    of a named temp file in a watched folder (one per MiB of an upload)."""
    served = tmp_path / "served"
    served.mkdir()
    store = ObjectStore(state_dir=tmp_path / "state")
    try:
        s = store.add_storage(served)
        store.start_watching()
        store.children(s.id)  # listing a folder is what makes it watched
        watcher = store._watcher
        assert watcher is not None
        raw: list[tuple[str, str, bool]] = []
        real = watcher._on_fs_event

        def spy(event: FileSystemEvent) -> None:
            raw.append((event.event_type, os.fsdecode(event.src_path), event.is_directory))
            real(event)

        # the observer calls the handler given at schedule time, which calls this sink
        watcher._handler._sink = spy
        p = store.begin_create(s.id, ROOT, "big.bin", 8 << 20)
        for _ in range(8):
            p.write(os.urandom(1 << 20))
        canary = served / "canary"
        canary.write_bytes(b"")  # an event the watcher must see: everything before is in
        for _ in range(500):
            if ("created", str(canary), False) in raw:
                break
            threading.Event().wait(0.01)
        assert ("created", str(canary), False) in raw
        files_touched = {path for kind, path, is_dir in raw if not is_dir and path != str(canary)}
        assert files_touched == set(), raw  # nothing from the 8 writes
        p.commit()
        assert sorted(os.listdir(served)) == ["big.bin", "canary"]
    finally:
        store.close()
