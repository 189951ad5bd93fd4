"""Every public method of the WPD API against the virtual device over loopback PTP/IP."""

from __future__ import annotations

import io
import os
import shutil
import struct
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from wpd_support import ThreadedDevice, client_info

import openwpd.wpd as w
from openwpd.wpd import commands as c
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.keys import VarType
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PortableDeviceValuesCollection,
)

NOT_FOUND = e.HRESULT_FROM_WIN32(e.ERROR_NOT_FOUND)
NOT_SUPPORTED = e.HRESULT_FROM_WIN32(e.ERROR_NOT_SUPPORTED)
STORAGE = "s10001"


def child(device: w.PortableDevice, parent: str, name: str) -> str:
    content = device.content()
    properties = content.properties()
    for object_id in content.enum_objects(parent):
        if properties.get_values(object_id, [k.WPD_OBJECT_NAME])[k.WPD_OBJECT_NAME] == name:
            return object_id
    raise LookupError(name)


def names(device: w.PortableDevice, parent: str) -> set[str]:
    content = device.content()
    properties = content.properties()
    return {
        str(properties.get_values(i, [k.WPD_OBJECT_NAME])[k.WPD_OBJECT_NAME])
        for i in content.enum_objects(parent)
    }


def exif_jpeg() -> tuple[bytes, bytes]:
    """A JPEG with an embedded Exif thumbnail (IFD1 tags 0x0201/0x0202); (file, thumbnail)."""
    thumb = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 2, 2, 1) + b"\x01\x11\x00\xff\xd9"
    start = 8 + 6 + 2 + 24 + 4
    tiff = b"II*\x00" + struct.pack("<IHI", 8, 0, 14) + struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x0201, 4, 1, start) + struct.pack(
        "<HHII", 0x0202, 4, 1, len(thumb)
    )
    tiff += struct.pack("<I", 0) + thumb
    app1 = b"Exif\x00\x00" + tiff
    body = b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return body + b"\xff\xda\x00\x02" + bytes(8) + b"\xff\xd9", thumb


# --- manager ------------------------------------------------------------------------------


def test_manager_lists_and_names(vdev: ThreadedDevice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(w.ENV_DEVICES, f" ptpip://10.0.0.9 ,,{vdev.url},not a url")
    manager = w.PortableDeviceManager([vdev.url, "ptpip://10.0.0.9:15740"])
    # constructor first, then the environment; duplicates (normal form) and junk left out
    assert manager.get_devices() == [vdev.url, "ptpip://10.0.0.9:15740"]
    assert manager.get_device_friendly_name(vdev.url) == "test device"
    assert manager.get_device_manufacturer(vdev.url) == "openwpd"
    assert manager.get_device_description(vdev.url) == "Virtual MTP Device"
    assert manager.get_device_property(vdev.url, "PortableDeviceType") == 0
    assert manager.get_device_property(vdev.url, "PortableDeviceIsMassStorage") == 0
    with pytest.raises(w.WpdError) as info:
        manager.get_device_property(vdev.url, "Icons")
    assert info.value.hresult == 0x80070002
    assert manager.get_private_devices() == []
    monkeypatch.setenv(w.ENV_DEVICES, "ptpip://10.0.0.7")
    manager.refresh_device_list()
    assert manager.get_devices() == [vdev.url, "ptpip://10.0.0.9:15740", "ptpip://10.0.0.7"]


def test_manager_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(w.ENV_DEVICES, raising=False)
    manager = w.PortableDeviceManager(discover=lambda: ["ptpip://127.0.0.1:1"])
    assert manager.get_devices() == ["ptpip://127.0.0.1:1"]
    with pytest.raises(w.WpdError) as info:
        manager.get_device_friendly_name("ptpip://127.0.0.1:1")
    assert info.value.hresult == e.HRESULT_FROM_WIN32(e.ERROR_DEVICE_NOT_CONNECTED)
    with pytest.raises(w.WpdError) as info:
        manager.get_device_manufacturer("bogus://x")
    assert info.value.hresult == e.E_INVALIDARG
    with pytest.raises(w.WpdError):
        manager.get_device_description(5)  # type: ignore[arg-type]


# --- open, close, ids ---------------------------------------------------------------------


def test_open_close(vdev: ThreadedDevice) -> None:
    device = w.PortableDevice()
    with pytest.raises(w.WpdError) as info:
        device.content()
    assert info.value.hresult == e.E_WPD_DEVICE_NOT_OPEN
    device.open(vdev.url, client_info())
    assert device.get_pnp_device_id() == vdev.url
    assert device.handle.pnp_id == vdev.url
    with pytest.raises(w.WpdError) as info:
        device.open(vdev.url, client_info())
    assert info.value.hresult == e.E_WPD_DEVICE_ALREADY_OPENED
    content = device.content()
    device.cancel()  # nothing pending: a no-op
    device.close()
    device.close()  # idempotent
    for call in (
        device.cancel,
        device.capabilities,
        lambda: content.enum_objects("DEVICE"),
        lambda: content.properties().get_values("DEVICE"),
        content.cancel,
    ):
        with pytest.raises(w.WpdError) as info:
            call()
        assert info.value.hresult == e.E_WPD_DEVICE_NOT_OPEN
    with w.PortableDevice() as again:
        again.open(vdev.url)  # no client information: allowed
        assert "DEVICE" in list(again.content().enum_objects(""))


def test_open_errors(vdev: ThreadedDevice) -> None:
    device = w.PortableDevice()
    with pytest.raises(w.WpdError) as info:
        device.open("bogus://x", client_info())
    assert info.value.hresult == e.E_INVALIDARG
    with pytest.raises(w.WpdError) as info:
        device.open(7, client_info())  # type: ignore[arg-type]
    assert info.value.hresult == e.E_INVALIDARG
    with pytest.raises(w.WpdError) as info:
        device.open("ptpip://127.0.0.1:1", client_info())
    assert info.value.hresult == e.HRESULT_FROM_WIN32(e.ERROR_DEVICE_NOT_CONNECTED)


def test_handles_share_one_session(vdev: ThreadedDevice) -> None:
    from openwpd.wpd import bridge

    a, b = w.PortableDevice(), w.PortableDevice()
    a.open(vdev.url, client_info())
    b.open(vdev.url, client_info())
    try:
        assert a.handle.shared is b.handle.shared
        assert len(vdev.device.sessions) == 1
    finally:
        a.close()
        b.close()
    assert all(s.key != vdev.url for s in bridge.POOL.connections())


def test_read_only_open(vdev: ThreadedDevice) -> None:
    (vdev.root / "f.txt").write_text("x")
    info = client_info()
    info[k.WPD_CLIENT_DESIRED_ACCESS] = w.GENERIC_READ
    with w.PortableDevice() as device:
        device.open(vdev.url, info)
        content = device.content()
        f = child(device, STORAGE, "f.txt")
        values = PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "d"})
        for call in (
            lambda: content.create_object_with_properties_only(values),
            lambda: content.delete(0, [f]),
            lambda: content.properties().set_values(f, values),
            lambda: content.transfer().get_stream(f, k.WPD_RESOURCE_DEFAULT, w.STGM_WRITE),
        ):
            with pytest.raises(w.WpdError) as err:
                call()
            assert err.value.hresult == e.E_ACCESSDENIED
        attributes = content.transfer().get_resource_attributes(f, k.WPD_RESOURCE_DEFAULT)
        assert attributes[k.WPD_RESOURCE_ATTRIBUTE_CAN_WRITE] is False


