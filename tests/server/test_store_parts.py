"""Store building blocks: name rules, formats, OS error mapping, the PUID table."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from openwpd.protocol.codes import ObjectFormatCode, ResponseCode
from openwpd.server.store import names
from openwpd.server.store.errors import InvalidNameError, from_os_error
from openwpd.server.store.scan import is_inside
from openwpd.server.store.state import StateDB


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("a😀b", 4), ("日本", 2)],
)
def test_utf16_units(text: str, units: int) -> None:
    assert names.utf16_units(text) == units == len(text.encode("utf-16-le")) // 2


def test_name_limits() -> None:
    names.validate_name("a" * 254)
    names.validate_name("😀" * 127)
    with pytest.raises(InvalidNameError):
        names.validate_name("a" * 255)
    with pytest.raises(InvalidNameError):
        names.validate_name("😀" * 127 + "a")


def test_windows_backslash_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    names.validate_name("back\\slash")  # a legal POSIX name
    monkeypatch.setattr(names.os, "sep", "\\")
    with pytest.raises(InvalidNameError):
        names.validate_name("back\\slash")


def test_temp_names() -> None:
    t = names.new_temp_name("upload")
    assert names.is_temp_name(t) and t.startswith(".openwpd-upload-") and t.endswith(".part")
    assert names.new_temp_name("upload") != t
    assert not names.is_temp_name(".openwpd-notes.txt")
    assert not names.is_servable(t)
    assert names.is_servable(".hidden")


def test_format_for() -> None:
    assert names.format_for("anything.jpg", True) is ObjectFormatCode.ASSOCIATION
    # PTP/MTP: PNG 0x380B, FLAC 0xB906, Undefined 0x3000.
    assert names.format_for("x.PNG", False) == 0x380B
    assert names.format_for("song.flac", False) == 0xB906
    assert names.format_for("README", False) == 0x3000


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (OSError(errno.ENOSPC, "full"), ResponseCode.STORE_FULL),
        (PermissionError(errno.EACCES, "denied"), ResponseCode.ACCESS_DENIED),
        (OSError(errno.EROFS, "read-only fs"), ResponseCode.ACCESS_DENIED),
        (FileNotFoundError(errno.ENOENT, "gone"), ResponseCode.INVALID_OBJECT_HANDLE),
        (OSError(errno.ENAMETOOLONG, "long"), ResponseCode.INVALID_PARAMETER),
        (OSError(errno.EIO, "io"), ResponseCode.GENERAL_ERROR),
        (OSError("no errno"), ResponseCode.GENERAL_ERROR),
    ],
)
def test_os_error_mapping(exc: OSError, code: ResponseCode) -> None:
    err = from_os_error(exc, "doing it")
    assert err.code is code
    assert "doing it" in str(err) and code.name in str(err)


def test_is_inside() -> None:
    assert is_inside("/srv/a", "/srv/a")
    assert is_inside("/srv/a/b", "/srv/a")
    assert not is_inside("/srv/ab", "/srv/a")
    assert is_inside("/anything", "/")


def test_state_subtree_moves_and_forgets(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state")
    top = db.puids_for_dir("/r", "", ["a", "ab", "a0"])
    inside = db.puids_for_dir("/r", "a", ["x", "sub"])
    deeper = db.puids_for_dir("/r", "a/sub", ["y"])
    sibling = db.puids_for_dir("/r", "ab", ["z"])
    assert db.puids_for_dir("/r", "a", ["x", "sub"]) == inside  # stable
    db.move(("/r", "", "a"), ("/q", "moved", "b"))
    assert db.puids_for_dir("/q", "moved", ["b"])["b"] == top["a"]
    assert db.puids_for_dir("/q", "moved/b", ["x", "sub"]) == inside
    assert db.puids_for_dir("/q", "moved/b/sub", ["y"]) == deeper
    # Neighbours whose names merely start with "a" were not touched.
    assert db.puids_for_dir("/r", "ab", ["z"]) == sibling
    assert db.puids_for_dir("/r", "", ["ab", "a0"]) == {"ab": top["ab"], "a0": top["a0"]}
    db.forget("/q", "moved", "b")
    assert db.puids_for_dir("/q", "moved/b", ["x"])["x"] != inside["x"]
    assert db.meta_bytes("k", b"first") == b"first"
    assert db.meta_bytes("k", b"second") == b"first"
    db.close()
