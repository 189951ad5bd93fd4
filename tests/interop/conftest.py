"""Fixtures for interop tests: ``wpd serve`` as a user runs it, and the real gphoto2 CLI.

The device runs in a subprocess started through the ``wpd`` console script that sits next to
the test interpreter; it is stopped with SIGTERM and must exit 0 promptly, leaving no temporary
file in the folder it served. gphoto2 runs with a fresh ``HOME`` per test (it keeps its PTP/IP
GUID in ``$HOME/.gphoto/settings``) and ``LANG=C.UTF-8``.

In CI (``CI=true``) a missing gphoto2 is a failure, never a skip: ``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wpd_process import Gphoto, WpdServer, in_ci, start_wpd


@pytest.fixture(scope="session")
def gphoto2_bin() -> str:
    found = shutil.which("gphoto2")
    if found is None:
        if in_ci():
            pytest.fail(
                "gphoto2 is not installed: the interop tests must run in CI "
                "(.ci/run installs it with apt-get install gphoto2)"
            )
        pytest.skip("gphoto2 is not installed (apt-get install gphoto2)")
    return found


@pytest.fixture
def wpd_factory(tmp_path: Path) -> Iterator[Callable[..., WpdServer]]:
    """Call ``wpd_factory(served)`` (after populating ``served``) to start the device; it is
    stopped and checked at teardown."""
    servers: list[WpdServer] = []

    def start(served: Path, *extra: str, read_only: bool = False) -> WpdServer:
        log = tmp_path / f"wpd-serve-{len(servers)}.log"
        server = start_wpd(served, tmp_path / "state", log, *extra, read_only=read_only)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gphoto_factory(gphoto2_bin: str, tmp_path: Path) -> Callable[[int], Gphoto]:
    """``gphoto_factory(port)``: a gphoto2 runner with a fresh HOME; it downloads into
    ``tmp_path / "download"``."""

    def make(port: int) -> Gphoto:
        home = tmp_path / "home"
        cwd = tmp_path / "download"
        home.mkdir(exist_ok=True)
        cwd.mkdir(exist_ok=True)
        return Gphoto(gphoto2_bin, port, home, cwd)

    return make
