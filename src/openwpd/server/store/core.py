"""The folder-backed object store of the virtual MTP device.

Theory of operation.

*The tree.* Handles, lazy listing, paths and reconciliation with changes made by other
programs live in :mod:`.tree` (``TreeCache``, the base class). Every handle lookup is a dict
access; a folder is read from disk once, when it is first listed.

*Writes.* Uploads, edits and copies work on temp files -- nameless where the OS allows
(:mod:`.tempfiles`), hidden otherwise -- and end with a link or rename under the lock (see
:mod:`.writes`), so a failure leaves nothing behind and a
partial file is never visible. The store never overwrites an existing name
(:class:`NameExistsError`). Read-only storages refuse every change with ``STORE_READ_ONLY``.

*Leftovers.* What a transfer puts in a served folder before its data is complete is recorded
in the state database while it exists (see :mod:`.state`): the empty placeholder a windowed
upload creates (:meth:`ObjectStore.mark_placeholder`; the session that made it removes it when
it ends without the data, :meth:`ObjectStore.discard_placeholder`) and the hidden temp files of
the fallback path. A device that is killed cannot clean up; the next one started on the same
state directory does, in :meth:`ObjectStore.add_storage`.

*Confinement.* Every path is checked to resolve inside its storage root before it is opened or
changed, so no symlink -- listed or planted later -- leads outside the served folder.

*Threads and events.* One re-entrant lock guards every map and the state database; the watcher
thread takes it too. Subscribers are called after the lock is released, on the thread that
made the change (for disk changes: the watcher's flusher thread). The asyncio server must hop
them onto its loop with ``loop.call_soon_threadsafe``. A subscriber that raises is logged and
does not disturb the store or the other subscribers.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from openwpd.protocol.codes import ALL, ResponseCode

from .errors import (
    InvalidNameError,
    NameExistsError,
    PartialDeletionError,
    StoreError,
    from_os_error,
)
from .fsops import Folder, copy_any, copy_data, move_across
from .names import format_for, is_temp_name, new_temp_name, validate_name
from .objects import ROOT, StoredObject, StoreEvent, StoreEventKind
from .scan import classify, is_inside
from .state import PLACEHOLDER, TEMP, Leftover, StateDB, default_state_dir
from .storage import Storage, storage_id_for_index
from .tempfiles import WORK_DIR, TempFile
from .tree import TreeCache, dt_from_ns, ns_from_dt
from .watch import LOST, Batch, FolderWatcher
from .writes import EditSession, PendingObject

log = logging.getLogger(__name__)

Subscriber = Callable[[StoreEvent], None]


#: names of a folder taken in at a time from a folder-watcher batch
DISK_BATCH_SLICE = 256
#: the longest the watcher's flusher holds the store's lock at a time
DISK_SLICE_SECONDS = 0.02
#: names of one folder in one watcher batch that make the store read the folder through
FLOOD_NAMES = 512


def _replace_with_edit(
    temp: TempFile, folder: Folder, name: str, record: Callable[[Path], None]
) -> None:
    """Put the edited copy ``temp`` in place of entry ``name`` of ``folder``.

    ``os.replace`` is atomic, but on ext4 renaming over an existing file first starts the
    write-back of all of ``temp``'s dirty data (the ``auto_da_alloc`` safeguard), which stalls
    EndEditObject for a large edit -- about 0.3 s per GiB here. A windowed upload always edits
    the empty object it has just created; for an original that is still empty there is nothing
    to protect, so it is removed first and the copy linked (or renamed) onto the free name (the
    watcher re-stats names only after a quiet spell, so the brief gap raises no event). If that
    fails, the empty original is put back and the error propagates (the edit is then aborted).
    A nameless copy replacing a non-empty original gets a hidden name first (passed to
    ``record`` before it exists, so a device killed in between leaves a recorded name), then
    replaces it.
    """
    # FileNotFoundError when another program deleted the original meanwhile: the edit fails
    # rather than bring the file back
    empty = folder.stat(name).st_size == 0
    if not empty:
        if temp.anonymous:
            hidden = folder.path / new_temp_name("edit")
            record(hidden)
            temp.link_as(hidden, dir_fd=folder.fd)
        assert temp.path is not None
        try:
            folder.replace(temp.path.name, name)
        except BaseException:
            if temp.path.name != name:
                with contextlib.suppress(OSError):
                    folder.unlink(temp.path.name)
            raise
        return
    mode = os.stat(temp.file.fileno()).st_mode & 0o7777
    folder.unlink(name)
    try:
        temp.link_as(folder.path / name, dir_fd=folder.fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        raise


class ObjectStore(TreeCache):
    """The objects of every served folder, with stable handles, PUIDs and change events.

    ``state_dir`` holds the PUID database and the device GUID (default: the user's state
    directory, ``platformdirs.user_state_dir("openwpd")``); nothing is ever written into the
    served folders except the objects initiators create (and, for the moment it takes to make
    a transfer's nameless temp file, an empty hidden folder at the storage root:
    :data:`.tempfiles.WORK_DIR`). ``watch_trees`` watches every storage whole, so changes
    anywhere are reported (see :mod:`.watch`); without it, or where a tree does not fit the
    OS's watch budget, only listed folders are watched, at most ``max_watched_folders``;
    ``debounce`` is the watcher's quiet time in seconds.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        debounce: float = 0.2,
        max_watched_folders: int = 32,
        watch_trees: bool = True,
    ) -> None:
        super().__init__(StateDB(Path(state_dir) if state_dir is not None else default_state_dir()))
        self._lock = _StoreLock()
        #: The device's 16-byte GUID, created once and kept in the state directory.
        self.device_guid: bytes = self._state.meta_bytes("device_guid", os.urandom(16))
        self._editing: set[int] = set()
        #: placeholders (see mark_placeholder): handle -> what was recorded
        self._placeholders: dict[int, Leftover] = {}
        self._subscribers: list[Subscriber] = []
        self._debounce = debounce
        self._max_watched = max_watched_folders
        self._watch_trees = watch_trees
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def serial_number(self) -> str:
        """A stable serial number string derived from :attr:`device_guid` (32 hex digits)."""
        return self.device_guid.hex().upper()

    def setting(self, key: str) -> str | None:
        """A device setting kept in the state directory (e.g. a property a client set), None
        if it was never saved."""
        with self._lock:
            value = self._state.meta_get(f"setting:{key}")
        return None if value is None else value.decode("utf-8", "replace")

    def save_setting(self, key: str, value: str | None) -> None:
        """Keep ``value`` for ``key`` across restarts (None forgets it)."""
        with self._lock:
            if not self._closed:
                self._state.meta_put(f"setting:{key}", None if value is None else value.encode())

    def close(self) -> None:
        """Stop watching and close the state database. Idempotent."""
        self.stop_watching()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._state.close()

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_watching(self) -> None:
        """Start reporting changes made to the served folders by other programs (watchdog).
        Folders listed before this call are re-scanned the next time they are listed."""
        with self._lock:
            if self._watcher is not None:
                return
            watcher = FolderWatcher(
                self._on_disk_batch,
                debounce=self._debounce,
                max_watches=self._max_watched,
            )
            watcher.start()
            self._watcher = watcher
            if self._watch_trees:
                for storage in self._storages.values():
                    watcher.watch_tree(str(storage.root))
            # folders listed before now are compared with the disk the next time they are
            self._unsure.update(self._kids)

    def stop_watching(self) -> None:
        """Stop the watcher threads (no-op if not watching)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:  # joined outside the lock: the flusher may be waiting for it
            watcher.stop()

    # -- storages ----------------------------------------------------------------------------

    def add_storage(
        self,
        root: Path | str,
        name: str | None = None,
        read_only: bool = False,
        *,
        reserve_bytes: int = 0,
    ) -> Storage:
        """Serve folder ``root`` as the next storage (StorageID 0x00010001, 0x00020001, ...).

        Raises NotADirectoryError if ``root`` is not an existing folder.
        """
        with self._lock:
            sid = storage_id_for_index(len(self._storages))
            storage = Storage(sid, Path(root), name, read_only, reserve_bytes)
            if not read_only:
                self._sweep_leftovers(storage)
            self._storages[sid] = storage
            if self._watcher is not None and self._watch_trees:
                self._watcher.watch_tree(str(storage.root))
            return storage

    def check_storages(self) -> None:
        """Notice served folders that went away or came back (an unmounted and remounted card;
        the device calls this now and then). A folder that is gone: its storage leaves
        :attr:`storages` (its StorageID answers ``STORE_NOT_AVAILABLE``), its objects leave
        the cache (their PUIDs stay recorded for its return), event STORE_REMOVED. A folder
        that is back (a folder at the same path): the same StorageID again, listed afresh,
        event STORE_ADDED."""
        storages = list(self._storages.values())
        if all(_is_real_folder(s.root) == s.available for s in storages):
            return  # nothing changed: the store's lock is not taken (a request may hold it)
        with self._op() as events:
            for storage in self._storages.values():
                present = _is_real_folder(storage.root)
                if present == storage.available:
                    continue
                storage.available = present
                tree = str(storage.root)
                if present:
                    if self._watcher is not None and self._watch_trees:
                        self._watcher.unwatch_tree(tree)  # the watch of the old folder
                        self._watcher.watch_tree(tree)
                    events.append(StoreEvent(StoreEventKind.STORE_ADDED, storage.id, True))
                else:
                    self._drop_storage_cache(storage.id)
                    if self._watcher is not None:
                        self._watcher.unwatch_tree(tree)
                    events.append(StoreEvent(StoreEventKind.STORE_REMOVED, storage.id, True))

    def _drop_storage_cache(self, storage_id: int) -> None:
        # Only the cache: the PUID records stay, so objects keep their PUIDs when it returns.
        key = -storage_id
        kids = self._kids.pop(key, None) or {}
        self._read_at.pop(key, None)
        self._unsure.discard(key)
        for top in list(kids.values()):
            for h in [top, *self._subtree(top)]:
                self._objects.pop(h, None)
                self._read_at.pop(h, None)
                self._unsure.discard(h)
                if self._kids.pop(h, None) is not None and self._watcher is not None:
                    self._watcher.unwatch(h)

    def _sweep_leftovers(self, storage: Storage) -> None:
        """Remove what a killed device left in ``storage``: the placeholders and hidden temp
        files recorded in the state database (a placeholder only if the file is still the one
        recorded -- same inode, size and modification time: never a file another program has
        written since), and the work folder if it is empty. Nothing else is touched: no walk
        of the tree, no guessing by name."""
        root = str(storage.root)
        for item in self._state.leftovers(root):
            try:
                _remove_leftover(root, item)
            except OSError as exc:
                log.warning("could not remove the leftover %s: %s", item.path, exc)
            self._state.clear_leftover(item.path)
        with contextlib.suppress(OSError):
            os.rmdir(storage.root / WORK_DIR)

    @property
    def storages(self) -> list[Storage]:
        """The storages, in StorageID order."""
        return [s for s in self._storages.values() if s.available]

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every change; returns an idempotent unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, events: list[StoreEvent]) -> None:
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for event in _one_storage_event_each(events):
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:
                    log.exception("store subscriber failed on %s", event)

    @contextlib.contextmanager
    def _op(self) -> Iterator[list[StoreEvent]]:
        # Every public operation: take the lock, collect events, emit them after unlocking.
        events: list[StoreEvent] = []
        try:
            with self._lock:
                if self._closed:
                    raise StoreError(ResponseCode.STORE_NOT_AVAILABLE, "the store is closed")
                yield events
        finally:
            self._emit(events)

    # -- reading the tree --------------------------------------------------------------------

    def children(self, storage_id: int, parent: int = ROOT, format: int = 0) -> list[StoredObject]:
        """The direct children of ``parent`` (a folder handle, or ``ROOT``/0 for the storage
        root), optionally only those of ObjectFormat ``format``. ``storage_id`` may be ALL;
        with the root that means the roots of all storages.

        GetObjectHandles' "parent 0 = the whole hierarchy" is :meth:`all_objects`, not this.
        Raises ``INVALID_STORAGE_ID`` or ``INVALID_PARENT_OBJECT``.
        """
        with self._op() as events:
            if parent in (0, ROOT):
                sids = (
                    [s.id for s in self.storages]
                    if storage_id == ALL
                    else [self.storage(storage_id).id]
                )
                keys = [-sid for sid in sids]
            else:
                if storage_id != ALL:
                    self.storage(storage_id)
                obj = self._objects.get(parent)
                if obj is None or not obj.is_folder or storage_id not in (ALL, obj.storage_id):
                    raise StoreError(
                        ResponseCode.INVALID_PARENT_OBJECT, f"0x{parent:08X} is not a folder here"
                    )
                keys = [parent]
            found: list[StoredObject] = []
            for key in keys:
                kids = self._ensure_listed(key, events)
                objs = self._objects
                if format:
                    found.extend(o for h in kids.values() if (o := objs[h]).format == format)
                else:
                    found.extend(objs[h] for h in kids.values())
            return found

    def all_objects(self, storage_id: int = ALL, format: int = 0) -> list[StoredObject]:
        """Every object of one storage (or of all), walking and caching the whole tree --
        what GetObjectHandles with parent 0 asks for. Folders that cannot be read are skipped."""
        with self._op() as events:
            sids = (
                [s.id for s in self.storages]
                if storage_id == ALL
                else [self.storage(storage_id).id]
            )
            found: list[StoredObject] = []
            stack = [-sid for sid in reversed(sids)]
            while stack:
                key = stack.pop()
                try:
                    kids = self._ensure_listed(key, events, watch=False)
                except StoreError:
                    continue
                folders: list[int] = []
                for h in kids.values():
                    obj = self._objects[h]
                    if not format or obj.format == format:
                        found.append(obj)
                    if obj.is_folder:
                        folders.append(h)
                stack.extend(reversed(folders))
            return found

    def path_of(self, handle: int) -> Path:
        """The object's current path on disk (for handlers that need the file itself, e.g.
        to make a thumbnail). Checked to resolve inside its storage."""
        with self._lock:
            obj = self.get(handle)
            path = self._obj_path(obj)
            self._confine(path, obj.storage_id)
            return path

    def read(self, handle: int, offset: int = 0, length: int = -1) -> bytes:
        """Up to ``length`` bytes of the file from ``offset`` (all of the rest if negative);
        ``b""`` past the end. Raises like :meth:`open_read`."""
        if offset < 0:
            raise StoreError(ResponseCode.INVALID_PARAMETER, "negative offset")
        with self.open_read(handle) as f:
            f.seek(offset)
            return f.read(length)

    def open_read(self, handle: int) -> BinaryIO:
        """Open the file for streaming (the caller closes it). Raises
        ``INVALID_OBJECT_HANDLE`` (also if the file vanished, which is then reported as
        removed), ``INVALID_PARAMETER`` for a folder, ``ACCESS_DENIED``."""
        with self._op() as events:
            obj = self._file_object(handle)
            folder = self._folder(self._parent_key(obj))
            try:
                return folder.open_file(obj.name)
            except FileNotFoundError as exc:
                self._drop(handle, events, external=True)
                raise from_os_error(exc, "open") from exc
            except OSError as exc:
                raise from_os_error(exc, "open") from exc
            finally:
                folder.close()

    # -- creating ------------------------------------------------------------------------------

    def begin_create(
        self,
        storage_id: int,
        parent: int,
        name: str,
        size: int | None = None,
        *,
        is_folder: bool = False,
        mtime: datetime | None = None,
    ) -> PendingObject:
        """Start an upload (SendObjectInfo): reserve a handle and ``name`` in folder
        ``parent`` (``ROOT``/0 = root of ``storage_id``; with a folder handle ``storage_id``
        may be 0 or ALL). ``size`` is the announced size, None if unknown. ``mtime`` is the
        initiator's DateModified, applied at commit.

        Raises ``STORE_READ_ONLY``, :class:`InvalidNameError`, :class:`NameExistsError`,
        ``STORE_FULL`` (announced size above the free space), ``INVALID_STORAGE_ID``,
        ``INVALID_PARENT_OBJECT``, ``ACCESS_DENIED``. Nothing is visible until
        :meth:`PendingObject.commit`.
        """
        with self._op() as events:
            key = self._dest_key(storage_id, parent)
            storage = self._storage_of_key(key)
            self._writable(storage)
            validate_name(name)
            dir_path = self._ready_dest(key, name, events)
            if not is_folder and size and size > storage.free_bytes:
                raise StoreError(ResponseCode.STORE_FULL, f"{size} bytes do not fit")
            temp: TempFile | None = None
            with self._folder(key) as folder:
                try:
                    # now, not when the upload is complete: a name the folder's file system
                    # cannot hold (more bytes than NAME_MAX: 128 'é' fit MTP, not ext4)
                    folder.check_name(name)
                except OSError as exc:
                    raise InvalidNameError(
                        f"{name!r} cannot exist on this file system: {exc.strerror}"
                    ) from exc
                if not is_folder:
                    try:
                        temp = TempFile.create_for(
                            dir_path, storage.root, "upload", dir_fd=folder.fd
                        )
                    except OSError as exc:
                        raise from_os_error(exc, "create") from exc
            handle = self._alloc()
            self._reserved.add((key, name))
            pending = PendingObject(
                self,
                storage,
                handle,
                key=key,
                name=name,
                is_folder=is_folder,
                declared_size=size,
                mtime=mtime,
                temp=temp,
            )
            self._record_temp(pending, storage)
            return pending

    # -- leftovers -----------------------------------------------------------------------------

    def _record_temp(self, transfer: PendingObject | EditSession, storage: Storage) -> None:
        """Record the transfer's temp file if it has a name (a nameless one cannot outlive
        the device)."""
        temp = transfer._temp
        if temp is not None and temp.path is not None:
            self._record_temp_path(temp.path, storage)
            transfer._recorded.append(str(temp.path))

    def _record_temp_path(self, path: Path, storage: Storage) -> None:
        self._state.record_leftover(str(storage.root), Leftover(str(path), TEMP))

    def _clear_records(self, transfer: PendingObject | EditSession) -> None:
        records, transfer._recorded = transfer._recorded, []
        if self._closed:
            return  # aborted after close(): the row stays, and the next start finds no file
        for path in records:
            self._state.clear_leftover(path)

    def mark_placeholder(self, handle: int) -> None:
        """Record the file ``handle`` (just created empty, its data to follow through an
        edit) as a placeholder: a device killed before :meth:`settle_placeholder` leaves it
        to the next one started on this state directory to remove."""
        with self._lock:
            obj = self._file_object(handle)
            path = self._obj_path(obj)
            info = os.lstat(path)
            item = Leftover(
                str(path), PLACEHOLDER, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns
            )
            self._state.record_leftover(str(self._storages[obj.storage_id].root), item)
            self._placeholders[handle] = item

    def settle_placeholder(self, handle: int) -> None:
        """The placeholder's data is complete (or it is an empty file after all): forget it."""
        with self._lock:
            item = self._placeholders.pop(handle, None)
            if item is not None and not self._closed:
                self._state.clear_leftover(item.path)

    def discard_placeholder(self, handle: int) -> None:
        """Delete the placeholder ``handle`` whose data never came -- only while it is still
        the very file recorded (same inode, size and modification time): a file another
        program wrote into meanwhile stays. Errors are logged: this is cleanup."""
        with self._lock:
            item = self._placeholders.get(handle)
            if item is None or self._closed:
                return
            try:
                path = self._obj_path(self._file_object(handle))
                info = os.lstat(path)
                same = str(path) == item.path and (
                    info.st_dev,
                    info.st_ino,
                    info.st_size,
                    info.st_mtime_ns,
                ) == (item.dev, item.ino, item.size, item.mtime_ns)
            except (OSError, StoreError) as exc:
                log.debug("placeholder 0x%08X not removed: %s", handle, exc)
                same = False
        try:
            if same:
                self.delete(handle)  # outside the lock: delete() emits its events
        except StoreError as exc:
            log.debug("placeholder 0x%08X not removed: %s", handle, exc)
        finally:
            self.settle_placeholder(handle)

    def _rerecord_placeholders(self) -> None:
        """After a rename or move: placeholders (in the subtree) are recorded at their new
        paths."""
        for handle, item in list(self._placeholders.items()):
            obj = self._objects.get(handle)
            if obj is None:
                continue
            path = str(self._obj_path(obj))
            if path != item.path:
                root = str(self._storages[obj.storage_id].root)
                self._state.clear_leftover(item.path)
                moved = replace(item, path=path)
                self._state.record_leftover(root, moved)
                self._placeholders[handle] = moved

    def _forget(self, handle: int) -> None:
        gone = [handle, *self._subtree(handle)] if self._placeholders else []
        super()._forget(handle)
        for h in gone:
            self.settle_placeholder(h)

    def create_folder(
        self, storage_id: int, parent: int, name: str, *, mtime: datetime | None = None
    ) -> StoredObject:
        """Create a folder at once (SendObjectInfo for an association has no SendObject).
        Raises as :meth:`begin_create`."""
        return self.begin_create(storage_id, parent, name, is_folder=True, mtime=mtime).commit()

    def _commit_pending(self, p: PendingObject) -> StoredObject:
        with self._op() as events:
            p._check_open()
            try:
                if p._key not in self._kids:
                    raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "the folder is gone")
                dir_path = self._dir_path(p._key)
                with self._folder(p._key) as folder:
                    if self._taken(p._key, p.name, folder.lexists(p.name), events):
                        raise NameExistsError(p.name)
                    if p.is_folder:
                        folder.mkdir(p.name)
                    else:
                        temp = p._temp
                        assert temp is not None
                        if temp.path is not None:
                            # a hidden temp file: the folder may have been renamed since
                            temp.path = dir_path / temp.path.name
                        temp.link_as(dir_path / p.name, dir_fd=folder.fd)
                        p._take_temp()
                        temp.close()
                    if p.mtime is not None:
                        folder.set_mtime(p.name, ns_from_dt(p.mtime))
                obj = self._register(
                    p._key, self._restat(p._key, p.name), p.handle, fresh_puid=True
                )
            except BaseException as exc:
                self._abort_pending_locked(p)
                if isinstance(exc, OSError):
                    raise from_os_error(exc, "commit") from exc
                raise
            p._set_committed()
            self._clear_records(p)
            self._reserved.discard((p._key, p.name))
            events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, obj.handle))
            events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id))
            return obj

    def _abort_pending(self, p: PendingObject) -> None:
        with self._lock:
            self._abort_pending_locked(p)

    def _abort_pending_locked(self, p: PendingObject) -> None:
        if not p._set_aborted():
            return
        self._reserved.discard((p._key, p.name))
        temp = p._take_temp()
        if temp is None:
            self._clear_records(p)
            return
        # A hidden file's folder may have been renamed or moved since: look for it there too.
        elsewhere: list[Path] = []
        if temp.path is not None:
            with contextlib.suppress(KeyError, StoreError):
                elsewhere.append(self._dir_path(p._key) / temp.path.name)
        temp.discard(*elsewhere)
        self._clear_records(p)

    # -- editing -----------------------------------------------------------------------------

    def open_for_edit(self, handle: int) -> EditSession:
        """Begin an edit session (BeginEditObject) on a copy of the file (O(size) copy now;
        see :mod:`.writes`). Raises ``STORE_READ_ONLY``, ``INVALID_OBJECT_HANDLE``,
        ``INVALID_PARAMETER`` for a folder, ``DEVICE_BUSY`` if an edit is already open,
        ``OBJECT_WRITE_PROTECTED`` if the file is not writable, ``STORE_FULL``."""
        with self._op():
            obj = self._file_object(handle)
            storage = self._storages[obj.storage_id]
            self._writable(storage)
            if handle in self._editing:
                raise StoreError(ResponseCode.DEVICE_BUSY, "an edit is already open")
            path = self._obj_path(obj)
            temp: TempFile | None = None
            with self._folder(self._parent_key(obj)) as folder:
                try:
                    original = folder.open_file(obj.name)
                except OSError as exc:
                    raise from_os_error(exc, "begin edit") from exc
                with original:
                    if not folder.writable(obj.name):
                        raise StoreError(
                            ResponseCode.OBJECT_WRITE_PROTECTED, f"{obj.name} is read-only"
                        )
                    if obj.size > storage.free_bytes:
                        raise StoreError(ResponseCode.STORE_FULL, "no room for the edit copy")
                    try:
                        temp = TempFile.create_for(
                            path.parent, storage.root, "edit", readable=True, dir_fd=folder.fd
                        )
                        copy_data(original, temp.file)
                        os.chmod(temp.file.fileno(), os.fstat(original.fileno()).st_mode & 0o7777)
                    except OSError as exc:
                        if temp is not None:
                            temp.discard()
                        raise from_os_error(exc, "begin edit") from exc
            self._editing.add(handle)
            session = EditSession(
                self, storage, handle, temp, size=os.fstat(temp.file.fileno()).st_size
            )
            self._record_temp(session, storage)
            return session

    def _commit_edit(self, s: EditSession) -> StoredObject:
        with self._op() as events:
            s._check_open()
            try:
                old = self.get(s.handle)
                assert s._temp is not None
                storage = self._storages[old.storage_id]

                def record(hidden: Path) -> None:
                    self._record_temp_path(hidden, storage)
                    s._recorded.append(str(hidden))

                with self._folder(self._parent_key(old)) as folder:
                    _replace_with_edit(s._temp, folder, old.name, record)
                temp = s._take_temp()
                assert temp is not None
                temp.close()
                entry = self._restat(self._parent_key(old), old.name)
                new = replace(
                    old,
                    size=entry.size,
                    mtime=dt_from_ns(entry.mtime_ns),
                    ctime=dt_from_ns(entry.ctime_ns),
                )
            except BaseException as exc:
                self._abort_edit_locked(s)
                if isinstance(exc, OSError):
                    raise from_os_error(exc, "end edit") from exc
                raise
            s._set_committed()
            self._clear_records(s)
            self._editing.discard(s.handle)
            self._objects[s.handle] = new
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, s.handle))
            events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, new.storage_id))
            return new

    def _abort_edit(self, s: EditSession) -> None:
        with self._lock:
            self._abort_edit_locked(s)

    def _abort_edit_locked(self, s: EditSession) -> None:
        if not s._set_aborted():
            return
        self._editing.discard(s.handle)
        temp = s._take_temp()
        if temp is not None:
            temp.discard()
        self._clear_records(s)

    # -- changing ----------------------------------------------------------------------------

    def delete(self, handle: int) -> list[int]:
        """Delete an object, a folder with everything in it. Returns the handles deleted,
        children before parents (an unlisted folder's contents had no handles). Events:
        OBJECT_REMOVED for the topmost deleted objects only -- descendants are implied.

        Raises ``STORE_READ_ONLY``, ``INVALID_OBJECT_HANDLE``, the mapped OS error if nothing
        could be deleted, or :class:`PartialDeletionError` if only some of it was.
        """
        with self._op() as events:
            obj = self.get(handle)
            self._writable(self._storages[obj.storage_id])
            deleted: list[tuple[int, int]] = []
            failures: list[OSError] = []
            with self._folder(self._parent_key(obj)) as folder:
                self._delete_rec(handle, folder, deleted, failures)
            gone = {h for h, _ in deleted}
            for h, parent in deleted:
                if parent not in gone:
                    events.append(StoreEvent(StoreEventKind.OBJECT_REMOVED, h))
            if deleted:
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id))
            if failures:
                if not deleted:
                    raise from_os_error(failures[0], "delete") from failures[0]
                raise PartialDeletionError(
                    [h for h, _ in deleted], f"{len(failures)} object(s) could not be deleted"
                )
            return [h for h, _ in deleted]

    def _delete_rec(
        self, handle: int, folder: Folder, deleted: list[tuple[int, int]], failures: list[OSError]
    ) -> bool:
        # Entry by entry of open folders (see .fsops): a folder another program swapped for a
        # symlink since it was listed is refused, not followed.
        obj = self._objects[handle]
        try:
            if obj.is_folder:
                kids = self._kids.get(handle)
                if kids is not None:
                    with folder.subfolder(obj.name) as sub:
                        results = [
                            self._delete_rec(h, sub, deleted, failures) for h in list(kids.values())
                        ]
                    if not all(results):
                        return False
                # Whatever is left is unlisted content and temp files: remove it with the folder.
                folder.rmtree(obj.name)
            else:
                folder.unlink(obj.name)  # a big file's pages are freed off the event loop
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append(exc)
            return False
        self._forget(handle)
        deleted.append((handle, obj.parent))
        return True

    def format(self, storage_id: int) -> list[int]:
        """Empty a storage (FormatStore): delete every object in its root, folders with all
        they hold, through the same open-folder operations as :meth:`delete` (a symlink is
        removed, never followed). Only what the storage serves goes: the served folder itself
        stays, and so do names the store never lists (its own hidden state and temp files) and
        a top-level folder holding another storage's root (the services' Contacts/Calendar).
        Returns the handles deleted. Events: OBJECT_REMOVED for each root object, then one
        STORAGE_INFO_CHANGED.

        Raises ``INVALID_STORAGE_ID``, ``STORE_READ_ONLY``, or :class:`PartialDeletionError`
        if something could not be deleted (a file busy or not ours to remove).
        """
        with self._op() as events:
            storage = self.storage(storage_id)
            self._writable(storage)
            key = -storage.id
            kids = self._ensure_listed(key, events)
            # another storage served from inside this one (a service storage) is not ours to
            # remove: the top-level folder that holds it stays
            nested = [
                str(other.root)
                for other in self._storages.values()
                if other.id != storage.id and is_inside(str(other.root), str(storage.root))
            ]
            deleted: list[tuple[int, int]] = []
            failures: list[OSError] = []
            with self._folder(key) as folder:
                for handle in list(kids.values()):
                    top = str(storage.root / self._objects[handle].name)
                    if any(is_inside(root, top) for root in nested):
                        continue
                    self._delete_rec(handle, folder, deleted, failures)
            gone = {h for h, _ in deleted}
            for h, parent in deleted:
                if parent not in gone:
                    events.append(StoreEvent(StoreEventKind.OBJECT_REMOVED, h))
            events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, storage.id))
            if failures:
                raise PartialDeletionError(
                    [h for h, _ in deleted], f"{len(failures)} object(s) could not be deleted"
                )
            return [h for h, _ in deleted]

    def rename(self, handle: int, new_name: str) -> StoredObject:
        """Rename in place (ObjectFileName). The handle and the PUID stay; the format follows
        the new extension. Raises ``STORE_READ_ONLY``, :class:`InvalidNameError`,
        :class:`NameExistsError`, ``INVALID_OBJECT_HANDLE``."""
        with self._op() as events:
            obj = self.get(handle)
            storage = self._storages[obj.storage_id]
            self._writable(storage)
            validate_name(new_name)
            if new_name == obj.name:
                return obj
            key = self._parent_key(obj)
            kids = self._kids[key]
            with self._folder(key) as folder:
                on_disk = folder.lexists(new_name)
                self._taken(key, new_name, on_disk, events)  # drops what is gone from disk
                if new_name in kids or (on_disk and not folder.same_entry(obj.name, new_name)):
                    raise NameExistsError(new_name)
                try:
                    folder.rename(obj.name, folder, new_name)
                except OSError as exc:
                    raise from_os_error(exc, "rename") from exc
            del kids[obj.name]
            kids[new_name] = handle
            rel = self._dir_rel(key)
            root = str(storage.root)
            self._state.move((root, rel, obj.name), (root, rel, new_name))
            new = replace(obj, name=new_name, format=format_for(new_name, obj.is_folder))
            self._objects[handle] = new
            if self._placeholders:
                self._rerecord_placeholders()
            self._unwatch_subtree(handle)
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            return new

    def move(self, handle: int, storage_id: int, parent: int) -> StoredObject:
        """Move an object (MoveObject) into folder ``parent`` of ``storage_id`` (``ROOT``/0 =
        its root). The handle and the PUID stay. Across file systems the data is copied to a
        temp name, renamed into place, then the source is deleted.

        Raises ``STORE_READ_ONLY`` (either side), ``INVALID_PARENT_OBJECT`` (also for a folder
        moved into itself), :class:`NameExistsError`, ``INVALID_OBJECT_HANDLE``.
        """
        with self._op() as events:
            obj = self.get(handle)
            src_storage = self._storages[obj.storage_id]
            self._writable(src_storage)
            dkey = self._dest_key(storage_id, parent)
            dst_storage = self._storage_of_key(dkey)
            self._writable(dst_storage)
            skey = self._parent_key(obj)
            if dkey == skey:
                return obj
            if obj.is_folder and self._in_subtree(dkey, handle):
                raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "cannot move into itself")
            self._ready_dest(dkey, obj.name, events)
            obj = self.get(handle)  # listing the destination may have found the source gone
            with self._folder(skey) as sfolder, self._folder(dkey) as dfolder:
                try:
                    try:
                        sfolder.rename(obj.name, dfolder, obj.name)
                    except OSError as exc:
                        if exc.errno != errno.EXDEV:
                            raise
                        move_across(sfolder, obj.name, dfolder)
                except OSError as exc:
                    raise from_os_error(exc, "move") from exc
            del self._kids[skey][obj.name]
            self._kids[dkey][obj.name] = handle
            self._state.move(
                (str(src_storage.root), self._dir_rel(skey), obj.name),
                (str(dst_storage.root), self._dir_rel(dkey), obj.name),
            )
            new = replace(obj, storage_id=dst_storage.id, parent=max(dkey, 0))
            self._objects[handle] = new
            if dst_storage is not src_storage:
                for h in self._subtree(handle):
                    self._objects[h] = replace(self._objects[h], storage_id=dst_storage.id)
            if self._placeholders:
                self._rerecord_placeholders()
            self._unwatch_subtree(handle)
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            if dst_storage is not src_storage:
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, src_storage.id))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, dst_storage.id))
            return new

    def copy(self, handle: int, storage_id: int, parent: int) -> StoredObject:
        """Copy an object (CopyObject) into folder ``parent`` of ``storage_id``; folders
        recursively (served entries only). The copy is built under a temp name and renamed
        into place, so a failed copy leaves nothing. Returns the new object (new handle and
        PUID). The data is copied without holding the store lock.

        Raises ``STORE_READ_ONLY``, ``STORE_FULL``, :class:`NameExistsError`,
        ``INVALID_PARENT_OBJECT``, ``INVALID_OBJECT_HANDLE``.
        """
        with self._op() as events:
            obj = self.get(handle)
            dkey = self._dest_key(storage_id, parent)
            dst_storage = self._storage_of_key(dkey)
            self._writable(dst_storage)
            self._ready_dest(dkey, obj.name, events)
            obj = self.get(handle)  # listing the destination may have found the source gone
            if obj.size > dst_storage.free_bytes:
                raise StoreError(ResponseCode.STORE_FULL, f"{obj.size} bytes do not fit")
            # Both folders stay open for the copy, made without the lock: whatever is renamed
            # or swapped meanwhile, the copy is read from and built in these two (see .fsops).
            sfolder = self._folder(self._parent_key(obj))
            try:
                dfolder = self._folder(dkey)
            except BaseException:
                sfolder.close()
                raise
            temp = new_temp_name("copy")
            self._reserved.add((dkey, obj.name))
            self._record_temp_path(dfolder.path / temp, dst_storage)
        try:
            try:
                copy_any(sfolder, obj.name, dfolder, temp)
            except OSError as exc:
                dfolder.remove_any(temp)
                raise from_os_error(exc, "copy") from exc
            with self._op() as events:
                try:
                    if dkey not in self._kids:
                        raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "the folder is gone")
                    if self._taken(dkey, obj.name, dfolder.lexists(obj.name), events):
                        raise NameExistsError(obj.name)
                    new_handle = self._alloc()
                    dfolder.rename(temp, dfolder, obj.name)
                except BaseException as exc:
                    dfolder.remove_any(temp)
                    if isinstance(exc, OSError):
                        raise from_os_error(exc, "copy") from exc
                    raise
                entry = self._restat(dkey, obj.name)
                new = self._register(dkey, entry, new_handle, fresh_puid=True)
                events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, new.handle))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, new.storage_id))
                return new
        finally:
            sfolder.close()
            dfolder.close()
            with self._lock:
                self._reserved.discard((dkey, obj.name))
                if not self._closed:
                    self._state.clear_leftover(str(dfolder.path / temp))

    def set_mtime(self, handle: int, when: datetime) -> StoredObject:
        """Set DateModified (a naive datetime is local time). Raises ``STORE_READ_ONLY``,
        ``INVALID_OBJECT_HANDLE``, ``ACCESS_DENIED``."""
        with self._op() as events:
            obj = self.get(handle)
            self._writable(self._storages[obj.storage_id])
            ns = ns_from_dt(when)
            try:
                with self._folder(self._parent_key(obj)) as folder:
                    folder.set_mtime(obj.name, ns)
            except OSError as exc:
                raise from_os_error(exc, "set the modification time") from exc
            entry = self._restat(self._parent_key(obj), obj.name)
            new = replace(obj, mtime=dt_from_ns(entry.mtime_ns), ctime=dt_from_ns(entry.ctime_ns))
            self._objects[handle] = new
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            return new

    def _on_disk_batch(self, batch: Batch) -> None:
        # Taken in a slice at a time: the lock (and one database transaction) is held for at
        # most DISK_SLICE_SECONDS, then let go for a moment, so that a request of the device
        # (a cancel's cleanup among them) never waits for a whole batch -- another program
        # deleting or adding tens of thousands of files. A listing meanwhile takes in its
        # folder's pending names itself (TreeCache._ensure_listed).
        #
        # A folder flooded with names (FLOOD_NAMES in one batch: another program is filling
        # it) is read through once, the way a listing reads it, instead: what is on disk by
        # then appears at once, well before the OS's events for all of it have come through
        # (the watcher's thread handles some 10,000 events a second; a listing reads more
        # than 10,000 files a second).
        moves = getattr(batch, "moves", ())
        if moves and not self._closed:
            with self._op() as events, self._state.batch():
                for src, dest in moves:
                    self._apply_move(src, dest, events)
        if self._closed:
            return
        with self._op() as events:
            if any(LOST in names for names in batch.values()):
                with self._state.batch():
                    for dir_path, names in batch.items():
                        if LOST in names:
                            names.discard(LOST)
                            self._read_again(dir_path, events)
        with self._lock:
            if self._closed:
                return
            flooded = []
            for dir_path, names in batch.items():
                pending = self._intake.setdefault(dir_path, set())
                pending.update(names)
                if len(names) >= FLOOD_NAMES:
                    flooded.append(dir_path)
        for dir_path in flooded:
            self._read_through(dir_path)
        while not self._closed:
            with self._op() as events, self._state.batch():
                if not self._intake:
                    return
                deadline = time.monotonic() + DISK_SLICE_SECONDS
                while self._intake and time.monotonic() < deadline:
                    dir_path, names = next(iter(self._intake.items()))
                    chunk = [names.pop() for _ in range(min(len(names), DISK_BATCH_SLICE))]
                    if not names:
                        del self._intake[dir_path]
                    self._take_in(dir_path, sorted(chunk), events)
            self._lock.yield_to_waiters()

    def _apply_move(self, src: str, dest: str, events: list[StoreEvent]) -> None:
        """Another program renamed or moved ``src`` to ``dest``: if the object is known and
        its destination folder is listed in the same storage, it keeps its handle and PUID
        (ObjectInfoChanged). Otherwise nothing happens here, and the two names, marked dirty
        as well, become a removal and an addition."""
        src_dir, src_name = os.path.split(src)
        dst_dir, dst_name = os.path.split(dest)
        if not src_name or not dst_name or is_temp_name(src_name) or is_temp_name(dst_name):
            return
        for skey in self._keys_for_dir(src_dir):
            handle = self._kids[skey].get(src_name)
            if handle is None or handle in self._editing or handle in self._placeholders:
                continue
            obj = self._objects[handle]
            storage = self._storages[obj.storage_id]
            root = str(storage.root)
            dkeys = [k for k in self._keys_for_dir(dst_dir) if self._storage_of_key(k) is storage]
            entry = classify(dst_dir, dst_name, root)
            if not dkeys or entry is None or entry.is_folder != obj.is_folder:
                continue
            dkey = dkeys[0]
            if obj.is_folder and self._in_subtree(dkey, handle):
                continue
            src_rel, dst_rel = self._dir_rel(skey), self._dir_rel(dkey)
            taken = self._kids[dkey].get(dst_name)
            if taken is not None and taken != handle:
                self._drop(taken, events, external=True)
            del self._kids[skey][src_name]
            self._kids[dkey][dst_name] = handle
            self._state.move((root, src_rel, src_name), (root, dst_rel, dst_name))
            self._objects[handle] = replace(
                obj,
                parent=max(dkey, 0),
                name=dst_name,
                format=format_for(dst_name, obj.is_folder),
                size=entry.size,
                mtime=dt_from_ns(entry.mtime_ns),
            )
            self._unwatch_subtree(handle)
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle, True))
            return

    def _read_again(self, dir_path: str, events: list[StoreEvent]) -> None:
        """Events were lost for folder ``dir_path``: compare it, and every listed folder below
        it, with the disk."""
        keys = [
            key
            for key in list(self._kids)
            if (p := str(self._dir_path(key))) == dir_path or p.startswith(dir_path + os.sep)
        ]
        for key in keys:
            if key in self._kids:
                self._reconcile_dir(key, events)

    def _read_through(self, dir_path: str) -> None:
        """Take in the entries of folder ``dir_path`` that are new to the cache, or pending,
        reading the folder once (a slice of entries per hold of the lock, each entry judged
        under the lock as it is read). Untouched entries the cache knows are skipped."""
        try:
            it = os.scandir(dir_path)
        except OSError:
            return
        with it:
            done = False
            while not done and not self._closed:
                with self._op() as events, self._state.batch():
                    keys = self._keys_for_dir(dir_path)
                    if not keys:
                        return
                    pending = self._intake.get(dir_path, set())
                    deadline = time.monotonic() + DISK_SLICE_SECONDS
                    while time.monotonic() < deadline:
                        chunk: list[os.DirEntry[str]] = []
                        for de in it:
                            chunk.append(de)
                            if len(chunk) >= DISK_BATCH_SLICE:
                                break
                        else:
                            done = True
                        for key in keys:
                            self._take_in_entries(key, dir_path, chunk, pending, events)
                        for de in chunk:
                            pending.discard(de.name)
                        if done:
                            break
                    if not pending:
                        self._intake.pop(dir_path, None)
                self._lock.yield_to_waiters()

    def _take_in_entries(
        self,
        key: int,
        dir_path: str,
        chunk: list[os.DirEntry[str]],
        pending: set[str],
        events: list[StoreEvent],
    ) -> None:
        kids = self._kids[key]
        root = str(self._storage_of_key(key).root)
        todo = [
            (de.name, classify(dir_path, de.name, root, de))
            for de in chunk
            if de.name not in kids or de.name in pending
        ]
        new = [name for name, entry in todo if entry is not None and name not in kids]
        puids = self._state.puids_for(root, self._dir_rel(key), new) if new else {}
        for name, entry in todo:
            self._reconcile_entry(key, name, entry, events, puid=puids.get(name))


