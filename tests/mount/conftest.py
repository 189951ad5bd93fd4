"""Fixtures for the mount tests (helpers: mount_support.py). They need the kernel's FUSE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mount_support import Rig, fuse_missing, make_rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """A device (Phone, read-only Card) and a mount of it on ``rig.mnt``."""
    why = fuse_missing()
    if why:
        pytest.skip(why)
    made = make_rig(tmp_path)
    try:
        made.mount()
        yield made
    finally:
        made.unmount()
        made.server.close()


@pytest.fixture
def bare_rig(tmp_path: Path) -> Iterator[Rig]:
    """The device without a mount (the test mounts it itself)."""
    why = fuse_missing()
    if why:
        pytest.skip(why)
    made = make_rig(tmp_path)
    try:
        yield made
    finally:
        made.unmount()
        made.server.close()
