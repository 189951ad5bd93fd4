"""Persistent device state: PUIDs and the device GUID, kept in the user's state directory.

The served folders are never written to for bookkeeping. A small SQLite database in the state
directory maps (storage root real path, folder path relative to it, name) to a random 128-bit
PersistentUniqueObjectIdentifier, so the same file keeps its PUID across restarts; renames and
moves made through the store rewrite the rows (a folder's whole subtree in one UPDATE), so they
keep it too. Paths are stored with ``/`` separators on every OS.

The database also records what a device leaves in the served folders while a transfer runs
(the ``leftover`` table): a placeholder -- the empty file a windowed upload creates before its
data arrives -- and a hidden temp file where the OS cannot make nameless ones. A row is written
when the file is made and removed when its data completes or it is thrown away; rows still
there when a device starts were left by one that was killed, and the store removes those files
(``ObjectStore.add_storage``) -- a placeholder only while it is still the very file recorded.

Subtree rewrites select descendants with a half-open range on the folder column: every path
below ``a/b`` starts with ``a/b/`` and ``/`` + 1 is ``0``, so ``'a/b/' <= dir < 'a/b0'`` (SQLite
compares TEXT bytewise, which for UTF-8 is code-point order).

The connection is shared between the server thread and the watcher thread; the store calls it
only while holding its own lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS puid (
    root TEXT NOT NULL,
    dir TEXT NOT NULL,
    name TEXT NOT NULL,
    puid BLOB NOT NULL,
    PRIMARY KEY (root, dir, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leftover (
    path TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    kind TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;
"""

#: ``leftover.kind``: an empty file whose data has not arrived yet / a hidden temp file
PLACEHOLDER = "placeholder"
TEMP = "temp"


@dataclass(frozen=True, slots=True)
class Leftover:
    """A recorded file a transfer is using: its absolute path and what it was when recorded
    (``dev``/``ino``/``size``/``mtime_ns``; all 0 for a temp file, recognised by its name)."""

    path: str
    kind: str
    dev: int = 0
    ino: int = 0
    size: int = 0
    mtime_ns: int = 0


DB_NAME = "objects.sqlite3"


def default_state_dir() -> Path:
    """``platformdirs.user_state_dir("openwpd")`` (falls back to ``$XDG_STATE_HOME/openwpd`` or
    ``~/.local/state/openwpd`` if platformdirs is missing)."""
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - platformdirs is a declared dependency
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "openwpd"
    return Path(platformdirs.user_state_dir("openwpd"))


def _new_puid() -> int:
    # uuid4 is 122 random bits; never 0, which some initiators treat as "no PUID".
    return uuid.uuid4().int


def _new_puids(count: int) -> list[int]:
    """``count`` fresh PUIDs from one read of the OS's random source (a read per PUID costs
    more than the rest of listing a file): 128 random bits each, never 0."""
    pool = os.urandom(16 * count)
    return [
        int.from_bytes(pool[i : i + 16], "big") or _new_puid() for i in range(0, 16 * count, 16)
    ]


def join(dir_: str, name: str) -> str:
    """Relative path of ``name`` inside relative folder ``dir_`` ('' is the storage root)."""
    return f"{dir_}/{name}" if dir_ else name


#: names per ``IN (...)`` query (SQLite allows 999 parameters in older builds)
_IN_CHUNK = 500


def _subtree_bounds(path: str) -> tuple[str, str]:
    return path + "/", path + "0"


