"""The real gphoto2 CLI against ``wpd serve`` (gphoto's PTP/IP initiator): summary, listing of
nested Unicode folders, byte-exact downloads from 0 B to 100 MiB, uploads, deletes, mkdir and rmdir,
each checked against the served folder on disk.

gphoto decodes PTP strings as UCS-2: a name holding a character outside the BMP (an emoji) fails
its iconv conversion and gphoto then shows every non-ASCII UTF-16 unit of that name as ``?``
(ptp_unpack_string's fallback). :func:`gphoto_view` applies that rule to the names we expect;
names without such characters must come through exactly. gphoto's argument parser also chokes
on non-ASCII folder names in this environment, so uploads and mkdir use ASCII names and Unicode
is tested through listing and download.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from wpd_process import Gphoto, WpdServer

pytestmark = pytest.mark.interop

STORE = "/store_00010001"
MIB = 1024 * 1024

StartWpd = Callable[..., WpdServer]
MakeGphoto = Callable[[int], Gphoto]


def gphoto_view(name: str) -> str:
    """How gphoto shows ``name`` (see the module docstring)."""
    if all(ord(ch) <= 0xFFFF for ch in name):
        return name
    units = name.encode("utf-16-le")
    return "".join(
        chr(u) if u < 0x80 else "?"
        for u in (int.from_bytes(units[i : i + 2], "little") for i in range(0, len(units), 2))
    )


def test_gphoto_view_rule() -> None:
    assert gphoto_view("Café") == "Café"
    assert gphoto_view("sub 🎉") == "sub ??"
    assert gphoto_view("Café 🎉") == "Caf? ??"


def remote_path(rel: Path) -> str:
    return "/".join([STORE, *(gphoto_view(part) for part in rel.parts)])


def disk_tree(root: Path) -> tuple[set[str], set[str]]:
    """(files, folders) under ``root`` as gphoto paths; the storage itself counts as a folder."""
    files: set[str] = set()
    folders: set[str] = {STORE}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).relative_to(root)
        folders.update(remote_path(here / d) for d in dirnames)
        files.update(remote_path(here / f) for f in filenames)
    return files, folders


def quiet_lines(output: str) -> set[str]:
    return {line for line in output.splitlines() if line.startswith(STORE)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


def folder_listing(gp: Gphoto, folder: str) -> list[str]:
    """File names in ``folder`` (not recursive), in gphoto's numbering order (1-based)."""
    out = gp.run("--folder", folder, "--no-recurse", "--list-files", "--quiet").stdout
    prefix = folder.rstrip("/") + "/"
    return [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]


# --------------------------------------------------------------------------------------------


