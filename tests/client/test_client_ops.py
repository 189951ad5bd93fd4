"""Every public operation of the client against the real virtual device over loopback TCP."""

from __future__ import annotations

import asyncio
import io
import os
import struct
from datetime import datetime
from pathlib import Path

import pytest
from client_support import Connect, tree

from openwpd import Cancelled, ConnectError, LocalProtocolError, ResponseError
from openwpd.client import Connection, Entry, Handle, Storage, open_connection, transfer
from openwpd.protocol.codes import (
    DataType,
    DevicePropCode,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DeviceInfo

# --- connection -------------------------------------------------------------------------------


async def test_connection_reads_device_info(conn: Connection) -> None:
    assert conn.device_info.manufacturer == "openwpd"
    assert conn.supports(OperationCode.GET_OBJECT)
    assert not conn.supports(0x1FFF)
    assert conn.broken is None and not conn.closed


async def test_bad_urls_and_unreachable_devices() -> None:
    with pytest.raises(LocalProtocolError):
        async with open_connection("http://127.0.0.1"):
            pass
    with pytest.raises(ConnectError):
        async with open_connection("ptpip://127.0.0.1:1", connect_timeout=2):
            pass
    with pytest.raises(ConnectError):  # no such USB device here
        async with open_connection("usb://1:2", connect_timeout=2):
            pass


async def test_closing_twice_and_using_a_closed_connection(connect: Connect) -> None:
    async with connect() as conn:
        h = conn.open_handle()
        await conn.aclose()
        await conn.aclose()
        assert conn.closed
        with pytest.raises(LocalProtocolError):
            await h.storages()
        with pytest.raises(LocalProtocolError):
            conn.open_handle()


async def test_closing_the_connection_cancels_pending_operations(
    connect: Connect, served: Path
) -> None:
    with open(served / "big.bin", "wb") as f:
        f.truncate(256 * 1024 * 1024)
    async with connect() as conn:
        h = conn.open_handle()
        entry = await h.resolve("/Phone/big.bin")
        assert isinstance(entry, Entry)
        task = asyncio.create_task(h.read(entry))
        await asyncio.sleep(0.05)
        await conn.aclose()
        with pytest.raises(Cancelled):
            await task


# --- storages, listing, paths -------------------------------------------------------------------


async def test_storages(h: Handle) -> None:
    [storage] = await h.storages()
    assert storage.description == "Phone"
    assert storage.id == 0x00010001
    assert storage.path == "/Phone"
    assert storage.capacity >= storage.free > 0
    assert not storage.read_only


async def test_list_empty_one_and_unicode(h: Handle, served: Path) -> None:
    [storage] = await h.storages()
    assert [e async for e in h.list(storage)] == []
    name = "Ünïcødé 日本語 🎉.txt"
    await h.upload(io.BytesIO(b"x" * 10), storage, name=name)
    [entry] = [e async for e in h.list(storage)]
    assert entry.name == name
    assert entry.size == 10 and entry.size_exact
    assert not entry.is_folder
    assert entry.path == f"/Phone/{name}"
    assert entry.parent == 0
    assert entry.storage_id == storage.id
    assert isinstance(entry.modified, datetime)
    assert entry.format == ObjectFormatCode.TEXT


async def test_list_folder_by_entry_and_by_path(h: Handle, served: Path) -> None:
    (served / "DCIM" / "Camera").mkdir(parents=True)
    for i in range(5):
        (served / "DCIM" / "Camera" / f"IMG_{i}.jpg").write_bytes(bytes(i))
    folder = await h.resolve("/Phone/DCIM/Camera")
    assert isinstance(folder, Entry) and folder.is_folder
    by_entry = sorted((e.name, e.size) for e in [x async for x in h.list(folder)])
    by_path = sorted((e.name, e.size) for e in [x async for x in h.list("/Phone/DCIM/Camera")])
    assert by_entry == by_path == [(f"IMG_{i}.jpg", i) for i in range(5)]
    paths = {e.path async for e in h.list(folder)}
    assert paths == {f"/Phone/DCIM/Camera/IMG_{i}.jpg" for i in range(5)}


async def test_list_leaving_early_keeps_the_session(h: Handle, served: Path) -> None:
    for i in range(300):
        (served / f"f{i:03}").write_bytes(b"")
    [storage] = await h.storages()
    async for _entry in h.list(storage):
        break
    assert len([e async for e in h.list(storage)]) == 300


async def test_resolve(h: Handle, served: Path) -> None:
    (served / "a" / "b").mkdir(parents=True)
    (served / "a" / "b" / "c.txt").write_text("hi")
    root = await h.resolve("/Phone")
    assert isinstance(root, Storage) and root.description == "Phone"
    assert isinstance(await h.resolve("/Phone/"), Storage)
    entry = await h.resolve("/Phone/a/b/c.txt")
    assert isinstance(entry, Entry) and entry.size == 2 and entry.path == "/Phone/a/b/c.txt"
    with pytest.raises(ResponseError) as info:
        await h.resolve("/Phone/a/nope")
    assert info.value.code == ResponseCode.INVALID_OBJECT_HANDLE
    with pytest.raises(ResponseError) as info:
        await h.resolve("/Card/a")
    assert info.value.code == ResponseCode.INVALID_STORAGE_ID
    with pytest.raises(ResponseError) as info:
        await h.resolve("/Phone/a/b/c.txt/d")
    assert info.value.code == ResponseCode.INVALID_PARENT_OBJECT
    for bad in ("Phone/a", "", "/", "/Phone//a"):
        with pytest.raises(LocalProtocolError):
            await h.resolve(bad)


async def test_entry_and_object_info(h: Handle, served: Path) -> None:
    (served / "x.bin").write_bytes(b"12345")
    entry = await h.resolve("/Phone/x.bin")
    assert isinstance(entry, Entry)
    again = await h.entry(entry.handle)
    assert (again.name, again.size, again.handle) == ("x.bin", 5, entry.handle)
    assert (await h.entry(entry)).path == "/Phone/x.bin"
    assert (await h.entry("/Phone/x.bin")).handle == entry.handle
    info = await h.object_info("/Phone/x.bin")
    assert info.filename == "x.bin" and info.compressed_size == 5
    with pytest.raises(LocalProtocolError):
        await h.object_info("/Phone")
    with pytest.raises(TypeError):
        await h.delete(42)  # type: ignore[arg-type]


# --- data ----------------------------------------------------------------------------------------


async def test_download_to_path_file_object_and_ranges(
    h: Handle, served: Path, tmp_path: Path
) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    src = served / "data.bin"
    src.write_bytes(payload)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    entry = await h.resolve("/Phone/data.bin")
    assert isinstance(entry, Entry)
    seen: list[tuple[int, int | None]] = []
    out = tmp_path / "out.bin"
    n = await h.download(entry, out, progress=lambda done, total: seen.append((done, total)))
    assert n == len(payload) and out.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert abs(out.stat().st_mtime - 1_600_000_000) < 2  # the device's DateModified
    buf = io.BytesIO()
    assert await h.download("/Phone/data.bin", buf, offset=1000, length=5000) == 5000
    assert buf.getvalue() == payload[1000:6000]
    assert await h.read(entry, len(payload) - 10) == payload[-10:]
    assert await h.read(entry, 5, 0) == b""
    assert await h.read(entry, len(payload) + 5, 10) == b""
    with pytest.raises(LocalProtocolError):
        await h.read(entry, -1)
    with pytest.raises(LocalProtocolError):
        await h.read("/Phone", 0)


async def test_download_of_a_folder_is_refused_and_leaves_nothing(
    h: Handle, served: Path, tmp_path: Path
) -> None:
    (served / "dir").mkdir()
    folder = await h.resolve("/Phone/dir")
    assert isinstance(folder, Entry)
    with pytest.raises(LocalProtocolError):
        await h.download(folder, tmp_path / "x")
    assert os.listdir(tmp_path) == ["served", "state"] or "x" not in os.listdir(tmp_path)
    assert not any(".openwpd-part" in n for n in os.listdir(tmp_path))


async def test_download_of_a_vanished_object_leaves_no_file(
    h: Handle, served: Path, tmp_path: Path
) -> None:
    (served / "gone.bin").write_bytes(b"abc")
    entry = await h.resolve("/Phone/gone.bin")
    assert isinstance(entry, Entry)
    await h.delete(entry)
    dest = tmp_path / "dl"
    dest.mkdir()
    with pytest.raises(ResponseError):
        await h.download(entry, dest / "gone.bin")
    assert os.listdir(dest) == []


async def test_upload_from_path_keeps_name_and_mtime(
    h: Handle, served: Path, tmp_path: Path
) -> None:
    local = tmp_path / "photo 1.jpg"
    payload = os.urandom(2 * 1024 * 1024 + 3)
    local.write_bytes(payload)
    os.utime(local, (1_500_000_000, 1_500_000_000))
    (served / "DCIM").mkdir()
    seen: list[int] = []
    entry = await h.upload(local, "/Phone/DCIM", progress=lambda done, total: seen.append(done))
    assert entry.name == "photo 1.jpg" and entry.size == len(payload)
    assert entry.path == "/Phone/DCIM/photo 1.jpg"
    assert entry.format == ObjectFormatCode.EXIF_JPEG
    assert (served / "DCIM" / "photo 1.jpg").read_bytes() == payload
    assert abs((served / "DCIM" / "photo 1.jpg").stat().st_mtime - 1_500_000_000) < 2
    assert seen[-1] == len(payload)
    assert tree(served) == {"DCIM", "DCIM/photo 1.jpg"}


async def test_upload_from_path_goes_by_sendfile_in_slices(
    h: Handle, served: Path, tmp_path: Path
) -> None:
    # over PTP/IP a file of ours is sent with sendfile, SLICE bytes per Data packet
    local = tmp_path / "big.bin"
    payload = os.urandom(2 * transfer.SLICE + 5)
    local.write_bytes(payload)
    assert h.connection.supports_file_slices
    seen: list[int] = []
    entry = await h.upload(local, "/Phone", progress=lambda done, total: seen.append(done))
    assert (served / "big.bin").read_bytes() == payload and entry.size == len(payload)
    assert seen == [transfer.SLICE, 2 * transfer.SLICE, len(payload)]
    # a size beyond the file's end is refused before anything is sent; nothing stays
    with pytest.raises(LocalProtocolError):
        await h.upload(local, "/Phone", name="short.bin", size=len(payload) + 1)
    assert tree(served) == {"big.bin"}
    assert (await h.resolve("/Phone/big.bin")).size == len(payload)  # the session still works


async def test_upload_from_file_object_and_empty_file(h: Handle, served: Path) -> None:
    [storage] = await h.storages()
    src = io.BytesIO(b"skip" + b"payload")
    src.seek(4)
    entry = await h.upload(src, storage, name="p.txt")
    assert entry.size == 7 and (served / "p.txt").read_bytes() == b"payload"
    empty = await h.upload(io.BytesIO(b""), storage, name="empty.txt", size=0)
    assert empty.size == 0 and (served / "empty.txt").read_bytes() == b""
    with pytest.raises(LocalProtocolError):
        await h.upload(io.BytesIO(b"x"), storage)
    with pytest.raises(LocalProtocolError):
        await h.upload(io.BytesIO(b"x"), "/Phone/p.txt", name="y")  # a file is no parent
    with pytest.raises(TypeError):
        await h.upload(io.BytesIO(b"x"), 5, name="y")  # type: ignore[arg-type]


async def test_upload_of_an_existing_name_fails_and_leaves_the_old_file(
    h: Handle, served: Path
) -> None:
    (served / "same.txt").write_bytes(b"old")
    with pytest.raises(ResponseError):
        await h.upload(io.BytesIO(b"new data"), "/Phone", name="same.txt")
    assert (served / "same.txt").read_bytes() == b"old"
    assert tree(served) == {"same.txt"}


async def test_upload_from_a_short_file_object_leaves_nothing(h: Handle, served: Path) -> None:
    with pytest.raises(LocalProtocolError):
        await h.upload(io.BytesIO(b"abc"), "/Phone", name="short.bin", size=3 * 1024 * 1024)
    assert tree(served) == set()
    assert [e.name for e in [x async for x in h.list("/Phone")]] == []


def _exif_jpeg() -> tuple[bytes, bytes]:
    """A JPEG whose APP1 Exif IFD1 names an embedded 4x3 thumbnail; returns (file, thumb)."""
    thumb = b"\xff\xd8" + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 3, 4, 1) + b"\x01\x11\x00"
    thumb += b"\xff\xd9"
    ifd1 = 14
    thumb_at = ifd1 + 2 + 24 + 4
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<HI", 0, ifd1)
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
    tiff += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
    tiff += struct.pack("<I", 0) + thumb
    app1 = b"Exif\x00\x00" + tiff
    jpeg = b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    jpeg += b"\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9"
    return jpeg, thumb


