"""openwpd.client.services against the virtual device: discovery, service properties, method
invocation through method objects, and cancel (targeted, handle-wide, task cancel)."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from openwpd.client import Connection, Handle
from openwpd.client import services as svcs
from openwpd.protocol.codes import DataType, ResponseCode
from openwpd.protocol.datasets import FormatCapability, ObjectPropDesc, ServiceInfo
from openwpd.protocol.errors import Cancelled, LocalProtocolError, ResponseError
from openwpd.server.device import VirtualDevice
from openwpd.server.services import Service

CONTACTS, CALENDAR, STATUS, DIAGNOSTICS = 1, 2, 3, 4
ECHO, SLEEP, HASH = 0xB741, 0xB742, 0xB743
TEXT, RESULT, MS, OBJECT, ALGORITHM, DIGEST = 0xDA41, 0xDA42, 0xDA43, 0xDA44, 0xDA45, 0xDA46
LABEL, COMPLETED, DISPLAY = 0x0402, 0x0403, 0x0401
SERVICE_CONTACTS = uuid.UUID("DD04D5FC-9D6E-4F76-9DCF-ECA6339B7389")
FULL_ENUM_SYNC = uuid.UUID("28D3AAC9-C075-44BE-8881-65F38D305909")
METHOD_ECHO = uuid.UUID("6F70656E-7770-4464-8000-446961670010")
PHONE = 0x00010001
Device = tuple[VirtualDevice, int]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    (root / "Contacts").mkdir(parents=True)
    (root / "Contacts" / "ada.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n", newline=""
    )
    (root / "small.bin").write_bytes(bytes(range(256)) * 100)
    with open(root / "big.bin", "wb") as f:
        f.truncate(2 << 30)
    return root


def handle_of(dev: VirtualDevice, name: str) -> int:
    return next(o.handle for o in dev.store.children(PHONE) if o.name == name)


async def test_discovery_and_description_cache(h: Handle, device: Device) -> None:
    assert await svcs.service_ids(h) == (CONTACTS, CALENDAR, STATUS, DIAGNOSTICS)
    contacts = await svcs.services(h, SERVICE_CONTACTS)
    assert [d.info.name for d in contacts] == ["Contacts"]
    desc = contacts[0]
    assert desc.service_id == CONTACTS and desc.info.storage_id == 0x00020001
    assert desc.info.used_services == (FULL_ENUM_SYNC,)
    assert await svcs.describe(h, CONTACTS) is desc  # cached
    assert await svcs.describe(h, CONTACTS, refresh=True) is not desc
    # the description's lookups
    assert desc.method(desc.info.methods[0].guid).name == "BeginSync"
    assert desc.format(0xBB83).name == "VCard3Contact"
    assert desc.property(0x0101).pid == 2
    assert desc.property_by_key(desc.property(0x0101).namespace, 2) is not None
    assert desc.property_by_key(uuid.uuid4(), 2) is None
    for lookup in (lambda: desc.method(0x1234), lambda: desc.format(1), lambda: desc.property(9)):
        with pytest.raises(LocalProtocolError):
            lookup()
    fields = {p.code: p for p in desc.format_properties(0xBB83)}
    assert fields[0xDD00].name == "GivenName" and fields[0xDD00].pid == 3
    assert desc.params(0xB701) == () and desc.format_properties(0x1234) == ()
    # Diagnostics: parameters in order, directions, forms
    diag = await svcs.describe(h, DIAGNOSTICS)
    params = diag.params(HASH)
    assert [p.name for p in params] == ["Object", "Algorithm", "Digest"]
    assert [(p.is_input, p.is_output) for p in params] == [(1, 0), (1, 0), (0, 1)]
    assert diag.capabilities[HASH].format_code == HASH
    status = await svcs.describe(h, STATUS)  # no formats, no methods
    assert status.capabilities == {} and status.prop_descs[0x0302].datatype == DataType.UINT8


async def test_service_added_drops_the_cache(h: Handle, device: Device) -> None:
    dev = device[0]
    before = await svcs.describe(h, CONTACTS)
    dev.services.add(Service(service_id=9, guid=uuid.uuid4(), name="Extra"))
    deadline = time.monotonic() + 5
    while await svcs.describe(h, CONTACTS) is before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert await svcs.describe(h, CONTACTS) is not before
    extra = await svcs.describe(h, 9)
    assert extra.info.name == "Extra" and extra.prop_descs == {} and extra.capabilities == {}


async def test_unknown_service(conn: Connection) -> None:
    with pytest.raises(ResponseError) as err:
        await svcs.open_service(conn, 77)
    assert err.value.code == ResponseCode.INVALID_SERVICE_ID


async def test_service_properties(conn: Connection, device: Device) -> None:
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    props = await svc.get_props()
    assert props[DISPLAY] == "openwpd Diagnostics" and props[LABEL] == ""
    await svc.set_props({LABEL: "bench 7"})
    assert await svc.get_props(LABEL) == {LABEL: "bench 7"}
    assert device[0].services.get(DIAGNOSTICS).value(LABEL) == "bench 7"
    with pytest.raises(ResponseError) as err:  # read-only, second element
        await svc.set_props({LABEL: "x", COMPLETED: 5})
    assert err.value.code == ResponseCode.ACCESS_DENIED and err.value.params[:1] == (1,)
    assert await svc.get_props(LABEL) == {LABEL: "bench 7"}  # all or nothing
    with pytest.raises(LocalProtocolError):
        await svc.set_props({0x0499: 1})
    with pytest.raises(LocalProtocolError):
        await svc.set_props({COMPLETED: "not a number"})
    await svc.delete_props([LABEL])
    assert (await svc.get_props())[LABEL] == ""
    await svc.aclose()


async def test_invoke_echo_and_results(conn: Connection, device: Device) -> None:
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    assert await svc.invoke(ECHO, {TEXT: "héllo"}) == {RESULT: "héllo"}
    assert await svc.invoke(METHOD_ECHO, {TEXT: "by guid"}) == {RESULT: "by guid"}
    assert device[0].services.methods._objects == {}  # every method object was deleted
    assert svc.invocations == frozenset()


async def test_hash_object_and_failures(conn: Connection, device: Device, served: Path) -> None:
    dev = device[0]
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    small = handle_of(dev, "small.bin")
    digest = hashlib.md5((served / "small.bin").read_bytes()).hexdigest()
    assert await svc.invoke(HASH, {OBJECT: small, ALGORITHM: "md5"}) == {DIGEST: digest}
    # the method fails on the device: the outcome says so, invoke raises it
    outcome = await svc.invocation(HASH, {OBJECT: 0x00FFFFFF}).run()
    assert outcome.code == ResponseCode.INVALID_OBJECT_HANDLE and dict(outcome.results) == {}
    with pytest.raises(ResponseError) as err:
        await svc.invoke(HASH, {OBJECT: 0x00FFFFFF})
    assert err.value.code == ResponseCode.INVALID_OBJECT_HANDLE
    # the device refuses the call: a value outside the form (p4 = the element's index)
    with pytest.raises(ResponseError) as err:
        await svc.invoke(HASH, {OBJECT: small, ALGORITHM: "crc32"})
    assert err.value.code == ResponseCode.INVALID_OBJECT_PROP_VALUE
    # refused locally: not an in-parameter, a value that does not fit
    with pytest.raises(LocalProtocolError):
        await svc.invoke(HASH, {DIGEST: "x"})
    with pytest.raises(LocalProtocolError):
        await svc.invoke(ECHO, {TEXT: 5})
    inv = svc.invocation(ECHO, {TEXT: "once"})
    assert (await inv.run()).results == {RESULT: "once"}
    with pytest.raises(LocalProtocolError):
        await inv.run()
    assert dev.services.methods._objects == {}


async def test_cancel_an_invocation_of_a_2gib_hash(conn: Connection, device: Device) -> None:
    dev = device[0]
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    inv = svc.invocation(HASH, {OBJECT: handle_of(dev, "big.bin")})
    task = asyncio.create_task(inv.run())
    while inv.object_handle is None:
        await asyncio.sleep(0.005)
    assert svc.invocations == frozenset({inv})
    started = time.monotonic()
    inv.cancel()
    with pytest.raises(Cancelled):
        await task
    assert time.monotonic() - started < 0.5 and inv.cancelled
    await svcs.drain_cleanups(conn)
    assert dev.services.methods._objects == {}  # deleted, hence cancelled on the device
    assert await svc.invoke(ECHO, {TEXT: "after"}) == {RESULT: "after"}
    inv.cancel()  # over: a no-op


async def test_cancel_before_the_run(conn: Connection, device: Device) -> None:
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    inv = svc.invocation(ECHO, {TEXT: "never"})
    inv.cancel()
    with pytest.raises(Cancelled):
        await inv.run()
    assert inv.object_handle is None


async def test_service_cancel_during_sleep_spares_another_handle(
    conn: Connection, device: Device, served: Path
) -> None:
    dev = device[0]
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    other = conn.open_handle()
    big = await other.entry(handle_of(dev, "big.bin"))
    sleeper = asyncio.create_task(svc.invoke(SLEEP, {MS: 10_000}))
    reader = asyncio.create_task(other.read(big, 0, 64 << 20))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await svc.cancel()
    with pytest.raises(Cancelled):
        await sleeper
    assert time.monotonic() - started < 0.1
    assert await reader == bytes(64 << 20)  # the other handle's transfer went on, intact
    await svcs.drain_cleanups(conn)
    assert dev.services.methods._objects == {}
    assert await svc.invoke(ECHO, {TEXT: "again"}) == {RESULT: "again"}


async def test_task_cancel_deletes_the_method_object(conn: Connection, device: Device) -> None:
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    inv = svc.invocation(SLEEP, {MS: 10_000})
    task = asyncio.create_task(inv.run())
    while inv.object_handle is None:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await svcs.drain_cleanups(conn)
    assert device[0].services.methods._objects == {}


async def test_task_cancel_while_creating(conn: Connection, device: Device) -> None:
    """A cancel that lands while the method object is being created: the object is created
    (a create cannot be taken back on the wire) and deleted at once."""
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    task = asyncio.create_task(svc.invoke(SLEEP, {MS: 10_000}))
    for _ in range(50):  # until the create is on the wire
        await asyncio.sleep(0)
        if svc.handle.connection._scheduler.busy:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await svcs.drain_cleanups(conn)
    assert device[0].services.methods._objects == {}


async def test_aclose_cancels_invocations(conn: Connection, device: Device) -> None:
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    task = asyncio.create_task(svc.invoke(SLEEP, {MS: 10_000}))
    await asyncio.sleep(0.1)
    await svc.aclose()
    with pytest.raises(Cancelled):
        await task
    await svcs.drain_cleanups(conn)
    assert device[0].services.methods._objects == {}


async def test_connection_closing_fails_the_waiter(connect: Any, device: Device) -> None:
    async with connect() as c:
        svc = await svcs.open_service(c, DIAGNOSTICS)
        inv = svc.invocation(SLEEP, {MS: 10_000})
        task = asyncio.create_task(inv.run())
        while inv.object_handle is None:
            await asyncio.sleep(0.005)
        svcs._state(c)._stream._end()  # the event stream ends as when the connection closes
        with pytest.raises(LocalProtocolError):
            await task
        await svcs.drain_cleanups(c)
        # a later invocation on the same connection fails the same way, at once
        with pytest.raises(LocalProtocolError):
            await svc.invoke(ECHO, {TEXT: "x"})
        await svcs.drain_cleanups(c)


async def test_router_units(conn: Connection) -> None:
    """Completions that arrive before anyone waits are kept (bounded); abandoned handles'
    completions are dropped."""
    state = svcs._state(conn)
    state._complete(0x80000101, ResponseCode.OK)
    assert state.expect(0x80000101).result() == ResponseCode.OK
    for n in range(svcs.UNCLAIMED_COMPLETIONS + 5):
        state._complete(0x80010000 + n, ResponseCode.OK)
    assert len(state._unclaimed) == svcs.UNCLAIMED_COMPLETIONS
    assert 0x80010000 not in state._unclaimed
    state._unclaimed.clear()
    waiter = state.expect(0x80000102)
    state.abandon(0x80000102)
    assert waiter.cancelled()
    state._complete(0x80000102, ResponseCode.OK)  # dropped: abandoned
    assert 0x80000102 not in state._unclaimed and 0x80000102 not in state._abandoned
    state._complete(0x80000103, ResponseCode.OK)
    state.abandon(0x80000103)  # already arrived: forgotten
    assert 0x80000103 not in state._unclaimed and 0x80000103 not in state._abandoned
    for n in range(svcs.UNCLAIMED_COMPLETIONS + 5):
        state.abandon(0x80020000 + n)
    assert len(state._abandoned) == svcs.UNCLAIMED_COMPLETIONS


async def test_broken_connection_error_is_given_to_waiters(conn: Connection) -> None:
    from openwpd.protocol.errors import DeviceGone

    state = svcs._state(conn)
    conn._broken = DeviceGone("gone")
    try:
        error = state._closed_error()
        assert isinstance(error, DeviceGone) and error is not conn._broken
    finally:
        conn._broken = None


async def test_a_method_that_takes_a_while(conn: Connection, device: Device) -> None:
    """The completion arrives while the invocation waits for it."""
    svc = await svcs.open_service(conn, DIAGNOSTICS)
    started = time.monotonic()
    assert await svc.invoke(SLEEP, {MS: 300}) == {}
    assert time.monotonic() - started >= 0.3
    assert device[0].services.methods._objects == {}


def test_descriptions_skip_descs_without_service_forms() -> None:
    plain = ObjectPropDesc(0xDC01, DataType.UINT32)
    caps = {0xB001: FormatCapability(0xB001, (plain,))}
    desc = svcs.ServiceDescription(ServiceInfo(service_id=3, name="Status"), capabilities=caps)
    assert desc.params(0xB001) == () and desc.format_properties(0xB001) == ()
    assert desc.prop_descs == {} and desc.service_id == 3


async def test_service_state_lives_on_its_connection(h: Handle, connect: Any) -> None:
    # Each connection owns its descriptions and its MethodComplete router: a second connection
    # in the same process reads its own, and closing it leaves the first one's alone.
    conn = h.connection
    assert conn.service_state is None
    desc = await svcs.describe(h, CONTACTS)
    state = conn.service_state
    assert state is not None and state.descriptions
    async with connect() as other:
        assert other.service_state is None
        other_desc = await svcs.describe(other.open_handle(), CONTACTS)
        assert other.service_state is not None and other.service_state is not state
        assert other_desc is not desc and other_desc.info == desc.info
    assert conn.service_state is state
    assert await svcs.describe(h, CONTACTS) is desc  # still cached on the first connection