# --- enumeration --------------------------------------------------------------------------


def test_enumeration(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "DCIM").mkdir()
    for i in range(25):
        (vdev.root / "DCIM" / f"p{i:02}.jpg").write_bytes(b"j")
    (vdev.root / "z.txt").write_text("z")
    content = opened.content()
    assert list(content.enum_objects("")) == ["DEVICE"]
    assert list(content.enum_objects("DEVICE")) == [STORAGE]
    dcim = child(opened, STORAGE, "DCIM")
    enum = content.enum_objects(dcim, None)
    first = enum.next(10)
    assert len(first) == 10 and all(i.startswith("o") for i in first)
    enum.skip(10)
    rest = enum.next(10)
    assert len(rest) == 5  # short: the end (S_FALSE)
    assert enum.next(10) == []
    enum.reset()
    again = list(enum)
    assert again[:10] == first and len(again) == 25
    with pytest.raises(w.WpdError) as info:
        enum.clone()
    assert info.value.hresult == e.E_NOTIMPL
    with pytest.raises(w.WpdError):
        enum.next(-1)
    enum.cancel()  # handle-wide, nothing pending
    with content.enum_objects(child(opened, STORAGE, "z.txt")) as leaf:
        assert leaf.next(5) == []  # a file has no children
    with pytest.raises(w.WpdError):
        content.enum_objects(5)  # type: ignore[arg-type]
    with pytest.raises(w.WpdError) as info:
        content.enum_objects("o7777").next(1)
    assert info.value.hresult == NOT_FOUND


# --- properties ---------------------------------------------------------------------------


def test_get_values(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "Music").mkdir()
    (vdev.root / "Music" / "song.mp3").write_bytes(b"m" * 1000)
    stamp = datetime(2023, 5, 6, 7, 8, 9).timestamp()
    os.utime(vdev.root / "Music" / "song.mp3", (stamp, stamp))
    properties = opened.content().properties()
    device = properties.get_values("DEVICE")
    assert device[k.WPD_DEVICE_MODEL] == "Virtual MTP Device"
    assert device[k.WPD_DEVICE_FRIENDLY_NAME] == device[k.WPD_OBJECT_NAME] == "test device"
    assert device[k.WPD_DEVICE_PROTOCOL] == "MTP: 1.00"
    assert device[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] == g.WPD_FUNCTIONAL_CATEGORY_DEVICE
    storage = properties.get_values(STORAGE)
    assert storage[k.WPD_OBJECT_NAME] == "Phone"
    assert storage[k.WPD_OBJECT_PARENT_ID] == "DEVICE"
    assert storage[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] == g.WPD_FUNCTIONAL_CATEGORY_STORAGE
    assert storage.get_unsigned_large_integer_value(k.WPD_STORAGE_CAPACITY) > 0
    music = child(opened, STORAGE, "Music")
    song = child(opened, music, "song.mp3")
    values = properties.get_values(song)
    assert values[k.WPD_OBJECT_ID] == song
    assert values[k.WPD_OBJECT_PARENT_ID] == music
    assert values.get_unsigned_large_integer_value(k.WPD_OBJECT_SIZE) == 1000
    assert values[k.WPD_OBJECT_FORMAT] == g.WPD_OBJECT_FORMAT_MP3
    assert values[k.WPD_OBJECT_CONTENT_TYPE] == g.WPD_CONTENT_TYPE_AUDIO
    assert values[k.WPD_OBJECT_ORIGINAL_FILE_NAME] == "song.mp3"
    assert values[k.WPD_OBJECT_DATE_MODIFIED] == datetime(2023, 5, 6, 7, 8, 9)
    assert values[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] == STORAGE
    assert str(values[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID]).startswith("{")
    folder = properties.get_values(music)
    assert folder[k.WPD_OBJECT_CONTENT_TYPE] == g.WPD_CONTENT_TYPE_FOLDER
    assert k.WPD_OBJECT_SIZE not in folder
    some = properties.get_values(
        song, PortableDeviceKeyCollection([k.WPD_OBJECT_NAME, k.WPD_STORAGE_TYPE])
    )
    assert list(some) == [k.WPD_OBJECT_NAME, k.WPD_STORAGE_TYPE]
    assert some.get_value(k.WPD_STORAGE_TYPE).vt is VarType.ERROR
    assert some.get_error_value(k.WPD_STORAGE_TYPE) == NOT_SUPPORTED
    supported = properties.get_supported_properties(song)
    assert k.WPD_OBJECT_NAME in supported and k.WPD_OBJECT_SIZE in supported
    with pytest.raises(w.WpdError):
        properties.get_values(song, ["WPD_OBJECT_NAME"])  # type: ignore[list-item]
    with pytest.raises(w.WpdError) as info:
        properties.get_values("")
    assert info.value.hresult == NOT_SUPPORTED
    with pytest.raises(w.WpdError) as info:
        properties.get_values("o4242")
    assert info.value.hresult == NOT_FOUND
    properties.cancel()