class _StoreLock:
    """The store's re-entrant lock, counting the threads waiting for it: the watcher's flusher,
    between two slices of work, pauses only when a request is actually waiting (a pause on a
    loaded machine lasts far longer than asked, and paid after every slice it made taking in
    a big batch several times slower)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count_lock = threading.Lock()
        self._waiting = 0

    def __enter__(self) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        with self._count_lock:
            self._waiting += 1
        try:
            return self._lock.acquire()
        finally:
            with self._count_lock:
                self._waiting -= 1

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def yield_to_waiters(self) -> None:
        """Called without the lock held: let a waiting thread have it first."""
        if self._waiting > 0:
            time.sleep(0.001)


def _is_real_folder(path: Path) -> bool:
    """Whether ``path`` is a folder now (not a symlink put in its place)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_leftover(root: str, item: Leftover) -> None:
    """Delete the recorded ``item`` of the storage at ``root`` if it is still ours: a temp file
    (or a copy's temp folder) by its name, a placeholder by its identity. Only inside ``root``,
    through a descriptor of its folder opened after checking that no symlink leads elsewhere."""
    parent, name = os.path.split(item.path)
    if os.path.realpath(parent) != parent or not (
        parent == root or parent.startswith(root.rstrip(os.sep) + os.sep)
    ):
        return
    if item.kind == TEMP and not is_temp_name(name):
        return
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(parent, flags)
    except FileNotFoundError:
        return
    try:
        here, now = os.fstat(fd), os.stat(os.path.realpath(parent))
        if (here.st_dev, here.st_ino) != (now.st_dev, now.st_ino):
            return  # the folder was swapped since the check above
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if item.kind == PLACEHOLDER:
            if stat.S_ISREG(info.st_mode) and (
                info.st_dev,
                info.st_ino,
                info.st_size,
                info.st_mtime_ns,
            ) == (item.dev, item.ino, item.size, item.mtime_ns):
                os.unlink(name, dir_fd=fd)
        elif stat.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def _one_storage_event_each(events: list[StoreEvent]) -> list[StoreEvent]:
    # One STORAGE_INFO_CHANGED per storage per operation (or watcher batch) is plenty.
    seen: set[int] = set()
    out: list[StoreEvent] = []
    for event in events:
        if event.kind is StoreEventKind.STORAGE_INFO_CHANGED:
            if event.target in seen:
                continue
            seen.add(event.target)
        out.append(event)
    return out
