"""Reading folders from disk: which entries are served, and their sizes and times.

Served: regular files and folders with servable names (see :mod:`.names`), and symbolic links
to *files* whose real target lies inside the storage root. Not served, ever: the store's temp
files, symlinks whose target is outside the root (they are invisible, so nothing can be read or
written through them), symlinks to folders (they could form cycles or show one tree twice),
and special files (FIFOs, sockets, devices -- reading a FIFO would hang the server).
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass

from .names import is_servable, unservable_reason

log = logging.getLogger(__name__)

#: names already said not to be served (each is said once, not at every listing)
_told: set[str] = set()
_TOLD_MAX = 10_000


def _tell_unservable(dir_path: str, name: str) -> None:
    reason = unservable_reason(name)
    if reason is None:
        return
    path = os.path.join(dir_path, name)
    if path in _told:
        return
    if len(_told) >= _TOLD_MAX:
        _told.clear()
    _told.add(path)
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    log.info("not served: %s: %s", shown, reason)


@dataclass(frozen=True, slots=True)
class Entry:
    """A servable directory entry as seen by one ``stat``."""

    name: str
    is_folder: bool
    size: int
    mtime_ns: int
    ctime_ns: int


def is_inside(real_path: str, root_real: str) -> bool:
    """Whether the resolved path ``real_path`` is ``root_real`` or below it."""
    return real_path == root_real or real_path.startswith(root_real.rstrip(os.sep) + os.sep)


def _entry(name: str, st: os.stat_result, is_folder: bool) -> Entry:
    birth = getattr(st, "st_birthtime", None)
    ctime_ns = int(birth * 1e9) if birth is not None else st.st_ctime_ns
    return Entry(name, is_folder, 0 if is_folder else st.st_size, st.st_mtime_ns, ctime_ns)


def classify(
    dir_path: str, name: str, root_real: str, entry: os.DirEntry[str] | None = None
) -> Entry | None:
    """The :class:`Entry` for ``dir_path/name``, or None if it is absent or not served (a
    name MTP cannot carry is said at INFO level, once)."""
    if not is_servable(name):
        _tell_unservable(dir_path, name)
        return None
    path = os.path.join(dir_path, name)
    try:
        st = entry.stat(follow_symlinks=False) if entry is not None else os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            if not is_inside(os.path.realpath(path), root_real):
                return None
            st = os.stat(path)
            return _entry(name, st, False) if stat.S_ISREG(st.st_mode) else None
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        return _entry(name, st, True)
    if stat.S_ISREG(st.st_mode):
        return _entry(name, st, False)
    return None


def scan_dir(dir_path: str, root_real: str) -> list[Entry]:
    """Every served entry of ``dir_path``, sorted by name. Raises OSError if the folder itself
    cannot be read."""
    found: list[Entry] = []
    with os.scandir(dir_path) as it:
        for de in it:
            ent = classify(dir_path, de.name, root_real, de)
            if ent is not None:
                found.append(ent)
    found.sort(key=lambda e: e.name)
    return found
