"""Unit tests of the client's pure parts: scheduler, event hub, prop-list parser, URLs, entries,
policy."""

from __future__ import annotations

import asyncio
import struct
from datetime import datetime

import pytest

from openwpd import Cancelled, LocalProtocolError, RemoteProtocolError
from openwpd.client import DeviceEvent, Quirks, parse_device_url
from openwpd.client.entries import entry_from_info, entry_from_props, split_path
from openwpd.client.events import EventHub
from openwpd.client.listing import PropListParser
from openwpd.client.policy import DevicePolicy
from openwpd.client.scheduler import Scheduler
from openwpd.protocol.codes import (
    DataType,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
)
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, ObjectPropList, PropListElement

# --- scheduler ---------------------------------------------------------------------------------


async def _take(
    s: Scheduler, owner: str, log: list[str], hold: asyncio.Event | None = None
) -> None:
    async with s.turn(owner):
        log.append(owner)
        if hold is not None:
            await hold.wait()
        else:
            await asyncio.sleep(0)


async def test_round_robin_across_owners_fifo_within() -> None:
    s = Scheduler()
    for owner in "ABC":
        s.register(owner)
    log: list[str] = []
    gate = asyncio.Event()
    first = asyncio.create_task(_take(s, "A", log, gate))
    await asyncio.sleep(0)
    assert s.busy and s.holder == "A"
    tasks = [asyncio.create_task(_take(s, o, log)) for o in "AAABBC"]
    await asyncio.sleep(0)
    assert s.waiting("A") == 3 and s.waiting("B") == 2
    gate.set()
    await asyncio.gather(first, *tasks)
    assert log == ["A", "B", "C", "A", "B", "A", "A"]
    assert not s.busy and s.holder is None


async def test_fail_waiting_and_fail_all() -> None:
    s = Scheduler()
    log: list[str] = []
    gate = asyncio.Event()
    holder = asyncio.create_task(_take(s, "A", log, gate))
    await asyncio.sleep(0)
    a = [asyncio.create_task(_take(s, "A", log)) for _ in range(2)]
    b = asyncio.create_task(_take(s, "B", log))
    c = asyncio.create_task(_take(s, "C", log))
    await asyncio.sleep(0)
    assert s.fail_waiting("A", Cancelled) == 2
    assert s.fail_waiting("nobody", Cancelled) == 0
    for t in a:
        with pytest.raises(Cancelled):
            await t
    assert s.fail_all(lambda: RuntimeError("reset")) == 2
    for t in (b, c):
        with pytest.raises(RuntimeError):
            await t
    gate.set()
    await holder
    assert log == ["A"]


async def test_a_cancelled_waiter_leaves_the_queue_and_a_granted_one_passes_it_on() -> None:
    s = Scheduler()
    log: list[str] = []
    gate = asyncio.Event()
    holder = asyncio.create_task(_take(s, "A", log, gate))
    await asyncio.sleep(0)
    b = asyncio.create_task(_take(s, "B", log))
    c = asyncio.create_task(_take(s, "C", log))
    await asyncio.sleep(0)
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    gate.set()
    await asyncio.gather(holder, c)
    assert log == ["A", "C"]
    # granted and cancelled in the same instant: the turn goes on to the next waiter
    gate2 = asyncio.Event()
    holder = asyncio.create_task(_take(s, "A", log, gate2))
    await asyncio.sleep(0)
    d = asyncio.create_task(_take(s, "D", log))
    e = asyncio.create_task(_take(s, "E", log))
    await asyncio.sleep(0)
    gate2.set()
    await asyncio.sleep(0)  # holder releases: D is granted but has not run yet
    d.cancel()
    with pytest.raises(asyncio.CancelledError):
        await d
    await asyncio.gather(holder, e)
    assert log[-2:] == ["A", "E"]
    assert not s.busy


async def test_unregister_fails_waiters_and_keeps_the_order() -> None:
    s = Scheduler()
    for owner in "ABC":
        s.register(owner)
    s.register("A")  # idempotent
    log: list[str] = []
    gate = asyncio.Event()
    holder = asyncio.create_task(_take(s, "C", log, gate))
    await asyncio.sleep(0)
    b = asyncio.create_task(_take(s, "B", log))
    a = asyncio.create_task(_take(s, "A", log))
    await asyncio.sleep(0)
    s.unregister("B", Cancelled)
    s.unregister("B", Cancelled)  # unknown now: nothing happens
    with pytest.raises(Cancelled):
        await b
    gate.set()
    await asyncio.gather(holder, a)
    assert log == ["C", "A"]