async def test_thumbnail(h: Handle, served: Path) -> None:
    jpeg, thumb = _exif_jpeg()
    (served / "t.jpg").write_bytes(jpeg)
    (served / "n.txt").write_bytes(b"no thumb")
    assert await h.thumbnail("/Phone/t.jpg") == thumb
    with pytest.raises(ResponseError) as info:
        await h.thumbnail("/Phone/n.txt")
    assert info.value.code == ResponseCode.NO_THUMBNAIL_PRESENT


# --- changing the tree ---------------------------------------------------------------------------


async def test_mkdir_delete_move_copy(h: Handle, served: Path) -> None:
    (served / "f.txt").write_text("content")
    [storage] = await h.storages()
    a = await h.mkdir(storage, "A")
    b = await h.mkdir("/Phone/A", "B")
    assert a.is_folder and b.is_folder and b.path == "/Phone/A/B"
    assert (served / "A" / "B").is_dir()
    f = await h.resolve("/Phone/f.txt")
    assert isinstance(f, Entry)
    moved = await h.move(f, b)
    assert moved.handle == f.handle and moved.path == "/Phone/A/B/f.txt"
    assert (served / "A" / "B" / "f.txt").read_text() == "content"
    copied = await h.copy(moved, storage)
    assert copied.handle != moved.handle and copied.path == "/Phone/f.txt"
    assert (served / "f.txt").read_text() == "content"
    back = await h.move("/Phone/A/B/f.txt", "/Phone/A")
    assert back.path == "/Phone/A/f.txt"
    await h.delete(a)
    assert tree(served) == {"f.txt"}
    with pytest.raises(ResponseError):
        await h.delete(a)


