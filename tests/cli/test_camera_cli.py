"""``wpd capture`` and ``wpd config`` against the virtual device as a camera."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import DeviceThread
from click.testing import CliRunner, Result

from openwpd.cli import main
from openwpd.protocol.codes import DevicePropCode
from openwpd.server.device import StorageSpec

DP = DevicePropCode


@pytest.fixture
def cam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DeviceThread, Path]]:
    for name in ("OPENWPD_DEVICE", "OPENWPD_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    card = tmp_path / "card"
    card.mkdir()
    server = DeviceThread([StorageSpec(card, "Card")], tmp_path / "state", camera=True)
    try:
        yield server, card
    finally:
        server.close()


def wpd(server: DeviceThread, *args: str) -> Result:
    return CliRunner().invoke(main, ["-d", server.url, *args])


def value(server: DeviceThread, code: int) -> Any:
    async def read() -> Any:
        return server.device.properties.value(code)

    return server.call(read())


def test_capture_count_and_download(cam: tuple[DeviceThread, Path], tmp_path: Path) -> None:
    server, card = cam
    assert wpd(server, "config", "set", "imagesize", "320x240").exit_code == 0
    out = tmp_path / "pictures"
    res = wpd(server, "capture", "--count", "2", "--download", str(out))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("/Card/DCIM/100OWPD/IMG_0001.JPG  -> ")
    assert lines[1].startswith("/Card/DCIM/100OWPD/IMG_0002.JPG  -> ")
    for name in ("IMG_0001.JPG", "IMG_0002.JPG"):
        assert (out / name).read_bytes() == (card / "DCIM" / "100OWPD" / name).read_bytes()
    # a local file of the new picture's name is not overwritten: exit 6
    (out / "IMG_0003.JPG").write_bytes(b"mine")
    res = wpd(server, "capture", "--download", str(out))
    assert res.exit_code == 6, res.output
    assert (out / "IMG_0003.JPG").read_bytes() == b"mine"
    assert (card / "DCIM" / "100OWPD" / "IMG_0003.JPG").is_file()  # still on the device
    res = wpd(server, "capture", "--json")
    assert res.exit_code == 0, res.output
    (item,) = json.loads(res.output)
    assert item["path"] == "/Card/DCIM/100OWPD/IMG_0004.JPG" and item["format"]


def test_config_list_get_set_reset(cam: tuple[DeviceThread, Path]) -> None:
    server, _ = cam
    res = wpd(server, "config", "list")
    assert res.exit_code == 0, res.output
    assert any(line.split() == ["f-number", "f/5.6"] for line in res.output.splitlines())
    assert any(
        line.split() == ["batterylevel", "100%", "(read-only)"] for line in res.output.splitlines()
    )
    res = wpd(server, "config", "get", "whitebalance")
    assert "Current: Automatic" in res.output and "Choice: 5 Tungsten" in res.output, res.output
    res = wpd(server, "config", "set", "whitebalance", "tungsten")
    assert res.exit_code == 0 and res.output.strip() == "whitebalance: Tungsten", res.output
    assert value(server, DP.WHITE_BALANCE) == 6
    assert wpd(server, "config", "set", "shutterspeed", "1/250").exit_code == 0
    assert value(server, DP.EXPOSURE_TIME) == 40
    assert wpd(server, "config", "set", "--", "0x5010", "-1 EV").exit_code == 0
    assert value(server, DP.EXPOSURE_BIAS_COMPENSATION) == -1000
    # refused before anything is sent, and nothing changes
    res = wpd(server, "config", "set", "f-number", "f/9")
    assert res.exit_code == 2 and "f/9" in res.output, res.output
    assert wpd(server, "config", "set", "batterylevel", "5").exit_code == 1
    assert wpd(server, "config", "get", "nosuch").exit_code == 3
    res = wpd(server, "config", "get", "focallength", "--json")
    data = json.loads(res.output)
    assert data["range"] == {"min": 1800, "max": 5500, "step": 100}
    assert (data["current"], data["current_label"], data["default"]) == (3500, "35 mm", 3500)
    res = wpd(server, "config", "reset", "whitebalance")
    assert res.exit_code == 0 and value(server, DP.WHITE_BALANCE) == 2
    assert wpd(server, "config", "reset", "--all").exit_code == 0
    assert value(server, DP.EXPOSURE_TIME) == 80
    assert wpd(server, "config", "reset").exit_code == 2