def test_property_attributes(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "a.txt").write_text("a")
    properties = opened.content().properties()
    a = child(opened, STORAGE, "a.txt")
    name = properties.get_property_attributes(a, k.WPD_OBJECT_NAME)
    assert name[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    assert name[k.WPD_PROPERTY_ATTRIBUTE_CAN_READ] is True
    assert name[k.WPD_PROPERTY_ATTRIBUTE_CAN_DELETE] is False
    assert name[k.WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.LPWSTR
    identity = properties.get_property_attributes(a, k.WPD_OBJECT_ID)
    assert identity[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    size = properties.get_property_attributes(a, k.WPD_OBJECT_SIZE)
    assert size[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    assert size[k.WPD_PROPERTY_ATTRIBUTE_FORM] == 0
    hidden = properties.get_property_attributes(a, k.WPD_OBJECT_ISHIDDEN)
    assert hidden[k.WPD_PROPERTY_ATTRIBUTE_FORM] == 2  # enumeration
    assert len(hidden[k.WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS]) >= 2  # type: ignore[arg-type]
    friendly = properties.get_property_attributes("DEVICE", k.WPD_DEVICE_FRIENDLY_NAME)
    assert friendly[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    model = properties.get_property_attributes("DEVICE", k.WPD_DEVICE_MODEL)
    assert model[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    capacity = properties.get_property_attributes(STORAGE, k.WPD_STORAGE_CAPACITY)
    assert capacity[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    with pytest.raises(w.WpdError) as info:
        properties.get_property_attributes(a, k.WPD_STORAGE_CAPACITY)
    assert info.value.hresult == NOT_SUPPORTED
    with pytest.raises(w.WpdError):
        properties.get_property_attributes(a, "name")  # type: ignore[arg-type]


def test_set_values(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "old.txt").write_text("o")
    properties = opened.content().properties()
    old = child(opened, STORAGE, "old.txt")
    values = PortableDeviceValues()
    values[k.WPD_OBJECT_NAME] = "new.txt"
    values[k.WPD_OBJECT_DATE_MODIFIED] = datetime(2021, 2, 3, 4, 5, 6)
    values[k.WPD_OBJECT_PARENT_ID] = "DEVICE"
    values[k.WPD_OBJECT_ORIGINAL_FILE_NAME] = 5  # not a name
    results = properties.set_values(old, values)
    assert results.get_error_value(k.WPD_OBJECT_NAME) == e.S_OK
    assert results.get_error_value(k.WPD_OBJECT_DATE_MODIFIED) == e.S_OK
    assert results.get_error_value(k.WPD_OBJECT_PARENT_ID) == e.E_ACCESSDENIED
    assert results.get_error_value(k.WPD_OBJECT_ORIGINAL_FILE_NAME) == e.E_INVALIDARG
    assert (vdev.root / "new.txt").exists() and not (vdev.root / "old.txt").exists()
    assert datetime.fromtimestamp((vdev.root / "new.txt").stat().st_mtime) == datetime(
        2021, 2, 3, 4, 5, 6
    )
    device = properties.set_values(
        "DEVICE",
        PortableDeviceValues({k.WPD_DEVICE_FRIENDLY_NAME: "renamed", k.WPD_DEVICE_MODEL: "m"}),
    )
    assert device.get_error_value(k.WPD_DEVICE_FRIENDLY_NAME) == e.S_OK
    assert device.get_error_value(k.WPD_DEVICE_MODEL) == e.E_ACCESSDENIED
    assert vdev.device.friendly_name == "renamed"
    storage = properties.set_values(STORAGE, PortableDeviceValues({k.WPD_OBJECT_NAME: "x"}))
    assert storage.get_error_value(k.WPD_OBJECT_NAME) == e.E_ACCESSDENIED
    with pytest.raises(w.WpdError):
        properties.set_values(old, {k.WPD_OBJECT_NAME: "x"})  # type: ignore[arg-type]


def test_property_delete(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "a.txt").write_text("a")
    properties = opened.content().properties()
    a = child(opened, STORAGE, "a.txt")
    with pytest.raises(w.WpdError) as info:
        properties.delete(a, [k.WPD_OBJECT_KEYWORDS, k.WPD_OBJECT_NAME])
    assert info.value.hresult == NOT_SUPPORTED
    with pytest.raises(w.WpdError) as info:
        properties.delete(a, PortableDeviceKeyCollection([k.WPD_OBJECT_NAME]))
    assert info.value.hresult == e.E_ACCESSDENIED
    properties.delete(a, [])  # nothing to delete


# --- bulk -------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, answer: object = None) -> None:
        self.started: list[uuid.UUID] = []
        self.batches: list[PortableDeviceValuesCollection] = []
        self.ended: list[int] = []
        self.done = threading.Event()
        self.answer = answer

    def on_start(self, context: uuid.UUID) -> None:
        self.started.append(context)

    def on_progress(self, context: uuid.UUID, results: PortableDeviceValuesCollection) -> object:
        self.batches.append(results)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def on_end(self, context: uuid.UUID, hresult: int) -> None:
        self.ended.append(hresult)
        self.done.set()

    @property
    def items(self) -> list[PortableDeviceValues]:
        return [item for batch in self.batches for item in batch]


def test_bulk_get_by_list(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    for i in range(20):
        (vdev.root / f"f{i}.txt").write_text(str(i))
    content = opened.content()
    ids = list(content.enum_objects(STORAGE))
    bulk = content.properties().bulk()
    recorder = Recorder()
    context = bulk.queue_get_values_by_object_list(
        PortableDevicePropVariantCollection([*ids, "o9999"]),
        PortableDeviceKeyCollection([k.WPD_OBJECT_NAME]),
        recorder,
    )
    assert isinstance(context, uuid.UUID) and recorder.started == []  # queued, not started
    bulk.start(context)
    assert bulk.wait(context, 30) and recorder.done.is_set()
    assert recorder.started == [context] and recorder.ended == [e.S_OK]
    assert len(recorder.batches) == 2  # 21 objects in batches of 16
    by_id = {item[k.WPD_OBJECT_ID]: item for item in recorder.items}
    assert {str(by_id[i][k.WPD_OBJECT_NAME]) for i in ids} == {f"f{i}.txt" for i in range(20)}
    assert by_id["o9999"].get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == NOT_FOUND
    with pytest.raises(w.WpdError) as info:
        bulk.start(context)
    assert info.value.hresult == e.E_UNEXPECTED
    with pytest.raises(w.WpdError) as info:
        bulk.start(uuid.uuid4())
    assert info.value.hresult == NOT_FOUND
    with pytest.raises(w.WpdError) as info:
        bulk.cancel(uuid.uuid4())
    assert info.value.hresult == NOT_FOUND


def test_bulk_get_by_format(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "A").mkdir()
    (vdev.root / "A" / "one.mp3").write_bytes(b"1")
    (vdev.root / "A" / "B").mkdir()
    (vdev.root / "A" / "B" / "two.mp3").write_bytes(b"2")
    (vdev.root / "three.txt").write_text("3")
    bulk = opened.content().properties().bulk()

    def run(fmt: uuid.UUID, parent: str, depth: int, keys: list[k.PropertyKey] | None) -> Recorder:
        recorder = Recorder()
        context = bulk.queue_get_values_by_object_format(fmt, parent, depth, keys, recorder)
        bulk.start(context)
        assert recorder.done.wait(30)
        assert recorder.ended == [e.S_OK]
        return recorder

    mp3 = run(g.WPD_OBJECT_FORMAT_MP3, "DEVICE", 100, [k.WPD_OBJECT_NAME])
    assert sorted(str(i[k.WPD_OBJECT_NAME]) for i in mp3.items) == ["one.mp3", "two.mp3"]
    assert all(set(i) == {k.WPD_OBJECT_NAME, k.WPD_OBJECT_ID} for i in mp3.items)
    shallow = run(g.WPD_OBJECT_FORMAT_MP3, "DEVICE", 3, None)
    assert [i[k.WPD_OBJECT_NAME] for i in shallow.items] == ["one.mp3"]
    assert [i[k.WPD_OBJECT_ID] for i in run(g.WPD_OBJECT_FORMAT_ALL, "", 1, None).items] == [
        "DEVICE"
    ]
    functional = run(g.WPD_OBJECT_FORMAT_ALL, "DEVICE", 1, None)
    assert [i[k.WPD_OBJECT_ID] for i in functional.items] == ["DEVICE", STORAGE]
    assert run(g.WPD_OBJECT_FORMAT_ALL, "", 0, None).items == []
    with pytest.raises(w.WpdError):
        bulk.queue_get_values_by_object_format(g.WPD_OBJECT_FORMAT_ALL, "", -1, None, Recorder())


def test_bulk_set_and_early_end(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    for i in range(3):
        (vdev.root / f"s{i}.txt").write_text("s")
    content = opened.content()
    ids = list(content.enum_objects(STORAGE))
    bulk = content.properties().bulk()
    items = PortableDeviceValuesCollection()
    for i, object_id in enumerate(ids):
        items.add(
            PortableDeviceValues({k.WPD_OBJECT_ID: object_id, k.WPD_OBJECT_NAME: f"r{i}.txt"})
        )
    items.add(PortableDeviceValues({k.WPD_OBJECT_NAME: "no id"}))
    items.add(PortableDeviceValues({k.WPD_OBJECT_ID: "o7777", k.WPD_OBJECT_NAME: "gone"}))
    recorder = Recorder()
    context = bulk.queue_set_values_by_object_list(items, recorder)
    bulk.start(context)
    assert recorder.done.wait(30) and recorder.ended == [e.S_OK]
    results = recorder.items
    assert [r.get_error_value(k.WPD_OBJECT_NAME) for r in results[:3]] == [e.S_OK] * 3
    assert results[3].get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.E_INVALIDARG
    assert results[4].get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == NOT_FOUND
    assert sorted(p.name for p in vdev.root.iterdir()) == ["r0.txt", "r1.txt", "r2.txt"]
    # on_progress returning a failure HRESULT abandons the operation
    stop = Recorder(answer=e.E_ABORT)
    context = bulk.queue_get_values_by_object_list(ids * 20, None, stop)
    bulk.start(context)
    assert stop.done.wait(30) and stop.ended == [e.E_ABORT] and len(stop.batches) == 1
    failing = Recorder(answer=ValueError("app bug"))
    context = bulk.queue_get_values_by_object_list(ids, None, failing)
    bulk.start(context)
    assert failing.done.wait(30) and failing.ended == [e.E_FAIL]
    refusing = Recorder(answer=w.WpdError(e.E_ACCESSDENIED))
    context = bulk.queue_get_values_by_object_list(ids, None, refusing)
    bulk.start(context)
    assert refusing.done.wait(30) and refusing.ended == [e.E_ACCESSDENIED]
    # a queued operation cancelled before it starts never runs
    never = Recorder()
    context = bulk.queue_get_values_by_object_list(ids, None, never)
    bulk.cancel(context)
    with pytest.raises(w.WpdError) as info:
        bulk.start(context)
    assert info.value.hresult == NOT_FOUND
    assert never.started == []
    # a callback object without methods is fine
    context = bulk.queue_get_values_by_object_list(ids, None, object())
    bulk.start(context)
    assert bulk.wait(context, 30)


# --- resources and streams ----------------------------------------------------------------


def test_read_stream(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    (vdev.root / "blob.bin").write_bytes(data)
    (vdev.root / "Folder").mkdir()
    resources = opened.content().transfer()
    blob = child(opened, STORAGE, "blob.bin")
    assert list(resources.get_supported_resources(blob)) == [k.WPD_RESOURCE_DEFAULT]
    assert list(resources.get_supported_resources(child(opened, STORAGE, "Folder"))) == []
    assert list(resources.get_supported_resources("DEVICE")) == []
    attributes = resources.get_resource_attributes(blob, k.WPD_RESOURCE_DEFAULT)
    assert attributes.get_unsigned_large_integer_value(k.WPD_RESOURCE_ATTRIBUTE_TOTAL_SIZE) == len(
        data
    )
    assert attributes[k.WPD_RESOURCE_ATTRIBUTE_CAN_WRITE] is True
    assert attributes.get_key_value(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY) == k.WPD_RESOURCE_DEFAULT
    assert attributes[k.WPD_RESOURCE_ATTRIBUTE_FORMAT] == g.WPD_OBJECT_FORMAT_UNSPECIFIED
    stream, optimal = resources.get_stream(blob, k.WPD_RESOURCE_DEFAULT, w.STGM_READ)
    with stream:
        assert optimal > 0 and stream.readable() and stream.seekable() and not stream.writable()
        assert stream.read(10) == data[:10]
        assert stream.seek(-7, w.STREAM_SEEK_END) == len(data) - 7
        assert stream.read(100) == data[-7:]
        assert stream.read(100) == b""
        assert stream.seek(5) == 5 and stream.tell() == 5
        assert stream.seek(5, w.STREAM_SEEK_CUR) == 10
        stat = stream.stat()
        assert (stat.name, stat.size, stat.mode) == ("blob.bin", len(data), w.STGM_READ)
        assert stream.get_object_id() == blob
        stream.commit()  # nothing to commit on a read stream
        stream.revert()
        with pytest.raises(w.WpdError):
            stream.seek(-1)
        with pytest.raises(w.WpdError):
            stream.seek(0, 9)
        stream.seek(0)
        assert io.BufferedReader(stream).read() == data  # a Python binary file object
    with pytest.raises(ValueError):
        stream.read(1)
    with pytest.raises(ValueError):
        stream.seek(0)
    for bad in (
        lambda: resources.get_stream(blob, k.WPD_RESOURCE_THUMBNAIL, w.STGM_READ),
        lambda: resources.get_resource_attributes(blob, k.WPD_RESOURCE_ICON),
    ):
        with pytest.raises(w.WpdError) as info:
            bad()
        assert info.value.hresult == NOT_SUPPORTED
    with pytest.raises(w.WpdError) as info:
        resources.get_stream(blob, k.WPD_RESOURCE_DEFAULT, 7)
    assert info.value.hresult == e.E_INVALIDARG
    resources.cancel()
    torn, _ = resources.get_stream(blob, k.WPD_RESOURCE_DEFAULT, w.STGM_READ)
    torn.cancel()  # the handle's cancel tears the open stream down
    with pytest.raises(w.WpdError) as info:
        torn.read(1)
    assert info.value.hresult == e.HRESULT_CANCELLED
    torn.close()


def test_thumbnail_resource(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    jpeg, thumb = exif_jpeg()
    (vdev.root / "t.jpg").write_bytes(jpeg)
    resources = opened.content().transfer()
    t = child(opened, STORAGE, "t.jpg")
    assert list(resources.get_supported_resources(t)) == [
        k.WPD_RESOURCE_DEFAULT,
        k.WPD_RESOURCE_THUMBNAIL,
    ]
    attributes = resources.get_resource_attributes(t, k.WPD_RESOURCE_THUMBNAIL)
    assert attributes[k.WPD_RESOURCE_ATTRIBUTE_TOTAL_SIZE] == len(thumb)
    assert attributes[k.WPD_RESOURCE_ATTRIBUTE_CAN_WRITE] is False
    stream, _ = resources.get_stream(t, k.WPD_RESOURCE_THUMBNAIL, w.STGM_READ)
    with stream:
        assert stream.read() == thumb
    with pytest.raises(w.WpdError) as info:
        resources.get_stream(t, k.WPD_RESOURCE_THUMBNAIL, w.STGM_WRITE)
    assert info.value.hresult == e.E_ACCESSDENIED
    with pytest.raises(w.WpdError) as info:
        resources.delete(t, [k.WPD_RESOURCE_THUMBNAIL])
    assert info.value.hresult == e.E_ACCESSDENIED
    with pytest.raises(w.WpdError) as info:
        resources.delete(t, [k.WPD_RESOURCE_ICON])
    assert info.value.hresult == NOT_SUPPORTED
    resources.delete(t, [])


def test_create_with_data(vdev: ThreadedDevice, opened: w.PortableDevice, tmp_path: Path) -> None:
    content = opened.content()
    values = PortableDeviceValues()
    values[k.WPD_OBJECT_PARENT_ID] = STORAGE
    values[k.WPD_OBJECT_ORIGINAL_FILE_NAME] = "up.bin"
    values[k.WPD_OBJECT_DATE_MODIFIED] = datetime(2020, 1, 1, 12, 0, 0)
    stream, optimal = content.create_object_with_properties_and_data(values)
    assert optimal > 0 and stream.writable() and not stream.readable()
    with pytest.raises(w.WpdError) as info:
        stream.get_object_id()
    assert info.value.hresult == e.E_WPD_OBJECT_NOT_COMMITED
    data = os.urandom(2 * 1024 * 1024 + 5)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    with open(source, "rb") as f:
        shutil.copyfileobj(f, stream, optimal)
    assert not (vdev.root / "up.bin").exists()  # nothing before commit
    assert stream.stat().size == len(data)
    with pytest.raises(w.WpdError):
        stream.read(1)  # write-only
    stream.commit()
    new_id = stream.get_object_id()
    assert (vdev.root / "up.bin").read_bytes() == data
    assert datetime.fromtimestamp((vdev.root / "up.bin").stat().st_mtime) == datetime(
        2020, 1, 1, 12
    )
    with pytest.raises(w.WpdError) as info:
        stream.write(b"more")
    assert info.value.hresult == e.E_UNEXPECTED
    stream.close()
    assert content.properties().get_values(new_id)[k.WPD_OBJECT_NAME] == "up.bin"
    # revert and close-without-commit leave nothing
    values[k.WPD_OBJECT_ORIGINAL_FILE_NAME] = "reverted.bin"
    reverted, _ = content.create_object_with_properties_and_data(values)
    reverted.write(b"abc")
    reverted.revert()
    reverted.revert()
    reverted.close()
    dropped, _ = content.create_object_with_properties_and_data(values)
    dropped.write(b"abc")
    dropped.close()
    # a sparse stream: seek past the end, write one byte
    values[k.WPD_OBJECT_ORIGINAL_FILE_NAME] = "sparse.bin"
    sparse, _ = content.create_object_with_properties_and_data(values)
    sparse.seek(1_000_000)
    sparse.write(b"!")
    sparse.commit()
    sparse.close()
    assert (vdev.root / "sparse.bin").stat().st_size == 1_000_001
    assert sorted(p.name for p in vdev.root.iterdir()) == ["sparse.bin", "up.bin"]
    for bad in (
        PortableDeviceValues({k.WPD_OBJECT_NAME: "x"}),
        PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE}),
        PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: "DEVICE", k.WPD_OBJECT_NAME: "x"}),
        PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: new_id, k.WPD_OBJECT_NAME: "x"}),
    ):
        with pytest.raises(w.WpdError) as info:
            content.create_object_with_properties_and_data(bad)
        assert info.value.hresult == e.E_INVALIDARG


def test_update_and_rewrite(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "Docs").mkdir()
    (vdev.root / "Docs" / "doc.txt").write_text("version 1")
    content = opened.content()
    docs = child(opened, STORAGE, "Docs")
    doc = child(opened, docs, "doc.txt")
    stream, _ = content.update_object_with_properties_and_data(
        doc, PortableDeviceValues({k.WPD_OBJECT_SIZE: 9})
    )
    stream.write(b"version 2")
    stream.commit()
    doc2 = stream.get_object_id()
    stream.close()
    assert (vdev.root / "Docs" / "doc.txt").read_text() == "version 2"
    assert doc2 == doc  # the device edits files: rewritten in place, the object keeps its ID
    assert sorted(p.name for p in (vdev.root / "Docs").iterdir()) == ["doc.txt"]
    renamed, _ = content.update_object_with_properties_and_data(
        doc2, PortableDeviceValues({k.WPD_OBJECT_ORIGINAL_FILE_NAME: "doc3.txt"})
    )
    renamed.write(b"3")
    renamed.commit()
    renamed.close()
    assert sorted(p.name for p in (vdev.root / "Docs").iterdir()) == ["doc3.txt"]
    with pytest.raises(w.WpdError) as info:
        content.update_object_with_properties_and_data(docs, PortableDeviceValues())
    assert info.value.hresult == e.E_INVALIDARG
    doc3 = child(opened, docs, "doc3.txt")
    resources = content.transfer()
    # STGM_READWRITE starts from the current data
    both, _ = resources.get_stream(doc3, k.WPD_RESOURCE_DEFAULT, w.STGM_READWRITE)
    assert both.readable() and both.read() == b"3"
    both.write(b"+4")
    both.commit()
    both.close()
    assert (vdev.root / "Docs" / "doc3.txt").read_bytes() == b"3+4"
    doc4 = child(opened, docs, "doc3.txt")
    write, _ = resources.get_stream(doc4, k.WPD_RESOURCE_DEFAULT, w.STGM_WRITE)
    write.write(b"five")
    write.commit()
    write.close()
    assert (vdev.root / "Docs" / "doc3.txt").read_bytes() == b"five"
    doc5 = child(opened, docs, "doc3.txt")
    attributes = PortableDeviceValues({k.WPD_OBJECT_ID: doc5})
    attributes.set_key_value(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY, k.WPD_RESOURCE_DEFAULT)
    created, optimal = resources.create_resource(attributes)
    assert optimal > 0
    created.write(b"six")
    created.commit()
    created.close()
    assert (vdev.root / "Docs" / "doc3.txt").read_bytes() == b"six"
    photo = PortableDeviceValues({k.WPD_OBJECT_ID: doc5})
    photo.set_key_value(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY, k.WPD_RESOURCE_CONTACT_PHOTO)
    with pytest.raises(w.WpdError) as info:
        resources.create_resource(photo)
    assert info.value.hresult == NOT_SUPPORTED
    with pytest.raises(w.WpdError) as info:
        resources.create_resource(PortableDeviceValues())
    assert info.value.hresult == e.E_INVALIDARG
    folder = PortableDeviceValues({k.WPD_OBJECT_ID: docs})
    folder.set_key_value(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY, k.WPD_RESOURCE_DEFAULT)
    with pytest.raises(w.WpdError) as info:
        resources.create_resource(folder)
    assert info.value.hresult == e.E_INVALIDARG


# --- creating, deleting, moving -----------------------------------------------------------


def test_create_properties_only(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    content = opened.content()
    folder = PortableDeviceValues()
    folder[k.WPD_OBJECT_PARENT_ID] = STORAGE
    folder[k.WPD_OBJECT_NAME] = "New Folder"
    folder[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FOLDER
    folder_id = content.create_object_with_properties_only(folder)
    assert (vdev.root / "New Folder").is_dir()
    other = PortableDeviceValues()
    other[k.WPD_OBJECT_PARENT_ID] = folder_id
    other[k.WPD_OBJECT_NAME] = "Sub"
    other[k.WPD_OBJECT_FORMAT] = g.WPD_OBJECT_FORMAT_PROPERTIES_ONLY
    content.create_object_with_properties_only(other)
    assert (vdev.root / "New Folder" / "Sub").is_dir()
    empty = PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: folder_id, k.WPD_OBJECT_NAME: "e.vcf"})
    empty_id = content.create_object_with_properties_only(empty)
    assert (vdev.root / "New Folder" / "e.vcf").read_bytes() == b""
    assert content.properties().get_values(empty_id)[k.WPD_OBJECT_PARENT_ID] == folder_id
    with pytest.raises(w.WpdError) as info:
        content.create_object_with_properties_only(PortableDeviceValues({k.WPD_OBJECT_NAME: "x"}))
    assert info.value.hresult == e.E_INVALIDARG


def test_delete(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "Full").mkdir()
    (vdev.root / "Full" / "x.txt").write_text("x")
    (vdev.root / "Empty").mkdir()
    (vdev.root / "a.txt").write_text("a")
    content = opened.content()
    full, empty, a = (child(opened, STORAGE, n) for n in ("Full", "Empty", "a.txt"))
    results = content.delete(w.PORTABLE_DEVICE_DELETE_NO_RECURSION, [full, empty, a])
    assert list(results) == [e.HRESULT_FROM_WIN32(e.ERROR_INVALID_OPERATION), e.S_OK, e.S_OK]
    assert results.get_type() is VarType.ERROR
    assert sorted(p.name for p in vdev.root.iterdir()) == ["Full"]
    with pytest.raises(w.WpdError) as info:
        content.delete(w.PORTABLE_DEVICE_DELETE_NO_RECURSION, [full, "o7777", STORAGE])
    assert info.value.hresult == e.HRESULT_FROM_WIN32(e.ERROR_INVALID_OPERATION)
    assert isinstance(info.value.results, PortableDevicePropVariantCollection)
    assert list(info.value.results) == [
        e.HRESULT_FROM_WIN32(e.ERROR_INVALID_OPERATION),
        NOT_FOUND,
        e.E_ACCESSDENIED,
    ]
    assert list(content.delete(w.PORTABLE_DEVICE_DELETE_WITH_RECURSION, [full])) == [e.S_OK]
    assert list(vdev.root.iterdir()) == []
    with pytest.raises(w.WpdError) as info:
        content.delete(7, [])
    assert info.value.hresult == e.E_INVALIDARG
    with pytest.raises(w.WpdError):
        content.delete(0, [5])
    assert list(content.delete(0, [])) == []


def test_move_copy_and_puids(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    (vdev.root / "A").mkdir()
    (vdev.root / "B").mkdir()
    (vdev.root / "A" / "m.txt").write_text("m")
    content = opened.content()
    a, b = child(opened, STORAGE, "A"), child(opened, STORAGE, "B")
    m = child(opened, a, "m.txt")
    assert list(content.copy([m], b)) == [e.S_OK]
    assert (vdev.root / "B" / "m.txt").read_text() == "m"
    copy = child(opened, b, "m.txt")
    assert list(content.move([m], STORAGE)) == [e.S_OK]
    assert (vdev.root / "m.txt").exists() and not (vdev.root / "A" / "m.txt").exists()
    with pytest.raises(w.WpdError) as info:
        content.move(["o7777"], b)
    assert info.value.hresult == NOT_FOUND
    with pytest.raises(w.WpdError) as info:
        content.copy([m], m)  # a file is no destination
    assert info.value.hresult == e.E_INVALIDARG
    properties = content.properties()
    puid = properties.get_values(copy)[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID]
    found = content.get_object_ids_from_persistent_unique_ids(
        PortableDevicePropVariantCollection([puid, "DEVICE", STORAGE, "{nonexistent}"])
    )
    assert list(found) == [copy, "DEVICE", STORAGE, ""]


def test_puids_survive_reconnects(vdev: ThreadedDevice) -> None:
    (vdev.root / "D").mkdir()
    (vdev.root / "D" / "keep.txt").write_text("k")
    with w.PortableDevice() as first:
        first.open(vdev.url, client_info())
        keep = child(first, child(first, STORAGE, "D"), "keep.txt")
        puid = first.content().properties().get_values(keep)[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID]
    with w.PortableDevice() as second:  # a new session
        second.open(vdev.url, client_info())
        [again] = second.content().get_object_ids_from_persistent_unique_ids([puid])
        values = second.content().properties().get_values(str(again))
        assert values[k.WPD_OBJECT_NAME] == "keep.txt"
        assert values[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID] == puid


# --- capabilities -------------------------------------------------------------------------


def test_capabilities(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    caps = opened.capabilities()
    commands = caps.get_supported_commands()
    assert c.WPD_COMMAND_OBJECT_MANAGEMENT_MOVE_OBJECTS in commands
    assert c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE in commands
    assert c.WPD_COMMAND_COMMON_RESET_DEVICE not in commands  # the device has no ResetDevice
    delete = caps.get_command_options(c.WPD_COMMAND_OBJECT_MANAGEMENT_DELETE_OBJECTS)
    assert delete[c.WPD_OPTION_OBJECT_MANAGEMENT_RECURSIVE_DELETE_SUPPORTED] is True
    read = caps.get_command_options(c.WPD_COMMAND_OBJECT_RESOURCES_READ)
    assert read[c.WPD_OPTION_OBJECT_RESOURCES_SEEK_ON_READ_SUPPORTED] is True
    assert len(caps.get_command_options(c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_EVENTS)) == 0
    with pytest.raises(w.WpdError) as info:
        caps.get_command_options(c.WPD_COMMAND_SMS_SEND)
    assert info.value.hresult == NOT_SUPPORTED
    assert list(caps.get_functional_categories()) == [
        g.WPD_FUNCTIONAL_CATEGORY_DEVICE,
        g.WPD_FUNCTIONAL_CATEGORY_STORAGE,
    ]
    assert list(caps.get_functional_objects(g.WPD_FUNCTIONAL_CATEGORY_STORAGE)) == [STORAGE]
    assert list(caps.get_functional_objects(g.WPD_FUNCTIONAL_CATEGORY_ALL)) == ["DEVICE", STORAGE]
    assert list(caps.get_functional_objects(g.WPD_FUNCTIONAL_CATEGORY_SMS)) == []
    types = list(caps.get_supported_content_types(g.WPD_FUNCTIONAL_CATEGORY_STORAGE))
    assert g.WPD_CONTENT_TYPE_FOLDER in types and g.WPD_CONTENT_TYPE_IMAGE in types
    assert list(caps.get_supported_content_types(g.WPD_FUNCTIONAL_CATEGORY_DEVICE)) == []
    assert list(
        caps.get_supported_content_types(g.WPD_FUNCTIONAL_CATEGORY_STILL_IMAGE_CAPTURE)
    ) == [g.WPD_CONTENT_TYPE_IMAGE]
    images = list(caps.get_supported_formats(g.WPD_CONTENT_TYPE_IMAGE))
    assert g.WPD_OBJECT_FORMAT_EXIF in images and g.WPD_OBJECT_FORMAT_MP3 not in images
    assert len(caps.get_supported_formats(g.WPD_CONTENT_TYPE_ALL)) >= len(images)
    keys = caps.get_supported_format_properties(g.WPD_OBJECT_FORMAT_EXIF)
    assert k.WPD_OBJECT_ORIGINAL_FILE_NAME in keys and k.WPD_OBJECT_SIZE in keys
    name = caps.get_fixed_property_attributes(g.WPD_OBJECT_FORMAT_EXIF, k.WPD_OBJECT_NAME)
    assert name[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    size = caps.get_fixed_property_attributes(g.WPD_OBJECT_FORMAT_EXIF, k.WPD_OBJECT_SIZE)
    assert size[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    content_type = caps.get_fixed_property_attributes(
        g.WPD_OBJECT_FORMAT_EXIF, k.WPD_OBJECT_CONTENT_TYPE
    )
    assert content_type[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    vendor = caps.get_fixed_property_attributes(
        g.WPD_OBJECT_FORMAT_EXIF, k.vendor_object_property_key(0xD8FF)
    )
    assert vendor[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    with pytest.raises(w.WpdError) as info:
        caps.get_supported_format_properties(g.WPD_OBJECT_FORMAT_ALL)
    assert info.value.hresult == e.E_INVALIDARG
    events = list(caps.get_supported_events())
    assert g.WPD_EVENT_OBJECT_ADDED in events and g.WPD_EVENT_DEVICE_REMOVED in events
    options = caps.get_event_options(g.WPD_EVENT_OBJECT_ADDED)
    assert options[k.WPD_EVENT_OPTION_IS_BROADCAST_EVENT] is True
    with pytest.raises(w.WpdError) as info:
        caps.get_event_options(g.WPD_EVENT_STORAGE_FORMAT)
    assert info.value.hresult == NOT_SUPPORTED
    caps.cancel()


# --- send_command -------------------------------------------------------------------------


def command(key: k.PropertyKey, **extra: object) -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = key.fmtid
    params[c.WPD_PROPERTY_COMMON_COMMAND_ID] = key.pid
    for name, value in extra.items():
        params[getattr(c, f"WPD_PROPERTY_MTP_EXT_{name}")] = value
    return params


def test_send_command_pass_through(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    from openwpd.protocol.codes import OperationCode, ResponseCode
    from openwpd.protocol.datasets import DeviceInfo, StorageInfo, parse_uint32_array

    def hresult(results: PortableDeviceValues) -> int:
        return results.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT)

    description = opened.send_command(
        command(c.WPD_COMMAND_MTP_EXT_GET_VENDOR_EXTENSION_DESCRIPTION)
    )
    assert "microsoft.com" in str(description[c.WPD_PROPERTY_MTP_EXT_VENDOR_EXTENSION_DESCRIPTION])
    vendor = opened.send_command(command(c.WPD_COMMAND_MTP_EXT_GET_SUPPORTED_VENDOR_OPCODES))
    assert OperationCode.GET_PARTIAL_OBJECT_64 in list(
        vendor[c.WPD_PROPERTY_MTP_EXT_VENDOR_OPERATION_CODES]  # type: ignore[call-overload]
    )
    ids = PortableDevicePropVariantCollection([], vt=VarType.UI4)
    plain = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE,
            OPERATION_CODE=OperationCode.GET_NUM_OBJECTS,
            OPERATION_PARAMS=PortableDevicePropVariantCollection(
                [0x10001, 0, 0xFFFFFFFF], vt=VarType.UI4
            ),
        )
    )
    assert hresult(plain) == e.S_OK
    assert plain[c.WPD_PROPERTY_MTP_EXT_RESPONSE_CODE] == ResponseCode.OK
    assert list(plain[c.WPD_PROPERTY_MTP_EXT_RESPONSE_PARAMS]) == [0]  # type: ignore[call-overload]
    # data to read: GetDeviceInfo in three steps
    opened_read = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ,
            OPERATION_CODE=OperationCode.GET_DEVICE_INFO,
            OPERATION_PARAMS=ids,
        )
    )
    context = opened_read[c.WPD_PROPERTY_MTP_EXT_TRANSFER_CONTEXT]
    total = opened_read.get_unsigned_large_integer_value(
        c.WPD_PROPERTY_MTP_EXT_TRANSFER_TOTAL_DATA_SIZE
    )
    data = b""
    while True:
        piece = opened.send_command(
            command(
                c.WPD_COMMAND_MTP_EXT_READ_DATA,
                TRANSFER_CONTEXT=context,
                TRANSFER_NUM_BYTES_TO_READ=100,
            )
        )
        chunk = piece.get_buffer_value(c.WPD_PROPERTY_MTP_EXT_TRANSFER_DATA)
        assert piece[c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_READ] == len(chunk)
        if not chunk:
            break
        data += chunk
    assert len(data) == total and DeviceInfo.from_bytes(data).model == "Virtual MTP Device"
    end = opened.send_command(
        command(c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER, TRANSFER_CONTEXT=context)
    )
    assert end[c.WPD_PROPERTY_MTP_EXT_RESPONSE_CODE] == ResponseCode.OK
    # the context is gone now
    gone = opened.send_command(
        command(c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER, TRANSFER_CONTEXT=context)
    )
    assert hresult(gone) == NOT_FOUND
    # data to write: SetDevicePropValue(DeviceFriendlyName)
    from openwpd.protocol._buffer import Writer
    from openwpd.protocol.datatypes import write_string

    writer = Writer()
    write_string(writer, "via pass-through")
    payload = writer.getvalue()
    started = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_WRITE,
            OPERATION_CODE=OperationCode.SET_DEVICE_PROP_VALUE,
            OPERATION_PARAMS=PortableDevicePropVariantCollection([0xD402], vt=VarType.UI4),
            TRANSFER_TOTAL_DATA_SIZE=len(payload),
        )
    )
    context = started[c.WPD_PROPERTY_MTP_EXT_TRANSFER_CONTEXT]
    for at in range(0, len(payload), 8):
        part = payload[at : at + 8]
        wrote = opened.send_command(
            command(
                c.WPD_COMMAND_MTP_EXT_WRITE_DATA,
                TRANSFER_CONTEXT=context,
                TRANSFER_NUM_BYTES_TO_WRITE=len(part),
                TRANSFER_DATA=part,
            )
        )
        assert wrote[c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_WRITTEN] == len(part)
    done = opened.send_command(
        command(c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER, TRANSFER_CONTEXT=context)
    )
    assert done[c.WPD_PROPERTY_MTP_EXT_RESPONSE_CODE] == ResponseCode.OK
    assert vdev.device.friendly_name == "via pass-through"
    # malformed and unknown commands report through the HRESULT
    bad = opened.send_command(command(c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE))
    assert hresult(bad) == e.E_INVALIDARG
    bad = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE,
            OPERATION_CODE=OperationCode.GET_STORAGE_IDS,
            OPERATION_PARAMS=PortableDevicePropVariantCollection(["x"]),
        )
    )
    assert hresult(bad) == e.E_INVALIDARG
    storages = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ,
            OPERATION_CODE=OperationCode.GET_STORAGE_IDS,
        )
    )
    context = storages[c.WPD_PROPERTY_MTP_EXT_TRANSFER_CONTEXT]
    raw = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_READ_DATA, TRANSFER_CONTEXT=context, TRANSFER_NUM_BYTES_TO_READ=64
        )
    ).get_buffer_value(c.WPD_PROPERTY_MTP_EXT_TRANSFER_DATA)
    assert parse_uint32_array(raw) == (0x10001,)
    wrong = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_WRITE_DATA,
            TRANSFER_CONTEXT=context,
            TRANSFER_NUM_BYTES_TO_WRITE=1,
            TRANSFER_DATA=b"x",
        )
    )
    assert hresult(wrong) == e.E_INVALIDARG  # a read context takes no data
    info = opened.send_command(
        command(
            c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ,
            OPERATION_CODE=OperationCode.GET_STORAGE_INFO,
            OPERATION_PARAMS=PortableDevicePropVariantCollection([0x10001], vt=VarType.UI4),
        )
    )
    assert info[c.WPD_PROPERTY_MTP_EXT_TRANSFER_TOTAL_DATA_SIZE] > 0
    assert StorageInfo  # the dataset type exists for readers of this test
    unknown = opened.send_command(command(c.WPD_COMMAND_SMS_SEND))
    assert hresult(unknown) == e.E_NOTIMPL
    reset = opened.send_command(command(c.WPD_COMMAND_COMMON_RESET_DEVICE))
    assert hresult(reset) == e.E_NOTIMPL  # the virtual device has no ResetDevice
    with pytest.raises(w.WpdError) as err:
        opened.send_command(PortableDeviceValues())
    assert err.value.hresult == e.E_INVALIDARG
    with pytest.raises(w.WpdError):
        opened.send_command({})  # type: ignore[arg-type]


