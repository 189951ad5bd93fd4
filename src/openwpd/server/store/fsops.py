"""File-system changes made through open folders, so no symlink planted by another program can
turn them outside the served tree; and copies and moves that leave nothing behind on failure.

Why descriptors. The store knows an object by its cached path (the names of its folders from
the storage root down). Checking that path with ``realpath`` and then changing it leaves a gap:
another program may replace a listed folder by a symlink to an outside folder between the check
(or the last listing) and the change, and ``unlink(served/sub/file)`` then deletes the outside
file. A :class:`Folder` is instead opened one name at a time from the storage root, each with
``O_DIRECTORY | O_NOFOLLOW`` relative to the folder above, and every change names an entry *of
that open folder* (``dir_fd=``): whatever is swapped later, the change happens in the folder
that was opened, which lies inside the storage, or fails. Folders are deleted with
``shutil.rmtree(name, dir_fd=...)``, which walks by descriptors too and refuses symlinks.

Symlinks to files inside the storage are served (see :mod:`.scan`); opening one follows it, and
the file actually opened is then checked to lie inside the storage root (its path is read back
from ``/proc/self/fd``; elsewhere its resolved path is checked again).

Where the OS has no ``dir_fd`` support (Windows), the same calls work on full paths after a
``realpath`` check -- a re-check at the moment of the change rather than a descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from openwpd._files import unlink

from .names import is_servable, new_temp_name
from .scan import is_inside

_O_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_O_BINARY: int = getattr(os, "O_BINARY", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)

#: whether folders can be held open and changed through descriptors (every POSIX system here)
DIR_FDS: bool = (
    bool(_O_DIRECTORY and _O_NOFOLLOW)
    and {os.open, os.unlink, os.rename, os.mkdir, os.stat, os.utime} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
    and shutil.rmtree.avoids_symlink_attacks  # it walks by descriptors too
)
_PROC_FD = Path("/proc/self/fd")


def _outside(name: str | Path) -> OSError:
    # ELOOP: what O_NOFOLLOW reports for a symlink; errors.from_os_error answers ACCESS_DENIED
    return OSError(errno.ELOOP, "a symbolic link or a path leading outside the storage", str(name))


class Folder:
    """A served folder held open (a descriptor) for changes to its entries.

    Open one with :meth:`at` (from the storage root) or :meth:`subfolder`; close it (it is a
    context manager). Names passed to the methods are single entries of this folder.
    Following a symlink is refused (``OSError`` ELOOP, answered ``ACCESS_DENIED``), except for
    opening a file through a symlink whose target is checked to lie inside the storage.
    """

    def __init__(self, path: Path, root: str, fd: int | None) -> None:
        self.path = path  # for messages and the descriptor-less fallback only
        self.root = root
        self.fd = fd
        self._closed = False

    @classmethod
    def at(cls, root: Path, parts: list[str]) -> Folder:
        """The folder ``root/parts...``; ``root`` is the storage's real path. Raises OSError
        (ELOOP if a component is a symlink or leads outside the storage)."""
        if not DIR_FDS:
            path = root.joinpath(*parts)
            if not is_inside(os.path.realpath(path), str(root)):
                raise _outside(path)
            return cls(path, str(root), None)
        # the root is a resolved path: a symlink there now was put there since
        flags = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
        try:
            fd = os.open(root, flags)
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.ELOOP) and os.path.islink(root):
                raise _outside(root) from exc
            raise
        folder = cls(root, str(root), fd)
        try:
            for part in parts:
                nxt = folder.subfolder(part)
                folder.close()
                folder = nxt
        except BaseException:
            folder.close()
            raise
        return folder

    def subfolder(self, name: str) -> Folder:
        """The folder ``name`` of this one, never through a symlink."""
        self._live()
        path = self.path / name
        if self.fd is None:
            if os.path.islink(path) or not is_inside(os.path.realpath(path), self.root):
                raise _outside(path)
            return Folder(path, self.root, None)
        try:
            fd = os.open(
                name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=self.fd
            )
        except OSError as exc:
            # O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR on Linux, ELOOP elsewhere
            if exc.errno in (errno.ENOTDIR, errno.ELOOP) and self.is_link(name):
                raise _outside(path) from exc
            raise
        return Folder(path, self.root, fd)

    def _live(self) -> None:
        if self._closed:
            raise ValueError(f"folder {self.path} is closed")

    def close(self) -> None:
        # a closed folder is not the path-based fallback: every later call fails (_at)
        self._closed = True
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Folder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _at(self, name: str) -> tuple[str, int | None]:
        """What to hand to an ``os`` call for entry ``name``: (name, dir_fd) or (path, None)."""
        self._live()
        if self.fd is None:
            return str(self.path / name), None
        return name, self.fd

    # -- looking ---------------------------------------------------------------------------

    def lstat(self, name: str) -> os.stat_result:
        p, d = self._at(name)
        return os.stat(p, dir_fd=d, follow_symlinks=False)

    def stat(self, name: str) -> os.stat_result:
        """``stat`` of entry ``name``, following a symlink (reading only)."""
        p, d = self._at(name)
        return os.stat(p, dir_fd=d)

    def writable(self, name: str) -> bool:
        """Whether this process may write entry ``name`` (``access(W_OK)``)."""
        p, d = self._at(name)
        return os.access(p, os.W_OK, dir_fd=d)

    def check_name(self, name: str) -> None:
        """OSError (ENAMETOOLONG, EINVAL, EILSEQ...) if this folder's file system cannot hold
        an entry ``name`` -- more bytes than its NAME_MAX, or a name it refuses to look up --
        found without creating anything."""
        self._live()
        try:
            limit = (
                os.fpathconf(self.fd, "PC_NAME_MAX")
                if self.fd is not None
                else os.pathconf(self.path, "PC_NAME_MAX")
            )
        except (OSError, ValueError):
            limit = -1
        if 0 < limit < len(os.fsencode(name)):
            raise OSError(errno.ENAMETOOLONG, f"more than {limit} bytes", name)
        with contextlib.suppress(FileNotFoundError):
            self.lstat(name)

    def lexists(self, name: str) -> bool:
        try:
            self.lstat(name)
        except OSError:  # as os.path.lexists (a name too long is no entry either)
            return False
        return True

    def is_link(self, name: str) -> bool:
        try:
            return stat.S_ISLNK(self.lstat(name).st_mode)
        except OSError:
            return False

    def same_entry(self, a: str, b: str) -> bool:
        """Whether names ``a`` and ``b`` are one file (a case-only rename on a case-insensitive
        file system)."""
        try:
            sa, sb = self.lstat(a), self.lstat(b)
        except OSError:
            return False
        return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)

    def entries(self) -> list[tuple[str, bool]]:
        """(name, is_folder) of the served entries: folders, regular files and symlinks to
        regular files inside the storage; sorted by name."""
        self._live()
        found: list[tuple[str, bool]] = []
        target: int | str = self.fd if self.fd is not None else str(self.path)
        with os.scandir(target) as it:
            for de in it:
                if not is_servable(de.name):
                    continue
                try:
                    mode = de.stat(follow_symlinks=False).st_mode
                except OSError:
                    continue
                if stat.S_ISDIR(mode):
                    found.append((de.name, True))
                elif stat.S_ISREG(mode) or (stat.S_ISLNK(mode) and self._serves_link(de.name)):
                    found.append((de.name, False))
        found.sort()
        return found

    def _serves_link(self, name: str) -> bool:
        # as scan.classify: a symlink to a regular file inside the storage (checked again when
        # the file is opened)
        try:
            p, d = self._at(name)
            if not stat.S_ISREG(os.stat(p, dir_fd=d).st_mode):
                return False
        except OSError:
            return False
        return is_inside(os.path.realpath(self._resolvable(name)), self.root)

    def _resolvable(self, name: str) -> Path:
        # a path of entry ``name`` that resolves from where this folder really is now: through
        # /proc on Linux (its cached path may have been renamed or swapped since)
        if self.fd is not None and _PROC_FD.is_dir():
            return _PROC_FD / str(self.fd) / name
        return self.path / name

    # -- opening ---------------------------------------------------------------------------

    def open(self, name: str, flags: int, mode: int = 0o666) -> int:
        """A descriptor for file ``name``. A symlink is followed only for reading or writing an
        existing file, and only if the file it reaches lies inside the storage. Only regular
        files are opened (a FIFO planted meanwhile would block; OSError EINVAL)."""
        p, d = self._at(name)
        base = flags | _O_CLOEXEC | _O_BINARY | _O_NONBLOCK
        try:
            fd = os.open(p, base | _O_NOFOLLOW, mode, dir_fd=d)
        except OSError as exc:
            if flags & os.O_CREAT or not self.is_link(name):
                raise
            fd = os.open(p, base, mode, dir_fd=d)
            try:
                if not is_inside(_real_path_of(fd, self._resolvable(name)), self.root):
                    raise _outside(self.path / name) from exc
            except BaseException:
                os.close(fd)
                raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(self.path / name))
            if _O_NONBLOCK:
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_file(self, name: str) -> BinaryIO:
        """:meth:`open` for reading, as a file object."""
        return os.fdopen(self.open(name, os.O_RDONLY), "rb")

    # -- changing --------------------------------------------------------------------------

    def unlink(self, name: str) -> None:
        p, d = self._at(name)
        unlink(Path(p), dir_fd=d)

    def rmtree(self, name: str) -> None:
        """Delete folder ``name`` and everything in it, by descriptors (a symlink is refused,
        at the top and below)."""
        p, d = self._at(name)
        if d is None and os.path.islink(p):
            raise _outside(p)
        shutil.rmtree(p, dir_fd=d)

    def remove_any(self, name: str, *, strict: bool = False) -> None:
        """Remove a file or a folder tree; errors are swallowed (cleanup) unless ``strict``."""
        try:
            if stat.S_ISDIR(self.lstat(name).st_mode):
                self.rmtree(name)
            else:
                self.unlink(name)
        except OSError:
            if strict:
                raise

    def mkdir(self, name: str, mode: int = 0o777) -> None:
        p, d = self._at(name)
        os.mkdir(p, mode, dir_fd=d)

    def rename(self, name: str, dest: Folder, new_name: str) -> None:
        """Rename entry ``name`` to ``new_name`` of folder ``dest`` (this one or another)."""
        p, d = self._at(name)
        q, e = dest._at(new_name)
        os.rename(p, q, src_dir_fd=d, dst_dir_fd=e)

    def replace(self, name: str, new_name: str) -> None:
        p, d = self._at(name)
        q, e = self._at(new_name)
        os.replace(p, q, src_dir_fd=d, dst_dir_fd=e)

    def set_mtime(self, name: str, ns: int) -> None:
        """Set access and modification time of entry ``name`` (through a symlink only as
        :meth:`open` allows)."""
        if self.is_link(name):
            fd = self.open(name, os.O_RDONLY)
            try:
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)
            return
        p, d = self._at(name)
        os.utime(p, ns=(ns, ns), dir_fd=d, follow_symlinks=d is None)

    def link_fd(self, fd: int, name: str) -> None:
        """Give the open nameless file ``fd`` the name ``name`` here (``linkat`` through
        /proc; FileExistsError if the name is taken)."""
        proc_fd = os.open(_PROC_FD, os.O_RDONLY | _O_DIRECTORY)
        try:
            p, d = self._at(name)
            os.link(str(fd), p, src_dir_fd=proc_fd, dst_dir_fd=d, follow_symlinks=True)
        finally:
            os.close(proc_fd)


def _real_path_of(fd: int, path: Path) -> str:
    """The resolved path of the open file ``fd`` (opened as ``path``)."""
    with contextlib.suppress(OSError):
        link = os.readlink(_PROC_FD / str(fd))
        if link.startswith(os.sep):
            return link
    return os.path.realpath(path)


def copy_data(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy all of ``src`` into the empty ``dst``: in the kernel (``copy_file_range``, which
    can share blocks on btrfs/XFS) where it can, else through a buffer."""
    size = os.fstat(src.fileno()).st_size
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None and size:
        done = 0
        try:
            while done < size and (n := copy_range(src.fileno(), dst.fileno(), size - done)):
                done += n
        except OSError:  # EXDEV, ENOSYS, EINVAL (some file systems): start again below
            src.seek(0)
            dst.seek(0)
            dst.truncate(0)
        else:
            dst.seek(0, os.SEEK_END)  # the buffered object learns where the descriptor is
            return
    shutil.copyfileobj(src, dst, 1024 * 1024)


