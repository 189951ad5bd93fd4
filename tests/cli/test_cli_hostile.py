"""``wpd`` against a hostile device (tests/hostile_device.py, real PTP/IP on loopback): names
that would escape the target folder, folders that contain themselves, names that would drive
the terminal, data phases longer than asked for."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import run_wpd

from hostile_device import HostileDevice, Obj

EVIL = [
    Obj(1, 0, "dl", folder=True),
    Obj(2, 1, "../../evil.txt", data=b"evil\n"),
    Obj(3, 1, "ok.txt", data=b"ok\n"),
    Obj(4, 1, "..", folder=True),
    Obj(5, 4, "escape.txt", data=b"escape\n"),
    Obj(6, 4, "deeper", folder=True),
    Obj(7, 6, "deep.txt", data=b"deep\n"),
    Obj(8, 1, "back\\slash.txt", data=b"b\n"),
    Obj(9, 1, "sub", folder=True),
    Obj(10, 9, "fine.txt", data=b"fine\n"),
    Obj(11, 9, ".", folder=True),
    Obj(12, 11, "dot.txt", data=b"dot\n"),
]
#: the device paths `get`/`sync` must refuse (warned once each; what is below them goes too)
REFUSED = {
    "/Phone/dl/../../evil.txt",
    "/Phone/dl/..",
    "/Phone/dl/back\\slash.txt",
    "/Phone/dl/sub/.",
}


@pytest.fixture
def evil() -> Iterator[HostileDevice]:
    with HostileDevice(list(EVIL)) as device:
        yield device


def _files(root: Path) -> set[str]:
    """Every file under ``root``, but the CLI's own state (the conftest points XDG_STATE_HOME
    into tmp_path, where sync keeps its records)."""
    state = root / "xdg-state"
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.is_relative_to(state)
    }


def _skipped(stderr: str) -> set[str]:
    prefix, suffix = "wpd: skipping ", ": unsafe name from device"
    return {
        line[len(prefix) : -len(suffix)]
        for line in stderr.splitlines()
        if line.startswith(prefix) and line.endswith(suffix)
    }


def test_get_keeps_device_names_inside_the_target(evil: HostileDevice, tmp_path: Path) -> None:
    home = tmp_path / "home"
    target = home / "a" / "b" / "target"
    target.mkdir(parents=True)
    done = run_wpd("get", "/Phone/dl", str(target), url=evil.url)
    assert done.returncode == 6, done.stderr
    assert _skipped(done.stderr) == REFUSED
    assert "4 objects skipped: unsafe names from the device" in done.stderr.splitlines()[-1]
    # nothing was written anywhere but the target, and there only what is safe
    assert _files(home) == {"a/b/target/dl/ok.txt", "a/b/target/dl/sub/fine.txt"}
    assert (target / "dl/ok.txt").read_bytes() == b"ok\n"


def test_get_of_a_whole_storage(evil: HostileDevice, tmp_path: Path) -> None:
    """A source given on the command line lands in the target folder under the device's name
    for it (here the storage's), and what is below is checked all the same."""
    target = tmp_path / "t"
    target.mkdir()
    # /Phone/dl/.. is resolved as a device path first: it names /Phone
    done = run_wpd("get", "/Phone/dl/..", str(target), url=evil.url)
    assert done.returncode == 6, done.stderr
    assert _skipped(done.stderr) == REFUSED
    assert _files(tmp_path) == {"t/Phone/dl/ok.txt", "t/Phone/dl/sub/fine.txt"}


def test_get_of_one_file_with_an_unsafe_name(evil: HostileDevice, tmp_path: Path) -> None:
    """Into a folder, the file keeps the device's name, so that name is checked; to a new
    local name (the user's own), it can be copied."""
    target = tmp_path / "t"
    target.mkdir()
    done = run_wpd("get", "/Phone/dl/back\\slash.txt", str(target), url=evil.url)
    assert done.returncode == 6, done.stderr
    assert _skipped(done.stderr) == {"/Phone/dl/back\\slash.txt"}
    assert list(target.iterdir()) == []
    renamed = run_wpd("get", "/Phone/dl/back\\slash.txt", str(target / "b.txt"), url=evil.url)
    assert renamed.returncode == 0, renamed.stderr
    assert (target / "b.txt").read_bytes() == b"b\n"


def test_sync_keeps_device_names_inside_the_target(evil: HostileDevice, tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "backup"
    done = run_wpd("sync", "/Phone/dl", str(target), url=evil.url)
    assert done.returncode == 6, done.stderr
    assert _skipped(done.stderr) == REFUSED
    assert _files(tmp_path) == {"x/y/backup/ok.txt", "x/y/backup/sub/fine.txt"}
    assert "4 skipped (unsafe names)" in done.stdout


def test_a_symlink_in_the_target_does_not_lead_out(evil: HostileDevice, tmp_path: Path) -> None:
    """A folder of the target that is a symlink to somewhere else is not written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    backup = tmp_path / "backup"
    backup.mkdir()
    os.symlink(outside, backup / "sub")
    done = run_wpd("sync", "/Phone/dl", str(backup), url=evil.url)
    assert done.returncode == 6, done.stderr
    assert "/Phone/dl/sub" in _skipped(done.stderr)
    assert list(outside.iterdir()) == []
    assert (backup / "ok.txt").read_bytes() == b"ok\n"


# --- folders that never end ---------------------------------------------------------------------

LOOPED = [
    Obj(1, 0, "dl", folder=True),
    Obj(2, 1, "a.txt", data=b"a\n"),
    Obj(3, 1, "loop", folder=True),
    Obj(4, 0, "self", folder=True),
]


@pytest.fixture
def looped() -> Iterator[HostileDevice]:
    # /Phone/dl/loop lists /Phone/dl again; /Phone/self lists itself
    with HostileDevice(list(LOOPED), children={3: [1], 4: [4]}) as device:
        yield device


@pytest.mark.parametrize(
    "args",
    [
        ("tree", "/Phone"),
        ("ls", "-R", "/Phone/dl"),
        ("ls", "-R", "/Phone/self"),
        ("get", "/Phone/dl", "{tmp}"),
        ("sync", "/Phone/self", "{tmp}/s"),
    ],
)
def test_a_cycle_of_folders_ends_the_walk(
    looped: HostileDevice, tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = run_wpd(*(a.format(tmp=tmp_path) for a in args), url=looped.url, timeout=30)
    assert done.returncode == 5, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("wpd: /Phone/") and "form a cycle" in line, line
    assert _files(tmp_path) == set()


def test_a_tree_deeper_than_the_limit_ends_the_walk(tmp_path: Path) -> None:
    from openwpd.cli._remote import MAX_DEPTH

    chain = [Obj(i, i - 1, f"d{i}", folder=True) for i in range(1, MAX_DEPTH + 10)]
    with HostileDevice(chain) as device:
        done = run_wpd("tree", "/Phone", url=device.url, timeout=60)
        assert done.returncode == 5, done.stderr
        assert f"deeper than {MAX_DEPTH} levels" in done.stderr
        # from further down, the rest of the chain is within the limit
        ok = run_wpd("ls", "-R", "/Phone/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10", url=device.url)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.count("\n") == MAX_DEPTH + 9 - 10


# --- names that would drive the terminal --------------------------------------------------------

RETITLE = "a\x1b]0;pwned\x07b.txt"
FAKE_LINE = "one\nwpd: fake line.txt"
CLEAR = "\x1b[2J\u202egpj.exe"
NOISY = [
    Obj(1, 0, "dir\x1b[31m", folder=True),
    Obj(2, 1, RETITLE, data=b"r"),
    Obj(3, 1, FAKE_LINE, data=b"f"),
    Obj(4, 1, CLEAR, data=b"c"),
]


@pytest.fixture
def noisy() -> Iterator[HostileDevice]:
    device = HostileDevice(list(NOISY), storage_name="Ph\x1bone", manufacturer="ACME\r\x1b[1A")
    with device:
        yield device


def _clean(text: str) -> None:
    """Nothing a terminal would act on but the line ends."""
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text, repr(text)
    assert "\u202e" not in text and "\x9b" not in text, repr(text)


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (("ls",), ["Ph\\x1bone/"]),
        (("ls", "-R", "/Ph\x1bone"), None),
        (("ls", "-l", "/Ph\x1bone/dir\x1b[31m"), None),
        (("tree", "/"), None),
        (("stat", f"/Ph\x1bone/dir\x1b[31m/{RETITLE}"), None),
        (("storages",), None),
        (("info",), None),
    ],
)
def test_device_names_are_escaped_on_the_terminal(
    noisy: HostileDevice, args: tuple[str, ...], lines: list[str] | None
) -> None:
    done = run_wpd(*args, url=noisy.url)
    assert done.returncode == 0, done.stderr
    _clean(done.stdout)
    _clean(done.stderr)
    if lines is not None:
        assert done.stdout.splitlines() == lines
    # no line of output was made up by a name: every line that mentions a file is whole
    assert not any(line.startswith("wpd: fake") for line in done.stdout.splitlines())


def test_listing_shows_one_line_per_object(noisy: HostileDevice) -> None:
    done = run_wpd("ls", "-R", "/Ph\x1bone", url=noisy.url)
    assert done.stdout.splitlines() == [
        "dir\\x1b[31m/",
        "dir\\x1b[31m/\\x1b[2J\\u202egpj.exe",
        "dir\\x1b[31m/a\\x1b]0;pwned\\x07b.txt",
        "dir\\x1b[31m/one\\x0awpd: fake line.txt",
    ]
    as_json = run_wpd("ls", "-R", "--json", "/Ph\x1bone", url=noisy.url)
    assert {e["name"] for e in json.loads(as_json.stdout)} == {n.name for n in NOISY}


def test_errors_and_warnings_are_escaped(noisy: HostileDevice, tmp_path: Path) -> None:
    """A message that quotes a device name (here: sync's "in the way" line and the final
    error listing the files) stays one line."""
    backup = tmp_path / "backup"
    (backup / "dir\x1b[31m" / RETITLE).mkdir(parents=True)
    done = run_wpd("sync", "/Ph\x1bone", str(backup), url=noisy.url)
    assert done.returncode == 7, done.stderr
    _clean(done.stdout)
    _clean(done.stderr)
    assert "wpd: sync: dir\\x1b[31m/a\\x1b]0;pwned\\x07b.txt: a folder is in the way here" in (
        done.stderr.splitlines()
    )
    assert done.stderr.splitlines()[-1].startswith("wpd: sync: 1 file(s) failed: dir\\x1b")


def test_progress_labels_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress bar shows a device name as text: no terminal control, no rich markup (an
    unbalanced ``[/]`` would make rich raise in the middle of a download)."""
    from rich.console import Console

    from openwpd.cli import _output

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(_output, "stderr_console", lambda: console)
    display = _output.TransferDisplay(True, 10, 1)
    display.start()
    display.file("t\x1b]0;pwned\x07[/]x", 10)(5, 10)
    display.stop()
    shown = screen.getvalue()
    assert "\x1b]0;" not in shown and "\x07" not in shown
    assert "t\\x1b]0;pwned\\x07[/]x" in shown
