"""WPD_COMMAND_STORAGE_FORMAT through PortableDevice.send_command against the virtual device:
the storage emptied with WPD_EVENT_OBJECT_REMOVED through Advise, the refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wpd_support import ThreadedDevice, client_info

from openwpd import wpd as w
from openwpd.wpd import PortableDeviceValues
from openwpd.wpd import commands as c
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.mapping import object_id_for_handle, storage_object_id


def format_params(object_id: str | None) -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = c.WPD_COMMAND_STORAGE_FORMAT.fmtid
    params[c.WPD_PROPERTY_COMMON_COMMAND_ID] = c.WPD_COMMAND_STORAGE_FORMAT.pid
    if object_id is not None:
        params[c.WPD_PROPERTY_STORAGE_OBJECT_ID] = object_id
    return params


def _device(tmp_path: Path, allow_format: bool) -> ThreadedDevice:
    root = tmp_path / "phone"
    (root / "Music").mkdir(parents=True)
    (root / "Music" / "song.mp3").write_bytes(b"x" * 64)
    (root / "a.txt").write_text("a")
    return ThreadedDevice(root, tmp_path / "state", allow_format=allow_format)


@pytest.fixture
def formatting(tmp_path: Path) -> Iterator[tuple[ThreadedDevice, w.PortableDevice]]:
    dev = _device(tmp_path, True)
    device = w.PortableDevice()
    try:
        device.open(dev.url, client_info())
        yield dev, device
    finally:
        device.close()
        dev.close()


def test_format_through_send_command(
    formatting: tuple[ThreadedDevice, w.PortableDevice],
) -> None:
    dev, device = formatting
    assert c.WPD_COMMAND_STORAGE_FORMAT in device.capabilities().get_supported_commands()
    (storage,) = dev.device.store.storages
    top = {o.handle for o in dev.device.store.children(storage.id)}
    removed: set[str] = set()
    done = threading.Event()

    def sink(values: PortableDeviceValues) -> None:
        if values[k.WPD_EVENT_PARAMETER_EVENT_ID] == g.WPD_EVENT_OBJECT_REMOVED:
            removed.add(values[k.WPD_OBJECT_ID])
            if removed >= {object_id_for_handle(h) for h in top}:
                done.set()

    cookie = device.advise(sink)
    result = device.send_command(format_params(storage_object_id(storage.id)))
    assert result.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.S_OK
    assert list(dev.root.iterdir()) == []
    assert done.wait(10), f"removed events: {removed}"
    device.unadvise(cookie)
    # an object id that is no storage, or none at all: E_INVALIDARG
    bad = device.send_command(format_params(object_id_for_handle(1)))
    assert bad.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.E_INVALIDARG
    missing = device.send_command(format_params(None))
    assert missing.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.E_INVALIDARG


def test_format_refused_without_allow_format(tmp_path: Path) -> None:
    dev = _device(tmp_path, False)
    device = w.PortableDevice()
    try:
        device.open(dev.url, client_info())
        assert c.WPD_COMMAND_STORAGE_FORMAT not in device.capabilities().get_supported_commands()
        (storage,) = dev.device.store.storages
        result = device.send_command(format_params(storage_object_id(storage.id)))
        assert result.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.E_NOTIMPL
        assert (dev.root / "Music" / "song.mp3").exists()
    finally:
        device.close()
        dev.close()


def test_a_storage_going_away_and_back_reaches_advise(tmp_path: Path) -> None:
    """StoreRemoved / StoreAdded arrive as WPD_EVENT_OBJECT_REMOVED / _ADDED of the storage
    object (a functional object of the storage category), as Windows' MTP driver reports them;
    the device object's children follow."""
    dev = _device(tmp_path, False)
    device = w.PortableDevice()
    try:
        device.open(dev.url, client_info())
        (storage,) = dev.device.store.storages
        sid = storage_object_id(storage.id)
        seen: list[tuple[object, object]] = []
        arrived = threading.Event()

        def sink(values: PortableDeviceValues) -> None:
            if values.get(k.WPD_FUNCTIONAL_OBJECT_CATEGORY) == g.WPD_FUNCTIONAL_CATEGORY_STORAGE:
                seen.append((values[k.WPD_EVENT_PARAMETER_EVENT_ID], values[k.WPD_OBJECT_ID]))
                arrived.set()

        cookie = device.advise(sink)
        content = device.content()
        assert sid in list(content.enum_objects(g.WPD_DEVICE_OBJECT_ID))
        away = dev.root.with_name("unmounted")
        dev.root.rename(away)
        assert arrived.wait(10)
        assert seen == [(g.WPD_EVENT_OBJECT_REMOVED, sid)]
        assert sid not in list(content.enum_objects(g.WPD_DEVICE_OBJECT_ID))
        arrived.clear()
        away.rename(dev.root)
        assert arrived.wait(10)
        assert seen[1:] == [(g.WPD_EVENT_OBJECT_ADDED, sid)]
        assert sid in list(content.enum_objects(g.WPD_DEVICE_OBJECT_ID))
        device.unadvise(cookie)
    finally:
        device.close()
        dev.close()