def copy_any(src: Folder, name: str, dst: Folder, new_name: str) -> None:
    """Copy entry ``name`` of ``src`` (a file, or a folder tree of served entries) to the free
    name ``new_name`` of ``dst``, keeping permissions and modification times."""
    if stat.S_ISDIR(src.lstat(name).st_mode):
        with src.subfolder(name) as s:
            info = os.fstat(s.fd) if s.fd is not None else os.stat(s.path)
            dst.mkdir(new_name)
            with dst.subfolder(new_name) as d:
                for child, _ in s.entries():
                    copy_any(s, child, d, child)
                target: int | str = d.fd if d.fd is not None else str(d.path)
                os.chmod(target, stat.S_IMODE(info.st_mode))
                os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
        return
    with src.open_file(name) as fin:
        info = os.fstat(fin.fileno())
        out = dst.open(new_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(out, "wb") as fout:
            copy_data(fin, fout)
            fout.flush()
            os.chmod(out, stat.S_IMODE(info.st_mode))
            os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))


def move_across(src: Folder, name: str, dst: Folder) -> None:
    """Move entry ``name`` between file systems: copy to a temp name, rename into place, delete
    the source. If the source cannot be deleted the copy is removed again, so exactly one
    survives."""
    temp = new_temp_name("move")
    try:
        copy_any(src, name, dst, temp)
        dst.rename(temp, dst, name)
    except OSError:
        dst.remove_any(temp)
        raise
    try:
        src.remove_any(name, strict=True)
    except OSError:
        dst.remove_any(name)
        raise
