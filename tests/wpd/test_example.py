"""examples/wpd_api_sample.py runs the WpdApiSample flow end to end."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from wpd_support import ThreadedDevice, load_example


def load() -> ModuleType:
    return load_example("wpd_api_sample")


def test_sample_with_its_own_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENWPD_DEVICES", raising=False)
    sample = load()
    assert sample.main(["wpd_api_sample.py"]) == 0
    out = capsys.readouterr().out
    assert "DEVICE  Sample" in out
    assert "notes.txt" in out
    assert "event WPD_EVENT_OBJECT_ADDED" in out
    assert "cancel: A -> 0x800704C7" in out


def test_sample_observations(tmp_path: Path) -> None:
    sample = load()
    with sample.virtual_device() as url:
        seen = sample.run(url, tmp_path)
    assert seen["downloaded"] == b"hello from the virtual device\n"
    assert "DEVICE" in seen["objects"] and "s10001" in seen["objects"]
    assert "WPD_EVENT_OBJECT_ADDED" in seen["events"]
    assert "WPD_EVENT_OBJECT_REMOVED" in seen["events"]
    assert seen["cancelled"] is True
    assert len(seen["digest"]) == 64


def test_sample_takes_the_url_from_the_environment(
    vdev: ThreadedDevice, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = load()
    (vdev.root / "notes.txt").write_text("from the fixture\n")
    (vdev.root / "DCIM" / "Camera").mkdir(parents=True)
    (vdev.root / "DCIM" / "Camera" / "IMG_0001.jpg").write_bytes(b"jpg" * 1000)
    with open(vdev.root / "big.bin", "wb") as f:
        f.truncate(sample.BIG_SIZE)
    monkeypatch.setenv("OPENWPD_DEVICES", vdev.url)
    assert sample.main(["wpd_api_sample.py"]) == 0
    out = capsys.readouterr().out
    assert vdev.url in out and "'test device'" in out
    assert "cancel: A -> 0x800704C7" in out


def test_sample_on_a_device_without_its_files(
    vdev: ThreadedDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = load()
    (vdev.root / "only.bin").write_bytes(b"only")
    assert sample.main(["wpd_api_sample.py", vdev.url]) == 0
    out = capsys.readouterr().out
    assert "only.bin" in out and "cancel demo skipped" in out
