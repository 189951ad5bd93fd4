"""openwpd.client.names: device names on the local disk and on a terminal (real files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openwpd.client.names import UnsafeName, check_name, local_path, printable


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "a/b", "/etc", "a\\b", "..\\x", "nul\x00byte", "x/.."]
)
def test_unusable_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeName) as caught:
        local_path(tmp_path, name)
    assert caught.value.name == name
    with pytest.raises(UnsafeName):
        check_name(name)


@pytest.mark.parametrize("name", ["a.txt", "...", ".hidden", "..a", "a..", "spa ce", "日本.jpg"])
def test_ordinary_names_pass(name: str, tmp_path: Path) -> None:
    assert local_path(tmp_path, "sub", name) == tmp_path / "sub" / name


def test_a_later_unsafe_name_is_the_one_named(tmp_path: Path) -> None:
    with pytest.raises(UnsafeName) as caught:
        local_path(tmp_path, "ok", "..", "x")
    assert caught.value.name == ".."


def test_a_symlink_inside_the_base_that_leads_out_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base"
    outside = tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    os.symlink(outside, base / "link")
    os.symlink(base / "inside", base / "fine")
    (base / "inside").mkdir()
    with pytest.raises(UnsafeName, match="leads outside"):
        local_path(base, "link", "x.txt")
    assert local_path(base, "fine", "x.txt") == base / "fine" / "x.txt"


def test_the_base_itself_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    assert local_path(tmp_path / "alias", "a", "b") == tmp_path / "alias" / "a" / "b"


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("plain name.jpg") == "plain name.jpg"
    assert printable("a\x1b]0;title\x07b") == "a\\x1b]0;title\\x07b"
    assert printable("one\ntwo\r") == "one\\x0atwo\\x0d"
    assert printable("x\u202eexe.txt") == "x\\u202eexe.txt"
    assert printable("sep\u2028") == "sep\\u2028"
    assert printable("c1\x9b") == "c1\\x9b"
    assert printable("tab\tdel\x7f") == "tab\\x09del\\x7f"
    assert printable("日本 ü") == "日本 ü"
    assert "\n" not in printable("\n" * 3)
