"""``wpd format STORAGE --yes`` and ``wpd serve --allow-format``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from cli_support import Phone, run_wpd, wpd_exe

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


def test_watch_shows_a_storage_going_away_and_back(phone: Phone) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENWPD_DEVICE")}
    env["OPENWPD_DEVICE"] = phone.url
    with subprocess.Popen(
        [*wpd_exe(), "watch", "-n", "2", "-t", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stderr is not None and proc.stdout is not None
            assert "watching" in proc.stderr.readline()  # subscribed
            away = phone.card.with_name("unmounted")
            phone.card.rename(away)
            first = proc.stdout.readline()
            away.rename(phone.card)
            second = proc.stdout.readline()
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    card_id = phone.server.device.store.storages[1].id
    assert first.split()[1:3] == ["STORE_REMOVED", f"0x{card_id:08X}"], first
    assert second.split()[1:4] == ["STORE_ADDED", f"0x{card_id:08X}", "/Card"], second
