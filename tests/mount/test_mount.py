"""``wpd mount`` through the kernel's FUSE against a virtual device over PTP/IP."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import logging
import os
import random
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
from mount_support import OperationCounter, Rig, is_mounted, no_temp_files, sha256, write_random

from cli.cli_support import wpd_exe
from openwpd.client import open_connection
from openwpd.mount.fuse import fuse_available

# whole copies of many MiB through FUSE: on a loaded 2-CPU machine they take minutes
pytestmark = pytest.mark.timeout(900)


def _tree(root: Path) -> dict[str, str]:
    """relative path -> sha256 (or "dir") of everything under ``root``."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = "dir" if path.is_dir() else sha256(path)
    return found


def _mixed_tree(root: Path) -> None:
    (root / "Ünïcödé 文件").mkdir(parents=True)
    (root / "Ünïcödé 文件" / "ñame – ☃.txt").write_text("snow\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "a" / "b" / "c").mkdir(parents=True)
    write_random(root / "a" / "b" / "c" / "mid.bin", 3 * 1024 * 1024 + 17, seed=1)
    write_random(root / "a" / "one.bin", 1, seed=2)
    (root / "a" / "empty dir").mkdir()
    for i in range(20):
        (root / "a" / f"small {i}.txt").write_text(f"file {i}\n" * i)


def test_listing_shows_storages_files_and_stat(rig: Rig) -> None:
    write_random(rig.phone / "f.bin", 5000, seed=3)
    os.utime(rig.phone / "f.bin", (1_600_000_000, 1_600_000_000))
    assert sorted(os.listdir(rig.mnt)) == ["Card", "Phone"]
    st = os.stat(rig.mnt / "Phone" / "f.bin")
    assert st.st_size == 5000
    assert int(st.st_mtime) == 1_600_000_000
    assert (rig.mnt / "Phone" / "f.bin").read_bytes() == (rig.phone / "f.bin").read_bytes()
    # read-only storages look read-only
    assert os.stat(rig.mnt / "Card").st_mode & 0o222 == 0
    assert os.stat(rig.mnt / "Card" / "readme.txt").st_mode & 0o222 == 0
    assert os.stat(rig.mnt / "Phone").st_mode & 0o200
    with pytest.raises(FileNotFoundError):
        os.stat(rig.mnt / "Phone" / "nope")
    with pytest.raises(FileNotFoundError):
        os.stat(rig.mnt / "Nope")


def test_rsync_round_trip_find_tar_du(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _mixed_tree(src)
    dest = rig.mnt / "Phone" / "tree"
    subprocess.run(["rsync", "-a", f"{src}/", f"{dest}/"], check=True, timeout=120)
    assert _tree(rig.phone / "tree") == _tree(src)  # on the device
    back = tmp_path / "back"
    subprocess.run(["rsync", "-a", f"{dest}/", f"{back}/"], check=True, timeout=120)
    assert _tree(back) == _tree(src)
    # mtimes came through (DateModified, whole seconds)
    mid = Path("a/b/c/mid.bin")
    assert int((back / mid).stat().st_mtime) == int((src / mid).stat().st_mtime)
    # find, tar, du, sha256sum see the same tree
    found = subprocess.run(
        ["find", ".", "-type", "f"], cwd=dest, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    expected = [str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()]
    assert sorted(f[2:] for f in found if f) == sorted(expected)
    archive = tmp_path / "t.tar"
    subprocess.run(["tar", "cf", str(archive), "."], cwd=dest, check=True)
    with tarfile.open(archive) as tar:
        members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
        member = members[str(mid)]
        extracted = tar.extractfile(member)
        assert extracted is not None
        assert hashlib.sha256(extracted.read()).hexdigest() == sha256(src / mid)
    du = subprocess.run(["du", "-sb", str(dest)], capture_output=True, text=True, check=True)
    total = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert int(du.stdout.split()[0]) >= total
    sums = subprocess.run(
        "find . -type f -print0 | xargs -0 sha256sum",
        shell=True,
        cwd=dest,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in sums.splitlines():
        digest, name = line.split(maxsplit=1)
        assert digest == sha256(src / name.removeprefix("./"))


@pytest.mark.slow
def test_sparse_file_over_4gib_round_trip(rig: Rig, tmp_path: Path) -> None:
    size = (4 << 30) + (1 << 20) + 5
    src = tmp_path / "sparse.bin"
    with open(src, "wb") as f:
        f.write(b"head")
        f.seek(size - 4)
        f.write(b"tail")
    dest = rig.mnt / "Phone" / "sparse.bin"
    subprocess.run(["rsync", "-aS", str(src), str(dest)], check=True, timeout=600)
    assert os.stat(dest).st_size == size  # exact over 4 GiB
    served = rig.phone / "sparse.bin"
    assert served.stat().st_size == size
    assert served.stat().st_blocks * 512 < 64 << 20  # the device kept it sparse
    with open(dest, "rb") as f:
        assert f.read(4) == b"head"
        f.seek(size - 4)
        assert f.read() == b"tail"  # random access past 4 GiB
        f.seek((4 << 30) - 2)
        assert f.read(4) == b"\0\0\0\0"
    assert sha256(dest) == sha256(src)


def test_two_readers_of_one_big_file(rig: Rig) -> None:
    write_random(rig.phone / "big.bin", 48 << 20, seed=4)
    expected = sha256(rig.phone / "big.bin")
    results: list[str] = []

    def reader() -> None:
        results.append(sha256(rig.mnt / "Phone" / "big.bin"))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [expected, expected]


def test_writes_edits_and_tree_changes(rig: Rig) -> None:
    phone = rig.mnt / "Phone"
    (phone / "dir").mkdir()
    (phone / "dir" / "f.txt").write_bytes(b"hello world")
    assert (rig.phone / "dir" / "f.txt").read_bytes() == b"hello world"
    # in-place writes of an existing file
    with open(phone / "dir" / "f.txt", "r+b") as f:
        f.seek(6)
        f.write(b"WORLD")
    assert (rig.phone / "dir" / "f.txt").read_bytes() == b"hello WORLD"
    # append, truncate
    with open(phone / "dir" / "f.txt", "ab") as f:
        f.write(b"!")
    os.truncate(phone / "dir" / "f.txt", 5)
    assert (rig.phone / "dir" / "f.txt").read_bytes() == b"hello"
    assert (phone / "dir" / "f.txt").read_bytes() == b"hello"
    # overwrite with O_TRUNC
    (phone / "dir" / "f.txt").write_bytes(b"new")
    assert (rig.phone / "dir" / "f.txt").read_bytes() == b"new"
    # rename in the folder, then across folders, over an existing file
    os.rename(phone / "dir" / "f.txt", phone / "dir" / "g.txt")
    assert sorted(os.listdir(rig.phone / "dir")) == ["g.txt"]
    (phone / "other").mkdir()
    (phone / "other" / "h.txt").write_bytes(b"old")
    os.rename(phone / "dir" / "g.txt", phone / "other" / "h.txt")
    assert (rig.phone / "other" / "h.txt").read_bytes() == b"new"
    assert os.listdir(phone / "dir") == []
    # utimens sets DateModified
    os.utime(phone / "other" / "h.txt", (1_500_000_000, 1_500_000_000))
    assert int((rig.phone / "other" / "h.txt").stat().st_mtime) == 1_500_000_000
    assert int(os.stat(phone / "other" / "h.txt").st_mtime) == 1_500_000_000
    # rmdir refuses a folder with files, unlink, rmdir
    with pytest.raises(OSError) as err:
        os.rmdir(phone / "other")
    assert err.value.errno == errno.ENOTEMPTY
    os.unlink(phone / "other" / "h.txt")
    os.rmdir(phone / "other")
    os.rmdir(phone / "dir")
    assert os.listdir(rig.phone) == []
    assert os.listdir(phone) == []


def test_read_only_storage_gives_erofs(rig: Rig) -> None:
    card = rig.mnt / "Card"
    for action in (
        lambda: (card / "new.txt").write_bytes(b"x"),
        (card / "d").mkdir,
        lambda: os.unlink(card / "readme.txt"),
        lambda: open(card / "readme.txt", "r+b").close(),
        lambda: os.rename(card / "readme.txt", card / "r.txt"),
    ):
        with pytest.raises(OSError) as err:
            action()
        assert err.value.errno == errno.EROFS
    assert os.listdir(rig.card) == ["readme.txt"]
    assert (card / "readme.txt").read_text() == "read-only card\n"


def test_full_store_gives_enospc_and_leaves_nothing(rig: Rig, tmp_path: Path) -> None:
    storage = rig.server.device.store.storages[0]
    storage.reserve_bytes = storage.free_bytes + storage.reserve_bytes - (1 << 20)
    src = tmp_path / "big.bin"
    write_random(src, 32 << 20, seed=5)
    result = subprocess.run(
        ["cp", str(src), str(rig.mnt / "Phone" / "big.bin")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "No space left on device" in result.stderr
    assert os.listdir(rig.phone) == []
    assert "big.bin" not in os.listdir(rig.mnt / "Phone")
    # room again: the same copy works, the mount was not harmed
    storage.reserve_bytes = 0
    subprocess.run(["cp", str(src), str(rig.mnt / "Phone" / "big.bin")], check=True)
    assert sha256(rig.phone / "big.bin") == sha256(src)


def test_killed_cp_leaves_nothing_and_the_mount_goes_on(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    write_random(src, 256 << 20, seed=6)
    write_random(rig.phone / "keep.bin", 3 << 20, seed=7)
    rng = random.Random(8)
    for _ in range(4):
        cp = subprocess.Popen(["cp", str(src), str(rig.mnt / "Phone" / "big.bin")])
        time.sleep(rng.uniform(0.05, 0.6))
        cp.send_signal(signal.SIGKILL)
        cp.wait(60)
        deadline = time.monotonic() + 30  # the mount deletes it once it sees the writer gone
        while "big.bin" in os.listdir(rig.phone) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "big.bin" not in os.listdir(rig.phone), "a partial file stayed on the device"
        assert no_temp_files(rig.phone)
        assert "big.bin" not in os.listdir(rig.mnt / "Phone")
        assert sha256(rig.mnt / "Phone" / "keep.bin") == sha256(rig.phone / "keep.bin")
    subprocess.run(["cp", str(src), str(rig.mnt / "Phone" / "big.bin")], check=True)
    assert sha256(rig.phone / "big.bin") == sha256(src)


def test_a_killed_reader_is_cancelled_and_the_session_goes_on(rig: Rig) -> None:
    size = 16 << 30  # sparse on the device: reading it all would take minutes
    with open(rig.phone / "huge.bin", "wb") as f:
        f.truncate(size)
    write_random(rig.phone / "small.bin", 1 << 20, seed=10)
    counter = OperationCounter()
    logger = logging.getLogger("openwpd.server")
    old_level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    rig.server.device.verbose = True
    try:
        reader = subprocess.Popen(["sha256sum", str(rig.mnt / "Phone" / "huge.bin")])
        deadline = time.monotonic() + 30
        while counter.counts["GetPartialObject64"] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        reader.send_signal(signal.SIGKILL)
        reader.wait(30)
        # the other files are served meanwhile
        assert sha256(rig.mnt / "Phone" / "small.bin") == sha256(rig.phone / "small.bin")
        time.sleep(1)
        reads = counter.counts["GetPartialObject64"]
        time.sleep(1)
        assert counter.counts["GetPartialObject64"] == reads  # the reading stopped
        assert reads * (8 << 20) < size
    finally:
        rig.server.device.verbose = False
        logger.removeHandler(counter)
        logger.setLevel(old_level)


def test_device_side_changes_show_without_remount(rig: Rig) -> None:
    phone = rig.mnt / "Phone"
    assert os.listdir(phone) == []
    (rig.phone / "added.txt").write_text("from the device side\n")

    def wait_for(check: object) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise AssertionError(rig.log())

    wait_for(lambda: os.path.exists(phone / "added.txt"))
    assert (phone / "added.txt").read_text() == "from the device side\n"
    # changed on the device side: the kernel's cached size and data are dropped
    (rig.phone / "added.txt").write_text("changed on the device side, and longer\n")
    wait_for(
        lambda: (phone / "added.txt").read_text() == "changed on the device side, and longer\n"
    )
    (rig.phone / "added.txt").unlink()
    wait_for(lambda: not os.path.exists(phone / "added.txt"))

    async def other_client() -> None:
        async with open_connection(rig.url) as conn, conn.open_handle() as handle:
            await handle.upload(io.BytesIO(b"uploaded"), "/Phone", name="other.txt")

    asyncio.run(other_client())
    # (ObjectAdded comes when the upload creates the object, empty; its size follows)
    wait_for(lambda: os.path.exists(phone / "other.txt"))
    wait_for(lambda: (phone / "other.txt").read_bytes() == b"uploaded")


def test_ls_of_5000_files_costs_one_listing(rig: Rig) -> None:
    folder = rig.phone / "many"
    folder.mkdir()
    for i in range(5000):
        (folder / f"file{i:05}.txt").write_bytes(b"x" * (i % 7))
    counter = OperationCounter()
    logger = logging.getLogger("openwpd.server")
    old_level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    rig.server.device.verbose = True
    try:
        out = subprocess.run(
            ["ls", "-l", str(rig.mnt / "Phone" / "many")],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    finally:
        rig.server.device.verbose = False
        logger.removeHandler(counter)
        logger.setLevel(old_level)
    lines = [line for line in out.splitlines() if line.startswith("-")]
    assert len(lines) == 5000
    assert lines[6].split()[4] == "6"
    per_file = counter.counts["GetObjectInfo"] + counter.counts["GetObjectPropValue"]
    assert per_file < 10, counter.counts


def test_sigterm_unmounts_and_cancels_a_copy_in_flight(rig: Rig, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    write_random(src, 256 << 20, seed=11)
    cp = subprocess.Popen(
        ["cp", str(src), str(rig.mnt / "Phone" / "big.bin")], stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    assert rig.stop(signal.SIGTERM) == 0
    cp.wait(60)
    assert not is_mounted(rig.mnt)
    assert os.listdir(rig.phone) in ([], ["big.bin"])
    if os.listdir(rig.phone):  # finished before the signal: then it is complete
        assert sha256(rig.phone / "big.bin") == sha256(src)
    assert no_temp_files(rig.phone)


def test_spool_writes_new_and_existing_files(bare_rig: Rig) -> None:
    rig = bare_rig
    rig.mount("--spool")
    phone = rig.mnt / "Phone"
    write_random(rig.phone / "old.bin", 2 << 20, seed=12)
    expected = bytearray((rig.phone / "old.bin").read_bytes())
    # a new file: nothing but an empty object on the device until close
    with open(phone / "new.bin", "wb") as f:
        f.write(b"a" * 100_000)
        f.seek(300_000)
        f.write(b"b")
    assert (rig.phone / "new.bin").read_bytes() == b"a" * 100_000 + bytes(200_000) + b"b"
    # an existing file edited in the middle: downloaded to the spool, uploaded on close
    with open(phone / "old.bin", "r+b") as f:
        f.seek(1 << 20)
        f.write(b"middle")
    expected[1 << 20 : (1 << 20) + 6] = b"middle"
    assert (rig.phone / "old.bin").read_bytes() == bytes(expected)
    assert sorted(os.listdir(rig.phone)) == ["new.bin", "old.bin"]
    # the spool files are nameless: nothing stays in the cache directory
    spool = rig.cache / "openwpd" / "mount-spool"
    assert not spool.exists() or os.listdir(spool) == []


def test_background_mount_detaches_once_ready(bare_rig: Rig) -> None:
    rig = bare_rig
    result = subprocess.run(
        [*wpd_exe(), "mount", "--background", str(rig.mnt)],
        capture_output=True,
        text=True,
        env=rig.env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mounted ")
    try:
        assert is_mounted(rig.mnt)  # ready when the command returned
        (rig.mnt / "Phone" / "x.txt").write_text("bg\n")
        assert (rig.phone / "x.txt").read_text() == "bg\n"
    finally:
        subprocess.run(["fusermount3", "-u", str(rig.mnt)], check=True, timeout=30)
    deadline = time.monotonic() + 10
    while is_mounted(rig.mnt) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_mounted(rig.mnt)


def test_mount_refuses_a_missing_folder_and_no_fuse(bare_rig: Rig, tmp_path: Path) -> None:
    result = subprocess.run(
        [*wpd_exe(), "mount", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=bare_rig.env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 6
    assert result.stderr.startswith("wpd: ") and "is not a folder" in result.stderr
    assert fuse_available(str(tmp_path / "no-fuse-device")) == (
        "this system has no /dev/fuse (FUSE is not available: load the fuse module)"
    )
    assert fuse_available() is None


def test_read_only_mount_with_allow_other(bare_rig: Rig) -> None:
    rig = bare_rig
    (rig.phone / "f.txt").write_text("content\n")
    rig.mount("--read-only", "-o", "allow_other")
    line = next(
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4] == str(rig.mnt.resolve())
    )
    options = line.split()[5]
    fs_type, _source, super_options = line.split(" - ")[1].split()
    assert fs_type == "fuse.wpd"
    assert "allow_other" in super_options.split(",")
    assert "ro" in options.split(",")
    assert (rig.mnt / "Phone" / "f.txt").read_text() == "content\n"
    assert os.stat(rig.mnt / "Phone").st_mode & 0o222 == 0
    for action in (
        lambda: (rig.mnt / "Phone" / "new.txt").write_bytes(b"x"),
        lambda: os.unlink(rig.mnt / "Phone" / "f.txt"),
        (rig.mnt / "Phone" / "d").mkdir,
    ):
        with pytest.raises(OSError) as err:
            action()
        assert err.value.errno == errno.EROFS
    assert os.listdir(rig.phone) == ["f.txt"]
