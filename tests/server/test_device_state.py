"""State that belongs to a device stays with that device: two virtual devices in one process,
serving folders of the same shape (so their objects get the same handles), keep their own object
references, their own open edits and their own cache of encoded property lists."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.server.device import StorageSpec, VirtualDevice
from support import connect

OP = OperationCode
RC = ResponseCode
PHONE = 0x00010001
ALL = 0xFFFFFFFF


@dataclass
class Side:
    device: VirtualDevice
    runner: TransactionRunner
    root: Path

    def handle(self, name: str) -> int:
        (obj,) = [o for o in self.device.store.children(PHONE) if o.name == name]
        return obj.handle


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Side, Side]]:
    sides = []
    for name in ("a", "b"):
        root = tmp_path / name / "served"
        root.mkdir(parents=True)
        for file in ("list.m3u", "one.mp3", "two.mp3"):
            (root / file).write_bytes(f"{name}:{file}".encode())
        device = VirtualDevice([StorageSpec(root, "Phone")], state_dir=tmp_path / name / "state")
        _, port = await device.serve("127.0.0.1", 0)
        runner = await connect(port)
        # handles are handed out by listings: list, as an initiator does first
        res = await runner.transact(OP.GET_OBJECT_HANDLES, (ALL, 0, ALL))
        assert res.code == RC.OK
        sides.append(Side(device, runner, root))
    try:
        yield sides[0], sides[1]
    finally:
        for side in sides:
            await side.runner.aclose()
            await side.device.aclose()


def auint32(*values: int) -> bytes:
    return struct.pack(f"<I{len(values)}I", len(values), *values)


async def test_same_handles_on_both_devices(two: tuple[Side, Side]) -> None:
    # the premise of the tests below: a table keyed by handle alone would mix the devices up
    a, b = two
    for name in ("list.m3u", "one.mp3", "two.mp3"):
        assert a.handle(name) == b.handle(name)


async def test_references_are_per_device(two: tuple[Side, Side]) -> None:
    a, b = two
    playlist = a.handle("list.m3u")
    res = await a.runner.transact(
        OP.SET_OBJECT_REFERENCES, (playlist,), data=auint32(a.handle("two.mp3"))
    )
    assert res.code == RC.OK
    got_b = await b.runner.transact(OP.GET_OBJECT_REFERENCES, (playlist,))
    assert (got_b.code, got_b.data) == (RC.OK, auint32())
    got_a = await a.runner.transact(OP.GET_OBJECT_REFERENCES, (playlist,))
    assert got_a.data == auint32(a.handle("two.mp3"))
    assert a.device.references == {playlist: (a.handle("two.mp3"),)}
    assert b.device.references == {}


async def test_edits_are_per_device(two: tuple[Side, Side]) -> None:
    a, b = two
    handle = a.handle("one.mp3")
    for side in (a, b):
        assert (await side.runner.transact(OP.BEGIN_EDIT_OBJECT, (handle,))).code == RC.OK
    # both edits are open at once, each on its own device
    assert set(a.device.open_edits) == set(b.device.open_edits) == {handle}
    for side, text in ((a, b"AAAA"), (b, b"BB")):
        res = await side.runner.transact(OP.SEND_PARTIAL_OBJECT, (handle, 0, 0), data=text)
        assert res.code == RC.OK
    for side in (a, b):
        assert (await side.runner.transact(OP.END_EDIT_OBJECT, (handle,))).code == RC.OK
    assert (a.root / "one.mp3").read_bytes() == b"AAAAe.mp3"  # "a:one.mp3" overwritten
    assert (b.root / "one.mp3").read_bytes() == b"BBone.mp3"
    assert a.device.open_edits == {} and b.device.open_edits == {}
    # with no edit open on b, b refuses to write
    res = await b.runner.transact(OP.SEND_PARTIAL_OBJECT, (handle, 0, 0), data=b"x")
    assert res.code == RC.GENERAL_ERROR


async def test_property_list_caches_are_per_device(two: tuple[Side, Side]) -> None:
    a, b = two
    for side in (a, b):  # every object's block encoded once, on each device
        res = await side.runner.transact(OP.GET_OBJECT_PROP_LIST, (ALL, 0, ALL, 0, ALL))
        assert res.code == RC.OK
    gone = a.handle("two.mp3")
    assert gone in a.device.prop_lists.cached_handles()
    assert gone in b.device.prop_lists.cached_handles()
    assert (await a.runner.transact(OP.DELETE_OBJECT, (gone,))).code == RC.OK
    assert gone not in a.device.prop_lists.cached_handles()
    # b's object of the same handle is still there, and so is its cached block
    assert gone in b.device.prop_lists.cached_handles()
    assert (b.root / "two.mp3").exists()