# --- events -------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.events: list[PortableDeviceValues] = []
        self.arrived = threading.Condition()

    def on_event(self, values: PortableDeviceValues) -> None:
        with self.arrived:
            self.events.append(values)
            self.arrived.notify_all()

    def wait_for(self, event: uuid.UUID, object_id: str | None = None) -> PortableDeviceValues:
        deadline = time.monotonic() + 10
        with self.arrived:
            while True:
                for values in self.events:
                    if values[k.WPD_EVENT_PARAMETER_EVENT_ID] == event and (
                        object_id is None or values.get(k.WPD_OBJECT_ID) == object_id
                    ):
                        return values
                left = deadline - time.monotonic()
                assert left > 0, f"no {event} in {self.events}"
                self.arrived.wait(left)


def test_events(vdev: ThreadedDevice, opened: w.PortableDevice) -> None:
    sink = Sink()
    plain: list[PortableDeviceValues] = []
    cookie = opened.advise(sink)
    other = opened.advise(plain.append, PortableDeviceValues())  # a plain callable works too
    assert cookie != other
    content = opened.content()
    values = PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "Evt"})
    values[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FOLDER
    folder = content.create_object_with_properties_only(values)
    added = sink.wait_for(g.WPD_EVENT_OBJECT_ADDED, folder)
    assert added[k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID] == vdev.url
    assert added[k.WPD_OBJECT_NAME] == "Evt"
    assert added[k.WPD_OBJECT_PARENT_ID] == STORAGE
    assert added[k.WPD_OBJECT_CONTENT_TYPE] == g.WPD_CONTENT_TYPE_FOLDER
    content.properties().set_values(folder, PortableDeviceValues({k.WPD_OBJECT_NAME: "Evt2"}))
    sink.wait_for(g.WPD_EVENT_OBJECT_UPDATED, folder)
    storage = sink.wait_for(g.WPD_EVENT_OBJECT_UPDATED, STORAGE)  # StorageInfoChanged
    assert storage[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] == g.WPD_FUNCTIONAL_CATEGORY_STORAGE
    content.delete(0, [folder])
    removed = sink.wait_for(g.WPD_EVENT_OBJECT_REMOVED, folder)
    assert k.WPD_OBJECT_NAME not in removed
    assert any(v.get(k.WPD_OBJECT_ID) == folder for v in plain)
    opened.unadvise(cookie)
    opened.unadvise(other)
    with pytest.raises(w.WpdError) as info:
        opened.unadvise(cookie)
    assert info.value.hresult == NOT_FOUND
    seen = len(sink.events)
    (vdev.root / "later.txt").write_text("after unadvise")  # the device reports this too
    time.sleep(1.0)
    assert len(sink.events) == seen
    with pytest.raises(w.WpdError) as info:
        opened.advise(object())
    assert info.value.hresult == e.E_INVALIDARG


def test_event_conversion_of_vendor_and_device_events(opened: w.PortableDevice) -> None:
    from openwpd.client import DeviceEvent
    from openwpd.wpd import bridge
    from openwpd.wpd.events import EventDispatcher

    dispatcher = EventDispatcher(opened.handle)
    vendor = bridge.run(dispatcher.convert(DeviceEvent(0xC123, (1, 2))))
    assert vendor[k.WPD_EVENT_PARAMETER_EVENT_ID] == g.vendor_event_guid(0xC123)
    assert list(vendor[k.WPD_PROPERTY_MTP_EXT_EVENT_PARAMS]) == [1, 2]  # type: ignore[call-overload]
    reset = bridge.run(dispatcher.convert(DeviceEvent(0x400B)))
    assert reset[k.WPD_EVENT_PARAMETER_EVENT_ID] == g.WPD_EVENT_DEVICE_RESET
    gone = bridge.run(dispatcher.convert(DeviceEvent(0x4007, (0x7777,))))
    assert gone[k.WPD_OBJECT_ID] == "o7777" and k.WPD_OBJECT_NAME not in gone
    assert dispatcher.removed()[k.WPD_EVENT_PARAMETER_EVENT_ID] == g.WPD_EVENT_DEVICE_REMOVED
    dispatcher.close()


def test_device_removed_event(tmp_path: Path) -> None:
    root = tmp_path / "gone"
    root.mkdir()
    dev = ThreadedDevice(root, tmp_path / "state-gone")
    device = w.PortableDevice()
    try:
        device.open(dev.url, client_info())
        sink = Sink()
        device.advise(sink)
        failing: list[int] = []

        def bad_callback(values: PortableDeviceValues) -> None:
            failing.append(1)
            raise RuntimeError("callbacks may fail")

        device.advise(bad_callback)
        dev.close()
        # the client learns that the link is gone at its next transaction
        with pytest.raises(w.WpdError) as info:
            device.content().properties().get_values(STORAGE)
        assert info.value.hresult == e.HRESULT_FROM_WIN32(e.ERROR_DEVICE_NOT_CONNECTED)
        removed = sink.wait_for(g.WPD_EVENT_DEVICE_REMOVED)
        assert removed[k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID] == dev.url
        assert failing
    finally:
        device.close()
