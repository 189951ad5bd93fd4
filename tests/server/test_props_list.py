"""GetObjectPropList (MTP 1.1) with every parameter combination, checked against folders made on
disk: two storages, nested folders, format filters, single properties, group 1, depths."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import ObjectFormatCode, ObjectPropCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo, ObjectPropList, PropListElement, iter_prop_list
from openwpd.server import objprops
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

OP = OperationCode
P = ObjectPropCode
RC = ResponseCode
ALL = 0xFFFFFFFF

ALL_CODES = {
    0xDC01, 0xDC02, 0xDC03, 0xDC04, 0xDC05, 0xDC06, 0xDC07, 0xDC08,
    0xDC09, 0xDC0B, 0xDC0D, 0xDC41, 0xDC44, 0xDC4E, 0xDCE0,
}  # fmt: skip
# group 1, "listing essentials": file name, size, mtime, format, parent, storage, assoc, PUID
GROUP1 = {0xDC07, 0xDC04, 0xDC09, 0xDC02, 0xDC0B, 0xDC01, 0xDC05, 0xDC41}

PHONE = {
    "a.txt": b"aaaa",
    ".dot": b"",
    "DCIM/x.jpg": b"x" * 10,
    "DCIM/sub/y.jpg": b"y" * 3,
    "DCIM/sub/deep/z.txt": b"z",
    "DCIM/sub/deep/w.png": b"",
    "Music/": None,
}
CARD = {"card.jpg": b"c", "Folder/inner.txt": b"ii"}


def make(root: Path, files: dict[str, bytes | None]) -> None:
    for rel, data in files.items():
        path = root / rel
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


Dev = tuple[VirtualDevice, TransactionRunner, dict[str, Path]]


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[Dev]:
    roots = {"Phone": tmp_path / "phone", "Card": tmp_path / "card"}
    make(roots["Phone"], PHONE)
    make(roots["Card"], CARD)
    device = VirtualDevice(
        [StorageSpec(roots["Phone"], "Phone"), StorageSpec(roots["Card"], "Card")],
        state_dir=tmp_path / "state",
    )
    _, port = await device.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        yield device, runner, roots
    finally:
        await runner.aclose()
        await device.aclose()


def disk_paths(roots: dict[str, Path], top: str | None = None, depth: int = ALL) -> list[str]:
    """'Storage/rel/path' of everything on disk below ``top`` ('Storage/rel', None = the
    virtual root) down to ``depth`` levels, from os.walk."""
    found: list[str] = []
    starts = [(k, r) for k, r in roots.items()] if top is None else []
    if top is not None:
        storage, _, rel = top.partition("/")
        starts = [(top, roots[storage] / rel)]
    for label, start in starts:
        for dirpath, dirnames, filenames in os.walk(start):
            level = len(Path(dirpath).relative_to(start).parts) + 1
            if level > depth:
                dirnames.clear()
                continue
            for name in dirnames + filenames:
                found.append(f"{label}/{Path(dirpath, name).relative_to(start)}")
    return sorted(found)


def path_of(device: VirtualDevice, handle: int) -> str:
    obj = device.store.get(handle)
    storage = device.store.storage(obj.storage_id)
    rel = device.store.path_of(handle).relative_to(storage.root)
    return f"{storage.description}/{rel}"


def handle_at(device: VirtualDevice, label: str) -> int:
    for obj in device.store.all_objects():
        if path_of(device, obj.handle) == label:
            return obj.handle
    raise AssertionError(label)


async def get_list(
    runner: TransactionRunner,
    handle: int,
    fmt: int = 0,
    code: int = ALL,
    group: int = 0,
    depth: int = 0,
) -> list[PropListElement]:
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (handle, fmt, code, group, depth))
    assert res.code == RC.OK, hex(res.code)
    reader = Reader(res.data)
    elements = list(iter_prop_list(reader))
    assert reader.at_end()
    return elements


def by_object(elements: list[PropListElement]) -> dict[int, dict[int, PropListElement]]:
    """handle -> code -> element, in the order the objects came (checks object-major order)."""
    out: dict[int, dict[int, PropListElement]] = {}
    last = None
    for e in elements:
        if e.handle != last:
            assert e.handle not in out, "elements of one object must be contiguous"
            out[e.handle] = {}
            last = e.handle
        assert e.code not in out[e.handle]
        out[e.handle][e.code] = e
    return out


def labels(device: VirtualDevice, objs: dict[int, dict[int, PropListElement]]) -> list[str]:
    return sorted(path_of(device, h) for h in objs)


def check_values(device: VirtualDevice, roots: dict[str, Path], handle: int, props: dict) -> None:  # type: ignore[type-arg]
    label = path_of(device, handle)
    storage, _, rel = label.partition("/")
    disk = roots[storage] / rel
    st = os.stat(disk)
    is_dir = disk.is_dir()
    expect = {
        0xDC01: device.store.storages[list(roots).index(storage)].id,
        0xDC02: 0x3001
        if is_dir
        else {".jpg": 0x3801, ".png": 0x380B, ".txt": 0x3004}.get(disk.suffix, 0x3000),
        0xDC03: 0,
        0xDC04: 0 if is_dir else st.st_size,
        0xDC05: 1 if is_dir else 0,
        0xDC06: 0,
        0xDC07: disk.name,
        0xDC09: time.strftime("%Y%m%dT%H%M%S", time.localtime(st.st_mtime)),
        0xDC0B: 0 if "/" not in rel else handle_at(device, label.rsplit("/", 1)[0]),
        0xDC0D: int(disk.name.startswith(".")),
        0xDC41: device.store.get(handle).puid,
        0xDC44: disk.name,
        0xDCE0: disk.name,
    }
    types = {0xDC01: 6, 0xDC02: 4, 0xDC03: 4, 0xDC04: 8, 0xDC05: 4, 0xDC06: 6, 0xDC0B: 6}
    types |= {0xDC0D: 4, 0xDC41: 0x000A, 0xDC07: 0xFFFF, 0xDC09: 0xFFFF, 0xDC44: 0xFFFF}
    types |= {0xDCE0: 0xFFFF, 0xDC08: 0xFFFF, 0xDC4E: 0xFFFF}
    for code, element in props.items():
        assert element.datatype == types[code], hex(code)
        if code in expect:
            assert element.value == expect[code], (label, hex(code))
    if 0xDC08 in props and 0xDC4E in props:
        assert props[0xDC08].value == props[0xDC4E].value


# -- all objects, the virtual root ------------------------------------------------------------


@pytest.mark.parametrize(("handle", "depth"), [(ALL, 0), (ALL, 1), (ALL, ALL), (0, ALL)])
async def test_every_object(dev: Dev, handle: int, depth: int) -> None:
    device, runner, roots = dev
    objs = by_object(await get_list(runner, handle, depth=depth))
    assert labels(device, objs) == disk_paths(roots)
    for h, props in objs.items():
        assert set(props) == ALL_CODES
        check_values(device, roots, h, props)


async def test_no_auint128_ever(dev: Dev) -> None:
    _, runner, _ = dev
    elements = await get_list(runner, ALL)
    assert {e.datatype for e in elements} <= {0x0004, 0x0006, 0x0008, 0x000A, 0xFFFF}


@pytest.mark.parametrize("depth", [1, 2, 3])
async def test_below_the_virtual_root(dev: Dev, depth: int) -> None:
    device, runner, roots = dev
    objs = by_object(await get_list(runner, 0, depth=depth))
    assert labels(device, objs) == disk_paths(roots, depth=depth)


async def test_handle_zero_depth_zero(dev: Dev) -> None:
    _, runner, _ = dev
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (0, 0, ALL, 0, 0))
    assert res.code == RC.INVALID_OBJECT_HANDLE


# -- below one object ------------------------------------------------------------------------


async def test_one_object_depth_zero_matches_object_info(dev: Dev) -> None:
    """What gphoto does per object: (handle, 0, 0xFFFFFFFF, 0, 0)."""
    device, runner, roots = dev
    for label in disk_paths(roots):
        h = handle_at(device, label)
        objs = by_object(await get_list(runner, h))
        assert list(objs) == [h]
        check_values(device, roots, h, objs[h])
        info = ObjectInfo.from_bytes((await runner.transact(OP.GET_OBJECT_INFO, (h,))).data)
        props = objs[h]
        assert info.filename == props[0xDC07].value
        assert info.compressed_size == props[0xDC04].value
        assert info.parent_object == props[0xDC0B].value
        assert info.storage_id == props[0xDC01].value
        assert info.object_format == props[0xDC02].value
        assert info.modification_date == props[0xDC09].value
        assert info.capture_date == props[0xDC08].value


@pytest.mark.parametrize("depth", [1, 2, 3, ALL])
@pytest.mark.parametrize("top", ["Phone/DCIM", "Phone/DCIM/sub", "Card/Folder", "Phone/Music"])
async def test_subtree(dev: Dev, top: str, depth: int) -> None:
    device, runner, roots = dev
    elements = await get_list(runner, handle_at(device, top), depth=depth)
    objs = by_object(elements)
    assert labels(device, objs) == disk_paths(roots, top, depth)
    # pre-order: a folder comes before what it holds
    seen: set[int] = set()
    top_handle = handle_at(device, top)
    for h, props in objs.items():
        parent = props[0xDC0B].value
        assert parent == top_handle or parent in seen
        seen.add(h)
        check_values(device, roots, h, props)


async def test_children_of_a_file_are_none(dev: Dev) -> None:
    device, runner, _ = dev
    h = handle_at(device, "Phone/a.txt")
    for depth in (1, ALL):
        res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (h, 0, ALL, 0, depth))
        assert (res.code, res.data) == (RC.OK, b"\x00\x00\x00\x00")


async def test_invalid_handle(dev: Dev) -> None:
    _, runner, _ = dev
    for depth in (0, 1, ALL):
        res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (0x7777, 0, ALL, 0, depth))
        assert res.code == RC.INVALID_OBJECT_HANDLE


# -- format filter ---------------------------------------------------------------------------


async def test_format_filter_everything(dev: Dev) -> None:
    device, runner, roots = dev
    objs = by_object(await get_list(runner, ALL, fmt=ObjectFormatCode.EXIF_JPEG))
    assert labels(device, objs) == [p for p in disk_paths(roots) if p.endswith(".jpg")]
    for props in objs.values():
        assert props[0xDC02].value == 0x3801


async def test_format_filter_below_a_folder(dev: Dev) -> None:
    device, runner, roots = dev
    top = handle_at(device, "Phone/DCIM")
    objs = by_object(await get_list(runner, top, fmt=ObjectFormatCode.ASSOCIATION, depth=ALL))
    folders = [p for p in disk_paths(roots, "Phone/DCIM") if (roots["Phone"] / p[6:]).is_dir()]
    assert labels(device, objs) == folders == ["Phone/DCIM/sub", "Phone/DCIM/sub/deep"]
    # depth 0 with a format the object does not have: nothing
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (top, 0x3801, ALL, 0, 0))
    assert (res.code, res.data) == (RC.OK, b"\x00\x00\x00\x00")


async def test_bad_format(dev: Dev) -> None:
    _, runner, _ = dev
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (ALL, 0x1234, ALL, 0, 0))
    assert res.code == RC.INVALID_OBJECT_FORMAT_CODE


# -- property selection ----------------------------------------------------------------------


async def test_single_property(dev: Dev) -> None:
    device, runner, roots = dev
    elements = await get_list(runner, ALL, code=P.OBJECT_FILE_NAME)
    assert {e.code for e in elements} == {0xDC07}
    assert sorted(path_of(device, e.handle).rsplit("/", 1)[1] for e in elements) == sorted(
        p.rsplit("/", 1)[1] for p in disk_paths(roots)
    )
    sizes = await get_list(runner, handle_at(device, "Phone/DCIM/sub/deep"), code=0xDC04, depth=1)
    assert sorted(e.value for e in sizes) == [0, 1]  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("code", "group", "expected"),
    [
        (P.ARTIST, 0, RC.OBJECT_PROP_NOT_SUPPORTED),
        (0x1234, 0, RC.INVALID_OBJECT_PROP_CODE),
        (0, 0, RC.PARAMETER_NOT_SUPPORTED),
        (0, 2, RC.SPECIFICATION_BY_GROUP_UNSUPPORTED),
        (0, ALL, RC.SPECIFICATION_BY_GROUP_UNSUPPORTED),
    ],
)
async def test_property_selection_errors(dev: Dev, code: int, group: int, expected: int) -> None:
    _, runner, _ = dev
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (ALL, 0, code, group, 0))
    assert res.code == expected


@pytest.mark.parametrize("depth", [0, 1, ALL])
async def test_group_one(dev: Dev, depth: int) -> None:
    device, runner, roots = dev
    top = handle_at(device, "Phone/DCIM")
    objs = by_object(await get_list(runner, top, code=0, group=1, depth=depth))
    expected = ["Phone/DCIM"] if depth == 0 else disk_paths(roots, "Phone/DCIM", depth)
    assert labels(device, objs) == expected
    for h, props in objs.items():
        assert set(props) == GROUP1
        check_values(device, roots, h, props)


async def test_a_group_element_equals_the_full_element(dev: Dev) -> None:
    _, runner, _ = dev
    full = {(e.handle, e.code): e for e in await get_list(runner, ALL)}
    for e in await get_list(runner, ALL, code=0, group=1):
        assert full[(e.handle, e.code)] == e


# -- big folders, changes --------------------------------------------------------------------


async def test_big_folder_is_streamed_whole(dev: Dev) -> None:
    device, runner, roots = dev
    big = roots["Card"] / "big"
    big.mkdir()
    names = {f"IMG_{i:05d}.JPG" for i in range(6000)}
    for name in names:
        (big / name).write_bytes(b"")
    top = handle_at(device, "Card/big")
    res = await runner.transact(OP.GET_OBJECT_PROP_LIST, (top, 0, ALL, 0, 1))
    assert res.code == RC.OK
    assert len(res.data) > 2 * 1024 * 1024  # more than one send chunk
    plist = ObjectPropList.from_bytes(res.data)
    assert len(plist.elements) == 6000 * len(ALL_CODES)
    assert {e.value for e in plist.elements if e.code == 0xDC07} == names
    group = await get_list(runner, top, code=0, group=1, depth=1)
    assert {e.value for e in group if e.code == 0xDC07} == names


async def test_a_renamed_object_is_listed_with_its_new_name(dev: Dev) -> None:
    device, runner, roots = dev
    h = handle_at(device, "Phone/a.txt")
    before = by_object(await get_list(runner, h))[h]
    assert before[0xDC07].value == "a.txt"
    device.store.rename(h, "c.txt")  # a new snapshot: the cached block is not reused
    assert os.listdir(roots["Phone"] / "DCIM") and (roots["Phone"] / "c.txt").exists()
    after = by_object(await get_list(runner, h))[h]
    assert after[0xDC07].value == after[0xDC44].value == "c.txt"


def test_block_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from openwpd.server.store import ObjectStore

    (tmp_path / "s").mkdir()
    for i in range(50):
        (tmp_path / "s" / f"{i}.txt").write_bytes(b"")
    with ObjectStore(tmp_path / "state") as store:
        store.add_storage(tmp_path / "s")
        objs = store.children(store.storages[0].id)
        monkeypatch.setattr(objprops, "CACHE_LIMIT", 20)
        encoder = objprops.PropListCache().encoder_for(objprops.ALL_PROPS)
        blocks = [encoder.block(o) for o in objs]
        assert len(encoder._cache) <= 20
        assert [encoder.block(o) for o in objs] == blocks  # rebuilt identically
        assert encoder.block(objs[-1]) is encoder.block(objs[-1])  # a cache hit


def test_encoding_helpers() -> None:
    assert objprops.encode_string("") == b"\x00"
    assert objprops.encode_string("ab") == b"\x03a\x00b\x00\x00\x00"
    long = objprops.encode_string("x" * 300)  # cut to what a PTP string holds
    assert long[0] == 255
    assert len(long) == 1 + 2 * 255
    assert list(objprops.chunked([b"ab", b"cd", b"e"], 2)) == [b"ab", b"cd", b"e"]
    assert list(objprops.chunked([b"ab", b"cd"], 3)) == [b"abcd"]
    assert list(objprops.chunked([], 3)) == []
    size = objprops.PROPS[P.OBJECT_SIZE]
    assert objprops.decode_value(size, (5).to_bytes(8, "little")) == 5


async def test_an_unreadable_subfolder_is_skipped(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openwpd.protocol.codes import ResponseCode as Code
    from openwpd.server.store import StoreError

    device, runner, _ = dev
    sub = handle_at(device, "Phone/DCIM/sub")
    real_children = device.store.children

    def children(storage_id: int, parent: int = ALL, format: int = 0) -> list:  # type: ignore[type-arg]
        if parent == sub:
            raise StoreError(Code.ACCESS_DENIED, "unreadable")
        return real_children(storage_id, parent, format)

    monkeypatch.setattr(device.store, "children", children)
    objs = by_object(await get_list(runner, handle_at(device, "Phone/DCIM"), depth=ALL))
    assert labels(device, objs) == ["Phone/DCIM/sub", "Phone/DCIM/x.jpg"]


def cached_handles(device: VirtualDevice) -> set[int]:
    return device.prop_lists.cached_handles()


async def test_cached_blocks_go_with_their_objects(dev: Dev) -> None:
    # A cached block keeps its object alive: after a deletion, on disk by another program or
    # through DeleteObject (whose event names only the folder), the blocks must go too.
    device, runner, roots = dev
    dcim = handle_at(device, "Phone/DCIM")
    await get_list(runner, ALL, depth=0xFFFFFFFF)  # every object encoded once
    inside = {
        o.handle
        for o in device.store.all_objects()
        if path_of(device, o.handle).startswith("Phone/DCIM/")
    }
    assert inside and inside | {dcim} <= cached_handles(device)
    res = await runner.transact(OP.DELETE_OBJECT, (dcim, 0))
    assert res.code == RC.OK
    assert not (inside | {dcim}) & cached_handles(device)

    card = handle_at(device, "Card/card.jpg")
    assert card in cached_handles(device)
    device.store.children(device.store.storages[1].id)  # a listed folder is a watched one
    (roots["Card"] / "card.jpg").unlink()  # another program
    async with asyncio.timeout(10):
        while card in cached_handles(device):
            await asyncio.sleep(0.02)
