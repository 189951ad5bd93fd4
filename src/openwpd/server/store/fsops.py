"""File-system helpers for copies and moves that must leave nothing behind on failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .names import new_temp_name
from .scan import scan_dir


def same_entry(a: Path, b: Path) -> bool:
    # A case-only rename on a case-insensitive file system: both names are the same file.
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def copy_any(src: Path, dst: Path, root_real: str) -> None:
    """Copy a file or folder tree (served entries only), keeping modification times."""
    if not os.path.isdir(src) or os.path.islink(src):
        shutil.copy2(src, dst)
        return
    os.mkdir(dst)
    for entry in scan_dir(str(src), root_real):
        copy_any(src / entry.name, dst / entry.name, root_real)
    shutil.copystat(src, dst)


def remove_any(path: Path, *, strict: bool = False) -> None:
    """Remove a file or a folder tree; errors are swallowed (cleanup) unless ``strict``."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError:
        if strict:
            raise


def move_across(src: Path, dst: Path, src_root: str) -> None:
    """Move between file systems: copy to a temp name, rename into place, delete the source.
    If the source cannot be deleted the copy is removed again, so exactly one survives."""
    temp = dst.parent / new_temp_name("move")
    try:
        copy_any(src, temp, src_root)
        os.rename(temp, dst)
    except OSError:
        remove_any(temp)
        raise
    try:
        remove_any(src, strict=True)
    except OSError:
        remove_any(dst)
        raise
