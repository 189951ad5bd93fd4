"""Helpers for the ``wpd`` command tests: a virtual device over sample content, served by an
event loop in a thread of its own, so that click's CliRunner (which runs the command's own loop
in the test's thread) and real ``wpd`` subprocesses can both talk to it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.server.samples import SampleSet, make_samples


class DeviceThread:
    """A VirtualDevice serving ``specs`` on 127.0.0.1 (ephemeral port) from its own thread."""

    def __init__(self, specs: list[StorageSpec], state_dir: Path, *, camera: bool = False) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = 0
        self.device: VirtualDevice = self.call(self._make(specs, state_dir, camera))

    async def _make(self, specs: list[StorageSpec], state_dir: Path, camera: bool) -> VirtualDevice:
        device = VirtualDevice(
            specs, state_dir=state_dir, friendly_name="cli test device", camera=camera
        )
        _, self.port = await device.serve("127.0.0.1", 0)
        return device

    def call(self, coro: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    @property
    def url(self) -> str:
        return f"ptpip://127.0.0.1:{self.port}"

    def session_count(self) -> int:
        async def count() -> int:
            return len(self.device.sessions)

        return int(self.call(count()))

    def close(self) -> None:
        self.call(self.device.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Phone:
    """The served sample content and the device serving it."""

    root: Path
    card: Path
    samples: SampleSet
    server: DeviceThread

    @property
    def url(self) -> str:
        return self.server.url


def serve_samples(tmp_path: Path, *, big_size: int = 0) -> Phone:
    root = tmp_path / "phone"
    samples = make_samples(root, photos=2, big_size=big_size)
    card = tmp_path / "card"
    card.mkdir()
    (card / "readme.txt").write_text("read-only card\n")
    server = DeviceThread(
        [StorageSpec(root, "Phone"), StorageSpec(card, "Card", read_only=True)],
        tmp_path / "state",
    )
    return Phone(root, card, samples, server)


def wpd_exe() -> list[str]:
    """The command line that runs ``wpd`` as a real program."""
    return [sys.executable, "-m", "openwpd.cli"]


def run_wpd(
    *args: str,
    url: str | None = None,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``wpd ARGS`` as a program (device ``url`` through $OPENWPD_DEVICE)."""
    env = dict(os.environ)
    env.pop("OPENWPD_DEVICES", None)
    env.pop("OPENWPD_DEVICE", None)
    env.update(extra_env or {})
    if url is not None:
        env["OPENWPD_DEVICE"] = url
    return subprocess.run(
        [*wpd_exe(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **kwargs,
    )
