"""Folder watching (watchdog), debounced, for events about changes made by other programs.

Theory of operation. The watcher never interprets file-system events itself. Each raw event
only marks a name dirty: ``(folder path, entry name)``. After the folder has been quiet for
``debounce`` seconds (or ``max_delay`` after the first mark, for a file that keeps growing),
the whole batch is handed to the store, which re-``stat``s each dirty name and compares it with
its cache. Changes made *through* the store have already updated that cache under the store's
lock, so they compare equal and produce no second event; the store's temp files are dropped
here by name. Reading a file raises only "opened"/"closed_no_write" events, which are ignored,
so serving data never feeds back into the watcher.

Each storage root is watched whole, recursively (:meth:`FolderWatcher.watch_tree`), so a
change in any served folder is reported, listed or not. On Linux that costs one inotify watch
per folder from a per-user budget (``/proc/sys/fs/inotify/max_user_watches``); a tree that does
not fit falls back, said at INFO level, to what is also used when the store is asked for it:
only folders whose children have been listed are watched, each with its own non-recursive
watch, at most ``max_watches`` of them (each costs an inotify instance, 128 per user by
default), least recently listed first out; the store re-scans an evicted folder the next time
it is listed. Moves the OS reports as one event (a rename, or a move inside a tree watched
whole) are handed over with the batch (:attr:`Batch.moves`) so the object keeps its handle.

Threads: watchdog's observer thread calls :meth:`FolderWatcher._on_fs_event`; a flusher thread
calls ``on_batch``. The server runs on asyncio in another thread and must hop the store's
callbacks onto its loop (``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import watchdog.events
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from .names import is_temp_name

# Events newer watchdogs have (attribute changes since 4, an overflowed OS queue since 5);
# with an older one (Debian 12 ships 2.2, as in the USB lab) they are simply not reported.
_ATTRIB_EVENTS: tuple[type[FileSystemEvent], ...] = tuple(
    getattr(watchdog.events, n) for n in ("FileAttribEvent",) if hasattr(watchdog.events, n)
)
_LOST_EVENTS: tuple[type[FileSystemEvent], ...] = tuple(
    getattr(watchdog.events, n) for n in ("EventsLostEvent",) if hasattr(watchdog.events, n)
)

log = logging.getLogger(__name__)

# watchdog warns when a folder inside a tree watched whole is made again before the watch of
# the one just removed is gone (same inotify watch descriptor) and reuses the watch: what the
# store's work folder does on every upload. Nothing is lost; the warning is noise.
warnings.filterwarnings(
    "ignore",
    message=r"Callback with id .* already exists for watch",
    category=RuntimeWarning,
)

#: Raw event types that can change what a folder serves. "opened" and "closed_no_write"
#: (caused by our own reads) are deliberately absent.
_RELEVANT = frozenset({"created", "deleted", "modified", "moved", "closed", "attrib"})


class Batch(dict[str, set[str]]):
    """Dirty names by folder path, and the moves seen meanwhile as (source, destination)
    paths, in the order they happened (a rename by another program keeps its object)."""

    def __init__(self) -> None:
        super().__init__()
        self.moves: list[tuple[str, str]] = []


#: What is asked of the OS (on Linux, the inotify mask): opens, reads and a folder's own
#: timestamps are never asked for, so serving a file raises nothing and another program
#: writing one costs three events, not six.
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileModifiedEvent,
    *_ATTRIB_EVENTS,
    FileClosedEvent,
    *_LOST_EVENTS,
]

#: the name marked dirty for a folder whose events were lost (the OS's queue overflowed): the
#: store reads it, and every listed folder below it, through
LOST = ""


def _schedule(
    observer: BaseObserver, handler: FileSystemEventHandler, path: str, recursive: bool
) -> ObservedWatch:
    try:
        return observer.schedule(handler, path, recursive=recursive, event_filter=_EVENT_FILTER)
    except TypeError:  # watchdog before 4 (Debian 12's 2.2) filters nothing: every event comes
        return observer.schedule(handler, path, recursive=recursive)


def _inotify_watch_limit() -> int:
    """Linux's per-user inotify watch budget; 0 where there is none to read."""
    try:
        return int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    except (OSError, ValueError):
        return 0


class _Handler(FileSystemEventHandler):
    def __init__(self, sink: Callable[[FileSystemEvent], None]) -> None:
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._sink(event)


