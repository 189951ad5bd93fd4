"""Throwing away a partly written file quickly (shared by the device's store and the client)."""

from __future__ import annotations

import contextlib
import os
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
    Errors are swallowed: this is cleanup.
    """
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            continue
        if file is not None:
            threading.Thread(target=_close, args=(file,), name="openwpd-discard").start()
        return
    if file is not None:
        _close(file)
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _close(file: BinaryIO) -> None:
    with contextlib.suppress(OSError):
        file.close()


__all__ = ["discard"]
