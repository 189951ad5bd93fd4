"""The device's basic operations over loopback, checked against the folder on disk: device
properties, object finding (every storage/format/parent combination), partial reads, thumbnails,
move, copy and delete."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import (
    DevicePropCode,
    EventCode,
    ObjectFormatCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DevicePropDesc, ObjectInfo, parse_uint32_array
from openwpd.protocol.datatypes import read_string, write_string
from openwpd.server.device import VirtualDevice
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

OP, RC = OperationCode, ResponseCode
ALL = ROOT = 0xFFFFFFFF
PHONE = 0x00010001


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    (root / "DCIM" / "Camera").mkdir(parents=True)
    (root / "Music").mkdir()
    (root / "DCIM" / "Camera" / "a.jpg").write_bytes(exif_jpeg()[0])
    (root / "DCIM" / "Camera" / "b.png").write_bytes(b"\x89PNG fake")
    (root / "Music" / "song.mp3").write_bytes(bytes(range(256)) * 40)
    (root / "notes.txt").write_text("hello", encoding="utf-8")
    return root


def exif_jpeg() -> tuple[bytes, bytes]:
    """(a JPEG whose APP1 Exif segment's IFD1 names a 4x3 thumbnail, that thumbnail) -- written
    from the EXIF/TIFF layout: header, IFD0 with no entries, IFD1 with JPEGInterchangeFormat and
    JPEGInterchangeFormatLength."""
    thumb = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 3, 4, 1) + b"\x01\x11\x00\xff\xd9"
    ifd0 = 8
    ifd1 = ifd0 + 2 + 4
    thumb_at = ifd1 + 2 + 2 * 12 + 4
    tiff = b"II*\x00" + struct.pack("<I", ifd0)
    tiff += struct.pack("<HI", 0, ifd1)  # IFD0: no entries, next = IFD1
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    tiff += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    tiff += struct.pack("<I", 0) + thumb
    app1 = b"Exif\x00\x00" + tiff
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9", thumb


async def ok(runner: TransactionRunner, code: int, *params: int, data: bytes | None = None):  # type: ignore[no-untyped-def]
    res = await runner.transact(code, params, data=data)
    assert res.code == RC.OK, f"{code:#x} -> {res.code:#x}"
    return res


async def names(runner: TransactionRunner, handles: tuple[int, ...]) -> set[str]:
    found = set()
    for h in handles:
        info = ObjectInfo.from_bytes((await ok(runner, OP.GET_OBJECT_INFO, h)).data)
        found.add(info.filename)
    return found


async def find(runner: TransactionRunner, *path: str) -> int:
    parent = ROOT
    for part in path:
        res = await ok(runner, OP.GET_OBJECT_HANDLES, PHONE, 0, parent)
        for h in parse_uint32_array(res.data):
            info = ObjectInfo.from_bytes((await ok(runner, OP.GET_OBJECT_INFO, h)).data)
            if info.filename == part:
                parent = h
                break
        else:
            raise AssertionError(f"{part} not found")
    return parent


# -- finding objects --------------------------------------------------------------------------


async def test_handles_and_counts_for_every_combination(runner: TransactionRunner) -> None:
    async def handles(storage: int, fmt: int, parent: int) -> tuple[int, ...]:
        res = await ok(runner, OP.GET_OBJECT_HANDLES, storage, fmt, parent)
        count = (await ok(runner, OP.GET_NUM_OBJECTS, storage, fmt, parent)).params[0]
        assert count == len(parse_uint32_array(res.data))
        return parse_uint32_array(res.data)

    assert await names(runner, await handles(PHONE, 0, ROOT)) == {"DCIM", "Music", "notes.txt"}
    assert await names(runner, await handles(ALL, 0, ROOT)) == {"DCIM", "Music", "notes.txt"}
    everything = {"DCIM", "Camera", "a.jpg", "b.png", "Music", "song.mp3", "notes.txt"}
    assert await names(runner, await handles(PHONE, 0, 0)) == everything
    assert await names(runner, await handles(ALL, 0, 0)) == everything
    assert await names(runner, await handles(PHONE, ObjectFormatCode.EXIF_JPEG, 0)) == {"a.jpg"}
    camera = await find(runner, "DCIM", "Camera")
    assert await names(runner, await handles(PHONE, 0, camera)) == {"a.jpg", "b.png"}
    assert await names(runner, await handles(PHONE, ObjectFormatCode.PNG, camera)) == {"b.png"}
    for bad, code in [
        ((0, 0, ROOT), RC.INVALID_STORAGE_ID),
        ((0x00090001, 0, ROOT), RC.INVALID_STORAGE_ID),
        ((PHONE, 0, 0x7777), RC.INVALID_PARENT_OBJECT),
    ]:
        assert (await runner.transact(OP.GET_OBJECT_HANDLES, bad)).code == code
        assert (await runner.transact(OP.GET_NUM_OBJECTS, bad)).code == code
    song = await find(runner, "Music", "song.mp3")
    res = await runner.transact(OP.GET_OBJECT_HANDLES, (PHONE, 0, song))
    assert res.code == RC.INVALID_PARENT_OBJECT  # a file is not a folder


async def test_object_info_fields(runner: TransactionRunner, served: Path) -> None:
    camera = await find(runner, "DCIM", "Camera")
    jpg = await find(runner, "DCIM", "Camera", "a.jpg")
    info = ObjectInfo.from_bytes((await ok(runner, OP.GET_OBJECT_INFO, jpg)).data)
    assert info.storage_id == PHONE and info.parent_object == camera
    assert info.object_format == ObjectFormatCode.EXIF_JPEG
    assert info.compressed_size == (served / "DCIM" / "Camera" / "a.jpg").stat().st_size
    assert (info.thumb_format, info.thumb_pix_width, info.thumb_pix_height) == (
        ObjectFormatCode.EXIF_JPEG,
        4,
        3,
    )
    assert info.modification_datetime is not None
    dcim = await find(runner, "DCIM")
    folder = ObjectInfo.from_bytes((await ok(runner, OP.GET_OBJECT_INFO, dcim)).data)
    assert folder.parent_object == 0  # the root is 0 in ObjectInfo
    assert (folder.object_format, folder.association_type) == (ObjectFormatCode.ASSOCIATION, 1)
    res = await runner.transact(OP.GET_OBJECT_INFO, (0x5555,))
    assert res.code == RC.INVALID_OBJECT_HANDLE


# -- data -------------------------------------------------------------------------------------


async def test_thumbnails(runner: TransactionRunner) -> None:
    jpg = await find(runner, "DCIM", "Camera", "a.jpg")
    _, thumb = exif_jpeg()
    assert (await ok(runner, OP.GET_THUMB, jpg)).data == thumb
    for path in (("DCIM", "Camera", "b.png"), ("DCIM",)):
        res = await runner.transact(OP.GET_THUMB, (await find(runner, *path),))
        assert res.code == RC.NO_THUMBNAIL_PRESENT


async def test_partial_reads(runner: TransactionRunner, served: Path) -> None:
    song = await find(runner, "Music", "song.mp3")
    content = (served / "Music" / "song.mp3").read_bytes()
    res = await ok(runner, OP.GET_PARTIAL_OBJECT, song, 100, 50)
    assert (res.data, res.params) == (content[100:150], (50,))
    res = await ok(runner, OP.GET_PARTIAL_OBJECT, song, len(content) - 10, 1000)
    assert (res.data, res.params) == (content[-10:], (10,))
    res = await ok(runner, OP.GET_PARTIAL_OBJECT_64, song, 7, 0, 3)
    assert res.data == content[7:10]
    res = await runner.transact(OP.GET_PARTIAL_OBJECT, (song, len(content) + 1, 1))
    assert res.code == RC.INVALID_PARAMETER
    res = await runner.transact(OP.GET_OBJECT, (await find(runner, "Music"),))
    assert res.code == RC.INVALID_OBJECT_HANDLE  # a folder has no data


async def test_send_object_without_object_info(runner: TransactionRunner, served: Path) -> None:
    res = await runner.transact(OP.SEND_OBJECT, data=b"orphan")
    assert res.code == RC.NO_VALID_OBJECT_INFO
    info = ObjectInfo(object_format=ObjectFormatCode.TEXT, compressed_size=0, filename="e.txt")
    await ok(runner, OP.SEND_OBJECT_INFO, PHONE, ROOT, data=info.to_bytes())
    await ok(runner, OP.SEND_OBJECT, data=b"")  # gphoto's empty SendObject: accepted
    assert (served / "e.txt").read_bytes() == b""
    res = await runner.transact(OP.SEND_OBJECT, data=b"")  # but only once
    assert res.code == RC.NO_VALID_OBJECT_INFO


# -- rearranging ------------------------------------------------------------------------------


async def test_move_copy_delete(runner: TransactionRunner, served: Path) -> None:
    notes = await find(runner, "notes.txt")
    music = await find(runner, "Music")
    res = await ok(runner, OP.COPY_OBJECT, notes, PHONE, music)
    copy = res.params[0]
    assert (served / "Music" / "notes.txt").read_text(encoding="utf-8") == "hello"
    await ok(runner, OP.DELETE_OBJECT, copy)
    assert not (served / "Music" / "notes.txt").exists()
    await ok(runner, OP.MOVE_OBJECT, notes, 0, music)  # storage 0: stay on the same storage
    assert (served / "Music" / "notes.txt").exists() and not (served / "notes.txt").exists()
    await ok(runner, OP.MOVE_OBJECT, notes, PHONE, ROOT)
    assert (served / "notes.txt").exists()
    res = await runner.transact(OP.DELETE_OBJECT, (notes, ObjectFormatCode.TEXT))
    assert res.code == RC.SPECIFICATION_BY_FORMAT_UNSUPPORTED
    # DeleteObject(ALL, format): every object of that format, anywhere
    await ok(runner, OP.DELETE_OBJECT, ALL, ObjectFormatCode.PNG)
    assert not (served / "DCIM" / "Camera" / "b.png").exists()
    assert (served / "DCIM" / "Camera" / "a.jpg").exists()
    # DeleteObject(ALL): everything
    await ok(runner, OP.DELETE_OBJECT, ALL)
    assert list(served.iterdir()) == []


# -- device properties ------------------------------------------------------------------------


async def test_device_properties(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    desc = DevicePropDesc.from_bytes(
        (await ok(runner, OP.GET_DEVICE_PROP_DESC, DevicePropCode.BATTERY_LEVEL)).data
    )
    assert (desc.current, desc.getset) == (100, 0)
    dev.properties.battery_level = 42
    res = await ok(runner, OP.GET_DEVICE_PROP_VALUE, DevicePropCode.BATTERY_LEVEL)
    assert res.data == bytes([42])
    with pytest.raises(ValueError):
        dev.properties.battery_level = 101

    name = DevicePropCode.DEVICE_FRIENDLY_NAME
    w = Writer()
    write_string(w, "Ada's phone")
    await ok(runner, OP.SET_DEVICE_PROP_VALUE, name, data=w.getvalue())
    raw = (await ok(runner, OP.GET_DEVICE_PROP_VALUE, name)).data
    assert read_string(Reader(raw)) == "Ada's phone" == dev.friendly_name
    await ok(runner, OP.RESET_DEVICE_PROP_VALUE, name)
    assert dev.friendly_name == "test device"

    clock = DevicePropCode.DATE_TIME
    w = Writer()
    write_string(w, "20300102T030405")
    await ok(runner, OP.SET_DEVICE_PROP_VALUE, clock, data=w.getvalue())
    now = read_string(Reader((await ok(runner, OP.GET_DEVICE_PROP_VALUE, clock)).data))
    assert now.startswith("20300102T03")
    await ok(runner, OP.RESET_DEVICE_PROP_VALUE, ALL)
    now = read_string(Reader((await ok(runner, OP.GET_DEVICE_PROP_VALUE, clock)).data))
    assert not now.startswith("2030")

    bad = [
        (OP.SET_DEVICE_PROP_VALUE, (DevicePropCode.BATTERY_LEVEL,), b"\x05", RC.ACCESS_DENIED),
        (OP.SET_DEVICE_PROP_VALUE, (name,), b"\x09a", RC.INVALID_DEVICE_PROP_FORMAT),
        (OP.SET_DEVICE_PROP_VALUE, (name,), b"\x00", RC.INVALID_DEVICE_PROP_VALUE),
        (OP.SET_DEVICE_PROP_VALUE, (clock,), _str("tomorrow"), RC.INVALID_DEVICE_PROP_VALUE),
        (OP.SET_DEVICE_PROP_VALUE, (clock,), b"\x00", RC.INVALID_DEVICE_PROP_VALUE),
        (OP.GET_DEVICE_PROP_DESC, (0x5003,), None, RC.DEVICE_PROP_NOT_SUPPORTED),
    ]
    for code, params, data, expected in bad:
        assert (await runner.transact(code, params, data=data)).code == expected


def _str(text: str) -> bytes:
    w = Writer()
    write_string(w, text)
    return w.getvalue()


async def test_property_change_raises_an_event(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    events: list[tuple[int, tuple[int, ...]]] = []
    link, _ = await open_ptpip_link(
        "127.0.0.1",
        device[1],
        identity=InitiatorIdentity(os.urandom(16), "w"),
        on_event=lambda e: events.append((e.code, e.params)),
    )
    other = TransactionRunner(link)
    try:
        await ok(other, OP.OPEN_SESSION, 1)
        await ok(
            runner,
            OP.SET_DEVICE_PROP_VALUE,
            DevicePropCode.SYNCHRONIZATION_PARTNER,
            data=_str("backup"),
        )
        for _ in range(100):
            if events:
                break
            await asyncio.sleep(0.01)
        assert (EventCode.DEVICE_PROP_CHANGED, (DevicePropCode.SYNCHRONIZATION_PARTNER,)) in events
    finally:
        await other.aclose()
