"""Fixtures for the ``wpd`` command tests (helpers: cli_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Phone, serve_samples
from click.testing import CliRunner, Result

from openwpd.cli import main


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command (in-process or a subprocess) keeps its state (``sync``'s records) in the
    test's own folder, never in the user's state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[Phone]:
    """Sample content (2 photos, no large file) as storage "Phone", plus a read-only "Card"."""
    served = serve_samples(tmp_path)
    try:
        yield served
    finally:
        served.server.close()


@pytest.fixture
def wpd(phone: Phone, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``wpd("ls", "/Phone")``: run a command in-process against ``phone`` (CliRunner)."""
    for name in ("OPENWPD_DEVICE", "OPENWPD_DEVICES"):
        monkeypatch.delenv(name, raising=False)

    def run(
        *args: str, input: bytes | str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        runner = CliRunner()
        return runner.invoke(main, ["-d", phone.url, *args], input=input, env=env)

    return run