def _needs(conn: Connection, *ops: int) -> None:
    missing = [f"0x{op:04X}" for op in ops if not conn.supports(op)]
    if missing:
        pytest.skip(f"the virtual device does not offer {', '.join(missing)} yet")


async def test_rename(conn: Connection, h: Handle, served: Path) -> None:
    _needs(conn, OperationCode.SET_OBJECT_PROP_VALUE)
    (served / "old.txt").write_text("x")
    entry = await h.rename("/Phone/old.txt", "new näme.txt")
    assert entry.name == "new näme.txt" and entry.path == "/Phone/new näme.txt"
    assert tree(served) == {"new näme.txt"}


# --- properties ----------------------------------------------------------------------------------


async def test_object_properties(conn: Connection, h: Handle, served: Path) -> None:
    _needs(
        conn,
        OperationCode.GET_OBJECT_PROP_VALUE,
        OperationCode.SET_OBJECT_PROP_VALUE,
        OperationCode.GET_OBJECT_PROP_DESC,
        OperationCode.GET_OBJECT_PROPS_SUPPORTED,
    )
    (served / "p.txt").write_text("12345")
    assert await h.get_property("/Phone/p.txt", ObjectPropCode.OBJECT_SIZE) == 5
    assert await h.get_property("/Phone/p.txt", ObjectPropCode.OBJECT_FILE_NAME) == "p.txt"
    await h.set_property("/Phone/p.txt", ObjectPropCode.DATE_MODIFIED, "20200102T030405")
    assert datetime.fromtimestamp((served / "p.txt").stat().st_mtime) == datetime(
        2020, 1, 2, 3, 4, 5
    )
    desc = await h.property_desc(ObjectPropCode.OBJECT_SIZE)
    assert desc.datatype == DataType.UINT64
    assert await h.property_desc(ObjectPropCode.OBJECT_SIZE) is desc  # cached
    supported = await h.properties_supported(ObjectFormatCode.TEXT)
    assert ObjectPropCode.OBJECT_FILE_NAME in supported


