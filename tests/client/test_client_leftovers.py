"""Downloads to a path: the permissions of the file they make, and the temporary files that a
killed download leaves (real files, the real device over loopback)."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from openwpd.client import Handle
from openwpd.client.transfer import remove_leftovers


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
async def test_a_download_gets_the_mode_of_a_new_file(
    h: Handle, served: Path, tmp_path: Path, umask: None, mask: int, mode: int
) -> None:
    (served / "f.txt").write_bytes(b"content")
    os.umask(mask)
    target = tmp_path / "f.txt"
    assert await h.download("/Phone/f.txt", target) == 7
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_bytes() == b"content"


def test_remove_leftovers_takes_only_dead_downloads_of_the_names_given(tmp_path: Path) -> None:
    dead = tmp_path / ".a.jpg.k3_x9q0z.openwpd-part"
    other = tmp_path / ".b.jpg.abcdefgh.openwpd-part"  # another target
    near = [
        tmp_path / ".a.jpg.abc.openwpd-part",  # not our random part
        tmp_path / ".a.jpg.ABCDEFGH.openwpd-part",
        tmp_path / "a.jpg.abcdefgh.openwpd-part",  # no leading dot
        tmp_path / ".a.jpg.abcdefgh.openwpd-part.bak",
        tmp_path / "a.jpg",
    ]
    live = tmp_path / ".a.jpg.live0000.openwpd-part"
    for path in (dead, other, live, *near):
        path.write_bytes(b"x")
    folder = tmp_path / ".a.jpg.folder00.openwpd-part"
    folder.mkdir()
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running download holds its file
        assert remove_leftovers(tmp_path, ["a.jpg"], dry_run=True) == [dead]
        assert dead.exists()
        assert remove_leftovers(tmp_path, ["a.jpg"]) == [dead]
        assert not dead.exists() and live.exists() and other.exists() and folder.is_dir()
        assert all(p.exists() for p in near)
        assert remove_leftovers(tmp_path) == [other]
    assert remove_leftovers(tmp_path / "missing") == []
