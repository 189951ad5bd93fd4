"""SetObjectPropList and SendObjectPropList: lists built by hand, failing-element indices,
creation of files and folders, the 64-bit size of SendObjectPropList."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import ObjectPropCode, OperationCode, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

OP = OperationCode
P = ObjectPropCode
RC = ResponseCode
ALL = 0xFFFFFFFF
STR, U16, U32, U64 = 0xFFFF, 0x0004, 0x0006, 0x0008
PHONE = 0x00010001
#: a PTP string of one lone low surrogate (U+DC00), NUL-terminated
LONE = b"\x02\x00\xdc\x00\x00"


def wire_str(text: str) -> bytes:
    units = text.encode("utf-16-le")
    return bytes([len(units) // 2 + 1]) + units + b"\x00\x00"


def element(handle: int, code: int, datatype: int, value: bytes) -> bytes:
    return struct.pack("<IHH", handle, code, datatype) + value


def plist(*elements: bytes, count: int | None = None) -> bytes:
    return struct.pack("<I", len(elements) if count is None else count) + b"".join(elements)


def name_el(handle: int, name: str) -> bytes:
    return element(handle, P.OBJECT_FILE_NAME, STR, wire_str(name))


def date_el(handle: int, text: str) -> bytes:
    return element(handle, P.DATE_MODIFIED, STR, wire_str(text))


def handle_of(device: VirtualDevice, name: str) -> int:
    (obj,) = [o for o in device.store.children(PHONE) if o.name == name]
    return obj.handle


@pytest.fixture
def tree(served: Path) -> Path:
    for name in ("a.txt", "b.txt", "c.txt"):
        (served / name).write_bytes(name.encode())
    return served


# -- SetObjectPropList -----------------------------------------------------------------------


async def test_set_list_applies_every_element(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    a, b = handle_of(dev, "a.txt"), handle_of(dev, "b.txt")
    data = plist(name_el(a, "A.txt"), date_el(b, "20190605T040302"), date_el(a, "20180101T000000"))
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=data)
    assert res.code == RC.OK
    assert sorted(os.listdir(tree)) == ["A.txt", "b.txt", "c.txt"]
    assert int(os.stat(tree / "b.txt").st_mtime) == int(
        time.mktime((2019, 6, 5, 4, 3, 2, 0, 0, -1))
    )
    assert int(os.stat(tree / "A.txt").st_mtime) == int(
        time.mktime((2018, 1, 1, 0, 0, 0, 0, 0, -1))
    )


async def test_set_empty_list(runner: TransactionRunner, tree: Path) -> None:
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=plist())
    assert res.code == RC.OK


BAD_ELEMENTS: list[tuple[str, bytes, int]] = [
    ("bad handle", name_el(0x7777, "n.txt"), RC.INVALID_OBJECT_HANDLE),
    ("read-only", element(0, P.OBJECT_SIZE, U64, b"\x00" * 8), RC.ACCESS_DENIED),
    ("read-only name", element(0, P.NAME, STR, wire_str("n.txt")), RC.ACCESS_DENIED),
    ("unsupported", element(0, P.ARTIST, STR, wire_str("me")), RC.OBJECT_PROP_NOT_SUPPORTED),
    ("unknown code", element(0, 0x1234, STR, wire_str("me")), RC.INVALID_OBJECT_PROP_CODE),
    ("wrong type", element(0, P.OBJECT_FILE_NAME, U32, b"abcd"), RC.INVALID_OBJECT_PROP_FORMAT),
    ("unknown type", element(0, P.OBJECT_FILE_NAME, 0x0123, b"ab"), RC.INVALID_OBJECT_PROP_FORMAT),
    ("bad name", name_el(0, "x/y"), RC.INVALID_OBJECT_PROP_VALUE),
    ("surrogate", element(0, 0xDC07, STR, LONE), RC.INVALID_OBJECT_PROP_VALUE),
    ("bad date", date_el(0, "tomorrow"), RC.INVALID_OBJECT_PROP_VALUE),
]  # fmt: skip


@pytest.mark.parametrize("position", [0, 2])
@pytest.mark.parametrize(
    ("bad", "expected"), [b[1:] for b in BAD_ELEMENTS], ids=[b[0] for b in BAD_ELEMENTS]
)
async def test_set_list_reports_the_failing_index(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    bad: bytes,
    expected: int,
    position: int,
) -> None:
    dev = device[0]
    a, c = handle_of(dev, "a.txt"), handle_of(dev, "c.txt")
    if bad[:4] == b"\x00\x00\x00\x00":  # aim at c.txt
        bad = struct.pack("<I", c) + bad[4:]
    good = [name_el(a, "A.txt"), date_el(a, "20000101T000000")]
    elements = [*good[:position], bad, *good[position:]]
    mtime = os.stat(tree / "a.txt").st_mtime_ns
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=plist(*elements))
    assert (res.code, res.params[:1]) == (expected, (position,))
    # every element is checked before any is applied: nothing changed
    assert sorted(os.listdir(tree)) == ["a.txt", "b.txt", "c.txt"]
    assert os.stat(tree / "a.txt").st_mtime_ns == mtime


async def test_set_list_failing_while_applying(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], tree: Path
) -> None:
    dev = device[0]
    a, c = handle_of(dev, "a.txt"), handle_of(dev, "c.txt")
    # element 1 only fails once element 0 took the name
    data = plist(name_el(a, "new.txt"), name_el(c, "new.txt"), name_el(c, "never.txt"))
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=data)
    assert (res.code, res.params[:1]) == (RC.GENERAL_ERROR, (1,))
    assert sorted(os.listdir(tree)) == ["b.txt", "c.txt", "new.txt"]  # element 0 stays applied


@pytest.mark.parametrize(
    ("data", "index"),
    [
        (b"", 0),
        (b"\x02\x00", 0),
        (plist(name_el(0, "ok.txt"), count=2), 1),
        (plist(count=0xFFFFFFFF), 0),
        (plist(name_el(0, "ok.txt"), element(0, 0xDC07, STR, b"\x09a\x00")), 1),
        (plist(name_el(0, "ok.txt"), element(0, 0xDC07, STR, b"")), 1),
        (plist(name_el(0, "ok.txt"), element(0, 0xDC01, U32, b"\x01")), 1),
        (plist(name_el(0, "ok.txt"), b"\x00\x00"), 1),
    ],
    ids=[
        "empty",
        "short count",
        "count too big",
        "hostile count",
        "short string",
        "no string",
        "short int",
        "short header",
    ],
)
async def test_set_list_malformed(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    tree: Path,
    data: bytes,
    index: int,
) -> None:
    # element 0 (when there is one) renames a.txt; it must not be applied
    a = struct.pack("<I", handle_of(device[0], "a.txt"))
    data = data.replace(b"\x00\x00\x00\x00\x07\xdc\xff\xff\x07o", a + b"\x07\xdc\xff\xff\x07o")
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=data)
    assert (res.code, res.params[:1]) == (RC.INVALID_DATASET, (index,))
    assert sorted(os.listdir(tree)) == ["a.txt", "b.txt", "c.txt"]


# -- SendObjectPropList ----------------------------------------------------------------------


async def test_send_file(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    data = plist(
        element(0, P.OBJECT_FORMAT, U16, struct.pack("<H", 0x3000)),
        element(0, P.NAME, STR, wire_str("a title")),  # ignored
        element(0, P.ARTIST, STR, wire_str("someone")),  # not supported: ignored
        date_el(0, ""),  # unknown: ignored
        name_el(0, "new.bin"),
        date_el(0, "20200102T030405"),
        element(0, P.OBJECT_SIZE, U64, struct.pack("<Q", 10)),
    )
    res = await runner.transact(OP.SEND_OBJECT_PROP_LIST, (PHONE, ALL, 0x3000, 0, 10), data=data)
    assert res.code == RC.OK
    storage, parent, handle = res.params[:3]
    assert (storage, parent) == (PHONE, ALL)
    assert not (served / "new.bin").exists()  # not before SendObject
    res = await runner.transact(OP.SEND_OBJECT, data=b"0123456789")
    assert res.code == RC.OK
    assert (served / "new.bin").read_bytes() == b"0123456789"
    assert int(os.stat(served / "new.bin").st_mtime) == int(
        time.mktime((2020, 1, 2, 3, 4, 5, 0, 0, -1))
    )
    assert device[0].store.get(handle).name == "new.bin"


async def test_send_folder_and_file_inside(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (0, 0, 0x3001, 0, 0), data=plist(name_el(0, "Album"))
    )
    assert res.code == RC.OK
    assert (served / "Album").is_dir()  # at once: no SendObject follows a folder
    folder = res.params[2]
    assert res.params[:2] == (PHONE, ALL)
    # an empty file inside it: created at once too (an empty SendObject is still accepted)
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (PHONE, folder, 0x3004, 0, 0), data=plist(name_el(0, "e.txt"))
    )
    assert res.code == RC.OK
    assert res.params[:2] == (PHONE, folder)
    assert (served / "Album" / "e.txt").read_bytes() == b""
    assert (await runner.transact(OP.SEND_OBJECT, data=b"")).code == RC.OK


async def test_send_64_bit_size(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    storage = device[0].store.storages[0]
    # leave 2 GiB to write: 5 GiB must not fit, 1 GiB (= 5 GiB without its high word) would
    storage.reserve_bytes = max(0, storage.free_bytes - 2 * 1024**3)
    if storage.free_bytes < 1024**3 + 4096:
        pytest.skip("not enough free disk space to tell the sizes apart")
    data = plist(name_el(0, "big.bin"))
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (PHONE, ALL, 0x3000, 1, 1024**3), data=data
    )
    assert res.code == RC.STORE_FULL
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (PHONE, ALL, 0x3000, 0, 1024**3), data=data
    )
    assert res.code == RC.OK
    # the announced upload is dropped when something else comes instead of SendObject
    await runner.transact(OP.GET_DEVICE_INFO)
    assert os.listdir(served) == []


@pytest.mark.parametrize(
    ("elements", "index", "expected"),
    [
        ([date_el(0, "20200101T000000"), name_el(0, "a/b")], 1, RC.INVALID_OBJECT_PROP_VALUE),
        ([name_el(0, "..")], 0, RC.INVALID_OBJECT_PROP_VALUE),
        ([name_el(0, "ok"), element(0, 0xDC07, STR, LONE)], 1, RC.INVALID_OBJECT_PROP_VALUE),
        ([name_el(0, "ok"), date_el(0, "soon")], 1, RC.INVALID_OBJECT_PROP_VALUE),
        ([name_el(0, "ok"), element(0, 0xDC44, 0x0123, b"")], 1, RC.INVALID_OBJECT_PROP_FORMAT),
        ([element(0, P.OBJECT_FILE_NAME, U32, b"abcd")], 0, RC.INVALID_OBJECT_PROP_FORMAT),
        ([name_el(0, "ok"), element(0, P.ARTIST, STR, b"\x07a")], 1, RC.INVALID_DATASET),
    ],
    ids=["slash", "dotdot", "surrogate", "bad date", "unknown type", "not a string", "truncated"],
)  # fmt: skip
async def test_send_failing_index(
    runner: TransactionRunner, served: Path, elements: list[bytes], index: int, expected: int
) -> None:
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (PHONE, ALL, 0x3000, 0, 5), data=plist(*elements)
    )
    assert (res.code, res.params) == (expected, (0, 0, 0, index))
    assert os.listdir(served) == []


@pytest.mark.parametrize(
    ("params", "data", "expected"),
    [
        ((PHONE, ALL, 0x3000, 0, 5), plist(date_el(0, "20200101T000000")), RC.INVALID_DATASET),
        ((PHONE, ALL, 0x3000, 0, 5), plist(name_el(0, "")), RC.INVALID_DATASET),
        ((PHONE, ALL, 0x1234, 0, 5), plist(name_el(0, "x")), RC.INVALID_OBJECT_FORMAT_CODE),
        ((0x00090001, ALL, 0x3000, 0, 5), plist(name_el(0, "x")), RC.INVALID_STORAGE_ID),
        ((PHONE, 0x7777, 0x3000, 0, 5), plist(name_el(0, "x")), RC.INVALID_PARENT_OBJECT),
    ],
)
async def test_send_errors(
    runner: TransactionRunner, served: Path, params: tuple[int, ...], data: bytes, expected: int
) -> None:
    res = await runner.transact(OP.SEND_OBJECT_PROP_LIST, params, data=data)
    assert res.code == expected
    assert os.listdir(served) == []


async def test_send_name_taken(runner: TransactionRunner, tree: Path) -> None:
    res = await runner.transact(
        OP.SEND_OBJECT_PROP_LIST, (PHONE, ALL, 0x3000, 0, 5), data=plist(name_el(0, "a.txt"))
    )
    assert res.code == RC.GENERAL_ERROR
    assert (tree / "a.txt").read_bytes() == b"a.txt"


@pytest.fixture
async def ro_runner(tmp_path: Path) -> AsyncIterator[tuple[TransactionRunner, Path]]:
    root = tmp_path / "ro"
    root.mkdir()
    (root / "keep.txt").write_bytes(b"keep")
    dev = VirtualDevice([StorageSpec(root, "RO", read_only=True)], state_dir=tmp_path / "state")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        yield runner, root
    finally:
        await runner.aclose()
        await dev.aclose()


async def test_read_only_storage(ro_runner: tuple[TransactionRunner, Path]) -> None:
    runner, root = ro_runner
    keep = plist(name_el(0, "n.txt"))
    for params in ((0, ALL, 0x3000, 0, 5), (0x00010001, ALL, 0x3000, 0, 5), (0, 0, 0x3001, 0, 0)):
        res = await runner.transact(OP.SEND_OBJECT_PROP_LIST, params, data=keep)
        assert res.code == RC.STORE_READ_ONLY
    res = await runner.transact(OP.GET_OBJECT_HANDLES, (ALL, 0, ALL))
    (h,) = struct.unpack_from("<I", res.data, 4)
    res = await runner.transact(OP.SET_OBJECT_PROP_LIST, data=plist(name_el(h, "n.txt")))
    assert (res.code, res.params[:1]) == (RC.STORE_READ_ONLY, (0,))
    assert os.listdir(root) == ["keep.txt"]