async def test_get_properties(conn: Connection, h: Handle, served: Path) -> None:
    _needs(conn, OperationCode.GET_OBJECT_PROP_LIST)
    (served / "p.txt").write_text("12345")
    props = await h.get_properties("/Phone/p.txt")
    assert props[ObjectPropCode.OBJECT_FILE_NAME] == "p.txt"
    assert props[ObjectPropCode.OBJECT_SIZE] == 5


async def test_device_properties(h: Handle, device: tuple[object, int]) -> None:
    code = DevicePropCode.DEVICE_FRIENDLY_NAME
    assert await h.get_device_property(code) == "test device"
    desc = await h.device_property_desc(code)
    assert desc.datatype == DataType.STR and desc.current == "test device"
    await h.set_device_property(code, "renamed")
    assert await h.get_device_property(code) == "renamed"
    await h.reset_device_property(code)
    assert await h.get_device_property(code) == desc.factory_default
    with pytest.raises(ResponseError):
        await h.get_device_property(0x5FFE)


# --- events, raw operations, handles -----------------------------------------------------------


async def test_events_arrive_while_idle(conn: Connection, connect: Connect) -> None:
    h = conn.open_handle()
    stream = h.events()
    all_events = conn.events()
    async with connect(client_name="other") as other:
        o = other.open_handle()
        entry = await o.upload(io.BytesIO(b"hello"), "/Phone", name="new.txt")
    # nothing runs on `conn` meanwhile: the event comes through the link's callback
    async with asyncio.timeout(5):
        async for event in stream:
            if event.code == EventCode.OBJECT_ADDED:
                assert event.params[0] == entry.handle
                assert event.name.startswith("OBJECT_ADDED")
                break
        first = await anext(all_events)
    assert first.code in (EventCode.OBJECT_ADDED, EventCode.STORAGE_INFO_CHANGED)
    await h.aclose()
    assert [e async for e in stream] == []  # ended with the handle
    await all_events.aclose()
    assert [e async for e in all_events] == []


