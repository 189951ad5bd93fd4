"""``wpd sync`` both ways, the Ctrl-C machinery, progress display, the tour (in-process)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import Phone
from click.testing import CliRunner

from openwpd.cli import main
from openwpd.cli._core import ExitCode, Interrupted, run_async
from openwpd.cli._output import TransferDisplay, human_size
from openwpd.cli._remote import normalize


def _until(check: Any, timeout: float = 10.0) -> None:
    """Wait until the device has noticed a change made to its folder behind its back."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the device did not notice the change"
        time.sleep(0.05)


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_pull_then_nothing_then_the_changed_file(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    local = tmp_path / "backup"
    first = wpd("sync", "/Phone/DCIM", str(local))
    assert first.exit_code == 0, first.output
    total = sum(p.stat().st_size for p in (phone.root / "DCIM/Camera").iterdir())
    assert first.output.splitlines() == [
        "+ Camera/IMG_0001.jpg",
        "+ Camera/IMG_0002.jpg",
        f"copied 2 files (2 new, 0 changed, {human_size(total)}), 0 up to date",
    ]
    assert _names(local) == ["Camera/IMG_0001.jpg", "Camera/IMG_0002.jpg"]
    again = wpd("sync", "/Phone/DCIM", str(local))
    assert again.output == "copied 0 files (0 new, 0 changed, 0 B), 2 up to date\n"
    (phone.root / "DCIM/Camera/IMG_0002.jpg").write_bytes(b"edited")
    _until(lambda: '"size": 6' in wpd("stat", "--json", "/Phone/DCIM/Camera/IMG_0002.jpg").output)
    changed = wpd("sync", "--checksum", "/Phone/DCIM", str(local))
    assert changed.output.splitlines()[0] == "~ Camera/IMG_0002.jpg"
    assert (local / "Camera/IMG_0002.jpg").read_bytes() == b"edited"


def test_pull_dry_run_json_and_leftovers(wpd: Any, tmp_path: Path) -> None:
    local = tmp_path / "music"
    local.mkdir()
    leftover = local / ".Morning.wav.abc_1234.openwpd-part"
    leftover.write_bytes(b"half")
    dry = wpd("sync", "-n", "--json", "/Phone/Music", str(local))
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.output)
    assert data["dry_run"] is True and sorted(data["new"]) == ["Morning.wav", "Überlied 🎵.wav"]
    assert data["leftovers_removed"] == 1 and leftover.exists()  # a dry run changes nothing
    text_dry = wpd("sync", "-n", "/Phone/Music", str(local))
    assert "would copy 2 files" in text_dry.output
    real = wpd("sync", "/Phone/Music", str(local))
    assert "1 leftover removed" in real.output and not leftover.exists()
    assert _names(local) == ["Morning.wav", "Überlied 🎵.wav"]


def test_pull_errors(wpd: Any, tmp_path: Path) -> None:
    assert wpd("sync", "/Phone/Documents/notes.txt", str(tmp_path)).exit_code == ExitCode.USAGE
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert wpd("sync", "/Phone/Documents", str(a_file)).exit_code == ExitCode.USAGE
    local = tmp_path / "docs"
    (local / "notes.txt").mkdir(parents=True)  # a folder where a file goes
    blocked = wpd("sync", "/Phone/Documents", str(local))
    assert blocked.exit_code == ExitCode.VERIFY
    assert "wpd: sync: notes.txt: a folder is in the way here\n" in blocked.output
    assert "1 failed" in blocked.output


