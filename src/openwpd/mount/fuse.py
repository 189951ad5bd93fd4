"""The kernel side: mfusepy operations over :mod:`.tree` and :mod:`.files`, and running a mount.

Theory of operation
-------------------
mfusepy (ctypes over libfuse3, the maintained successor of fusepy) calls these operations on
libfuse's worker threads, many at once; the client runs on an asyncio loop in a thread of its
own and each operation waits for its coroutine there (:class:`~.files.Bridge`). Lookups of
cached folders are answered on the calling thread straight from the cache (plain dict reads),
so ``ls -l`` of a big folder costs one listing on the wire and no loop hop per file.

Interrupts: libfuse marks a request interrupted when the kernel says so (the program that made
it was killed or got Ctrl-C); a waiting operation checks ``fuse_interrupted()`` and whether the
session is exiting (an unmount) every :data:`~.files.POLL_SECONDS`, and cancels its coroutine.

A killed writer: ``close`` runs ``flush`` in the dying process, whose kernel flags
(``/proc/PID/stat``) say it was killed by a signal (PF_SIGNALED); its file is then abandoned
(:meth:`~.files.Writer.abort`) instead of committed, so a ``cp`` killed half way leaves no
partial file on the device.

Stopping: Ctrl-C, SIGTERM or ``fusermount3 -u`` end libfuse's loop; operations still waiting
see the session exiting and cancel their transfers on the wire; then every open file is
abandoned as above (new files deleted), the tree and the connection are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openwpd.client import Connection, Entry, Storage
from openwpd.mount.files import Bridge, EditWriter, OpenFile, Reader, SpoolWriter, Writer
from openwpd.mount.tree import MISS, DeviceTree, FsError, Node, errno_of

log = logging.getLogger("openwpd.mount")

#: kernel task flags (/proc/PID/stat field 9): exiting, and killed by a signal
_PF_EXITING = 0x4
_PF_SIGNALED = 0x400
BLOCK = 4096
#: st_blksize: programs like cp size their buffers by it (bigger writes, fewer requests)
IO_SIZE = 1 << 20


def fuse_available(device: str = "/dev/fuse") -> str | None:
    """None when a FUSE mount can be made here, else why not (one line)."""
    if not os.path.exists(device):
        return "this system has no /dev/fuse (FUSE is not available: load the fuse module)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"libfuse3 cannot be loaded ({exc}): install fuse3"
    return None


def killed_by_signal(pid: int) -> bool:
    """True when process ``pid`` is exiting because a signal killed it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = text.rsplit(")", 1)[-1].split()
    try:
        flags = int(fields[6])  # field 9 overall; the name (field 2) may hold spaces
    except (IndexError, ValueError):
        return False
    return bool(flags & _PF_EXITING) and bool(flags & _PF_SIGNALED)


@dataclass
class MountOptions:
    read_only: bool = False
    spool: bool = False
    spool_dir: Path | None = None
    allow_other: bool = False


class _Libfuse:
    """The few libfuse3 calls mfusepy does not wrap."""

    def __init__(self) -> None:
        import mfusepy

        lib = mfusepy._libfuse
        self.lib = lib
        lib.fuse_interrupted.restype = ctypes.c_int
        lib.fuse_get_session.restype = ctypes.c_void_p
        lib.fuse_get_session.argtypes = [ctypes.c_void_p]
        lib.fuse_session_exited.restype = ctypes.c_int
        lib.fuse_session_exited.argtypes = [ctypes.c_void_p]
        lib.fuse_invalidate_path.restype = ctypes.c_int
        lib.fuse_invalidate_path.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

    def interrupted(self) -> bool:
        """The current request was interrupted, or the session is ending."""
        lib = self.lib
        if lib.fuse_interrupted():
            return True
        ctx = lib.fuse_get_context()
        if not ctx or not ctx.contents.fuse:
            return False
        session = lib.fuse_get_session(ctypes.c_void_p(ctx.contents.fuse))
        return bool(session) and bool(lib.fuse_session_exited(ctypes.c_void_p(session)))

    def current_fuse(self) -> int:
        """The ``struct fuse`` of the request this thread serves (0 if none)."""
        ctx = self.lib.fuse_get_context()
        return int(ctx.contents.fuse or 0) if ctx else 0

    def invalidate(self, fuse: int, path: str) -> None:
        """fuse_invalidate_path: the kernel forgets the attributes and data it cached."""
        self.lib.fuse_invalidate_path(
            ctypes.c_void_p(fuse), path.encode("utf-8", "surrogateescape")
        )

    def caller_pid(self) -> int:
        ctx = self.lib.fuse_get_context()
        return int(ctx.contents.pid) if ctx else 0