# --- events ------------------------------------------------------------------------------------


async def test_event_hub_broadcasts_and_drops_the_oldest() -> None:
    hub = EventHub()
    a, b = hub.subscribe(depth=2), hub.subscribe()
    for i in range(3):
        hub.publish(DeviceEvent(EventCode.OBJECT_ADDED, (i,)))
    assert a.dropped == 1
    assert [(await anext(a)).params for _ in range(2)] == [(1,), (2,)]
    assert [(await anext(b)).params for _ in range(3)] == [(0,), (1,), (2,)]
    assert DeviceEvent(0x4002).name.startswith("OBJECT_ADDED")
    assert "0x" in DeviceEvent(0xC999).name
    waiter = asyncio.create_task(anext(a))
    await asyncio.sleep(0)
    hub.close()
    with pytest.raises(StopAsyncIteration):
        await waiter
    with pytest.raises(StopAsyncIteration):
        await anext(b)
    hub.publish(DeviceEvent(EventCode.OBJECT_ADDED))  # nobody listens any more
    assert [e async for e in hub.subscribe()] == []


# --- the streaming prop-list parser --------------------------------------------------------------

_P = ObjectPropCode


def _list(*objects: tuple[int, list[tuple[int, int, object]]]) -> bytes:
    elements = [
        PropListElement(handle, code, datatype, value)  # type: ignore[arg-type]
        for handle, props in objects
        for code, datatype, value in props
    ]
    return ObjectPropList(tuple(elements)).to_bytes()


SAMPLE = _list(
    (
        7,
        [
            (_P.OBJECT_FILE_NAME, DataType.STR, "a 日本.txt"),
            (_P.OBJECT_SIZE, DataType.UINT64, 5 << 32),
            (_P.OBJECT_FORMAT, DataType.UINT16, ObjectFormatCode.TEXT),
            (_P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER, DataType.UINT128, (1 << 100) + 5),
            (_P.PROPERTY_BAG, DataType.AUINT16, (1, 2, 3)),
            (0xDC99, DataType.INT8, -3),
        ],
    ),
    (9, [(_P.OBJECT_FILE_NAME, DataType.STR, ""), (_P.DATE_MODIFIED, DataType.STR, "x")]),
)


def _parse_in_pieces(data: bytes, size: int) -> list[tuple[int, dict[int, object]]]:
    parser = PropListParser()
    out: list[tuple[int, dict[int, object]]] = []
    for i in range(0, len(data), size):
        out.extend(parser.feed(data[i : i + size]))
    out.extend(parser.finish())
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 10_000])
def test_prop_list_parser_in_any_pieces(size: int) -> None:
    objects = _parse_in_pieces(SAMPLE, size)
    assert [h for h, _ in objects] == [7, 9]
    props = objects[0][1]
    assert props[_P.OBJECT_FILE_NAME] == "a 日本.txt"
    assert props[_P.OBJECT_SIZE] == 5 << 32
    assert props[_P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER] == (1 << 100) + 5
    assert props[_P.PROPERTY_BAG] == (1, 2, 3)
    assert props[0xDC99] == -3
    assert objects[1][1] == {_P.OBJECT_FILE_NAME: "", _P.DATE_MODIFIED: "x"}


def test_prop_list_parser_errors() -> None:
    parser = PropListParser()
    assert parser.feed(b"\x02\x00") == [] and parser.count is None
    with pytest.raises(RemoteProtocolError):
        parser.finish()
    with pytest.raises(RemoteProtocolError):
        _parse_in_pieces(SAMPLE[:-3], 4)
    unknown = struct.pack("<IIHH", 1, 1, _P.OBJECT_SIZE, 0x0BAD) + b"\x00" * 20
    with pytest.raises(RemoteProtocolError):
        _parse_in_pieces(unknown, 100)
    assert _parse_in_pieces(struct.pack("<I", 0) + b"junk", 3) == []
    # an array cut right after its element type, then after its count
    arr = _list((1, [(_P.PROPERTY_BAG, DataType.AUINT16, (4, 5))]))
    for cut in range(len(arr)):
        parser = PropListParser()
        assert parser.feed(arr[:cut]) == []
        assert parser.feed(arr[cut:]) == []
        assert parser.finish() == [(1, {_P.PROPERTY_BAG: (4, 5)})]