class StateDB:
    """The state database. Not thread-safe by itself: callers serialise access."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            state_dir / DB_NAME, check_same_thread=False, isolation_level=None
        )
        # Write-ahead log, synced at checkpoints only: a commit (every upload, delete, rename)
        # no longer waits for two or three fsyncs, which queue behind the write-back of the
        # data just uploaded (tens of ms, seen in cancel latencies). The database stays
        # consistent; what a power cut can lose is the last commits -- PUIDs given since.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._batch_depth = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every change made inside (a watcher batch of thousands of
        deletions must not pay a commit each)."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            return
        with self._db:
            self._db.execute("BEGIN")
            self._batch_depth = 1
            try:
                yield
            finally:
                self._batch_depth = 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._batch_depth:
            yield
            return
        with self._db:
            self._db.execute("BEGIN")
            yield

    def close(self) -> None:
        """Close the database (idempotent)."""
        self._db.close()

    def meta_bytes(self, key: str, factory: bytes) -> bytes:
        """The stored value for ``key``; stores ``factory`` first if there is none."""
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, factory))
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return bytes(row[0])

    def meta_get(self, key: str) -> bytes | None:
        """The stored value for ``key``, None if there is none."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def meta_put(self, key: str, value: bytes | None) -> None:
        """Store ``value`` for ``key`` (None removes it)."""
        with self._transaction():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                )

    def puids_for_dir(self, root: str, dir_: str, names: Iterable[str]) -> dict[str, int]:
        """PUIDs of ``names`` in folder ``dir_``; names without one get a fresh PUID, stored."""
        known = {
            name: int.from_bytes(blob, "big")
            for name, blob in self._db.execute(
                "SELECT name, puid FROM puid WHERE root = ? AND dir = ?", (root, dir_)
            )
        }
        self._add_missing(root, dir_, names, known)
        return known

    def _add_missing(
        self, root: str, dir_: str, names: Iterable[str], known: dict[str, int]
    ) -> None:
        """Store fresh PUIDs for the ``names`` without one in ``known``, and add them there."""
        missing = [name for name in names if name not in known]
        if not missing:
            return
        fresh = dict(zip(missing, _new_puids(len(missing)), strict=True))
        with self._transaction():
            self._db.executemany(
                "INSERT INTO puid (root, dir, name, puid) VALUES (?, ?, ?, ?)",
                ((root, dir_, n, p.to_bytes(16, "big")) for n, p in fresh.items()),
            )
        known.update(fresh)

    def puids_for(self, root: str, dir_: str, names: list[str]) -> dict[str, int]:
        """PUIDs of ``names`` in folder ``dir_`` -- a few of a big folder: rows looked up by
        name, not the whole folder's -- fresh ones stored for names without one."""
        known: dict[str, int] = {}
        for start in range(0, len(names), _IN_CHUNK):
            chunk = names[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            known.update(
                (name, int.from_bytes(blob, "big"))
                for name, blob in self._db.execute(
                    f"SELECT name, puid FROM puid WHERE root = ? AND dir = ? AND name IN ({marks})",
                    (root, dir_, *chunk),
                )
            )
        self._add_missing(root, dir_, names, known)
        return known

    def puid_for(self, root: str, dir_: str, name: str) -> int:
        """The PUID of ``dir_/name``, a fresh one stored if it has none: one lookup by the
        primary key, for a single name (another program adds files one by one; reading the
        whole folder's rows per name made taking in N files cost N^2)."""
        row = self._db.execute(
            "SELECT puid FROM puid WHERE root = ? AND dir = ? AND name = ?", (root, dir_, name)
        ).fetchone()
        if row is not None:
            return int.from_bytes(row[0], "big")
        puid = _new_puid()
        with self._transaction():
            self._db.execute(
                "INSERT INTO puid (root, dir, name, puid) VALUES (?, ?, ?, ?)",
                (root, dir_, name, puid.to_bytes(16, "big")),
            )
        return puid

    def new_object(self, root: str, dir_: str, name: str) -> int:
        """A fresh PUID for an object just created at ``dir_/name``: stale rows for that path
        (and, for a folder, below it) left by objects deleted behind our back are dropped."""
        puid = _new_puid()
        with self._transaction():
            self._forget(root, dir_, name)
            self._db.execute(
                "INSERT INTO puid (root, dir, name, puid) VALUES (?, ?, ?, ?)",
                (root, dir_, name, puid.to_bytes(16, "big")),
            )
        return puid

    def forget(self, root: str, dir_: str, name: str) -> None:
        """Drop the rows of ``dir_/name`` and of everything below it."""
        with self._transaction():
            self._forget(root, dir_, name)

    def _forget(self, root: str, dir_: str, name: str) -> None:
        path = join(dir_, name)
        low, high = _subtree_bounds(path)
        self._db.execute(
            "DELETE FROM puid WHERE root = ? AND dir = ? AND name = ?", (root, dir_, name)
        )
        # two indexed lookups (an OR would scan the table: quadratic over a mass deletion)
        self._db.execute("DELETE FROM puid WHERE root = ? AND dir = ?", (root, path))
        self._db.execute(
            "DELETE FROM puid WHERE root = ? AND dir >= ? AND dir < ?", (root, low, high)
        )

    def move(self, old: tuple[str, str, str], new: tuple[str, str, str]) -> None:
        """Carry the PUIDs of ``(root, dir, name)`` ``old`` and its subtree over to ``new``."""
        root, dir_, name = old
        new_root, new_dir, new_name = new
        old_path = join(dir_, name)
        new_path = join(new_dir, new_name)
        low, high = _subtree_bounds(old_path)
        with self._transaction():
            self._forget(new_root, new_dir, new_name)
            self._db.execute(
                "UPDATE puid SET root = ?, dir = ?, name = ? "
                "WHERE root = ? AND dir = ? AND name = ?",
                (new_root, new_dir, new_name, root, dir_, name),
            )
            # dir is either exactly old_path or starts with old_path/; swap that prefix.
            self._db.execute(
                "UPDATE OR REPLACE puid SET root = ?, dir = ? || substr(dir, ?) "
                "WHERE root = ? AND (dir = ? OR (dir >= ? AND dir < ?))",
                (new_root, new_path, len(old_path) + 1, root, old_path, low, high),
            )

    def record_leftover(self, root: str, item: Leftover) -> None:
        """Remember ``item`` (a file of the storage at ``root``) until :meth:`clear_leftover`."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO leftover (path, root, kind, dev, ino, size, mtime_ns) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.path, root, item.kind, item.dev, item.ino, item.size, item.mtime_ns),
            )

    def clear_leftover(self, path: str) -> None:
        """Forget the record of ``path`` (its transfer finished, either way)."""
        with self._transaction():
            self._db.execute("DELETE FROM leftover WHERE path = ?", (path,))

    def leftovers(self, root: str) -> list[Leftover]:
        """What is recorded for the storage at ``root``."""
        return [
            Leftover(path, kind, dev, ino, size, mtime_ns)
            for path, kind, dev, ino, size, mtime_ns in self._db.execute(
                "SELECT path, kind, dev, ino, size, mtime_ns FROM leftover WHERE root = ?",
                (root,),
            )
        ]
