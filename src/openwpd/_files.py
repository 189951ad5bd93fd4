"""Throwing files away without waiting for the kernel to free their page cache (shared by the
device's store and the client)."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path
from typing import BinaryIO


def discard(file: BinaryIO | None, *paths: Path) -> None:
    """Close ``file`` and delete it, at the first of ``paths`` that exists.

    Deleting a file with a GiB of fresh page cache takes tens of milliseconds (the kernel frees
    every page before unlink returns), which a cancel used to wait for. So the name is removed
    while the file is still open -- that is instant, and nothing is visible on disk from then
    on -- and the last close, which frees the pages, runs on a short-lived thread. Where an
    open file cannot be unlinked (Windows), it is closed first and unlinked after, as before.
    A file without ``paths`` has no name (``O_TMPFILE``): it is just closed on the thread.
    Errors are swallowed: this is cleanup.
    """
    if not paths:
        if file is not None:
            _close_later(file)
        return
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            continue
        if file is not None:
            _close_later(file)
        return
    if file is not None:
        _close(file)
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


#: files at least this large are deleted through :func:`unlink` 's open-file route
BIG_FILE = 8 * 1024 * 1024


def unlink(path: Path, *, dir_fd: int | None = None) -> None:
    """``os.unlink(path, dir_fd=dir_fd)`` (same errors), but a large regular file's pages are
    freed on a short-lived thread: the file is opened first (never through a symlink), so the
    unlink only removes the name -- at once -- and the last close, on the thread, does the
    rest. Deleting a GiB file this way takes microseconds on the caller's thread instead of
    ~0.2 s of the device's event loop."""
    info = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISREG(info.st_mode) or info.st_size < BIG_FILE:
        os.unlink(path, dir_fd=dir_fd)
        return
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        file = os.fdopen(os.open(path, flags, dir_fd=dir_fd), "rb")
    except OSError:
        os.unlink(path, dir_fd=dir_fd)
        return
    try:
        os.unlink(path, dir_fd=dir_fd)
    except OSError:
        file.close()  # e.g. Windows: an open file cannot be unlinked; try again closed
        os.unlink(path, dir_fd=dir_fd)
        return
    _close_later(file)


def _close_later(file: BinaryIO) -> None:
    """Close ``file`` on a short-lived thread: its last close frees the page cache of a file
    whose name is already gone."""
    threading.Thread(target=_close, args=(file,), name="openwpd-discard").start()


def _close(file: BinaryIO) -> None:
    with contextlib.suppress(OSError):
        file.close()


__all__ = ["BIG_FILE", "discard", "unlink"]