def test_push_then_nothing_then_changed(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    local = tmp_path / "src"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("a")
    (local / "sub" / "b.txt").write_text("b")
    (local / ".x.openwpd-part").write_text("never pushed")
    first = wpd("sync", "--push", str(local), "/Phone/Pushed")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[:2] == ["+ a.txt", "+ sub/b.txt"]
    assert _names(phone.root / "Pushed") == ["a.txt", "sub/b.txt"]
    again = wpd("sync", "--push", str(local), "/Phone/Pushed")
    assert again.output == "copied 0 files (0 new, 0 changed, 0 B), 2 up to date\n"
    (local / "sub" / "b.txt").write_text("bigger b")
    changed = wpd("sync", "--push", "--checksum", "--json", str(local), "/Phone/Pushed")
    assert json.loads(changed.output)["changed"] == ["sub/b.txt"]
    assert (phone.root / "Pushed/sub/b.txt").read_text() == "bigger b"
    (local / "new").mkdir()
    (local / "new" / "c.txt").write_text("c")
    (phone.root / "Pushed/.a.txt.wpd-part").write_text("left by a killed run")
    _until(lambda: ".a.txt.wpd-part" in wpd("ls", "-a", "/Phone/Pushed").output)
    third = wpd("sync", "--push", str(local), "/Phone/Pushed")
    assert third.output.splitlines()[0] == "+ new/c.txt"
    assert "1 leftover removed" in third.output
    assert _names(phone.root / "Pushed") == ["a.txt", "new/c.txt", "sub/b.txt"]


def test_push_errors(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert wpd("sync", "--push", str(a_file), "/Phone/X").exit_code == ExitCode.USAGE
    local = tmp_path / "src"
    local.mkdir()
    (local / "Music").write_text("a file where the device has a folder")
    blocked = wpd("sync", "--push", str(local), "/Phone")
    assert blocked.exit_code == ExitCode.VERIFY
    assert "a folder is in the way on the device" in blocked.output
    dry = wpd("sync", "--push", "-n", str(tmp_path / "src"), "/Phone/Documents")
    assert "would copy 1 file " in dry.output
    assert not (phone.root / "Documents/Music").exists()
    assert wpd("sync", "--push", str(local), "/Phone/Documents/notes.txt").exit_code in (
        ExitCode.USAGE,
        ExitCode.FAILED,
    )


# --- machinery ----------------------------------------------------------------------------------


def test_first_sigint_cancels_the_command() -> None:
    cleaned: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append("yes")

    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(Interrupted):
        run_async(forever())
    assert cleaned == ["yes"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_run_async_returns_and_raises() -> None:
    async def value() -> int:
        return 7

    async def fails() -> None:
        raise ValueError("x")

    assert run_async(value()) == 7
    with pytest.raises(ValueError):
        run_async(fails())


def test_interrupted_get_in_process(phone: Phone, tmp_path: Path) -> None:
    big = phone.root / "Documents" / "big.bin"
    with open(big, "wb") as f:
        f.truncate(3 * 1024**3)
    dest = tmp_path / "dest"
    dest.mkdir()

    def interrupt_when_started() -> None:
        for _ in range(1000):
            if any(p.stat().st_size for p in dest.iterdir()):
                break
            threading.Event().wait(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    result = CliRunner().invoke(
        main, ["get", "-d", phone.url, "/Phone/Documents/big.bin", str(dest)]
    )
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "interrupted: the download of /Phone/Documents/big.bin was cancelled" in result.output
    assert list(dest.iterdir()) == []


def test_transfer_display_draws_when_enabled(capsys: pytest.CaptureFixture[str]) -> None:
    display = TransferDisplay(True, 300, 2)
    display.start()
    update = display.file("a" * 40, 100)
    update(50, 100)
    assert display.current == 50
    display.done_file(100)
    update = display.file("b", 200)
    update(200, 200)
    display.done_file(200)
    display.stop()
    assert display.files_done == 2
    quiet = TransferDisplay(False, 1, 1)
    quiet.file("x", 1)(1, 1)
    quiet.done_file(1)
    assert quiet.current == 1


def test_helpers() -> None:
    assert human_size(1023) == "1023 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(5 * 1024**5) == "5120.0 TiB"
    assert normalize("Phone//DCIM/") == "/Phone/DCIM"
    assert normalize("//Phone/../Card/./x") == "/Card/x"
    assert normalize("") == "/" and normalize("/") == "/"


def test_tour_in_process() -> None:
    result = CliRunner().invoke(main, ["tour"])
    assert result.exit_code == 0, result.output
    assert "HRESULT 0x800704C7" in result.output
    assert "A works again" in result.output and "OK" in result.output


# --- replacing files ----------------------------------------------------------------------------


def test_pull_replaces_only_its_own_unchanged_copies(
    wpd: Any, phone: Phone, tmp_path: Path
) -> None:
    local = tmp_path / "backup"
    local.mkdir()
    mine = local / "notes.txt"
    mine.write_text("my own notes, not the device's")
    refused = wpd("sync", "/Phone/Documents", str(local))
    assert refused.exit_code == ExitCode.FAILED
    assert refused.output.startswith("wpd: sync: notes.txt exists already; nothing was copied")
    assert "-f replaces, --no-clobber skips" in refused.output
    assert mine.read_text() == "my own notes, not the device's"
    assert sorted(p.name for p in local.iterdir()) == ["notes.txt"]
    skipped = wpd("sync", "--no-clobber", "-v", "/Phone/Documents", str(local))
    assert skipped.exit_code == 0, skipped.output
    assert "wpd: skipped notes.txt: it exists and was not made by an earlier sync" in (
        skipped.output
    )
    assert "1 skipped" in skipped.output and "+ README.md" in skipped.output
    assert mine.read_text() == "my own notes, not the device's"
    forced = wpd("sync", "-f", "/Phone/Documents", str(local))
    assert forced.exit_code == 0, forced.output
    assert "~ notes.txt" in forced.output
    device_notes = phone.root / "Documents/notes.txt"
    assert mine.read_bytes() == device_notes.read_bytes()
    # now it is sync's copy: a change on the device replaces it without -f
    device_notes.write_text("changed on the device\n")
    _until(lambda: '"size": 22' in wpd("stat", "--json", "/Phone/Documents/notes.txt").output)
    again = wpd("sync", "/Phone/Documents", str(local))
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == "~ notes.txt"
    assert mine.read_text() == "changed on the device\n"
    # ...but not once it was changed here too
    mine.write_text("edited here\n")
    os.utime(mine, (1_000_000_000, 1_000_000_000))
    edited = wpd("sync", "/Phone/Documents", str(local))
    assert edited.exit_code == ExitCode.FAILED and "notes.txt exists already" in edited.output
    assert mine.read_text() == "edited here\n"


def test_push_replaces_only_its_own_unchanged_copies(
    wpd: Any, phone: Phone, tmp_path: Path
) -> None:
    local = tmp_path / "docs"
    local.mkdir()
    (local / "notes.txt").write_text("pushed notes\n")
    (local / "new.txt").write_text("new\n")
    device_notes = phone.root / "Documents/notes.txt"
    before = device_notes.read_bytes()
    refused = wpd("sync", "--push", str(local), "/Phone/Documents")
    assert refused.exit_code == ExitCode.FAILED, refused.output
    assert "notes.txt exists already" in refused.output
    assert device_notes.read_bytes() == before
    assert not (phone.root / "Documents/new.txt").exists()
    skipped = wpd("sync", "--push", "--no-clobber", str(local), "/Phone/Documents")
    assert skipped.exit_code == 0 and "1 skipped" in skipped.output
    assert device_notes.read_bytes() == before
    forced = wpd("sync", "--push", "-f", str(local), "/Phone/Documents")
    assert forced.exit_code == 0, forced.output
    assert device_notes.read_text() == "pushed notes\n"
    (local / "notes.txt").write_text("pushed notes, second version\n")
    again = wpd("sync", "--push", str(local), "/Phone/Documents")
    assert again.exit_code == 0, again.output
    assert device_notes.read_text() == "pushed notes, second version\n"
    assert wpd("sync", "-f", "--no-clobber", str(local), "/x").exit_code == ExitCode.USAGE


def test_pull_leaves_a_file_made_during_the_download_alone(
    wpd: Any, phone: Phone, tmp_path: Path
) -> None:
    backups = phone.root / "Big"
    backups.mkdir()
    with open(backups / "big.bin", "wb") as f:
        f.truncate(256 * 1024 * 1024)  # long enough for the file to be made meanwhile
    local = tmp_path / "backup"
    local.mkdir()
    dest = local / "big.bin"

    def make_it_once_the_download_runs() -> None:
        for _ in range(20000):
            if any(p.name.endswith(".openwpd-part") for p in local.iterdir()):
                dest.write_text("made meanwhile")
                return
            threading.Event().wait(0.001)

    maker = threading.Thread(target=make_it_once_the_download_runs)
    maker.start()
    try:
        result = wpd("sync", "/Phone/Big", str(local))
    finally:
        maker.join()
    assert result.exit_code == ExitCode.FAILED, result.output
    assert f"wpd: {dest} appeared during the download and was left alone" in result.output
    assert dest.read_text() == "made meanwhile"
    assert [p.name for p in local.iterdir()] == ["big.bin"]
