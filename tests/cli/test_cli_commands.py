"""Every ``wpd`` command in-process (click's CliRunner) against the virtual device."""

from __future__ import annotations

import json
import os
import stat as stat_mod
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Phone

from openwpd.cli._core import CliError, ExitCode, choose_device, known_devices, translate
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import (
    Cancelled,
    ConnectError,
    DeviceGone,
    LocalProtocolError,
    RemoteProtocolError,
    ResponseError,
    SessionReset,
)

# --- device selection ---------------------------------------------------------------------------


def test_known_devices_is_the_managers_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWPD_DEVICES", " ptpip://a:1, ,ptpip://b:2,ptpip://a:1,http://no")
    assert known_devices() == ["ptpip://a:1", "ptpip://b:2"]
    monkeypatch.setenv("OPENWPD_DEVICES", "")
    assert known_devices() == []


def test_choose_device_order_of_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWPD_DEVICE", "ptpip://env:1")
    monkeypatch.setenv("OPENWPD_DEVICES", "ptpip://x:1,ptpip://y:2")
    assert choose_device("ptpip://flag:1") == "ptpip://flag:1"
    assert choose_device(None) == "ptpip://env:1"
    monkeypatch.setenv("OPENWPD_DEVICE", "")
    monkeypatch.setenv("OPENWPD_DEVICES", "ptpip://only:3")
    assert choose_device(None) == "ptpip://only:3"


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        ({}, ExitCode.NO_DEVICE, "no device given"),
        ({"OPENWPD_DEVICES": "ptpip://x:1,ptpip://y:2"}, ExitCode.NO_DEVICE, "2 devices"),
        ({"OPENWPD_DEVICE": "http://x"}, ExitCode.USAGE, "bad device URL"),
    ],
)
def test_choose_device_failures(
    env: dict[str, str], code: ExitCode, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENWPD_DEVICE", raising=False)
    monkeypatch.delenv("OPENWPD_DEVICES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CliError) as info:
        choose_device(None)
    assert info.value.exit_code == code
    assert words in info.value.message


def test_no_device_is_one_line_and_exit_4(wpd: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from openwpd.cli import main

    result = CliRunner().invoke(main, ["ls", "/"], env={"OPENWPD_DEVICE": ""})
    assert result.exit_code == ExitCode.NO_DEVICE
    assert result.output.count("\n") == 1
    assert result.output.startswith("wpd: no device given (hint:")


def test_the_only_known_device_needs_no_flag(phone: Phone) -> None:
    from click.testing import CliRunner

    from openwpd.cli import main

    env = {"OPENWPD_DEVICE": "", "OPENWPD_DEVICES": phone.url}
    result = CliRunner().invoke(main, ["storages"], env=env)
    assert result.exit_code == 0, result.output
    assert "/Phone" in result.output


def test_unreachable_device_exit_4(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from openwpd.cli import main

    result = CliRunner().invoke(main, ["ls", "-d", "ptpip://127.0.0.1:9", "/"])
    assert result.exit_code == ExitCode.NO_DEVICE
    assert "cannot reach the device" in result.output


# --- error translation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (ResponseError(ResponseCode.STORE_READ_ONLY), ExitCode.FAILED, "store read only (0x200E)"),
        (ResponseError(ResponseCode.INVALID_OBJECT_HANDLE), ExitCode.NOT_FOUND, "0x2009"),
        (ResponseError(0x2FFF), ExitCode.FAILED, "response 0x2FFF"),
        (ConnectError("refused"), ExitCode.NO_DEVICE, "cannot reach"),
        (DeviceGone("closed"), ExitCode.NO_DEVICE, "link to the device failed"),
        (SessionReset("gone"), ExitCode.PROTOCOL, "misbehaved"),
        (RemoteProtocolError("junk"), ExitCode.PROTOCOL, "misbehaved"),
        (Cancelled(), ExitCode.INTERRUPTED, "cancelled"),
        (LocalProtocolError("bad path"), ExitCode.USAGE, "bad path"),
        (FileNotFoundError(2, "No such file or directory", "x"), ExitCode.LOCAL, "No such"),
        (PermissionError(13, "Permission denied", "y"), ExitCode.LOCAL, "Permission denied: y"),
    ],
)
def test_translate(exc: BaseException, code: ExitCode, words: str) -> None:
    error = translate(exc, "op", verbose=2)
    assert error.exit_code == code
    assert error.message.startswith("op: ")
    assert words in error.message
    assert error.detail is not None and type(exc).__name__ in error.detail


def test_translate_keeps_cli_errors_and_reraises_bugs() -> None:
    original = CliError("x", ExitCode.VERIFY)
    assert translate(original, "op") is original
    with pytest.raises(ZeroDivisionError):
        translate(ZeroDivisionError(), "op")


# --- listing ------------------------------------------------------------------------------------


def test_ls_storages(wpd: Any) -> None:
    result = wpd("ls")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["Phone/", "Card/"]
    long = wpd("ls", "-l", "/")
    assert "(read-only)" in long.output and "free of" in long.output
    data = json.loads(wpd("ls", "--json", "/").output)
    assert [d["description"] for d in data][:2] == ["Phone", "Card"]
    assert data[1]["read_only"] is True


def test_ls_folder_long_recursive_json(wpd: Any, phone: Phone) -> None:
    result = wpd("ls", "/Phone")
    assert result.exit_code == 0, result.output
    assert "DCIM/" in result.output.splitlines()
    assert "Music/" in result.output.splitlines()
    long = wpd("ls", "-l", "/Phone/DCIM/Camera")
    line = next(x for x in long.output.splitlines() if x.endswith("IMG_0001.jpg"))
    size = (phone.root / "DCIM/Camera/IMG_0001.jpg").stat().st_size
    assert line.startswith("- ") and f"{size:,}" in line and "2024-06-01 12:00" in line
    rec = wpd("ls", "-R", "/Phone/DCIM")
    assert rec.output.splitlines() == ["Camera/", "Camera/IMG_0001.jpg", "Camera/IMG_0002.jpg"]
    rec_long = wpd("ls", "-lR", "/Phone/DCIM")
    assert rec_long.output.splitlines()[0].startswith("d ")
    data = json.loads(wpd("ls", "--json", "/Phone/Music").output)
    assert {d["name"] for d in data} == {"Morning.wav", "Überlied 🎵.wav"}
    assert all(d["format"] == "WAV" and d["path"].startswith("/Phone/Music/") for d in data)


def test_ls_a_file(wpd: Any) -> None:
    assert wpd("ls", "/Phone/Documents/notes.txt").output == "notes.txt\n"
    assert wpd("ls", "-l", "/Phone/Documents/notes.txt").output.startswith("- ")
    data = json.loads(wpd("ls", "--json", "/Phone/Documents/notes.txt").output)
    assert data[0]["size"] == 58


def test_ls_missing_is_exit_3_one_line(wpd: Any) -> None:
    result = wpd("ls", "/Phone/nope")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.output == (
        "wpd: no such file or folder on the device: /Phone/nope (hint: `wpd ls` shows what is "
        "there)\n"
    )
    assert wpd("ls", "/Nostorage").exit_code == ExitCode.NOT_FOUND


def test_tree(wpd: Any) -> None:
    result = wpd("tree", "/Phone/DCIM")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "/Phone/DCIM/"
    assert lines[1] == "└── Camera/"
    assert lines[2].startswith("    ├── IMG_0001.jpg  (")
    assert lines[3].startswith("    └── IMG_0002.jpg  (")
    everything = wpd("tree")
    assert "/Phone/" in everything.output and "/Card/" in everything.output
    assert "│   " in everything.output
    data = json.loads(wpd("tree", "--json", "/Phone/DCIM").output)
    camera = data[0]["children"][0]
    assert camera["name"] == "Camera"
    assert [c["name"] for c in camera["children"]] == ["IMG_0001.jpg", "IMG_0002.jpg"]
    single = wpd("tree", "/Phone/Documents/notes.txt")
    assert single.output == "/Phone/Documents/notes.txt\n"


def test_stat(wpd: Any) -> None:
    result = wpd("stat", "/Phone/DCIM/Camera/IMG_0001.jpg")
    assert result.exit_code == 0, result.output
    assert "format:      EXIF_JPEG" in result.output
    assert "modified:    2024-06-01T12:00:00" in result.output
    data = json.loads(wpd("stat", "--json", "/Phone/Music").output)
    assert data["folder"] is True and data["size"] is None
    storage = wpd("stat", "/Card")
    assert "read_only:   True" in storage.output
    assert wpd("stat", "/").exit_code == ExitCode.USAGE


# --- transfers ----------------------------------------------------------------------------------


def test_get_a_file(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    dest = tmp_path / "got.jpg"
    result = wpd("get", "/Phone/DCIM/Camera/IMG_0001.jpg", str(dest))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    source = phone.root / "DCIM/Camera/IMG_0001.jpg"
    assert dest.read_bytes() == source.read_bytes()
    assert int(dest.stat().st_mtime) == int(source.stat().st_mtime)
    umask = os.umask(0)
    os.umask(umask)
    assert stat_mod.S_IMODE(dest.stat().st_mode) == 0o666 & ~umask


def test_get_folders_recursively_into_a_folder(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = wpd("get", "/Phone/DCIM", "/Phone/Documents/notes.txt", str(out))
    assert result.exit_code == 0, result.output
    got = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert got == [
        "DCIM",
        "DCIM/Camera",
        "DCIM/Camera/IMG_0001.jpg",
        "DCIM/Camera/IMG_0002.jpg",
        "notes.txt",
    ]
    copy = tmp_path / "copy"
    assert wpd("get", "/Phone/Music", str(copy)).exit_code == 0
    assert (copy / "Überlied 🎵.wav").read_bytes() == (
        phone.root / "Music" / "Überlied 🎵.wav"
    ).read_bytes()


def test_get_many_into_a_non_folder(wpd: Any, tmp_path: Path) -> None:
    result = wpd("get", "/Phone/Music", "/Phone/DCIM", str(tmp_path / "missing"))
    assert result.exit_code == ExitCode.USAGE
    assert "is not a folder" in result.output


def test_cat(wpd: Any, phone: Phone) -> None:
    result = wpd("cat", "/Phone/Documents/notes.txt")
    assert result.exit_code == 0
    assert result.stdout_bytes == (phone.root / "Documents/notes.txt").read_bytes()
    assert wpd("cat", "/Phone/Documents").exit_code == ExitCode.USAGE


def test_put_file_replace_and_folder(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    local = tmp_path / "hello.txt"
    local.write_text("one\n")
    assert wpd("put", str(local), "/Phone/Documents").exit_code == 0
    assert (phone.root / "Documents/hello.txt").read_text() == "one\n"
    local.write_text("two, longer\n")
    result = wpd("put", "-f", str(local), "/Phone/Documents")
    assert result.exit_code == 0, result.output
    assert (phone.root / "Documents/hello.txt").read_text() == "two, longer\n"
    assert not any(p.name.endswith(".wpd-part") for p in (phone.root / "Documents").iterdir())
    assert wpd("put", str(local), "/Phone/Documents/renamed.txt").exit_code == 0
    assert (phone.root / "Documents/renamed.txt").read_text() == "two, longer\n"
    tree = tmp_path / "album"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    assert wpd("put", str(tree), "/Phone").exit_code == 0
    assert (phone.root / "album/sub/b.txt").read_text() == "b"
    assert wpd("put", str(tree), "/Phone/NewAlbum").exit_code == 0
    assert (phone.root / "NewAlbum/a.txt").read_text() == "a"


def test_put_errors(wpd: Any, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("a")
    many = wpd("put", str(a), str(a), "/Phone/Documents/notes.txt")
    assert many.exit_code == ExitCode.USAGE
    ro = wpd("put", str(a), "/Card")
    assert ro.exit_code == ExitCode.FAILED
    assert "store read only (0x200E)" in ro.output and "read-only" in ro.output
    assert ro.output.count("\n") == 1
    (tmp_path / "Music").write_text("x")
    assert wpd("put", str(tmp_path / "Music"), "/Phone").exit_code == ExitCode.FAILED


def test_verbose_adds_detail(wpd: Any, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("a")
    result = wpd("-v", "put", str(a), "/Card")
    assert result.exit_code == ExitCode.FAILED
    assert "openwpd.protocol.errors.ResponseError" in result.output
    assert "HRESULT 0x" in result.output
    vv = wpd("put", "-vv", str(a), "/Card")
    assert "Traceback" in vv.output


def test_rm(wpd: Any, phone: Phone) -> None:
    assert wpd("rm", "/Phone/Documents/notes.txt").exit_code == 0
    assert not (phone.root / "Documents/notes.txt").exists()
    folder = wpd("rm", "/Phone/Music")
    assert folder.exit_code == ExitCode.USAGE and "wpd rm -r /Phone/Music" in folder.output
    assert wpd("rm", "-r", "/Phone/Music").exit_code == 0
    assert not (phone.root / "Music").exists()
    assert wpd("rm", "-r", "/Phone").exit_code == ExitCode.USAGE
    assert wpd("rm", "/Phone/Music").exit_code == ExitCode.NOT_FOUND


def test_mkdir(wpd: Any, phone: Phone) -> None:
    assert wpd("mkdir", "/Phone/New").exit_code == 0
    assert (phone.root / "New").is_dir()
    again = wpd("mkdir", "/Phone/New")
    assert again.exit_code == ExitCode.FAILED and "already exists" in again.output
    assert wpd("mkdir", "/Phone/x/y/z").exit_code == ExitCode.NOT_FOUND
    assert wpd("mkdir", "-p", "/Phone/x/y/z").exit_code == 0
    assert (phone.root / "x/y/z").is_dir()
    assert wpd("mkdir", "-p", "/Phone/x/y/z").exit_code == 0
    assert wpd("mkdir", "-p", "/Phone/Documents/notes.txt/sub").exit_code == ExitCode.FAILED
    assert wpd("mkdir", "/Nowhere").exit_code == ExitCode.NOT_FOUND


def test_mv(wpd: Any, phone: Phone) -> None:
    docs = phone.root / "Documents"
    assert wpd("mv", "/Phone/Documents/notes.txt", "/Phone/Documents/todo.txt").exit_code == 0
    assert (docs / "todo.txt").exists() and not (docs / "notes.txt").exists()
    assert wpd("mv", "/Phone/Documents/todo.txt", "/Phone/Music").exit_code == 0
    assert (phone.root / "Music/todo.txt").exists()
    assert wpd("mv", "/Phone/Music/todo.txt", "/Phone/DCIM/list.txt").exit_code == 0
    assert (phone.root / "DCIM/list.txt").exists()
    taken = wpd("mv", "/Phone/DCIM/list.txt", "/Phone/Documents/README.md")
    assert taken.exit_code == ExitCode.FAILED
    assert wpd("mv", "/Phone", "/Card").exit_code == ExitCode.USAGE
    assert wpd("mv", "/Phone/DCIM/list.txt", "/Top").exit_code == ExitCode.USAGE


def test_cp(wpd: Any, phone: Phone) -> None:
    note = (phone.root / "Documents/notes.txt").read_bytes()
    assert wpd("cp", "/Phone/Documents/notes.txt", "/Phone/Music").exit_code == 0
    assert (phone.root / "Music/notes.txt").read_bytes() == note
    result = wpd("cp", "/Phone/Documents/notes.txt", "/Phone/Documents/copy.txt")
    assert result.exit_code == 0, result.output
    assert (phone.root / "Documents/copy.txt").read_bytes() == note
    assert wpd("cp", "/Phone/Documents/notes.txt", "/Phone/DCIM/n2.txt").exit_code == 0
    assert (phone.root / "DCIM/n2.txt").read_bytes() == note
    dup = wpd("cp", "/Phone/Documents/notes.txt", "/Phone/Music")
    assert dup.exit_code == ExitCode.FAILED and "already exists" in dup.output
    assert wpd("cp", "/Phone/Music", "/Phone/Music2").exit_code == ExitCode.USAGE
    assert wpd("cp", "/Phone", "/Card").exit_code == ExitCode.USAGE


# --- properties, info, events, raw --------------------------------------------------------------


def test_props(wpd: Any, phone: Phone) -> None:
    every = wpd("props", "get", "/Phone/Documents/notes.txt")
    assert every.exit_code == 0, every.output
    assert any(
        line.split() == ["OBJECT_FILE_NAME", "notes.txt"] for line in every.output.splitlines()
    )
    one = wpd("props", "get", "/Phone/Documents/notes.txt", "DateModified")
    assert one.output == "2024-06-03T12:00:00\n"
    assert wpd("props", "get", "/Phone/Documents/notes.txt", "0xDC04").output == "58\n"
    data = json.loads(wpd("props", "get", "--json", "/Phone/Documents/notes.txt").output)
    assert data["OBJECT_SIZE"] == 58
    renamed = wpd("props", "set", "/Phone/Documents/notes.txt", "object_file_name", "n.txt")
    assert renamed.exit_code == 0, renamed.output
    assert (phone.root / "Documents/n.txt").exists()
    bad = wpd("props", "set", "/Phone/Documents/n.txt", "Hidden", "yes")
    assert bad.exit_code == ExitCode.USAGE and "not a number" in bad.output
    assert wpd("props", "get", "/Phone/Documents/n.txt", "NoSuchKey").exit_code == ExitCode.USAGE
    assert wpd("props", "get", "/Phone").exit_code == ExitCode.USAGE


def test_info_storages_devices(wpd: Any, phone: Phone) -> None:
    info = wpd("info")
    assert info.exit_code == 0, info.output
    assert "Device:       cli test device" in info.output
    assert "GET_OBJECT_PROP_LIST" in info.output
    data = json.loads(wpd("info", "--json").output)
    assert data["manufacturer"] == "openwpd" and data["battery_level"] == 100
    assert [s["description"] for s in data["storages"]][:2] == ["Phone", "Card"]
    storages = wpd("storages")
    assert storages.output.splitlines()[1].startswith("/Card") and "read-only" in storages.output
    assert json.loads(wpd("storages", "--json").output)[0]["path"] == "/Phone"
    env = {"OPENWPD_DEVICES": f"{phone.url},ptpip://127.0.0.1:9"}
    devices = wpd("devices", env=env)
    assert devices.exit_code == 0, devices.output
    lines = devices.output.splitlines()
    assert lines[0].startswith(f"{phone.url}  cli test device  (openwpd Virtual MTP Device")
    assert lines[1].startswith("ptpip://127.0.0.1:9  unreachable")
    listed = json.loads(wpd("devices", "--json", env=env).output)
    assert [d["reachable"] for d in listed] == [True, False]


def test_devices_none_known() -> None:
    from click.testing import CliRunner

    from openwpd.cli import main

    result = CliRunner().invoke(
        main, ["devices"], env={"OPENWPD_DEVICES": "", "OPENWPD_DEVICE": ""}
    )
    assert result.exit_code == 0
    assert "no devices known" in result.output


def test_watch_sees_a_new_file(wpd: Any, phone: Phone) -> None:
    # the device watches the folders an initiator has listed
    assert wpd("ls", "/Phone/Documents").exit_code == 0
    timer = threading.Timer(1.0, lambda: (phone.root / "Documents/new.txt").write_text("x"))
    timer.start()
    try:
        result = wpd("watch", "--json", "-n", "1", "-t", "20")
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert events[0]["event"] in ("OBJECT_ADDED", "STORAGE_INFO_CHANGED")


def test_watch_text_and_timeout(wpd: Any, phone: Phone) -> None:
    assert wpd("ls", "/Phone/Documents").exit_code == 0
    timer = threading.Timer(0.5, lambda: (phone.root / "Documents/new2.txt").write_text("y"))
    timer.start()
    try:
        result = wpd("watch", "-t", "3")
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    assert "watching ptpip://" in result.output
    assert "OBJECT_ADDED" in result.output and "new2.txt" in result.output


def test_raw(wpd: Any, tmp_path: Path) -> None:
    ok = wpd("raw", "GetStorageIDs")
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("response: ok (0x2001)\ndata:     ")
    assert "01 00 01 00" in ok.output
    data = json.loads(wpd("raw", "--json", "0x1004").output)
    assert data["response"] == "OK" and data["data"].startswith("04000000")  # 4 storages
    out = tmp_path / "info.bin"
    assert wpd("raw", "get_device_info", "--out", str(out)).exit_code == 0
    assert out.stat().st_size > 100
    bad = wpd("raw", "GetObjectInfo", "0xDEADBEEF")
    assert bad.exit_code == ExitCode.FAILED
    assert "invalid object handle (0x2009)" in bad.output
    assert wpd("raw", "NoSuchOperation").exit_code == ExitCode.USAGE
    assert wpd("raw", "0x1001", "x").exit_code == ExitCode.USAGE
    assert wpd("raw", "0x1001", *["1"] * 6).exit_code == ExitCode.USAGE


def test_raw_long_data_is_cut(wpd: Any) -> None:
    from openwpd.cli.device import _hexdump

    lines = _hexdump(bytes(range(256)) * 20, 64)
    assert len(lines) == 5 and lines[-1].startswith("... 5056 more bytes")
    assert wpd("raw", "GetDeviceInfo").exit_code == 0


# --- services -----------------------------------------------------------------------------------


def test_services(wpd: Any) -> None:
    result = wpd("services")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Contacts (0x00000001, ")
    assert "  method   Echo(Text) -> Result" in lines
    assert "  property BatteryLife = 100" in lines
    data = json.loads(wpd("services", "--json").output)
    names = [s["name"] for s in data]
    assert names == ["Contacts", "Calendar", "Status", "Diagnostics"]
    diag = data[3]
    assert diag["methods"]["Sleep"] == [{"name": "Milliseconds", "in": True, "out": False}]


def test_invoke(wpd: Any, phone: Phone) -> None:
    import hashlib

    echo = wpd("invoke", "diagnostics", "ECHO", "text=hello there")
    assert echo.exit_code == 0, echo.output
    assert echo.output == "Result = hello there\n"
    assert wpd("invoke", "0x4", "Sleep", "Milliseconds=10").output == ""
    digest = json.loads(
        wpd(
            "invoke",
            "--json",
            "Diagnostics",
            "HashObject",
            "Object=/Phone/Documents/notes.txt",
            "Algorithm=sha256",
        ).output
    )["Digest"]
    expected = hashlib.sha256((phone.root / "Documents/notes.txt").read_bytes()).hexdigest()
    assert digest == expected
    failed = wpd("invoke", "Diagnostics", "HashObject", "Object=0xDEAD", "Algorithm=sha256")
    assert failed.exit_code == ExitCode.NOT_FOUND and "the method failed" in failed.output
    assert wpd("invoke", "Nope", "Echo").exit_code == ExitCode.NOT_FOUND
    assert wpd("invoke", "Diagnostics", "Nope").exit_code == ExitCode.NOT_FOUND
    assert wpd("invoke", "Diagnostics", "Echo", "Text").exit_code == ExitCode.USAGE
    assert wpd("invoke", "Diagnostics", "Echo", "Wrong=1").exit_code == ExitCode.USAGE
    assert wpd("invoke", "Diagnostics", "Sleep", "Milliseconds=x").exit_code == ExitCode.USAGE


# --- nothing is overwritten by surprise ---------------------------------------------------------


def test_get_refuses_to_replace_a_file_unless_asked(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "Music").mkdir(parents=True)
    mine = out / "Music" / "Morning.wav"
    mine.write_bytes(b"my own file")
    refused = wpd("get", "/Phone/Music", str(out))
    assert refused.exit_code == ExitCode.FAILED
    assert refused.output == (
        f"wpd: get: {mine} exists already; nothing was copied (hint: -f replaces it, -n skips it)\n"
    )
    assert mine.read_bytes() == b"my own file"
    assert sorted(p.name for p in (out / "Music").iterdir()) == ["Morning.wav"]  # nothing else
    skipped = wpd("get", "-v", "-n", "/Phone/Music", str(out))
    assert skipped.exit_code == 0, skipped.output
    assert f"wpd: skipped {mine}: it exists" in skipped.output
    assert mine.read_bytes() == b"my own file"
    assert (out / "Music" / "Überlied 🎵.wav").exists()
    quiet = wpd("get", "--no-clobber", "/Phone/Music", str(out))
    assert quiet.exit_code == 0 and quiet.output == ""
    forced = wpd("get", "-f", "/Phone/Music/Morning.wav", str(mine))
    assert forced.exit_code == 0, forced.output
    assert mine.read_bytes() == (phone.root / "Music/Morning.wav").read_bytes()
    assert wpd("get", "-f", "-n", "/Phone/Music", str(out)).exit_code == ExitCode.USAGE
    (out / "notes.txt").mkdir()
    folder = wpd("get", "-f", "/Phone/Documents/notes.txt", str(out))
    assert folder.exit_code == ExitCode.FAILED and "is a folder" in folder.output


def test_get_into_a_slash_needs_an_existing_folder(wpd: Any, tmp_path: Path) -> None:
    a_file = tmp_path / "a.txt"
    a_file.write_text("mine")
    not_folder = wpd("get", "/Phone/Documents/notes.txt", f"{a_file}/")
    assert not_folder.exit_code == ExitCode.USAGE
    assert not_folder.output.startswith(f"wpd: {a_file}/ is not a folder (hint: a destination")
    assert a_file.read_text() == "mine"
    missing = wpd("get", "/Phone/Documents/notes.txt", f"{tmp_path / 'none'}/")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert not (tmp_path / "none").exists()
    into = wpd("get", "/Phone/Documents/notes.txt", f"{tmp_path}/")
    assert into.exit_code == 0, into.output
    assert (tmp_path / "notes.txt").exists()


def test_put_refuses_to_replace_a_file_unless_asked(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    notes = phone.root / "Documents/notes.txt"
    before = notes.read_bytes()
    album = tmp_path / "Documents"
    album.mkdir()
    (album / "notes.txt").write_text("mine")
    (album / "new.txt").write_text("new")
    refused = wpd("put", str(album), "/Phone")
    assert refused.exit_code == ExitCode.FAILED
    assert refused.output == (
        "wpd: put: /Phone/Documents/notes.txt exists already; nothing was copied "
        "(hint: -f replaces it, -n skips it)\n"
    )
    assert notes.read_bytes() == before and not (phone.root / "Documents/new.txt").exists()
    one = wpd("put", str(album / "notes.txt"), "/Phone/Documents/notes.txt")
    assert one.exit_code == ExitCode.FAILED and notes.read_bytes() == before
    skipped = wpd("put", "-n", "-v", str(album), "/Phone")
    assert skipped.exit_code == 0, skipped.output
    assert "wpd: skipped /Phone/Documents/notes.txt: it exists on the device" in skipped.output
    assert notes.read_bytes() == before
    assert (phone.root / "Documents/new.txt").read_text() == "new"
    forced = wpd("put", "--force", str(album / "notes.txt"), "/Phone/Documents")
    assert forced.exit_code == 0, forced.output
    assert notes.read_text() == "mine"
    assert not any(p.name.endswith(".wpd-part") for p in (phone.root / "Documents").iterdir())


def test_put_into_a_slash_needs_an_existing_folder(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    up = tmp_path / "up.bin"
    up.write_bytes(b"upload")
    before = (phone.root / "Documents/notes.txt").read_bytes()
    for force in ([], ["-f"]):
        onto_file = wpd("put", *force, str(up), "/Phone/Documents/notes.txt/")
        assert onto_file.exit_code == ExitCode.USAGE, onto_file.output
        assert "/Phone/Documents/notes.txt/ is not a folder" in onto_file.output
    assert (phone.root / "Documents/notes.txt").read_bytes() == before
    missing = wpd("put", str(up), "/Phone/Nowhere/")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert not (phone.root / "Nowhere").exists()
    into = wpd("put", str(up), "/Phone/Documents/")
    assert into.exit_code == 0, into.output
    assert (phone.root / "Documents/up.bin").read_bytes() == b"upload"


def test_put_copies_what_it_can_read_and_names_the_rest(
    wpd: Any, phone: Phone, tmp_path: Path
) -> None:
    import socket

    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    (album / "a.txt").write_text("a")
    (album / "sub" / "b.txt").write_text("b")
    (album / "dangling").symlink_to(tmp_path / "gone")
    os.mkfifo(album / "sub" / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(album / "sock"))
    unreadable = [album / "dangling", album / "sub" / "pipe", album / "sock"]
    if os.geteuid() != 0:  # root reads whatever the permission bits say
        (album / "secret.txt").write_text("s")
        (album / "secret.txt").chmod(0)
        (album / "locked").mkdir()
        (album / "locked").chmod(0)
        unreadable += [album / "secret.txt", album / "locked"]
    try:
        result = wpd("put", str(album), "/Phone")
    finally:
        sock.close()
        for path in (album / "secret.txt", album / "locked"):
            if path.exists():
                path.chmod(0o700)
    assert result.exit_code == ExitCode.LOCAL, result.output
    lines = result.output.splitlines()
    assert all(line.startswith("wpd: ") for line in lines)
    for path in unreadable:
        assert sum(line.startswith(f"wpd: put: cannot read {path}: ") for line in lines) == 1
    assert lines[-1].startswith("wpd: put: ") and "the rest (2 files) was copied" in lines[-1]
    assert (phone.root / "album/a.txt").read_text() == "a"
    assert (phone.root / "album/sub/b.txt").read_text() == "b"
    assert sorted(p.name for p in (phone.root / "album").iterdir()) == ["a.txt", "sub"]
    fifo = wpd("put", str(album / "sub" / "pipe"), "/Phone")  # would block if it were read
    assert fifo.exit_code == ExitCode.LOCAL and "a FIFO" in fifo.output


# --- Unix manners -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["ls", "-x"], "wpd: ls: No such option '-x' (hint: `wpd ls --help`)"),
        (["nosuch"], "wpd: No such command 'nosuch' (hint: `wpd --help`)"),
        (["get"], "wpd: get: Missing argument 'REMOTE...' (hint: `wpd get --help`)"),
        (["--nope"], "wpd: No such option '--nope' (hint: `wpd --help`)"),
        (
            ["props", "get"],
            "wpd: props get: Missing argument 'PATH' (hint: `wpd props get --help`)",
        ),
        (
            ["watch", "-n", "x"],
            "wpd: watch: Invalid value for '-n' / '--count': 'x' is not a "
            "valid integer (hint: `wpd watch --help`)",
        ),
    ],
)
def test_usage_errors_are_one_wpd_line(wpd: Any, args: list[str], line: str) -> None:
    result = wpd(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.output == line + "\n"


def test_json_before_or_after_the_command(wpd: Any) -> None:
    after = wpd("ls", "--json", "/Phone/Music")
    before = wpd("--json", "ls", "/Phone/Music")
    assert after.exit_code == before.exit_code == 0, before.output
    assert json.loads(before.output) == json.loads(after.output)
    assert json.loads(wpd("--json", "stat", "/Phone/Music").output)["folder"] is True
    assert wpd("ls", "/Phone/Music").output.splitlines()[0] == "Morning.wav"


def test_rm_and_mkdir_take_several_paths(wpd: Any, phone: Phone) -> None:
    made = wpd("mkdir", "/Phone/A", "/Phone/B")
    assert made.exit_code == 0, made.output
    assert (phone.root / "A").is_dir() and (phone.root / "B").is_dir()
    partly = wpd("mkdir", "/Phone/A", "/Phone/C", "/Phone/x/y")
    assert partly.exit_code == ExitCode.FAILED  # the first failure's code
    assert partly.output.splitlines() == [
        "wpd: /Phone/A already exists",
        "wpd: no such file or folder on the device: /Phone/x (hint: `wpd ls` shows what is there)",
    ]
    assert (phone.root / "C").is_dir()  # the others were made
    assert wpd("mkdir", "-p", "/Phone/x/y", "/Phone/x/z").exit_code == 0
    gone = wpd("rm", "-r", "/Phone/A", "/Phone/B", "/Phone/x")
    assert gone.exit_code == 0, gone.output
    assert not any((phone.root / n).exists() for n in ("A", "B", "x"))
    missing = wpd("rm", "/Phone/C/none", "/Phone/Documents/notes.txt")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert not (phone.root / "Documents/notes.txt").exists()


def test_remote_paths_take_globs(wpd: Any, phone: Phone, tmp_path: Path) -> None:
    camera = phone.root / "DCIM/Camera"
    (camera / ".hidden.jpg").write_bytes(b"h")
    (camera / "notes[1].txt").write_text("literal brackets")
    listed = wpd("ls", "/Phone/DCIM/*/IMG_000?.jpg")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "/Phone/DCIM/Camera/IMG_0001.jpg",
        "/Phone/DCIM/Camera/IMG_0002.jpg",
    ]
    assert wpd("ls", "/Ph*/DCIM/Camera/IMG_0001.jpg").output == "IMG_0001.jpg\n"
    assert wpd("ls", "/Phone/M[ou]sic").output.splitlines()[0] == "Morning.wav"
    assert wpd("cat", "/Phone/DCIM/Camera/notes[1].txt").output == "literal brackets"
    out = tmp_path / "out"
    out.mkdir()
    got = wpd("get", "/Phone/DCIM/Camera/*", str(out))
    assert got.exit_code == 0, got.output
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.jpg", "IMG_0002.jpg", "notes[1].txt"]
    several = wpd("stat", "/Phone/DCIM/Camera/IMG_*")
    assert several.exit_code == ExitCode.USAGE and "matches 2 objects" in several.output
    nothing = wpd("rm", "/Phone/DCIM/Camera/*.png")
    assert nothing.exit_code == ExitCode.NOT_FOUND
    assert nothing.output.startswith("wpd: nothing on the device matches /Phone/DCIM/Camera/*.png")
    assert wpd("rm", "/Phone/DCIM/Camera/IMG_*").exit_code == 0
    assert sorted(p.name for p in camera.iterdir()) == [".hidden.jpg", "notes[1].txt"]
    assert wpd("rm", "/Phone/DCIM/Camera/.h*").exit_code == 0
    assert sorted(p.name for p in camera.iterdir()) == ["notes[1].txt"]


def test_ls_human_sizes_and_hidden_names(wpd: Any, phone: Phone) -> None:
    (phone.root / "Documents/.secret").write_text("s")
    (phone.root / "Documents/big.bin").write_bytes(b"x" * 1536)
    plain = wpd("ls", "/Phone/Documents")
    assert ".secret" not in plain.output and "big.bin" in plain.output
    every = wpd("ls", "-a", "/Phone/Documents")
    assert ".secret" in every.output.splitlines()
    human = wpd("ls", "-l", "-h", "/Phone/Documents")
    assert human.exit_code == 0, human.output
    line = next(x for x in human.output.splitlines() if x.endswith("big.bin"))
    assert "1.5 KiB" in line
    exact = wpd("ls", "-l", "/Phone/Documents")
    assert "1,536" in next(x for x in exact.output.splitlines() if x.endswith("big.bin"))
    assert wpd("ls", "-lha", "/Phone/Documents").output.count(".secret") == 1
    helped = wpd("ls", "--help")
    assert helped.exit_code == 0 and "--human-readable" in helped.output
    assert wpd("-h").exit_code == 0 and wpd("stat", "-h").exit_code == 0


def test_mv_into_its_own_subtree_says_so(wpd: Any, phone: Phone) -> None:
    result = wpd("mv", "/Phone/DCIM", "/Phone/DCIM/Camera")
    assert result.exit_code == ExitCode.USAGE
    assert result.output == (
        "wpd: cannot move /Phone/DCIM into itself (/Phone/DCIM/Camera is inside it)\n"
    )
    same = wpd("mv", "/Phone/DCIM", "/Phone/DCIM/Camera/New")
    assert same.exit_code == ExitCode.USAGE and "into itself" in same.output
    copy = wpd("cp", "/Phone/DCIM", "/Phone/DCIM/Camera")
    assert copy.exit_code == ExitCode.USAGE and "cannot copy /Phone/DCIM into itself" in copy.output
    assert (phone.root / "DCIM/Camera/IMG_0001.jpg").exists()


def test_a_local_write_failure_is_6_and_names_no_temp_file(wpd: Any, tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for dest in (tmp_path / "missing" / "dir" / "file", a_file / "sub"):
        for verbose in ([], ["-v"]):
            result = wpd(*verbose, "get", "/Phone/Documents/notes.txt", str(dest))
            assert result.exit_code == ExitCode.LOCAL, result.output
            assert result.output.startswith("wpd: get /Phone/Documents/notes.txt: ")
            assert result.output.splitlines()[0].endswith(f": {dest}")
            assert "openwpd-part" not in result.output
    raw = wpd("raw", "GetStorageIDs", "--out", str(tmp_path / "missing" / "x"))
    assert raw.exit_code == ExitCode.LOCAL
    assert raw.output == f"wpd: raw: No such file or directory: {tmp_path / 'missing' / 'x'}\n"


def test_hide_temp_names() -> None:
    from openwpd.cli._core import hide_temp_names

    assert hide_temp_names("Not a directory: /a/b/.my file.txt.k3j_x9z1.openwpd-part") == (
        "Not a directory: /a/b/my file.txt"
    )
    assert hide_temp_names("'.x.jpg.wpd-part' in /Phone/.y.wpd-part") == "'x.jpg' in /Phone/y"
    assert hide_temp_names("/a/.profile and .hidden.txt") == "/a/.profile and .hidden.txt"
    assert hide_temp_names("cannot write /a/.x.bin.ab12cd34.openwpd-part: no space") == (
        "cannot write /a/x.bin: no space"
    )


def test_props_keys_lists_the_names_accepted(wpd: Any) -> None:
    every = wpd("props", "keys")
    assert every.exit_code == 0, every.output
    line = next(x for x in every.output.splitlines() if x.startswith("DATE_MODIFIED "))
    assert line.split()[:3] == ["DATE_MODIFIED", "0xDC09", "STR"] and "ISO 8601" in line
    assert any(x.startswith("OBJECT_FILE_NAME ") for x in every.output.splitlines())
    mine = json.loads(wpd("props", "keys", "--json", "/Phone/Documents/notes.txt").output)
    by_name = {row["name"]: row for row in mine}
    assert by_name["OBJECT_FILE_NAME"]["settable"] is True
    assert by_name["OBJECT_SIZE"]["settable"] is False
    assert by_name["DATE_MODIFIED"]["date"] is True
    unknown = wpd("props", "get", "/Phone/Documents/notes.txt", "NoSuchKey")
    assert unknown.exit_code == ExitCode.USAGE and "`wpd props keys` lists them" in unknown.output


def test_props_dates_in_iso_8601(wpd: Any, phone: Phone) -> None:
    notes = phone.root / "Documents/notes.txt"
    for given, shown in [
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05"),
        ("2023-12-24 18:30", "2023-12-24T18:30:00"),
        ("2022-05-06", "2022-05-06T00:00:00"),
        ("20210101T101010", "2021-01-01T10:10:10"),
    ]:
        result = wpd("props", "set", "/Phone/Documents/notes.txt", "DateModified", given)
        assert result.exit_code == 0, (given, result.output)
        assert wpd("props", "get", "/Phone/Documents/notes.txt", "0xDC09").output == shown + "\n"
        assert datetime.fromtimestamp(notes.stat().st_mtime).isoformat() == shown
    zoned = wpd(
        "props", "set", "/Phone/Documents/notes.txt", "DateModified", "2024-06-01T12:00:00Z"
    )
    assert zoned.exit_code == 0, zoned.output
    assert notes.stat().st_mtime == datetime(2024, 6, 1, 12, tzinfo=UTC).timestamp()
    bad = wpd("props", "set", "/Phone/Documents/notes.txt", "DateModified", "yesterday")
    assert bad.exit_code == ExitCode.USAGE
    assert bad.output.startswith("wpd: 'yesterday' is not a date (hint: give ISO 8601")


def test_props_show_enumerations_and_ids_as_stat_does(wpd: Any) -> None:
    stat = json.loads(wpd("stat", "--json", "/Phone/Documents/notes.txt").output)
    props = json.loads(wpd("props", "get", "--json", "/Phone/Documents/notes.txt").output)
    assert props["OBJECT_FORMAT"] == stat["format"] == "TEXT"
    assert props["STORAGE_ID"] == stat["storage_id"]
    assert props["PARENT_OBJECT"] == stat["parent"]
    assert props["PERSISTENT_UNIQUE_OBJECT_IDENTIFIER"] == stat["puid"]
    assert props["DATE_MODIFIED"] == stat["modified"]
    assert props["PROTECTION_STATUS"] == "NONE"
    text = wpd("stat", "/Phone/Documents/notes.txt").output
    stat_lines = dict(line.split(None, 1) for line in text.splitlines())
    shown = dict(
        line.split(None, 1)
        for line in wpd("props", "get", "/Phone/Documents/notes.txt").output.splitlines()
    )
    assert shown["OBJECT_FORMAT"] == stat_lines["format:"] == "TEXT"
    assert shown["STORAGE_ID"] == stat_lines["storage_id:"]
    assert shown["PARENT_OBJECT"] == stat_lines["parent:"]
    assert shown["PERSISTENT_UNIQUE_OBJECT_IDENTIFIER"] == stat_lines["puid:"]
    assert shown["DATE_MODIFIED"] == stat_lines["modified:"]


def test_library_warnings_are_wpd_lines(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from openwpd.cli._core import warning_lines

    logger = logging.getLogger("openwpd")
    before = (list(logger.handlers), logger.propagate)
    with warning_lines():
        logging.getLogger("openwpd.client.handle").warning("skipping object 0x%08X: %s", 7, "x")
    assert capsys.readouterr().err == "wpd: warning: skipping object 0x00000007: x\n"
    assert (list(logger.handlers), logger.propagate) == before


def test_a_group_alone_shows_its_help(wpd: Any) -> None:
    result = wpd("props")
    assert result.output.startswith("Usage: ") and " props [OPTIONS] COMMAND" in result.output
    assert "keys" in result.output and "wpd:" not in result.output


@pytest.mark.parametrize("no_clobber", [False, True])
def test_get_leaves_a_file_made_during_the_download_alone(
    wpd: Any, phone: Phone, tmp_path: Path, no_clobber: bool
) -> None:
    big = phone.root / "Documents/big.bin"
    with open(big, "wb") as f:
        f.truncate(256 * 1024 * 1024)  # long enough for the file to be made meanwhile
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "big.bin"

    def make_it_once_the_download_runs() -> None:
        for _ in range(20000):
            if any(p.name.endswith(".openwpd-part") for p in out.iterdir()):
                dest.write_text("made meanwhile")
                return
            threading.Event().wait(0.001)

    maker = threading.Thread(target=make_it_once_the_download_runs)
    maker.start()
    try:
        result = wpd(
            "get", *(["-n", "-v"] if no_clobber else []), "/Phone/Documents/big.bin", str(out)
        )
    finally:
        maker.join()
    assert dest.read_text() == "made meanwhile"
    assert [p.name for p in out.iterdir()] == ["big.bin"]  # no temp file left
    if no_clobber:
        assert result.exit_code == 0, result.output
        assert "it appeared during the download" in result.output
    else:
        assert result.exit_code == ExitCode.FAILED
        assert result.output == (
            f"wpd: {dest} appeared during the download and was left alone "
            "(hint: -f replaces it, -n skips it)\n"
        )
