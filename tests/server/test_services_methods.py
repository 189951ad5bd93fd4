"""Service methods on the virtual device: invocation through the method-object hooks,
MethodComplete on the wire, results as properties, cancel by deleting the method object.

The hooks are what the object-property handlers call (SendObjectPropList -> create_method_object,
GetObjectPropList -> get_object_props, DeleteObject -> delete_object); the device runs in this
test's event loop, so the tests call them directly and watch the events a real initiator gets.
The end-to-end routing through SendObjectPropList is tested at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import pytest
from test_services import Events

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import (
    DataType,
    EventCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import ObjectPropList, PropListElement, ServiceInfo
from openwpd.server.context import MtpError
from openwpd.server.device import VirtualDevice
from openwpd.server.services import methods as methods_mod

PHONE = 0x00010001
DIAGNOSTICS = 4
CONTACTS = 1
TEXT, RESULT, MS, OBJECT, ALGORITHM, DIGEST = 0xDA41, 0xDA42, 0xDA43, 0xDA44, 0xDA45, 0xDA46


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    (root / "small.bin").write_bytes(bytes(range(256)) * 4099)
    with open(root / "big.bin", "wb") as f:  # sparse 2 GiB
        f.truncate(2 << 30)
    (root / "folder").mkdir()
    return root


async def method_codes(runner: TransactionRunner, sid: int = DIAGNOSTICS) -> dict[str, int]:
    res = await runner.transact(OperationCode.GET_SERVICE_INFO, (sid,))
    return {m.name: m.code for m in ServiceInfo.from_bytes(res.data).methods}


def handle_of(dev: VirtualDevice, name: str) -> int:
    return next(o.handle for o in dev.store.children(PHONE) if o.name == name)


def s(code: int, text: str) -> PropListElement:
    return PropListElement(0, code, DataType.STR, text)


def u32(code: int, value: int) -> PropListElement:
    return PropListElement(0, code, DataType.UINT32, value)


async def test_echo_end_to_end_through_the_hooks(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    handle = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "héllo")])
    assert handle is not None and handle & 0x80000000 and handle != 0xFFFFFFFF
    event = await events.wait(EventCode.METHOD_COMPLETE, handle)
    assert event.params == (handle, ResponseCode.OK, DIAGNOSTICS)
    props = {e.code: e for e in dev.services.get_object_props(handle) or []}
    assert props[RESULT].value == "héllo" and props[TEXT].value == "héllo"
    assert props[ObjectPropCode.OBJECT_FORMAT].value == codes["Echo"]
    assert props[ObjectPropCode.STORAGE_ID].value == 0
    assert dev.services.get_object_props(handle, RESULT) == [
        PropListElement(handle, RESULT, DataType.STR, "héllo")
    ]
    assert dev.services.delete_object(handle) is True
    with pytest.raises(MtpError) as err:
        dev.services.get_object_props(handle)
    assert err.value.code == ResponseCode.INVALID_OBJECT_HANDLE
    with pytest.raises(MtpError):
        dev.services.delete_object(handle)
    # the Diagnostics counter counted it (and said so)
    await events.wait(EventCode.SERVICE_PROP_CHANGED, DIAGNOSTICS, 0x0403)


async def test_hash_object_small_file(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    target = handle_of(dev, "small.bin")
    data = (served / "small.bin").read_bytes()
    for algorithm in ("sha256", "md5", None):
        params = [u32(OBJECT, target)] + ([s(ALGORITHM, algorithm)] if algorithm else [])
        handle = dev.services.create_method_object(0, 0, codes["HashObject"], params)
        assert handle is not None
        await events.wait(EventCode.METHOD_COMPLETE, handle, ResponseCode.OK)
        (digest,) = dev.services.get_object_props(handle, DIGEST) or []
        assert digest.value == hashlib.new(algorithm or "sha256", data).hexdigest()
        dev.services.delete_object(handle)


async def test_method_failures_complete_with_their_code(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    for target in (0x00FFFFFF, handle_of(dev, "folder")):
        handle = dev.services.create_method_object(0, 0, codes["HashObject"], [u32(OBJECT, target)])
        event = await events.wait(EventCode.METHOD_COMPLETE, handle or 0)
        assert event.params[1] == ResponseCode.INVALID_OBJECT_HANDLE
        assert handle is not None
        assert DIGEST not in {e.code for e in dev.services.get_object_props(handle) or []}


@pytest.mark.parametrize(
    ("elements", "code", "index"),
    [
        ([s(TEXT, "x"), s(0xDA99, "y")], ResponseCode.INVALID_OBJECT_PROP_CODE, 1),
        ([s(RESULT, "out params cannot be given")], ResponseCode.INVALID_OBJECT_PROP_CODE, 0),
        ([u32(TEXT, 5)], ResponseCode.INVALID_OBJECT_PROP_FORMAT, 0),
        ([], ResponseCode.INVALID_DATASET, None),
    ],
)
async def test_refused_parameters_create_nothing(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    elements: list[PropListElement],
    code: int,
    index: int | None,
) -> None:
    dev = device[0]
    codes = await method_codes(runner)
    with pytest.raises(MtpError) as err:
        dev.services.create_method_object(0, 0, codes["Echo"], elements)
    assert err.value.code == code
    # SendObjectPropList reports the failing element in p4
    assert err.value.params == ((0, 0, 0, index) if index is not None else (0, 0, 0))
    assert len(dev.services.methods) == 0


async def test_sleep_range_and_unknown_formats(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    codes = await method_codes(runner)
    with pytest.raises(MtpError) as err:
        dev.services.create_method_object(0, 0, codes["Sleep"], [u32(MS, 600_001)])
    assert err.value.code == ResponseCode.INVALID_OBJECT_PROP_VALUE
    assert dev.services.create_method_object(PHONE, 0, 0x3004, [s(TEXT, "x")]) is None
    with pytest.raises(MtpError) as err:
        dev.services.create_method_object(
            0, 0, codes["HashObject"], [u32(OBJECT, 1), s(ALGORITHM, "crc32")]
        )
    assert err.value.code == ResponseCode.INVALID_OBJECT_PROP_VALUE
    supported = dev.services.object_props_supported(codes["HashObject"]) or ()
    assert {OBJECT, ALGORITHM, DIGEST, ObjectPropCode.OBJECT_FORMAT} <= set(supported)
    desc = dev.services.object_prop_desc(MS, codes["Sleep"])
    assert desc is not None and desc.datatype == DataType.UINT32
    assert dev.services.object_prop_desc(0xDA99, codes["Sleep"]) is None


async def test_sync_methods_of_contacts(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner, CONTACTS)
    for name in ("BeginSync", "EndSync"):
        handle = dev.services.create_method_object(0, 0, codes[name], [])
        event = await events.wait(EventCode.METHOD_COMPLETE, handle or 0)
        assert event.params == (handle, ResponseCode.OK, CONTACTS)
        assert dev.services.delete_object(handle or 0)


async def test_method_objects_are_read_only(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    codes = await method_codes(runner)
    handle = dev.services.create_method_object(0, 0, codes["Sleep"], [u32(MS, 0)])
    assert handle is not None and dev.services.owns_handle(handle)
    assert not dev.services.owns_handle(0xFFFFFFFF) and not dev.services.owns_handle(5)
    for call in (
        lambda: dev.services.set_object_props(handle, [u32(MS, 1)]),
        lambda: dev.services.delete_object_props(handle, [(0, MS)]),
    ):
        with pytest.raises(MtpError) as err:
            call()
        assert err.value.code == ResponseCode.ACCESS_DENIED
    for call in (
        lambda: dev.services.set_object_props(0x80FFFFFF, []),
        lambda: dev.services.delete_object_props(0x80FFFFFF, [(0, MS)]),
    ):
        with pytest.raises(MtpError) as err:
            call()
        assert err.value.code == ResponseCode.INVALID_OBJECT_HANDLE
    # over the wire: Update/DeleteObjectPropList on a method object
    res = await runner.transact(
        OperationCode.UPDATE_OBJECT_PROP_LIST,
        (handle,),
        data=ObjectPropList((u32(MS, 1),)).to_bytes(),
    )
    assert (res.code, res.params) == (ResponseCode.ACCESS_DENIED, (0,))


async def test_cancel_a_running_hash_by_deleting_its_method_object(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    big = handle_of(dev, "big.bin")
    handle = dev.services.create_method_object(
        0, 0, codes["HashObject"], [u32(OBJECT, big), s(ALGORITHM, "sha256")]
    )
    assert handle is not None
    await asyncio.sleep(0.2)
    obj = dev.services.methods.get(handle)
    assert obj is not None and obj.running  # 2 GiB take seconds to hash
    # the session stays responsive while the method runs
    res = await runner.transact(OperationCode.GET_SERVICE_IDS)
    assert res.code == ResponseCode.OK
    started = time.monotonic()
    assert dev.services.delete_object(handle)
    event = await events.wait(EventCode.METHOD_COMPLETE, handle, timeout=2.0)
    assert event.params == (handle, ResponseCode.TRANSACTION_CANCELLED, DIAGNOSTICS)
    assert time.monotonic() - started < 1.0
    # the service keeps working
    echo = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "still here")])
    await events.wait(EventCode.METHOD_COMPLETE, echo or 0, ResponseCode.OK)
    assert dev.services.get_object_props(echo or 0, RESULT)[0].value == "still here"  # type: ignore[index]


async def test_delete_before_the_method_ever_ran(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    handle = dev.services.create_method_object(0, 0, codes["Sleep"], [u32(MS, 10_000)])
    assert handle is not None
    dev.services.delete_object(handle)  # same loop iteration: the task has not started yet
    event = await events.wait(EventCode.METHOD_COMPLETE, handle, timeout=2.0)
    assert event.params[1] == ResponseCode.TRANSACTION_CANCELLED


async def test_removing_a_service_cancels_its_methods_and_aclose(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    handle = dev.services.create_method_object(0, 0, codes["Sleep"], [u32(MS, 10_000)])
    await asyncio.sleep(0.01)
    diag = dev.services.remove(DIAGNOSTICS)
    event = await events.wait(EventCode.METHOD_COMPLETE, handle or 0, timeout=2.0)
    assert event.params[1] == ResponseCode.TRANSACTION_CANCELLED
    dev.services.add(diag)
    other = dev.services.create_method_object(0, 0, codes["Sleep"], [u32(MS, 10_000)])
    await asyncio.sleep(0.01)
    await dev.services.aclose()
    assert dev.services.methods.get(other or 0) is None
    assert len(dev.services.methods) == 0


async def test_limits_and_handle_wrap(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    monkeypatch.setattr(methods_mod, "MAX_METHOD_OBJECTS", 2)
    methods = dev.services.methods
    methods._next = 0x7FFFFFFE  # the last number: the next one wraps to 1
    a = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "a")])
    b = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "b")])
    assert (a, b) == (0xFFFFFFFE, 0x80000001)
    with pytest.raises(MtpError) as err:
        dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "c")])
    assert err.value.code == ResponseCode.STORE_FULL
    await events.wait(EventCode.METHOD_COMPLETE, b or 0)
    dev.services.delete_object(b or 0)
    methods._next = 0x7FFFFFFE  # taken by a: skipped
    c = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "c")])
    assert c == 0x80000001


async def test_a_failing_body_is_a_general_error(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = device[0]
    events = Events(runner)
    codes = await method_codes(runner)
    service = dev.services.get(DIAGNOSTICS)
    echo = service.method(codes["Echo"])
    assert echo is not None

    async def broken(call: object) -> dict[int, object]:
        raise RuntimeError("boom")

    from dataclasses import replace

    monkeypatch.setattr(service, "methods", (replace(echo, body=broken),))
    handle = dev.services.create_method_object(0, 0, codes["Echo"], [s(TEXT, "x")])
    event = await events.wait(EventCode.METHOD_COMPLETE, handle or 0)
    assert event.params[1] == ResponseCode.GENERAL_ERROR


async def test_invoke_over_the_wire_with_send_object_prop_list(runner: TransactionRunner) -> None:
    events = Events(runner)
    codes = await method_codes(runner)
    params = ObjectPropList((s(TEXT, "over the wire"),)).to_bytes()
    res = await runner.transact(
        OperationCode.SEND_OBJECT_PROP_LIST, (0, 0xFFFFFFFF, codes["Echo"], 0, 0), data=params
    )
    assert res.code == ResponseCode.OK
    handle = res.params[2]
    assert handle & 0x80000000
    await events.wait(EventCode.METHOD_COMPLETE, handle, ResponseCode.OK)
    res = await runner.transact(OperationCode.GET_OBJECT_PROP_LIST, (handle, 0, 0xFFFFFFFF, 0, 0))
    assert res.code == ResponseCode.OK
    values = {e.code: e.value for e in ObjectPropList.from_bytes(res.data).elements}
    assert values[RESULT] == "over the wire"
    res = await runner.transact(OperationCode.GET_OBJECT_PROP_VALUE, (handle, RESULT))
    assert res.code == ResponseCode.OK
    res = await runner.transact(OperationCode.DELETE_OBJECT, (handle,))
    assert res.code == ResponseCode.OK
