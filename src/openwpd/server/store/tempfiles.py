"""The store's temporary files: nameless where the OS allows it, hidden names elsewhere.

An upload or an edit writes its data into a temporary file on the destination's file system
(so the last step is a link or a rename, never a copy). Where Linux can, that file is created
with ``O_TMPFILE``: it has no name until :meth:`TempFile.link_as` gives it its final one, and it
is made in the storage's work folder (:data:`WORK_DIR`, hidden, at the storage root; it exists
only for the few system calls that make the file: a nameless file is no entry of its folder),
not in the destination folder. So

* the folder watcher, which watches the folders initiators have listed, sees nothing of a
  transfer in progress. (inotify reports writes to a file -- a nameless one too -- to the watch
  on its folder; for a temp file in the destination folder that woke the watcher's threads for
  every write the transfer made, one per MiB, which cost about 15 % of upload throughput on two
  cores.)
* a device that crashes or is killed in the middle of a transfer leaves nothing behind: the
  kernel frees a nameless file when its last descriptor closes;
* giving the file its final name is a ``link``, which fails if the name was taken meanwhile
  instead of replacing what is there.

Where the destination is on another file system than the storage root (a mount point inside
the served folder), the nameless file is made in the destination folder itself. Elsewhere
(another OS, a file system without ``O_TMPFILE``, no ``/proc`` to link through) the file gets a
hidden name (:func:`.names.new_temp_name`) in the destination folder, which listings and the
watcher skip, and is renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from openwpd._files import discard

from .names import new_temp_name

_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_TMPFILE: int | None = getattr(os, "O_TMPFILE", None)
_PROC_FD = Path("/proc/self/fd")

#: the storage root's hidden folder nameless temp files are made in (matches
#: ``names.is_temp_name``, so it is never listed or watched); removed right after
WORK_DIR = ".openwpd-work.part"

#: "linkable": whether a nameless file can be given a name through /proc (probed once)
_probed: dict[str, bool] = {}


class TempFile:
    """An open temporary file in ``folder``: nameless (``path`` None) or hidden (``path``)."""

    def __init__(self, file: BinaryIO, path: Path | None) -> None:
        self.file = file
        self.path = path

    @property
    def anonymous(self) -> bool:
        return self.path is None

    @classmethod
    def create(
        cls, folder: Path, kind: str, *, readable: bool = False, dir_fd: int | None = None
    ) -> TempFile:
        """A new empty temp file in ``folder``, open for writing (and reading if
        ``readable``). ``kind`` names the hidden file where one is needed
        (``.openwpd-KIND-....part``). ``dir_fd``: an open descriptor of ``folder``, which the
        file is then made in (whatever ``folder``'s path leads to by now). Raises OSError."""
        access = os.O_RDWR if readable else os.O_WRONLY
        path: Path | None = None
        fd = _open_nameless(folder, access, dir_fd)
        if fd is None:
            path = folder / new_temp_name(kind)
            flags = access | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_NOFOLLOW
            fd = os.open(path if dir_fd is None else path.name, flags, 0o666, dir_fd=dir_fd)
        return cls(os.fdopen(fd, "r+b") if readable else os.fdopen(fd, "wb"), path)

    @classmethod
    def create_for(
        cls,
        folder: Path,
        root: Path,
        kind: str,
        *,
        readable: bool = False,
        dir_fd: int | None = None,
    ) -> TempFile:
        """A new empty temp file for data that will land in ``folder`` of the storage at
        ``root``: nameless in the root's work folder where that can be linked into ``folder``
        (same file system), else as :meth:`create` (``dir_fd`` as there). Raises OSError."""
        # a folder the data cannot land in (read-only, immutable) fails now, in create()
        work = _work_dir(root, folder, dir_fd) if os.access(folder, os.W_OK) else None
        if work is not None:
            try:
                fd = _open_nameless(work, os.O_RDWR if readable else os.O_WRONLY)
            except OSError:
                fd = None  # e.g. another device serving this folder removed the work folder
            finally:
                # a nameless file is no entry of its folder: the folder can go at once, and
                # nothing is left in the served tree, even for a moment longer than this call
                with contextlib.suppress(OSError):
                    os.rmdir(work)
            if fd is not None:
                return cls(os.fdopen(fd, "r+b") if readable else os.fdopen(fd, "wb"), None)
        return cls.create(folder, kind, readable=readable, dir_fd=dir_fd)

    def link_as(self, final: Path, *, dir_fd: int | None = None) -> None:
        """Give the data the name ``final``, which must be free (FileExistsError if a nameless
        file finds it taken; a hidden file is renamed, so the caller checks first). The file
        stays open; buffered data is flushed first. ``dir_fd``: an open descriptor of
        ``final``'s folder (a hidden file must be in it), which the name is then made in."""
        self.file.flush()
        if self.path is None:
            _link_fd(self.file.fileno(), final, dir_fd)
        elif dir_fd is None:
            os.rename(self.path, final)
        else:
            os.rename(self.path.name, final.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        self.path = final

    def close(self) -> None:
        self.file.close()

    def discard(self, *elsewhere: Path) -> None:
        """Close and delete (the page cache is freed on a short thread; see ``_files``). A
        hidden file is looked for at ``elsewhere`` first (its folder may have moved)."""
        if self.path is None:
            discard(self.file)
        else:
            discard(self.file, *elsewhere, self.path)


def _work_dir(root: Path, folder: Path, dir_fd: int | None = None) -> Path | None:
    """The root's work folder (made if missing), if nameless files can be made there and linked
    into ``folder``; else None."""
    if _O_TMPFILE is None or _probed.get("linkable") is False:
        return None
    work = root / WORK_DIR
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(work, 0o700)
        info = os.lstat(work)
        dev = os.stat(folder).st_dev if dir_fd is None else os.fstat(dir_fd).st_dev
        if not stat.S_ISDIR(info.st_mode) or info.st_dev != dev:
            return None  # something else by that name, or folder is another file system
    except OSError:
        return None
    return work


def _open_nameless(folder: Path, access: int, dir_fd: int | None = None) -> int | None:
    """A nameless file in ``folder`` (or in the open folder ``dir_fd``: its descriptor), or
    None where that is not possible."""
    if _O_TMPFILE is None or _probed.get("linkable") is False:
        return None
    try:
        if dir_fd is None:
            fd = os.open(folder, _O_TMPFILE | access | _O_BINARY, 0o666)
        else:
            fd = os.open(".", _O_TMPFILE | access | _O_BINARY, 0o666, dir_fd=dir_fd)
    except OSError as exc:
        # EOPNOTSUPP/EISDIR/EINVAL: this file system (or kernel) has no O_TMPFILE; anything
        # else (a missing folder, no permission) will fail the same way for a named file
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC):
            raise
        return None
    if "linkable" not in _probed:
        _probed["linkable"] = _probe_link(folder, dir_fd)
        if not _probed["linkable"]:
            os.close(fd)
            return None
    return fd


def _link_fd(fd: int, path: Path, dir_fd: int | None = None) -> None:
    """``linkat(AT_SYMLINK_FOLLOW)`` of /proc/self/fd/FD: gives the open file ``fd`` the name
    ``path`` (``path.name`` in the open folder ``dir_fd`` if given). (``os.link`` makes that
    call only when given a directory descriptor; without one it calls ``link()``, which links
    the /proc symlink itself and fails with EXDEV.)"""
    proc_fd = os.open(_PROC_FD, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        dst = path if dir_fd is None else path.name
        os.link(str(fd), dst, src_dir_fd=proc_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
    finally:
        os.close(proc_fd)


def _probe_link(folder: Path, dir_fd: int | None = None) -> bool:
    """Once per process: can a nameless file be given a name through /proc? (With a file of
    its own: a nameless file can be linked only once.)"""
    assert _O_TMPFILE is not None
    probe = folder / new_temp_name("probe")
    try:
        if dir_fd is None:
            fd = os.open(folder, _O_TMPFILE | os.O_WRONLY, 0o600)
        else:
            fd = os.open(".", _O_TMPFILE | os.O_WRONLY, 0o600, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        _link_fd(fd, probe, dir_fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe if dir_fd is None else probe.name, dir_fd=dir_fd)
    return True


__all__ = ["WORK_DIR", "TempFile"]
