"""``wpd format STORAGE --yes`` and ``wpd serve --allow-format``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli_support import Phone, run_wpd

from wpd_process import start_wpd


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_format_refusals(wpd: Any, phone: Phone) -> None:
    before = _files(phone.root)
    assert before
    asked = wpd("format", "/Phone")
    assert asked.exit_code == 2
    assert "nothing done" in asked.output and "wpd format /Phone --yes" in asked.output
    not_storage = wpd("format", "/Phone/DCIM", "--yes")
    assert not_storage.exit_code == 2 and "not a storage" in not_storage.output
    # the sample device does not offer FormatStore (no allow_format)
    refused = wpd("format", "/Phone", "--yes")
    assert refused.exit_code == 1 and "--allow-format" in refused.output
    assert wpd("format", "/Nowhere", "--yes").exit_code == 3
    assert _files(phone.root) == before


def test_format_of_a_read_only_and_a_writable_storage(wpd: Any, phone: Phone) -> None:
    phone.server.device.allow_format = True
    read_only = wpd("format", "/Card", "--yes")
    assert read_only.exit_code == 1 and "read-only" in read_only.output
    assert (phone.card / "readme.txt").exists()
    done = wpd("format", "/Phone", "--yes")
    assert done.exit_code == 0, done.output
    assert "formatted /Phone" in done.output
    # only the services' Contacts and Calendar storages stay, with their files
    assert sorted(p.name for p in phone.root.iterdir()) == ["Calendar", "Contacts"]
    assert any((phone.root / "Contacts").iterdir())
    listing = wpd("ls", "/Phone")
    assert listing.exit_code == 0 and listing.output.split() == ["Calendar/", "Contacts/"]


def test_serve_allow_format_as_programs(tmp_path: Path) -> None:
    served = tmp_path / "served"
    (served / "DCIM").mkdir(parents=True)
    (served / "DCIM" / "a.jpg").write_bytes(b"jpeg")
    server = start_wpd(served, tmp_path / "state", tmp_path / "serve.log", "--allow-format")
    try:
        url = f"ptpip://127.0.0.1:{server.port}"
        done = run_wpd("format", "Phone", "--yes", url=url)
        assert done.returncode == 0, done.stderr
        assert list(served.iterdir()) == [] and served.is_dir()
    finally:
        server.stop()
