"""Handle.replace: an existing file gets new content, in one edit where the device's edits work
on a copy (openwpd's own device, found by its quirk profile), else through a temporary name."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from client_support import Connect, Device

from openwpd.client import Quirks
from openwpd.protocol.errors import LocalProtocolError


@pytest.fixture
def old(device: Device, served: Path) -> Path:
    (served / "Docs").mkdir()
    path = served / "Docs" / "f.txt"
    path.write_bytes(b"old content")
    return path


@pytest.mark.parametrize("atomic", [True, False], ids=["one-edit", "temp-name"])
async def test_replace_gives_the_file_its_new_content(
    connect: Connect, old: Path, tmp_path: Path, atomic: bool
) -> None:
    src = tmp_path / "new.txt"
    src.write_bytes(b"the new content, longer than the old")
    os.utime(src, (1_600_000_000, 1_600_000_000))
    # the device's own profile says its edits work on a copy; explicit quirks leave it out
    kwargs = {} if atomic else {"quirks": Quirks()}
    async with connect(**kwargs) as conn:
        assert conn.policy.atomic_replace is atomic
        h = conn.open_handle()
        before = await h.resolve("/Phone/Docs/f.txt")
        entry = await h.replace("/Phone/Docs/f.txt", src)
        assert entry.name == "f.txt" and entry.path == "/Phone/Docs/f.txt"
        assert entry.size == src.stat().st_size
        assert entry.modified == datetime.fromtimestamp(1_600_000_000)
        # one edit keeps the object (its handle); the other way makes a new one
        assert (entry.handle == before.handle) is atomic
        with pytest.raises(LocalProtocolError):
            await h.replace("/Phone/Docs", src)
    assert old.read_bytes() == src.read_bytes()
    assert sorted(os.listdir(old.parent)) == ["f.txt"]


async def test_replace_with_an_empty_file(connect: Connect, old: Path, tmp_path: Path) -> None:
    src = tmp_path / "empty"
    src.write_bytes(b"")
    async with connect() as conn:
        entry = await conn.open_handle().replace("/Phone/Docs/f.txt", src)
    assert entry.size == 0 and old.read_bytes() == b""
