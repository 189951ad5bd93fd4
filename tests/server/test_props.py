"""Object properties one at a time against the virtual device over loopback: supported sets,
descriptions, values, renames (hostile ones too), DateModified, read-only storages, events."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import (
    DataType,
    EventCode,
    FormFlag,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    DateTimeForm,
    DeviceInfo,
    EnumForm,
    ObjectPropDesc,
    parse_uint16_array,
)
from openwpd.protocol.datatypes import read_value
from openwpd.protocol.messages import EventReceived
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

OP = OperationCode
P = ObjectPropCode
RC = ResponseCode

# What the device promises (module docstring of server/objprops.py), written out by hand:
# code -> (data type, writable, group)
EXPECTED = {
    0xDC01: (0x0006, False, 1),  # StorageID UINT32
    0xDC02: (0x0004, False, 1),  # ObjectFormat UINT16
    0xDC03: (0x0004, False, 0),  # ProtectionStatus UINT16
    0xDC04: (0x0008, False, 1),  # ObjectSize UINT64
    0xDC05: (0x0004, False, 1),  # AssociationType UINT16
    0xDC06: (0x0006, False, 0),  # AssociationDesc UINT32
    0xDC07: (0xFFFF, True, 1),  # ObjectFileName STR
    0xDC08: (0xFFFF, False, 0),  # DateCreated STR
    0xDC09: (0xFFFF, True, 1),  # DateModified STR
    0xDC0B: (0x0006, False, 1),  # ParentObject UINT32
    0xDC0D: (0x0004, False, 0),  # Hidden UINT16
    0xDC41: (0x000A, False, 1),  # PUID UINT128
    0xDC44: (0xFFFF, False, 0),  # Name STR
    0xDC4E: (0xFFFF, False, 0),  # DateAdded STR
    0xDCE0: (0xFFFF, False, 0),  # DisplayName STR
}


def wire_str(text: str) -> bytes:
    """A PTP string built by hand: count incl. NUL, UTF-16LE, NUL."""
    units = text.encode("utf-16-le")
    return bytes([len(units) // 2 + 1]) + units + b"\x00\x00"


def local_date(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(ts))


def handle_of(device: VirtualDevice, *names: str) -> int:
    store = device.store
    sid = store.storages[0].id
    parent = 0xFFFFFFFF
    for name in names:
        (obj,) = [o for o in store.children(sid, parent) if o.name == name]
        parent = obj.handle
    return parent


@pytest.fixture
def tree(served: Path) -> Path:
    (served / "a.txt").write_bytes(b"hello")
    (served / "b.txt").write_bytes(b"")
    (served / ".dot").write_bytes(b"x")
    (served / "DCIM").mkdir()
    (served / "DCIM" / "p.jpg").write_bytes(b"\xff\xd8jpeg")
    return served


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def value(runner: TransactionRunner, handle: int, code: int, datatype: int) -> object:
    res = await runner.transact(OP.GET_OBJECT_PROP_VALUE, (handle, code))
    assert res.code == RC.OK, hex(res.code)
    reader = Reader(res.data)
    got = read_value(reader, datatype)
    assert reader.at_end()
    return got


# -- supported, desc, interdependent ---------------------------------------------------------


async def test_operations_are_advertised(runner: TransactionRunner) -> None:
    info = DeviceInfo.from_bytes((await runner.transact(OP.GET_DEVICE_INFO)).data)
    for code in (
        0x9801,
        0x9802,
        0x9803,
        0x9804,
        0x9805,
        0x9806,
        0x9807,
        0x9808,
        0x9810,
        0x9811,
        0x95C2,
        0x95C3,
        0x95C4,
        0x95C5,
    ):
        assert code in info.operations_supported, hex(code)


@pytest.mark.parametrize("fmt", [ObjectFormatCode.EXIF_JPEG, ObjectFormatCode.ASSOCIATION, 0x3000])
async def test_props_supported(runner: TransactionRunner, fmt: int) -> None:
    res = await runner.transact(OP.GET_OBJECT_PROPS_SUPPORTED, (fmt,))
    assert res.code == RC.OK
    codes = parse_uint16_array(res.data)
    assert sorted(codes) == sorted(EXPECTED)
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("fmt", [0, 0x1234, 0xFFFFFFFF])
async def test_props_supported_bad_format(runner: TransactionRunner, fmt: int) -> None:
    res = await runner.transact(OP.GET_OBJECT_PROPS_SUPPORTED, (fmt,))
    assert res.code == RC.INVALID_OBJECT_FORMAT_CODE


@pytest.mark.parametrize("code", sorted(EXPECTED))
async def test_prop_desc(runner: TransactionRunner, code: int) -> None:
    res = await runner.transact(OP.GET_OBJECT_PROP_DESC, (code, ObjectFormatCode.TEXT))
    assert res.code == RC.OK
    desc = ObjectPropDesc.from_bytes(res.data)
    datatype, writable, group = EXPECTED[code]
    assert (desc.code, desc.datatype, desc.getset, desc.group_code) == (
        code,
        datatype,
        int(writable),
        group,
    )
    assert desc.factory_default == ("" if datatype == 0xFFFF else 0)
    if code in (0xDC08, 0xDC09, 0xDC4E):
        assert isinstance(desc.form, DateTimeForm)
        assert res.data[-1] == FormFlag.DATE_TIME  # nothing after the flag
    elif code == 0xDC03:
        assert isinstance(desc.form, EnumForm)
        assert set(desc.form.values) == {0, 1, 0x8002, 0x8003}
    elif code in (0xDC05, 0xDC0D):
        assert isinstance(desc.form, EnumForm)
        assert set(desc.form.values) == {0, 1}
    else:
        assert desc.form is None


@pytest.mark.parametrize(
    ("code", "fmt", "expected"),
    [
        (0x1234, 0x3000, RC.INVALID_OBJECT_PROP_CODE),
        (P.ARTIST, 0x3000, RC.OBJECT_PROP_NOT_SUPPORTED),
        (P.KEYWORDS, 0x3000, RC.OBJECT_PROP_NOT_SUPPORTED),
        (P.OBJECT_FILE_NAME, 0x1234, RC.INVALID_OBJECT_FORMAT_CODE),
        (P.OBJECT_FILE_NAME, 0, RC.INVALID_OBJECT_FORMAT_CODE),
    ],
)
async def test_prop_desc_errors(
    runner: TransactionRunner, code: int, fmt: int, expected: int
) -> None:
    res = await runner.transact(OP.GET_OBJECT_PROP_DESC, (code, fmt))
    assert res.code == expected


async def test_interdependent_prop_desc(runner: TransactionRunner) -> None:
    res = await runner.transact(OP.GET_INTERDEPENDENT_PROP_DESC, (ObjectFormatCode.EXIF_JPEG,))
    assert (res.code, res.data) == (RC.OK, b"\x00\x00\x00\x00")
    res = await runner.transact(OP.GET_INTERDEPENDENT_PROP_DESC, (0x1234,))
    assert res.code == RC.INVALID_OBJECT_FORMAT_CODE


# -- values ----------------------------------------------------------------------------------


async def test_values_of_a_file(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    folder = handle_of(dev, "DCIM")
    h = handle_of(dev, "DCIM", "p.jpg")
    st = os.stat(tree / "DCIM" / "p.jpg")
    sid = dev.store.storages[0].id
    assert await value(runner, h, P.STORAGE_ID, DataType.UINT32) == sid == 0x00010001
    assert await value(runner, h, P.OBJECT_FORMAT, DataType.UINT16) == 0x3801
    assert await value(runner, h, P.PROTECTION_STATUS, DataType.UINT16) == 0
    assert await value(runner, h, P.OBJECT_SIZE, DataType.UINT64) == 6
    assert await value(runner, h, P.ASSOCIATION_TYPE, DataType.UINT16) == 0
    assert await value(runner, h, P.ASSOCIATION_DESC, DataType.UINT32) == 0
    assert await value(runner, h, P.OBJECT_FILE_NAME, DataType.STR) == "p.jpg"
    assert await value(runner, h, P.NAME, DataType.STR) == "p.jpg"
    assert await value(runner, h, P.DISPLAY_NAME, DataType.STR) == "p.jpg"
    assert await value(runner, h, P.DATE_MODIFIED, DataType.STR) == local_date(st.st_mtime)
    created = await value(runner, h, P.DATE_CREATED, DataType.STR)
    assert isinstance(created, str)
    assert len(created) == 15
    assert created[8] == "T"
    assert await value(runner, h, P.DATE_ADDED, DataType.STR) == created
    assert await value(runner, h, P.PARENT_OBJECT, DataType.UINT32) == folder
    assert await value(runner, h, P.HIDDEN, DataType.UINT16) == 0
    puid = await value(runner, h, P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER, DataType.UINT128)
    assert puid == dev.store.get(h).puid != 0


async def test_values_of_a_folder_and_a_dot_file(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    folder = handle_of(dev, "DCIM")
    assert await value(runner, folder, P.OBJECT_FORMAT, DataType.UINT16) == 0x3001
    assert await value(runner, folder, P.ASSOCIATION_TYPE, DataType.UINT16) == 1
    assert await value(runner, folder, P.OBJECT_SIZE, DataType.UINT64) == 0
    assert await value(runner, folder, P.PARENT_OBJECT, DataType.UINT32) == 0  # root
    dot = handle_of(dev, ".dot")
    assert await value(runner, dot, P.HIDDEN, DataType.UINT16) == 1


async def test_object_size_over_4_gib(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    with open(served / "huge.bin", "wb") as f:
        f.truncate(5 * 1024**3)  # sparse
    h = handle_of(device[0], "huge.bin")
    assert await value(runner, h, P.OBJECT_SIZE, DataType.UINT64) == 5 * 1024**3


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (P.ARTIST, RC.OBJECT_PROP_NOT_SUPPORTED),
        (0x1234, RC.INVALID_OBJECT_PROP_CODE),
    ],
)
async def test_value_errors(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    code: int,
    expected: int,
) -> None:
    h = handle_of(device[0], "a.txt")
    assert (await runner.transact(OP.GET_OBJECT_PROP_VALUE, (h, code))).code == expected
    res = await runner.transact(OP.GET_OBJECT_PROP_VALUE, (0x7777, P.OBJECT_FILE_NAME))
    assert res.code == RC.INVALID_OBJECT_HANDLE


# -- renames ---------------------------------------------------------------------------------


async def wait_for_event(
    runner: TransactionRunner, events: list[EventReceived], code: int, params: tuple[int, ...]
) -> None:
    for _ in range(100):
        if any(e.code == code and e.params[: len(params)] == params for e in events):
            return
        await runner.transact(OP.GET_DEVICE_INFO)  # events are read while a transaction runs
        await asyncio.sleep(0.02)
    raise AssertionError(f"no event 0x{code:04X} {params} in {events}")


async def test_rename(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    events: list[EventReceived] = []
    runner.on_event = events.append
    h = handle_of(device[0], "a.txt")
    puid = device[0].store.get(h).puid
    res = await runner.transact(
        OP.SET_OBJECT_PROP_VALUE, (h, P.OBJECT_FILE_NAME), data=wire_str("renamed é.jpg")
    )
    assert res.code == RC.OK
    assert not (tree / "a.txt").exists()
    assert (tree / "renamed é.jpg").read_bytes() == b"hello"
    assert await value(runner, h, P.OBJECT_FILE_NAME, DataType.STR) == "renamed é.jpg"
    # the format follows the extension, the PUID stays
    assert await value(runner, h, P.OBJECT_FORMAT, DataType.UINT16) == 0x3801
    assert await value(runner, h, P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER, DataType.UINT128) == puid
    await wait_for_event(runner, events, EventCode.OBJECT_PROP_CHANGED, (h, P.OBJECT_FILE_NAME))
    await wait_for_event(runner, events, EventCode.OBJECT_INFO_CHANGED, (h,))


async def test_rename_to_the_same_name_sends_no_prop_event(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    events: list[EventReceived] = []
    runner.on_event = events.append
    h = handle_of(device[0], "a.txt")
    res = await runner.transact(
        OP.SET_OBJECT_PROP_VALUE, (h, P.OBJECT_FILE_NAME), data=wire_str("a.txt")
    )
    assert res.code == RC.OK
    for _ in range(5):
        await runner.transact(OP.GET_DEVICE_INFO)
        await asyncio.sleep(0.02)
    assert not [e for e in events if e.code == EventCode.OBJECT_PROP_CHANGED]


HOSTILE: list[tuple[str, bytes, int]] = [
    ("dot", wire_str("."), RC.INVALID_OBJECT_PROP_VALUE),
    ("dotdot", wire_str(".."), RC.INVALID_OBJECT_PROP_VALUE),
    ("slash", wire_str("a/b"), RC.INVALID_OBJECT_PROP_VALUE),
    ("escape", wire_str("../../escape"), RC.INVALID_OBJECT_PROP_VALUE),
    ("empty", b"\x00", RC.INVALID_OBJECT_PROP_VALUE),
    ("empty-gphoto", b"\x01\x00\x00", RC.INVALID_OBJECT_PROP_VALUE),
    # NUL inside: count 4 = 'a', NUL, 'b', NUL (the lenient reader would make it "a")
    ("nul", b"\x04a\x00\x00\x00b\x00\x00\x00", RC.INVALID_OBJECT_PROP_VALUE),
    # a lone high surrogate (the lenient reader would make it U+FFFD)
    ("surrogate", b"\x03x\x00\x00\xd8\x00\x00", RC.INVALID_OBJECT_PROP_VALUE),
    # not NUL-terminated
    ("unterminated", b"\x02a\x00b\x00", RC.INVALID_OBJECT_PROP_VALUE),
    # 300 characters cannot be counted in a u8: 255 units announced (the 255th is no NUL)
    (
        "300 chars",
        b"\xff" + ("x" * 300).encode("utf-16-le") + b"\x00\x00",
        RC.INVALID_OBJECT_PROP_VALUE,
    ),
    # 254 two-byte characters: fits a PTP string, not a file system name (255 bytes)
    ("254 é", wire_str("é" * 254), RC.INVALID_OBJECT_PROP_VALUE),
    ("truncated", b"\x05a\x00", RC.INVALID_OBJECT_PROP_FORMAT),
    ("no data", b"", RC.INVALID_OBJECT_PROP_FORMAT),
    ("temp name", wire_str(".openwpd-upload-1.part"), RC.INVALID_OBJECT_PROP_VALUE),
]


@pytest.mark.parametrize(
    ("data", "expected"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
async def test_hostile_rename_leaves_the_disk_untouched(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    data: bytes,
    expected: int,
) -> None:
    before = listing(tree.parent)  # the served folder and what is around it
    h = handle_of(device[0], "DCIM", "p.jpg")
    res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, P.OBJECT_FILE_NAME), data=data)
    assert res.code == expected
    assert listing(tree.parent) == before
    # the session goes on
    assert await value(runner, h, P.OBJECT_FILE_NAME, DataType.STR) == "p.jpg"


async def test_rename_onto_an_existing_name(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    before = listing(tree)
    h = handle_of(device[0], "a.txt")
    res = await runner.transact(
        OP.SET_OBJECT_PROP_VALUE, (h, P.OBJECT_FILE_NAME), data=wire_str("b.txt")
    )
    assert res.code == RC.GENERAL_ERROR
    assert listing(tree) == before
    assert (tree / "a.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    "code", [P.OBJECT_SIZE, P.NAME, P.DISPLAY_NAME, P.STORAGE_ID, P.PARENT_OBJECT, P.DATE_CREATED]
)
async def test_read_only_props(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path, code: int
) -> None:
    h = handle_of(device[0], "a.txt")
    datatype = EXPECTED[code][0]
    data = wire_str("x.txt") if datatype == 0xFFFF else b"\x00" * {4: 2, 6: 4, 8: 8}[datatype]
    res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, code), data=data)
    assert res.code == RC.ACCESS_DENIED
    assert listing(tree) == [".dot", "DCIM", "DCIM/p.jpg", "a.txt", "b.txt"]


@pytest.mark.parametrize(
    ("handle", "code", "expected"),
    [
        (0x7777, P.OBJECT_FILE_NAME, RC.INVALID_OBJECT_HANDLE),
        (None, P.ARTIST, RC.OBJECT_PROP_NOT_SUPPORTED),
        (None, 0x1234, RC.INVALID_OBJECT_PROP_CODE),
    ],
)
async def test_set_value_errors(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    handle: int | None,
    code: int,
    expected: int,
) -> None:
    h = handle if handle is not None else handle_of(device[0], "a.txt")
    res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, code), data=wire_str("z.txt"))
    assert res.code == expected
    assert (tree / "a.txt").exists()
    assert not (tree / "z.txt").exists()


# -- DateModified ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["20200102T030405", "20200102T030405.7"])
async def test_set_date_modified_local(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path, text: str
) -> None:
    events: list[EventReceived] = []
    runner.on_event = events.append
    h = handle_of(device[0], "a.txt")
    res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, P.DATE_MODIFIED), data=wire_str(text))
    assert res.code == RC.OK
    expected = time.mktime((2020, 1, 2, 3, 4, 5, 0, 0, -1))
    assert int(os.stat(tree / "a.txt").st_mtime) == int(expected)
    assert await value(runner, h, P.DATE_MODIFIED, DataType.STR) == "20200102T030405"
    await wait_for_event(runner, events, EventCode.OBJECT_PROP_CHANGED, (h, P.DATE_MODIFIED))


async def test_set_date_modified_utc(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    h = handle_of(device[0], "DCIM")  # folders have dates too
    res = await runner.transact(
        OP.SET_OBJECT_PROP_VALUE, (h, P.DATE_MODIFIED), data=wire_str("20210304T050607Z")
    )
    assert res.code == RC.OK
    expected = datetime.fromisoformat("2021-03-04T05:06:07+00:00").timestamp()
    assert os.stat(tree / "DCIM").st_mtime == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (wire_str("yesterday"), RC.INVALID_OBJECT_PROP_VALUE),
        (wire_str("20201340T000000"), RC.INVALID_OBJECT_PROP_VALUE),
        (b"\x00", RC.INVALID_OBJECT_PROP_VALUE),
        (struct.pack("<I", 5), RC.INVALID_OBJECT_PROP_FORMAT),
        (wire_str("20200102T030405") + b"\x00", RC.INVALID_OBJECT_PROP_FORMAT),
    ],
)
async def test_set_date_modified_errors(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    data: bytes,
    expected: int,
) -> None:
    before = os.stat(tree / "a.txt").st_mtime_ns
    h = handle_of(device[0], "a.txt")
    res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, P.DATE_MODIFIED), data=data)
    assert res.code == expected
    assert os.stat(tree / "a.txt").st_mtime_ns == before


# -- read-only storage -----------------------------------------------------------------------


@pytest.fixture
async def ro_device(tmp_path: Path) -> AsyncIterator[tuple[VirtualDevice, TransactionRunner, Path]]:
    root = tmp_path / "ro"
    root.mkdir()
    (root / "keep.txt").write_bytes(b"keep")
    dev = VirtualDevice([StorageSpec(root, "RO", read_only=True)], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        yield dev, runner, root
    finally:
        await runner.aclose()
        await dev.aclose()


async def test_read_only_storage(
    ro_device: tuple[VirtualDevice, TransactionRunner, Path],
) -> None:
    dev, runner, root = ro_device
    h = handle_of(dev, "keep.txt")
    mtime = os.stat(root / "keep.txt").st_mtime_ns
    for code, data in (
        (P.OBJECT_FILE_NAME, wire_str("new.txt")),
        (P.DATE_MODIFIED, wire_str("20200102T030405")),
    ):
        res = await runner.transact(OP.SET_OBJECT_PROP_VALUE, (h, code), data=data)
        assert res.code == RC.STORE_READ_ONLY
    assert os.listdir(root) == ["keep.txt"]
    assert os.stat(root / "keep.txt").st_mtime_ns == mtime
    # reading works
    assert await value(runner, h, P.OBJECT_FILE_NAME, DataType.STR) == "keep.txt"