async def test_event_streams_end_with_the_connection(connect: Connect) -> None:
    async with connect() as conn:
        async with conn.events() as stream:
            await conn.aclose()
            assert [e async for e in stream] == []
        late = conn.events()
        assert [e async for e in late] == []


async def test_execute_raw_operations(h: Handle) -> None:
    res = await h.execute(OperationCode.GET_DEVICE_INFO)
    assert res.code == ResponseCode.OK
    assert DeviceInfo.from_bytes(res.data).model == "Virtual MTP Device"
    res = await h.execute(OperationCode.GET_OBJECT_INFO, (0x7FFFFFFF,))
    assert res.code == ResponseCode.INVALID_OBJECT_HANDLE and res.data == b""
    res = await h.execute(0x1FFF)
    assert res.code == ResponseCode.OPERATION_NOT_SUPPORTED
    with pytest.raises(LocalProtocolError):
        await h.execute(OperationCode.GET_DEVICE_INFO, (1, 2, 3, 4, 5, 6))


async def test_handle_context_and_close(conn: Connection) -> None:
    async with conn.open_handle() as h:
        assert not h.closed and h.connection is conn
        await h.cancel()  # nothing pending: a no-op
        assert len(await h.storages()) == 1
    assert h.closed
    await h.aclose()
    with pytest.raises(LocalProtocolError):
        await h.storages()
