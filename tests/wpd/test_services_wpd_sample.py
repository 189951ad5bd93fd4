"""examples/wpd_services_sample.py runs the WpdServicesApiSample flow end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from services_support import DeviceThread, populate
from wpd_support import load_example

from openwpd.wpd import S_OK, WPD_OBJECT_NAME, PortableDeviceValues, SERVICE_FullEnumSync
from openwpd.wpd import service_keys as sk


def load() -> ModuleType:
    return load_example("wpd_services_sample")


def test_sample_with_its_own_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENWPD_DEVICES", raising=False)
    sample = load()
    assert sample.main(["wpd_services_sample.py"]) == 0
    out = capsys.readouterr().out
    assert "1 Contacts service(s)" in out
    assert "format VCard3Contact (text/vcard)" in out
    assert "method BeginSync" in out and "method EndSync" in out
    assert "event ObjectAdded" in out and "implements FullEnumSync" in out
    assert "grace.vcf" in out and "asynchronously: 0x00000000" in out


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DeviceThread]:
    root = tmp_path / "served"
    populate(root)
    device = DeviceThread(root, tmp_path / "state")
    try:
        yield device
    finally:
        device.close()


def test_sample_observations(dev: DeviceThread, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = load()
    seen = sample.run(dev.url)
    service = seen["service"]
    assert isinstance(service, PortableDeviceValues)
    assert service[WPD_OBJECT_NAME] == "Contacts"
    assert seen["formats"] == ["VCard3Contact", "VCard2Contact"]
    assert seen["methods"] == ["BeginSync", "EndSync"]
    assert seen["events"] == ["ObjectAdded", "ObjectRemoved", "MethodComplete"]
    assert seen["abstract"] == [SERVICE_FullEnumSync]
    contacts = seen["contacts"]
    assert isinstance(contacts, dict)
    given = sorted(str(v[sk.PKEY_ContactObj_GivenName]) for v in contacts.values())
    assert given == ["Ada", "Alan"]
    assert seen["async"] == [S_OK, S_OK]
    # with the device named in the environment, main uses it; a device without Contacts
    monkeypatch.setenv("OPENWPD_DEVICES", dev.url)
    assert sample.main(["wpd_services_sample.py"]) == 0
    dev.call(lambda: dev.device.services.remove(1))
    assert sample.run(dev.url) == {}
    assert isinstance(uuid.uuid4(), uuid.UUID)
