"""Discovery by DNS-SD: a real ``wpd serve`` announces itself (``_ptp._tcp``) and ``wpd devices``
and the WPD device manager find it; ``--no-advertise`` and a browse time of 0 find nothing.

These tests never touch the machine's network: every process runs inside a network namespace
the test creates (only a loopback interface, brought up with the MULTICAST flag, which Linux
leaves off by default) and removes afterwards. Creating one needs root and ``ip``; elsewhere the
tests skip, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import run_wpd

from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.dnssd import FoundDevice
from wpd_process import START_TIMEOUT, STOP_TIMEOUT, first_line

#: Long enough for an announcement that is already made to be answered on loopback.
BROWSE = "2"


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with only ``lo``, up and multicast-capable; removed after."""
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) to create a network namespace")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    name = f"openwpd-test-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        for step in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on")):
            done = _ip("netns", "exec", name, "ip", *step)
            assert done.returncode == 0, done.stderr
        yield name
    finally:
        _ip("netns", "del", name)


def _in(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("OPENWPD_DEVICES", None)
    env.pop("OPENWPD_DEVICE", None)
    env.pop("OPENWPD_BROWSE_SECONDS", None)  # browsing's own default (1 s) unless given
    env.pop("OPENWPD_NO_ADVERTISE", None)  # inside the namespace, wpd serve announces
    return env | extra


class Served:
    """``wpd serve`` running inside the namespace."""

    def __init__(self, ns: str, tmp_path: Path, *extra: str) -> None:
        self.folder = tmp_path / "served"
        self.folder.mkdir()
        self.state = tmp_path / "state"
        self.log = tmp_path / "serve.log"
        argv = [sys.executable, "-m", "openwpd.cli", "serve", f"{self.folder}:Phone"]
        argv += ["--port", "0", "--state-dir", str(self.state), "-v", *extra]
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                _in(ns, *argv), stdout=subprocess.PIPE, stderr=err, text=True, env=_env()
            )
        line = first_line(self.proc)
        if not line.startswith("serving ptpip://127.0.0.1:"):
            self.stop()
            pytest.fail(f"wpd serve did not start: {line!r}\n{self.log.read_text()}")
        self.url = line.removeprefix("serving ")

    def wait_announced(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while "announced by DNS-SD" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"wpd serve did not announce itself:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def serve(netns: str, tmp_path: Path) -> Iterator[Served]:
    served = Served(netns, tmp_path, "--name", "Discovery Phone")
    try:
        yield served
    finally:
        served.stop()


def _devices(ns: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _in(ns, sys.executable, "-m", "openwpd.cli", "devices", "--json", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(**env),
        check=False,
    )


def test_wpd_devices_finds_an_announced_wpd_serve(netns: str, serve: Served) -> None:
    serve.wait_announced()
    done = _devices(netns, "--browse", BROWSE)
    assert done.returncode == 0, done.stderr
    found = {item["url"]: item for item in json.loads(done.stdout)}
    assert serve.url in found, done.stdout
    assert found[serve.url]["reachable"] is True
    assert found[serve.url]["friendly_name"] == "Discovery Phone"


def test_the_announcement_carries_name_and_guid(netns: str, tmp_path: Path) -> None:
    served = Served(netns, tmp_path, "--name", "Discovery Phone")
    try:
        served.wait_announced()
        script = (
            "import json; from openwpd.transport.dnssd import browse; "
            f"print(json.dumps([[d.name, d.guid, d.host, d.port] for d in browse({BROWSE})]))"
        )
        done = subprocess.run(
            _in(netns, sys.executable, "-c", script),
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
            check=False,
        )
        assert done.returncode == 0, done.stderr
    finally:
        served.stop()
    found = [FoundDevice(*entry) for entry in json.loads(done.stdout)]
    # the device's identity lives in its state directory: read it back now the server is gone
    guid = VirtualDevice([StorageSpec(served.folder, "Phone")], state_dir=served.state).guid
    assert [(d.name, d.guid, d.url) for d in found] == [
        ("Discovery Phone", guid.hex().upper(), served.url)
    ]


def test_the_device_manager_lists_what_it_finds(netns: str, serve: Served) -> None:
    serve.wait_announced()
    script = (
        "import json, openwpd.wpd as w; m = w.PortableDeviceManager(); "
        "print(json.dumps([[d, m.get_device_friendly_name(d)] for d in m.get_devices()]))"
    )
    fixed = "ptpip://127.0.0.1:9"  # $OPENWPD_DEVICES still adds fixed URLs, first
    listing = subprocess.run(
        _in(
            netns,
            sys.executable,
            "-c",
            "import json, openwpd.wpd as w; print(json.dumps(w.PortableDeviceManager()"
            ".get_devices()))",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(OPENWPD_BROWSE_SECONDS=BROWSE, OPENWPD_DEVICES=fixed),
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout) == [fixed, serve.url]
    named = subprocess.run(
        _in(netns, sys.executable, "-c", script),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(OPENWPD_BROWSE_SECONDS=BROWSE),
        check=False,
    )
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout) == [[serve.url, "Discovery Phone"]]


def test_a_browse_time_of_zero_does_not_browse(netns: str, serve: Served) -> None:
    serve.wait_announced()
    for done in (_devices(netns, "--browse", "0"), _devices(netns, OPENWPD_BROWSE_SECONDS="0")):
        assert done.returncode == 0, done.stderr
        assert serve.url not in done.stdout


def test_no_advertise_is_not_found(netns: str, tmp_path: Path) -> None:
    served = Served(netns, tmp_path, "--no-advertise")
    try:
        # give an announcement (if any were made) the time it takes: probing is ~1.5 s
        done = _devices(netns, "--browse", "3")
        assert done.returncode == 0, done.stderr
        assert served.url not in done.stdout
        assert "announced" not in served.log.read_text()
    finally:
        served.stop()


def test_a_malformed_browse_time_is_a_usage_error() -> None:
    done = run_wpd("devices", extra_env={"OPENWPD_BROWSE_SECONDS": "soon"})
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "OPENWPD_BROWSE_SECONDS" in done.stderr
