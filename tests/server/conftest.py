"""Fixtures of the store tests: a watching store on a temporary state directory (the served
folder is the suite-wide ``served`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openwpd.server.store import ObjectStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ObjectStore]:
    s = ObjectStore(state_dir=tmp_path / "state", debounce=0.05)
    yield s
    s.close()