class Operations:
    """The FUSE operations (mfusepy calls them by name; see the module docstring)."""

    use_ns = True

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: Connection,
        tree: DeviceTree,
        options: MountOptions,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self._fuse = _Libfuse()
        self.loop = loop
        self.conn = conn
        self.tree = tree
        self.options = options
        self.bridge = Bridge(loop, self._interrupted)
        #: libfuse's request context exists only on its worker threads while it serves
        self._serving = False
        self._fuse_ptr = 0
        self._invalidations: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._invalidator = threading.Thread(
            target=self._invalidate_changed, name="openwpd-mount-invalidate", daemon=True
        )
        self._files: dict[int, OpenFile] = {}
        self._next_fh = 1
        self._lock = threading.Lock()
        self._on_ready = on_ready
        self._uid = os.getuid()
        self._gid = os.getgid()
        self._spool_dir = options.spool_dir or _default_spool_dir()
        self._edit = not options.spool and conn.policy.windowed_upload

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, what: str, coro: Any) -> Any:
        try:
            return self.bridge.call(coro)
        except FsError:
            raise
        except BaseException as exc:
            raise FsError(errno_of(exc, what), str(exc)) from None

    def _node(self, path: str) -> Node:
        """The node at ``path``: from the cache on this thread when every folder on the way is
        cached, else through the loop."""
        node = self.tree.lookup_cached(path)
        if node is not MISS:
            return node  # type: ignore[return-value]
        node = self._call(path, self.tree.lookup(path))
        return node  # type: ignore[no-any-return]

    def _attrs(self, node: Node) -> dict[str, int]:
        now = int(self.tree.started * 1e9)
        if node is None:
            mode = stat.S_IFDIR | 0o555
            return self._stat(mode, 0, now, 1, 2 + len(self.tree.storages))
        if isinstance(node, Storage):
            mode = stat.S_IFDIR | (0o555 if self._ro(node) else 0o755)
            return self._stat(mode, 0, now, (node.id << 32) | 1, 2)
        ro = self._ro(node)
        mtime = int(node.modified.timestamp() * 1e9) if node.modified else now
        ino = (node.storage_id << 32) | node.handle
        if node.is_folder:
            return self._stat(stat.S_IFDIR | (0o555 if ro else 0o755), 0, mtime, ino, 2)
        size = self.tree.live_sizes.get(node.handle, node.size)
        return self._stat(stat.S_IFREG | (0o444 if ro else 0o644), size, mtime, ino, 1)

    def _stat(self, mode: int, size: int, mtime: int, ino: int, nlink: int) -> dict[str, int]:
        return {
            "st_mode": mode,
            "st_size": size,
            "st_mtime": mtime,
            "st_ctime": mtime,
            "st_atime": mtime,
            "st_ino": ino,
            "st_nlink": nlink,
            "st_uid": self._uid,
            "st_gid": self._gid,
            "st_blocks": (size + 511) // 512,
            "st_blksize": IO_SIZE,
        }

    def _ro(self, node: Storage | Entry) -> bool:
        storage = self.tree.storage_of(node)
        return self.options.read_only or storage is None or storage.read_only

    def _add(self, file: OpenFile) -> int:
        with self._lock:
            fh = self._next_fh
            self._next_fh += 1
            self._files[fh] = file
            return fh

    def _writer_of(self, handle: int) -> Writer | None:
        for file in list(self._files.values()):
            if isinstance(file, Writer) and file.entry.handle == handle:
                return file
        return None

    # -- life -----------------------------------------------------------------------------------

    def _interrupted(self) -> bool:
        if not self._serving or threading.current_thread() is threading.main_thread():
            return False
        return self._fuse.interrupted()

    def init(self, path: str) -> None:
        self._fuse_ptr = self._fuse.current_fuse()
        self._serving = True
        self.tree.on_change = self._invalidations.put
        self._invalidator.start()
        if self._on_ready is not None:
            self._on_ready()

    def destroy(self, path: str) -> None:
        self._serving = False
        self.tree.on_change = None
        self._invalidations.put(None)

    def _invalidate_changed(self) -> None:
        """Tell the kernel to drop what it cached of paths the device changed (their size
        and data). On a thread of its own: the kernel may wait for a read of that file in
        progress, and that read may wait for the loop."""
        while (path := self._invalidations.get()) is not None:
            if self._serving and self._fuse_ptr:
                self._fuse.invalidate(self._fuse_ptr, path)

    def close_all(self) -> None:
        """Abandon every open file (new files whose writing did not finish are deleted)."""
        with self._lock:
            files, self._files = list(self._files.values()), {}
        for file in files:
            if isinstance(file, Writer):
                with contextlib.suppress(OSError):
                    file.abort()
            with contextlib.suppress(Exception):
                file.close()

    # -- metadata -------------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        return self._attrs(self._node(path))

    def readdir(self, path: str, fh: int) -> Iterator[tuple[str, dict[str, int], int]]:
        node = self._node(path)
        if node is None:
            children: list[Storage | Entry] = list(self.tree.storages.values())
            names = list(self.tree.storages)
        else:
            if isinstance(node, Entry) and not node.is_folder:
                raise FsError(errno.ENOTDIR)
            listing = self._call(path, self.tree.listing(node))
            names = list(listing)
            children = list(listing.values())
        yield ".", {"st_mode": stat.S_IFDIR}, 0
        yield "..", {"st_mode": stat.S_IFDIR}, 0
        for name, child in zip(names, children, strict=True):
            if "/" in name or not name:
                continue  # cannot be addressed by a path
            yield name, self._attrs(child), 0

    def statfs(self, path: str) -> dict[str, int]:
        storage = self._call(path, self.tree.fresh_storage(path))
        if storage is None:
            capacity = sum(s.capacity for s in self.tree.storages.values())
            free = sum(s.free for s in self.tree.storages.values())
            objects = 0
        else:
            capacity, free, objects = storage.capacity, storage.free, storage.free_objects
        files_free = objects if 0 < objects < 0xFFFFFFFF else 1 << 30
        return {
            "f_bsize": BLOCK,
            "f_frsize": BLOCK,
            "f_blocks": capacity // BLOCK,
            "f_bfree": free // BLOCK,
            "f_bavail": free // BLOCK,
            "f_files": files_free,
            "f_ffree": files_free,
            "f_favail": files_free,
            "f_namemax": 255,
        }

    def mkdir(self, path: str, mode: int) -> int:
        self._call(path, self.tree.mkdir(path))
        return 0

    def rmdir(self, path: str) -> int:
        self._call(path, self.tree.remove(path, folder=True))
        return 0

    def unlink(self, path: str) -> int:
        self._call(path, self.tree.remove(path, folder=False))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._call(old, self.tree.rename(old, new))
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        mtime = times[1] / 1e9 if times else None
        if mtime is None:
            import time

            mtime = time.time()
        self._call(path, self.tree.set_mtime(path, mtime))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        """MTP has no permissions: accepted and ignored (rsync -a, cp -a would fail else)."""
        self._node(path)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        """Accepted and ignored, as chmod."""
        self._node(path)
        return 0

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        node = self._node(path)
        if not isinstance(node, Entry) or node.is_folder:
            raise FsError(errno.EISDIR)
        writer = self._writer_of(node.handle)
        if writer is not None:
            writer.truncate(length)
            return 0
        if self._ro(node):
            raise FsError(errno.EROFS)
        temp = self._writer(node, created=False, truncated=length == 0)
        try:
            temp.truncate(length)
            temp.commit()
        finally:
            temp.close()
        return 0

    # -- files ----------------------------------------------------------------------------------

    def _writer(self, entry: Entry, *, created: bool, truncated: bool = False) -> Writer:
        handle = self._call("open", _open_handle(self.conn))
        if self._edit:
            return EditWriter(self.bridge, self.tree, handle, entry, created=created)
        return SpoolWriter(
            self.bridge,
            self.tree,
            handle,
            entry,
            created=created,
            spool_dir=self._spool_dir,
            truncated=truncated,
        )

    def create(self, path: str, mode: int, flags: int = 0) -> int:
        entry = self._call(path, self.tree.create_file(path))
        return self._add(self._writer(entry, created=True))

    def open(self, path: str, flags: int) -> int:
        node = self._node(path)
        if not isinstance(node, Entry):
            raise FsError(errno.EISDIR)
        if node.is_folder:
            raise FsError(errno.EISDIR)
        if flags & os.O_ACCMODE != os.O_RDONLY:
            if self._ro(node):
                raise FsError(errno.EROFS)
            truncate = bool(flags & os.O_TRUNC)
            writer = self._writer(node, created=False, truncated=truncate)
            if truncate and node.size:  # libfuse passes O_TRUNC on (atomic_o_trunc)
                try:
                    writer.truncate(0)
                except BaseException:
                    writer.close()
                    raise
            return self._add(writer)
        handle = self._call("open", _open_handle(self.conn))
        return self._add(Reader(self.bridge, self.tree, handle, node))

    def _file(self, fh: int) -> OpenFile:
        file = self._files.get(fh)
        if file is None:
            raise FsError(errno.EBADF)
        return file

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        file = self._file(fh)
        try:
            if isinstance(file, Reader | Writer):
                return file.read(offset, size)
            raise FsError(errno.EBADF)
        except FsError:
            raise
        except BaseException as exc:
            raise FsError(errno_of(exc, path or file.entry.name), str(exc)) from None

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        file = self._file(fh)
        if not isinstance(file, Writer):
            raise FsError(errno.EBADF)
        try:
            return file.write(data, offset)
        except FsError:
            raise
        except BaseException as exc:
            raise FsError(errno_of(exc, path or file.entry.name), str(exc)) from None

    def flush(self, path: str, fh: int) -> int:
        file = self._files.get(fh)
        if not isinstance(file, Writer):
            return 0
        if killed_by_signal(self._fuse.caller_pid()):
            log.info("%s: the writing program was killed: the file is abandoned", path)
            file.abort()
            return 0
        self._commit(file, path)
        return 0

    def _commit(self, file: Writer, path: str) -> None:
        try:
            file.commit()
        except FsError as exc:
            log.warning("%s: writing failed: %s", path, exc.strerror)
            raise
        except BaseException as exc:
            raise FsError(errno_of(exc, path), str(exc)) from None

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        file = self._files.get(fh)
        if isinstance(file, Writer):
            self._commit(file, path)
        return 0

    def release(self, path: str, fh: int) -> int:
        with self._lock:
            file = self._files.pop(fh, None)
        if file is not None:
            file.close()
        return 0


async def _open_handle(conn: Connection) -> Any:
    return conn.open_handle()


def _default_spool_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("openwpd")) / "mount-spool"


__all__ = ["MountOptions", "Operations", "fuse_available", "killed_by_signal"]