class FolderWatcher:
    """Watches individual folders and reports dirty entry names in debounced batches.

    ``on_batch(batch)`` receives ``{folder path: {entry names}}`` on the flusher thread.
    """

    def __init__(
        self,
        on_batch: Callable[[Batch], None],
        *,
        debounce: float = 0.2,
        max_delay: float = 1.0,
        max_watches: int = 32,
    ) -> None:
        self._on_batch = on_batch
        self._debounce = debounce
        self._max_delay = max_delay
        self._max_watches = max(1, max_watches)
        self._observer: BaseObserver = Observer()
        self._handler = _Handler(self._on_fs_event)
        self._watches: OrderedDict[int, ObservedWatch] = OrderedDict()
        #: storage roots watched whole (recursively): path -> watch
        self._trees: dict[str, ObservedWatch] = {}
        self._cond = threading.Condition()
        self._dirty: Batch = Batch()
        self._first = 0.0
        self._last = 0.0
        self._stopping = False
        self._flusher = threading.Thread(target=self._run, name="openwpd-store-watch", daemon=True)

    def start(self) -> None:
        """Start the observer and the flusher threads."""
        self._observer.start()
        self._flusher.start()

    def stop(self) -> None:
        """Stop both threads; pending dirty names are dropped. Idempotent."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        self._flusher.join()
        self._observer.stop()
        self._observer.join()

    # -- watch set (called by the store, under its lock) -------------------------------------

    def watch_tree(self, path: str) -> bool:
        """Watch folder ``path`` and everything below it (a storage root): changes anywhere in
        it are reported, listed or not. On Linux that is one inotify watch per folder, from
        a per-user budget (``/proc/sys/fs/inotify/max_user_watches``); if the tree does not
        fit, or cannot be watched, returns False (said at INFO level, what ``-v`` shows) and
        only listed folders are watched, one by one, as :meth:`watch` does."""
        if path in self._trees:
            return True
        try:
            self._trees[path] = _schedule(self._observer, self._handler, path, recursive=True)
        except OSError as exc:
            limit = _inotify_watch_limit()
            budget = f" (inotify allows {limit} watches per user)" if limit else ""
            log.info(
                "cannot watch all of %s: %s%s; changes are reported for listed folders only",
                path,
                exc.strerror or exc,
                budget,
            )
            return False
        log.info("watching %s and every folder below it", path)
        return True

    def unwatch_tree(self, path: str) -> None:
        """Stop watching the tree at ``path`` (no-op if it is not watched whole)."""
        watch = self._trees.pop(path, None)
        if watch is not None:
            # KeyError: the emitter already went away with its deleted folder.
            with contextlib.suppress(KeyError):
                self._observer.unschedule(watch)

    def _covered(self, path: str) -> bool:
        return any(path == top or path.startswith(top + os.sep) for top in self._trees)

    def watch(self, key: int, path: str) -> bool:
        """Watch folder ``path`` (non-recursively) under ``key``; evicts the least recently
        used watch beyond ``max_watches``. Returns False if the folder cannot be watched.
        A folder inside a tree watched whole needs no watch of its own."""
        if self.touch(key, path):
            return True
        try:
            self._watches[key] = _schedule(self._observer, self._handler, path, recursive=False)
        except OSError as exc:
            log.warning("cannot watch %s: %s", path, exc)
            return False
        while len(self._watches) > self._max_watches:
            old_key = next(iter(self._watches))
            self.unwatch(old_key)
        return True

    def touch(self, key: int, path: str | None = None) -> bool:
        """Mark ``key`` as recently used; True if it is watched (or its ``path`` lies in a
        tree watched whole)."""
        if path is not None and self._trees and self._covered(path):
            return True
        if key in self._watches:
            self._watches.move_to_end(key)
            return True
        return False

    def unwatch(self, key: int) -> None:
        """Stop watching ``key`` (no-op if it is not watched)."""
        watch = self._watches.pop(key, None)
        if watch is not None:
            # KeyError: the emitter already went away with its deleted folder.
            with contextlib.suppress(KeyError):
                self._observer.unschedule(watch)

    def take(self, path: str, wanted: Callable[[str], bool]) -> set[str]:
        """The dirty names of folder ``path`` not handed over yet for which ``wanted`` is
        true, now handed over (a listing of that folder takes new names in at once instead of
        after the quiet time); the others stay for the next batch."""
        with self._cond:
            names = self._dirty.get(path)
            if not names:
                return set()
            taken = {name for name in names if wanted(name)}
            names -= taken
            if not names:
                del self._dirty[path]
            return taken

    def watched(self) -> list[int]:
        """The watched keys, least recently used first."""
        return list(self._watches)

    # -- event intake (observer thread) ------------------------------------------------------

    def _on_fs_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, _LOST_EVENTS):
            log.info("store watcher: events lost for %s; it is read again", event.src_path)
            with self._cond:
                was_idle = not self._dirty
                now = time.monotonic()
                if was_idle:
                    self._first = now
                self._last = now
                self._dirty.setdefault(os.fsdecode(event.src_path), set()).add(LOST)
                if was_idle:
                    self._cond.notify_all()
            return
        if event.event_type not in _RELEVANT:
            return
        if event.is_directory and event.event_type in ("modified", "attrib", "closed"):
            return  # a folder's own timestamps are not tracked; its entries raise their own
        paths = [os.fsdecode(event.src_path)]
        # watchdog before 4.0 (Debian 12 ships 2.2) gives only moves a dest_path, and has no
        # is_synthetic (the moves it makes up for a moved folder's contents)
        dest = os.fsdecode(getattr(event, "dest_path", ""))
        if dest:
            paths.append(dest)
        now = time.monotonic()
        with self._cond:
            if dest and paths[0] and not getattr(event, "is_synthetic", False):
                self._dirty.moves.append((paths[0], dest))
            was_idle = not self._dirty
            for path in paths:
                folder, name = os.path.split(path)
                if not name or is_temp_name(name):
                    continue
                if not self._dirty:
                    self._first = now
                self._dirty.setdefault(folder, set()).add(name)
                self._last = now
            # Only the first mark wakes the flusher: it then sleeps out the quiet time by
            # itself. Waking it for every event (six per file another program writes) cost
            # more than the events.
            if was_idle and self._dirty:
                self._cond.notify_all()

    # -- flusher thread -----------------------------------------------------------------------

    def _next_batch(self) -> Batch | None:
        with self._cond:
            while not self._dirty and not self._stopping:
                self._cond.wait()
            while not self._stopping:
                now = time.monotonic()
                quiet = now - self._last
                waited = now - self._first
                if quiet >= self._debounce or waited >= self._max_delay:
                    break
                self._cond.wait(min(self._debounce - quiet, self._max_delay - waited))
            if self._stopping:
                return None
            batch, self._dirty = self._dirty, Batch()
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._on_batch(batch)
            except Exception:
                log.exception("store watcher: failed to apply a batch of changes")