def test_prop_list_parser_refuses_an_endless_element() -> None:
    """An array the device says has 2**32-1 elements is not collected for ever."""
    from openwpd.client.listing import MAX_ELEMENT

    head = struct.pack("<IIHHI", 1, 1, _P.PROPERTY_BAG, DataType.AUINT16, 0xFFFFFFFF)
    parser = PropListParser()
    assert parser.feed(head) == []
    chunk = b"\x00" * (1024 * 1024)
    with pytest.raises(RemoteProtocolError, match="more than"):
        for _ in range(MAX_ELEMENT // len(chunk) + 1):
            parser.feed(chunk)


# --- entries, URLs, policy ---------------------------------------------------------------------


def test_entries_from_props_and_info() -> None:
    props = {
        _P.OBJECT_FILE_NAME: "DCIM",
        _P.OBJECT_FORMAT: ObjectFormatCode.ASSOCIATION,
        _P.STORAGE_ID: 0x10001,
        _P.PARENT_OBJECT: 0,
        _P.DATE_MODIFIED: "20240102T030405",
        _P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER: 99,
    }
    entry = entry_from_props(4, props, "/Phone")
    assert entry.is_folder and entry.path == "/Phone/DCIM" and entry.puid == 99
    assert entry.modified == datetime(2024, 1, 2, 3, 4, 5)
    assert not entry.size_exact  # no ObjectSize given
    assert entry.child_path("x") == "/Phone/DCIM/x"
    assert entry_from_props(4, {**props, _P.DATE_MODIFIED: "garbage"}).modified is None
    assert entry_from_props(4, props).child_path("x") is None
    with pytest.raises(RemoteProtocolError):
        entry_from_props(4, {_P.OBJECT_FORMAT: 0x3000})
    with pytest.raises(RemoteProtocolError):
        entry_from_props(4, {**props, _P.OBJECT_SIZE: "big"})
    info = ObjectInfo.for_size(5 << 32, filename="big.bin", object_format=0x3000)
    big = entry_from_info(3, info)
    assert big.size == 0xFFFFFFFF and not big.size_exact and not big.is_folder


def test_split_path() -> None:
    assert split_path("/Phone") == ("Phone", [])
    assert split_path("/Phone/a/b/") == ("Phone", ["a", "b"])
    for bad in ("", "/", "//", "Phone", "/a//b"):
        with pytest.raises(LocalProtocolError):
            split_path(bad)


def test_device_urls() -> None:
    url = parse_device_url("ptpip://127.0.0.1")
    assert (url.scheme, url.host, url.port) == ("ptpip", "127.0.0.1", 15740)
    assert str(parse_device_url("PTPIP://[::1]:99")) == "ptpip://[::1]:99"
    assert str(parse_device_url("usb://1:2")) == "usb://1:2"
    for bad in ("http://x", "ptpip://", "ptpip://h:0", "ptpip://h/path", "usb://", "ptpip://h:x"):
        with pytest.raises(LocalProtocolError):
            parse_device_url(bad)


def test_policy() -> None:
    ops = (
        OperationCode.GET_PARTIAL_OBJECT,
        OperationCode.GET_OBJECT_PROP_LIST,
        OperationCode.DELETE_OBJECT,
        OperationCode.BEGIN_EDIT_OBJECT,
        OperationCode.SEND_PARTIAL_OBJECT,
        OperationCode.END_EDIT_OBJECT,
    )
    policy = DevicePolicy().for_device(DeviceInfo(operations_supported=ops))
    assert policy.partial_read == OperationCode.GET_PARTIAL_OBJECT
    assert policy.prop_list and policy.windowed_upload and not policy.send_prop_list
    masked = Quirks(disabled_operations=frozenset({OperationCode.GET_PARTIAL_OBJECT})).for_device(
        DeviceInfo(operations_supported=ops)
    )
    assert masked.partial_read is None
    with pytest.raises(ValueError):
        DevicePolicy(window=0)