def test_summary_and_stable_identity(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    (served / "file.txt").write_text("hello")
    server = wpd_factory(served, "--name", "Interop Phone")
    gp = gphoto_factory(server.port)
    out = gp.run("--summary").stdout
    assert re.search(r"^Manufacturer: openwpd$", out, re.M), out
    assert re.search(r"^Model: Virtual MTP Device$", out, re.M), out
    serial = re.search(r"^\s*Serial Number: ([0-9A-F]{32})$", out, re.M)
    assert serial, out
    # gphoto's summary text is capped at 32 KiB and the per-format property table of a device
    # with ~130 formats fills it, so the storages are checked with --storage-info
    storage = gp.run("--storage-info").stdout
    assert re.search(r"^description=Phone$", storage, re.M), storage
    assert re.search(r"^label=served$", storage, re.M), storage
    assert re.search(r"^basedir=/store_00010001$", storage, re.M), storage
    assert re.search(r"^access=0 Read-Write$", storage, re.M), storage
    # the friendly name travels in the Init Command Ack and as DeviceFriendlyName (0xD402)
    name = gp.run("--get-config", "/main/other/d402").stdout
    assert re.search(r"^Current: Interop Phone$", name, re.M), name
    server.stop()
    # the same state directory: the same identity after a restart
    again = wpd_factory(served)
    out2 = gphoto_factory(again.port).run("--summary").stdout
    assert f"Serial Number: {serial.group(1)}" in out2


def test_read_only_storage_refuses_writes(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto, tmp_path: Path
) -> None:
    (served / "sub").mkdir()
    (served / "sub" / "keep.txt").write_text("keep")
    server = wpd_factory(served, read_only=True)
    gp = gphoto_factory(server.port)
    storage = gp.run("--storage-info").stdout
    assert re.search(r"^access=\d+ Read-Only", storage, re.M), storage
    local = tmp_path / "up.txt"
    local.write_text("nope")
    before = disk_tree(served)
    for args in (
        ("--folder", f"{STORE}/sub", "--upload-file", str(local)),
        ("--folder", f"{STORE}/sub", "--mkdir", "newdir"),
        ("--folder", STORE, "--rmdir", "sub"),
    ):
        done = gp.run(*args, check=False)
        assert done.returncode != 0, args
        assert disk_tree(served) == before, args
    # gphoto2 2.5.28 exits 0 even though DeleteObject was answered StoreReadOnly (its
    # --debug log shows the refusal): the folder on disk is what we check
    gp.run("--folder", f"{STORE}/sub", "--no-recurse", "--delete-file", "1", check=False)
    assert disk_tree(served) == before
    assert (served / "sub" / "keep.txt").read_text() == "keep"


UNICODE_TREE = {
    "plain.txt": b"plain",
    "Café crème/naïve résumé.txt": b"accents",
    'Café crème/"quoted" name.txt': b"double quotes",
    "Café crème/it's here.bin": b"single quote",
    "Café crème/sub dir 🎉/emoji 😀 file.txt": b"emoji",
    "Café crème/sub dir 🎉/deeper/x  two  spaces .txt": b"spaces",
    "日本語/ファイル.txt": "日本語".encode(),
    " leading space/Ω≈ç√.txt": b"symbols",
}
EMPTY_FOLDERS = ["empty folder", "Café crème/sub dir 🎉/deeper/vide é"]


def make_tree(root: Path) -> None:
    for rel, data in UNICODE_TREE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel in EMPTY_FOLDERS:
        (root / rel).mkdir(parents=True)


def test_list_files_and_folders_unicode_tree(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    make_tree(served)
    files, folders = disk_tree(served)
    assert len(files) == len(UNICODE_TREE)  # no two names collapse in gphoto's view
    gp = gphoto_factory(wpd_factory(served).port)
    assert quiet_lines(gp.run("--list-files", "--quiet").stdout) == files
    assert quiet_lines(gp.run("--list-folders", "--quiet").stdout) == folders
    # the accented (BMP-only) names come through exactly
    assert f"{STORE}/Café crème/naïve résumé.txt" in files
    assert f"{STORE}/日本語/ファイル.txt" in files


def test_download_sizes_byte_for_byte(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto, tmp_path: Path
) -> None:
    folder = served / "sizes"
    folder.mkdir()
    sizes = {"empty.bin": 0, "one.bin": 1, "mib-plus-one.bin": MIB + 1, "big.bin": 100 * MIB}
    for name, size in sizes.items():
        write_random(folder / name, size)
    (folder / "Ünïcødé été ✓.dat").write_bytes(os.urandom(3000))
    gp = gphoto_factory(wpd_factory(served).port)
    gp.run("--folder", f"{STORE}/sizes", "--no-recurse", "--get-all-files")
    got = sorted(p.name for p in gp.cwd.iterdir())
    assert got == sorted(p.name for p in folder.iterdir())
    for path in folder.iterdir():
        copy = gp.cwd / path.name
        assert copy.stat().st_size == path.stat().st_size, path.name
        assert sha256_of(copy) == sha256_of(path), path.name


def test_get_file_by_number_unicode_names(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    make_tree(served)
    gp = gphoto_factory(wpd_factory(served).port)
    folder = f"{STORE}/Café crème"
    names = folder_listing(gp, folder)
    assert sorted(names) == sorted(p.name for p in (served / "Café crème").iterdir() if p.is_file())
    for wanted in ('"quoted" name.txt', "naïve résumé.txt"):
        number = names.index(wanted) + 1
        gp.run("--folder", folder, "--no-recurse", "--get-file", str(number))
        assert (gp.cwd / wanted).read_bytes() == UNICODE_TREE[f"Café crème/{wanted}"]
    # an emoji-named file: gphoto saves it under its '?' view, the bytes are intact
    emoji_folder = remote_path(Path("Café crème/sub dir 🎉"))
    names = folder_listing(gp, emoji_folder)
    view = gphoto_view("emoji 😀 file.txt")
    assert names == [view]
    gp.run("--folder", emoji_folder, "--no-recurse", "--get-file", "1")
    assert (gp.cwd / view).read_bytes() == b"emoji"


def test_upload_into_subfolder(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto, tmp_path: Path
) -> None:
    (served / "inbox" / "nested").mkdir(parents=True)
    (served / "inbox" / "nested" / "existing.txt").write_bytes(b"already here")
    local = tmp_path / "local"
    local.mkdir()
    payloads = {
        "up-empty.bin": b"",
        "up-one.bin": b"\x7f",
        "up-big.bin": os.urandom(3 * MIB + 7),
    }
    for name, data in payloads.items():
        (local / name).write_bytes(data)
    gp = gphoto_factory(wpd_factory(served).port)
    args = ["--folder", f"{STORE}/inbox/nested"]
    for name in payloads:
        args += ["--upload-file", str(local / name)]
    gp.run(*args)
    target = served / "inbox" / "nested"
    assert sorted(p.name for p in target.iterdir()) == sorted([*payloads, "existing.txt"])
    for name, data in payloads.items():
        assert (target / name).read_bytes() == data, name
    assert (target / "existing.txt").read_bytes() == b"already here"
    # and the device lists what it stored
    assert sorted(folder_listing(gp, f"{STORE}/inbox/nested")) == sorted(
        [*payloads, "existing.txt"]
    )


def test_delete_file(served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto) -> None:
    trash = served / "trash"
    trash.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (trash / name).write_text(name)
    (served / "b.txt").write_text("same name elsewhere")
    gp = gphoto_factory(wpd_factory(served).port)
    names = folder_listing(gp, f"{STORE}/trash")
    assert sorted(names) == ["a.txt", "b.txt", "c.txt"]
    gp.run(
        "--folder", f"{STORE}/trash", "--no-recurse", "--delete-file", str(names.index("b.txt") + 1)
    )
    assert sorted(p.name for p in trash.iterdir()) == ["a.txt", "c.txt"]
    assert (served / "b.txt").read_text() == "same name elsewhere"
    assert sorted(folder_listing(gp, f"{STORE}/trash")) == ["a.txt", "c.txt"]


def test_mkdir_and_rmdir(served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto) -> None:
    (served / "parent").mkdir()
    (served / "parent" / "keep.txt").write_text("keep")
    gp = gphoto_factory(wpd_factory(served).port)
    gp.run("--folder", f"{STORE}/parent", "--mkdir", "new-dir")
    assert (served / "parent" / "new-dir").is_dir()
    assert list((served / "parent" / "new-dir").iterdir()) == []
    folders = quiet_lines(gp.run("--list-folders", "--quiet").stdout)
    assert f"{STORE}/parent/new-dir" in folders
    # a second mkdir of the same name fails and changes nothing
    again = gp.run("--folder", f"{STORE}/parent", "--mkdir", "new-dir", check=False)
    assert again.returncode != 0
    assert sorted(p.name for p in (served / "parent").iterdir()) == ["keep.txt", "new-dir"]
    gp.run("--folder", f"{STORE}/parent", "--rmdir", "new-dir")
    assert sorted(p.name for p in (served / "parent").iterdir()) == ["keep.txt"]
    missing = gp.run("--folder", f"{STORE}/parent", "--rmdir", "no-such-dir", check=False)
    assert missing.returncode != 0
    assert (served / "parent" / "keep.txt").read_text() == "keep"
