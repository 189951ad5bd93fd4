"""``wpd`` as a real program: every command, Ctrl-C during transfers, sync resuming, the tour."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Phone, run_wpd, serve_samples, wpd_exe

BIG = 3 * 1024**3  # sparse on the device; a download is interrupted long before its end


@pytest.fixture
def big_phone(tmp_path: Path) -> Iterator[Phone]:
    served = serve_samples(tmp_path, big_size=BIG)
    try:
        yield served
    finally:
        served.server.close()


def test_every_command_as_a_program(phone: Phone, tmp_path: Path) -> None:
    url = phone.url

    def ok(*args: str) -> str:
        result = run_wpd(*args, url=url)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    assert "Phone/" in ok("ls")
    assert "IMG_0001.jpg" in ok("ls", "-lR", "/Phone/DCIM")
    assert "Camera/" in ok("tree", "/Phone/DCIM")
    assert json.loads(ok("stat", "--json", "/Phone/Documents/notes.txt"))["size"] == 58
    assert "Manufacturer: openwpd" in ok("info")
    assert "/Card" in ok("storages")
    env_devices = run_wpd("devices", extra_env={"OPENWPD_DEVICES": url})
    assert env_devices.returncode == 0 and "cli test device" in env_devices.stdout
    out = tmp_path / "out"
    out.mkdir()
    assert ok("get", "/Phone/Music", str(out)) == ""  # nothing extra when piped
    assert (out / "Music" / "Morning.wav").read_bytes() == (
        phone.root / "Music" / "Morning.wav"
    ).read_bytes()
    assert ok("cat", "/Phone/Documents/notes.txt").startswith("Shopping")
    local = tmp_path / "up.txt"
    local.write_text("up\n")
    ok("put", str(local), "/Phone/Documents")
    assert (phone.root / "Documents/up.txt").read_text() == "up\n"
    ok("mkdir", "-p", "/Phone/A/B")
    ok("mv", "/Phone/Documents/up.txt", "/Phone/A/B")
    ok("cp", "/Phone/A/B/up.txt", "/Phone/A")
    assert (phone.root / "A/up.txt").exists() and (phone.root / "A/B/up.txt").exists()
    ok("props", "set", "/Phone/A/up.txt", "ObjectFileName", "down.txt")
    assert ok("props", "get", "/Phone/A/down.txt", "ObjectFileName") == "down.txt\n"
    ok("rm", "-r", "/Phone/A")
    assert not (phone.root / "A").exists()
    assert ok("raw", "GetStorageIDs").startswith("response: ok")
    assert "copied 2 files" in ok("sync", "/Phone/DCIM", str(tmp_path / "backup"))
    events = run_wpd("watch", "-t", "0.5", url=url)
    assert events.returncode == 0 and "watching" in events.stderr
    missing = run_wpd("ls", "/Phone/none", url=url)
    assert missing.returncode == 3
    assert missing.stderr.startswith("wpd: no such file or folder on the device: /Phone/none")
    assert missing.stdout == ""


def _wait_for(predicate: object, timeout: float = 20.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _device_size(phone: Phone, path: str) -> int:
    """The size the device reports (it notices changes made behind its back a little later)."""
    result = run_wpd("stat", "--json", path, url=phone.url)
    return int(json.loads(result.stdout)["size"])


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".openwpd-part")]


def _start(args: list[str], url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENWPD_DEVICE": url}
    env.pop("OPENWPD_DEVICES", None)
    return subprocess.Popen(
        [*wpd_exe(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_sigint_during_get(big_phone: Phone, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    before = sorted(p.name for p in (big_phone.root / "Backups").iterdir())
    proc = _start(["get", "/Phone/Backups/archive.bin", str(dest)], big_phone.url)
    try:
        _wait_for(lambda: any(p.stat().st_size > 0 for p in _partials(dest)))
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "wpd: interrupted: the download of /Phone/Backups/archive.bin was cancelled on the "
        "device; nothing partial was kept"
    ]
    assert list(dest.iterdir()) == []  # neither the file nor its partial copy
    assert sorted(p.name for p in (big_phone.root / "Backups").iterdir()) == before
    _wait_for(lambda: big_phone.server.session_count() == 0, 10)
    listing = run_wpd("ls", "-l", "/Phone/Backups", url=big_phone.url)
    assert listing.returncode == 0 and "archive.bin" in listing.stdout


def test_sigint_during_put_leaves_the_device_clean(phone: Phone, tmp_path: Path) -> None:
    local = tmp_path / "huge.bin"
    with open(local, "wb") as f:
        f.truncate(BIG)
    before = sorted(p.name for p in (phone.root / "Documents").iterdir())
    proc = _start(["put", str(local), "/Phone/Documents"], phone.url)
    try:
        # the command has started (its session is open: past the imports, which take seconds
        # on a loaded machine), then the upload is under way (3 GiB take far longer)
        _wait_for(lambda: phone.server.session_count() > 0)
        time.sleep(1.0)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and err.count("\n") == 1
    assert sorted(p.name for p in (phone.root / "Documents").iterdir()) == before
    _wait_for(lambda: phone.server.session_count() == 0, 10)
    assert run_wpd("ls", "/Phone/Documents", url=phone.url).returncode == 0


def test_second_sigint_exits_at_once(big_phone: Phone, tmp_path: Path) -> None:
    proc = _start(["get", "/Phone/Backups/archive.bin", str(tmp_path)], big_phone.url)
    try:
        _wait_for(lambda: any(p.stat().st_size > 0 for p in _partials(tmp_path)))
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err


def test_sync_interrupted_then_resumed(big_phone: Phone, tmp_path: Path) -> None:
    # Backups/ holds a.txt, archive.bin (big), z.txt: interrupt during archive.bin
    backups = big_phone.root / "Backups"
    (backups / "a.txt").write_text("first\n")
    (backups / "z.txt").write_text("last\n")
    local = tmp_path / "backup"
    proc = _start(["sync", "/Phone/Backups", str(local)], big_phone.url)
    try:
        _wait_for(lambda: local.is_dir() and any(p.stat().st_size > 0 for p in _partials(local)))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert out.splitlines() == ["+ a.txt"]
    assert sorted(p.name for p in local.iterdir()) == ["a.txt"]
    # shrink the big file so the rerun finishes quickly; it is then "changed" only in size
    os.truncate(backups / "archive.bin", 4 * 1024 * 1024)
    _wait_for(lambda: _device_size(big_phone, "/Phone/Backups/archive.bin") == 4 * 1024 * 1024)
    again = run_wpd("sync", "/Phone/Backups", str(local), url=big_phone.url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "+ archive.bin",
        "+ z.txt",
        "copied 2 files (2 new, 0 changed, 4.0 MiB), 1 up to date",
    ]
    (backups / "z.txt").write_text("last, changed\n")
    _wait_for(lambda: _device_size(big_phone, "/Phone/Backups/z.txt") == 14)
    third = run_wpd("sync", "--checksum", "/Phone/Backups", str(local), url=big_phone.url)
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines()[0] == "~ z.txt"
    assert (local / "z.txt").read_text() == "last, changed\n"
    assert "2 up to date" in third.stdout


def test_tour_runs_and_exits_0() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [*wpd_exe(), "tour"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    out = result.stdout
    for key in (
        "The device manager finds the device",
        "thumbnail (GetThumb, from the EXIF IFD1)",
        "identical to the device's file: yes",
        "event OBJECT_ADDED",
        "event OBJECT_REMOVED",
        "ada-lovelace.vcf",
        "Diagnostics.Echo(Text='hello, device') -> 'hello, device'",
        "Sleep completed (MethodComplete event, OK (0x2001))",
        "Sleep(60 s) cancelled after 0.1 s: Cancelled, HRESULT 0x800704C7",
        "HRESULT 0x800704C7",
        "A's partial file kept: no",
        "B: finished, 50,331,648 bytes",
        "A works again",
        "handle A's stream read: WpdError, hresult 0x800704C7",
        "handle A after cancel(): read 88,236 bytes OK",
        "wpd serve",
    ):
        assert key in out, key
    assert "WRONG" not in out and "NO" not in out.split()


def test_serve_samples_then_list(tmp_path: Path) -> None:
    folder = tmp_path / "phone"
    folder.mkdir()
    proc = subprocess.Popen(
        [
            *wpd_exe(),
            "serve",
            "--samples",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "s"),
            f"{folder}:Phone",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving ptpip://127.0.0.1:")
        url = line.split()[1]
        listing = run_wpd("ls", "-R", "/Phone/DCIM", url=url)
        assert listing.returncode == 0, listing.stderr
        assert "Camera/IMG_0001.jpg" in listing.stdout.splitlines()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


# --- Unix manners -------------------------------------------------------------------------------


def _pipeline(args: str, head: str, url: str, tmp_path: Path) -> tuple[list[int], str, bytes]:
    """Run ``wpd ARGS | head HEAD`` in a real shell: the exit statuses of both sides, wpd's
    stderr and what head printed."""
    wpd = " ".join(wpd_exe())
    script = f'{wpd} {args} 2>"$ERR" | head {head}; echo "${{PIPESTATUS[@]}}" >"$STATUS"'
    err, status = tmp_path / "err.txt", tmp_path / "status.txt"
    env = dict(os.environ, OPENWPD_DEVICE=url, ERR=str(err), STATUS=str(status))
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, timeout=120, env=env, check=False
    ).stdout
    return [int(x) for x in status.read_text().split()], err.read_text(), out


def test_a_closed_pipe_ends_cat_quietly(big_phone: Phone, tmp_path: Path) -> None:
    statuses, err, out = _pipeline(
        "cat /Phone/Backups/archive.bin", "-c 10", big_phone.url, tmp_path
    )
    assert out == b"\0" * 10
    assert err == ""
    assert statuses == [141, 0]  # what the shell says of `cat BIG | head -c 10`
    _wait_for(lambda: big_phone.server.session_count() == 0, 10)
    again = run_wpd("cat", "/Phone/Documents/notes.txt", url=big_phone.url)
    assert again.returncode == 0 and again.stdout.startswith("Shopping")


def test_a_closed_pipe_ends_ls_quietly(phone: Phone, tmp_path: Path) -> None:
    many = phone.root / "Many"
    many.mkdir()
    for i in range(2000):  # ~100 KB of listing: more than a pipe holds
        (many / f"file-with-a-rather-long-name-{i:05}.txt").write_bytes(b"")
    statuses, err, out = _pipeline("ls -R /Phone", "-n 3", phone.url, tmp_path)
    assert len(out.splitlines()) == 3
    assert err == ""
    assert statuses == [141, 0]


def test_sigkilled_get_leaves_a_part_file_the_next_run_removes(
    big_phone: Phone, tmp_path: Path
) -> None:
    """kill -9 cannot be cleaned up after by the process itself: its temporary file stays.
    Running the same command again removes it -- and only it: not another target's, not a
    file that merely looks alike, not one a running download holds."""
    dest = tmp_path / "dest"
    dest.mkdir()
    keep = [
        dest / ".other.bin.abcd1234.openwpd-part",  # a leftover of a name not written now
        dest / ".archive.bin.abc.openwpd-part",  # not our pattern
        dest / "archive.bin.openwpd-part",
    ]
    for path in keep:
        path.write_bytes(b"keep")
    live = dest / ".archive.bin.live1234.openwpd-part"
    live.write_bytes(b"live")
    held = open(live, "rb")  # noqa: SIM115 - held for the whole test
    fcntl.flock(held, fcntl.LOCK_EX)  # as another running download of the same file would
    try:
        _kill_then_rerun(big_phone, dest, live, keep)
    finally:
        held.close()


def _kill_then_rerun(big_phone: Phone, dest: Path, live: Path, keep: list[Path]) -> None:
    proc = _start(["get", "/Phone/Backups/archive.bin", str(dest)], big_phone.url)
    try:
        _wait_for(lambda: any(p.stat().st_size > 4 for p in _partials(dest)))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    (killed,) = [p for p in _partials(dest) if p not in keep and p != live]
    assert killed.name.startswith(".archive.bin.") and len(killed.name) == len(live.name)
    # a quick rerun: the big file shrinks (sparse 3 GiB would take long)
    archive = big_phone.root / "Backups" / "archive.bin"
    os.truncate(archive, 4 * 1024 * 1024)
    _wait_for(lambda: _device_size(big_phone, "/Phone/Backups/archive.bin") == 4 * 1024 * 1024)
    again = run_wpd("get", "/Phone/Backups/archive.bin", str(dest), url=big_phone.url)
    assert again.returncode == 0, again.stderr
    assert (dest / "archive.bin").read_bytes() == archive.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        p.name for p in [dest / "archive.bin", live, *keep]
    )


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_get_makes_files_with_the_umask(phone: Phone, tmp_path: Path, mask: int, mode: int) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "OPENWPD_DEVICE": phone.url}
    env.pop("OPENWPD_DEVICES", None)
    done = subprocess.run(
        [*wpd_exe(), "get", "/Phone/Music", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        umask=mask,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == mode for p in files)
