"""Cancel as WPD defines it: a handle's cancel() stops every pending operation of that handle --
in other threads too -- with 0x800704C7, leaves the other handles on the same device (and the same
MTP session) alone, and leaves the handle usable.

Slow device operations are made deterministic by wrapping the virtual device's handler for one
operation with a delay that a protocol-level cancel interrupts (the session cancels the handler's
task), switched off again once the cancel is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wpd_support import ThreadedDevice, client_info

import openwpd.wpd as w
from openwpd.protocol.codes import OperationCode
from openwpd.server.registry import HANDLERS, Registration
from openwpd.wpd import errors as e
from openwpd.wpd import keys as k
from openwpd.wpd.values import PortableDeviceValues, PortableDeviceValuesCollection

GIB = 1 << 30
MID = 24 * 1024 * 1024
STORAGE = "s10001"
CANCELLED = 0x800704C7
#: How long a cancelled call may take to return after cancel() was called.
QUICKLY = 5.0


class Slow:
    """Delays the device's handling of ``code`` while ``active`` (when ``when(params)``)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        code: OperationCode,
        when: Callable[[tuple[int, ...]], bool],
    ) -> None:
        self.active = threading.Event()
        self.active.set()
        self.entered = threading.Event()
        original = HANDLERS[code]

        async def slow(ctx):  # type: ignore[no-untyped-def]
            params = tuple(ctx.p(i) for i in range(1, 6))
            if self.active.is_set() and when(params):
                self.entered.set()
                for _ in range(600):
                    if not self.active.is_set():
                        break
                    await asyncio.sleep(0.05)
            return await original.handler(ctx)

        monkeypatch.setitem(
            HANDLERS, code, Registration(code, slow, original.data_out, original.needs_session)
        )


@pytest.fixture
def pair(vdev: ThreadedDevice) -> Iterator[tuple[w.PortableDevice, w.PortableDevice]]:
    """Two handles (one per thread, as WPD recommends) on the same device."""
    h1, h2 = w.PortableDevice(), w.PortableDevice()
    h1.open(vdev.url, client_info("h1"))
    h2.open(vdev.url, client_info("h2"))
    assert h1.handle.shared is h2.handle.shared  # one MTP session
    try:
        yield h1, h2
    finally:
        h1.close()
        h2.close()


def child(device: w.PortableDevice, parent: str, name: str) -> str:
    content = device.content()
    for object_id in content.enum_objects(parent):
        if (
            content.properties().get_values(object_id, [k.WPD_OBJECT_NAME])[k.WPD_OBJECT_NAME]
            == name
        ):
            return object_id
    raise LookupError(name)


def read_all(device: w.PortableDevice, object_id: str) -> str:
    stream, optimal = (
        device.content().transfer().get_stream(object_id, k.WPD_RESOURCE_DEFAULT, w.STGM_READ)
    )
    digest = hashlib.sha256()
    with stream:
        while chunk := stream.read(optimal):
            digest.update(chunk)
    return digest.hexdigest()


class Worker(threading.Thread):
    """Runs ``job`` and keeps its result or exception, and when it ended."""

    def __init__(self, job: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.job = job
        self.result: object = None
        self.error: BaseException | None = None
        self.ended = 0.0

    def run(self) -> None:
        try:
            self.result = self.job()
        except BaseException as exc:
            self.error = exc
        self.ended = time.monotonic()

    def cancelled(self) -> bool:
        return isinstance(self.error, w.WpdError) and self.error.hresult == CANCELLED


def transfers_until(device: w.PortableDevice, object_id: str, stop: threading.Event) -> list[str]:
    """B: download ``object_id`` again and again until ``stop`` (at least once)."""
    digests = [read_all(device, object_id)]
    while not stop.is_set():
        digests.append(read_all(device, object_id))
    return digests


def wait(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def files(vdev: ThreadedDevice) -> dict[str, object]:
    with open(vdev.root / "big.bin", "wb") as f:
        f.truncate(GIB)  # sparse
    mid = os.urandom(MID)
    (vdev.root / "mid.bin").write_bytes(mid)
    (vdev.root / "small.txt").write_text("small")
    return {"mid": hashlib.sha256(mid).hexdigest()}


def check_usable(h1: w.PortableDevice, vdev: ThreadedDevice) -> None:
    """After a cancel the handle works again."""
    values = h1.content().properties().get_values("DEVICE")
    assert values[k.WPD_DEVICE_MODEL] == "Virtual MTP Device"
    small = child(h1, STORAGE, "small.txt")
    assert read_all(h1, small) == hashlib.sha256(b"small").hexdigest()


def test_cancel_stream_read(
    vdev: ThreadedDevice, pair: tuple[w.PortableDevice, w.PortableDevice], files: dict[str, object]
) -> None:
    h1, h2 = pair
    big, mid = child(h1, STORAGE, "big.bin"), child(h2, STORAGE, "mid.bin")
    read = [0]

    def read_big() -> None:
        stream, optimal = (
            h1.content().transfer().get_stream(big, k.WPD_RESOURCE_DEFAULT, w.STGM_READ)
        )
        with stream:
            while chunk := stream.read(optimal):
                read[0] += len(chunk)

    stop = threading.Event()
    a = Worker(read_big)
    b = Worker(lambda: transfers_until(h2, mid, stop))
    a.start()
    b.start()
    wait(lambda: read[0] >= 16 * 1024 * 1024)
    started = time.monotonic()
    h1.cancel()  # thread C (this one)
    a.join(QUICKLY)
    assert not a.is_alive() and a.cancelled(), a.error
    assert a.ended - started < QUICKLY
    assert read[0] < GIB
    stop.set()
    b.join(60)
    assert b.error is None and b.result and all(d == files["mid"] for d in b.result)  # type: ignore[attr-defined]
    check_usable(h1, vdev)


def test_cancel_enumeration(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h1, h2 = pair
    (vdev.root / "Many").mkdir()
    for i in range(50):
        (vdev.root / "Many" / f"{i}.txt").write_text(str(i))
    many, mid = child(h1, STORAGE, "Many"), child(h2, STORAGE, "mid.bin")
    slow = Slow(monkeypatch, OperationCode.GET_OBJECT_PROP_LIST, lambda p: p[4] == 1)
    enum = h1.content().enum_objects(many)
    a = Worker(lambda: enum.next(1000))
    a.start()
    assert slow.entered.wait(10)  # A's listing is on the wire, the device is busy with it
    b = Worker(lambda: read_all(h2, mid))  # queued behind A's transaction
    b.start()
    started = time.monotonic()
    h1.cancel()
    a.join(QUICKLY)
    assert a.cancelled(), a.error
    assert a.ended - started < QUICKLY
    b.join(60)
    assert b.result == files["mid"]
    with pytest.raises(w.WpdError) as info:
        enum.next(10)  # the enumeration context was torn down
    assert info.value.hresult == CANCELLED
    slow.active.clear()
    enum.reset()
    assert len(list(enum)) == 50  # reset starts it again
    assert len(list(h1.content().enum_objects(many))) == 50
    check_usable(h1, vdev)


def test_cancel_get_values(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h1, h2 = pair
    small, mid = child(h1, STORAGE, "small.txt"), child(h2, STORAGE, "mid.bin")
    slow = Slow(monkeypatch, OperationCode.GET_OBJECT_PROP_LIST, lambda p: p[4] == 0)
    a = Worker(lambda: h1.content().properties().get_values(small))
    a.start()
    assert slow.entered.wait(10)
    b = Worker(lambda: read_all(h2, mid))
    b.start()
    started = time.monotonic()
    h1.content().properties().cancel()  # the facet's cancel is the handle's cancel
    a.join(QUICKLY)
    assert a.cancelled(), a.error
    assert a.ended - started < QUICKLY
    b.join(60)
    assert b.result == files["mid"]
    slow.active.clear()
    assert h1.content().properties().get_values(small)[k.WPD_OBJECT_NAME] == "small.txt"
    check_usable(h1, vdev)


class BulkRecorder:
    def __init__(self) -> None:
        self.ended: list[int] = []
        self.done = threading.Event()

    def on_end(self, context: uuid.UUID, hresult: int) -> None:
        self.ended.append(hresult)
        self.done.set()


def test_cancel_bulk(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h1, h2 = pair
    ids = list(h1.content().enum_objects(STORAGE))
    mid = child(h2, STORAGE, "mid.bin")
    slow = Slow(monkeypatch, OperationCode.GET_OBJECT_PROP_LIST, lambda p: p[4] == 0)
    bulk = h1.content().properties().bulk()
    recorder = BulkRecorder()
    context = bulk.queue_get_values_by_object_list(ids, None, recorder)
    bulk.start(context)
    assert slow.entered.wait(10)
    b = Worker(lambda: read_all(h2, mid))
    b.start()
    started = time.monotonic()
    h1.cancel()
    assert recorder.done.wait(QUICKLY) and recorder.ended == [CANCELLED]
    assert time.monotonic() - started < QUICKLY
    b.join(60)
    assert b.result == files["mid"]
    slow.active.clear()
    check_usable(h1, vdev)


def test_targeted_bulk_cancel_leaves_the_handle_alone(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h1, _h2 = pair
    ids = list(h1.content().enum_objects(STORAGE))
    mid = child(h1, STORAGE, "mid.bin")
    slow = Slow(monkeypatch, OperationCode.GET_OBJECT_PROP_LIST, lambda p: p[4] == 0)
    bulk = h1.content().properties().bulk()
    recorder = BulkRecorder()
    context = bulk.queue_get_values_by_object_list(ids, None, recorder)
    bulk.start(context)
    assert slow.entered.wait(10)
    same_handle = Worker(lambda: read_all(h1, mid))  # another operation of the same handle
    same_handle.start()
    bulk.cancel(context)  # targeted: only the bulk operation
    assert recorder.done.wait(QUICKLY) and recorder.ended == [CANCELLED]
    same_handle.join(60)
    assert same_handle.result == files["mid"], same_handle.error
    slow.active.clear()


def test_cancel_write_stream_commit(
    vdev: ThreadedDevice, pair: tuple[w.PortableDevice, w.PortableDevice], files: dict[str, object]
) -> None:
    h1, h2 = pair
    mid = child(h2, STORAGE, "mid.bin")
    before = sorted(p.name for p in vdev.root.iterdir())
    values = PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "huge.bin"})
    values[k.WPD_OBJECT_SIZE] = GIB
    stream, _ = h1.content().create_object_with_properties_and_data(values)
    stream.seek(GIB - 1)
    stream.write(b"\x01")  # a sparse 1 GiB spool
    committing = threading.Event()

    def commit() -> None:
        committing.set()
        stream.commit()

    a = Worker(commit)
    stop = threading.Event()
    b = Worker(lambda: transfers_until(h2, mid, stop))
    a.start()
    b.start()
    assert committing.wait(10)
    wait(lambda: any(p.name not in before for p in vdev.root.iterdir()) or not a.is_alive())
    time.sleep(0.3)  # the upload is under way
    assert a.is_alive()
    started = time.monotonic()
    h1.cancel()
    a.join(QUICKLY)
    assert a.cancelled(), a.error
    assert a.ended - started < QUICKLY
    stop.set()
    b.join(60)
    assert b.error is None and all(d == files["mid"] for d in b.result)  # type: ignore[attr-defined]
    with pytest.raises(w.WpdError) as info:
        stream.commit()  # torn down: only revert/close are left
    assert info.value.hresult == CANCELLED
    stream.revert()
    stream.close()
    wait(lambda: sorted(p.name for p in vdev.root.iterdir()) == before)  # nothing left
    check_usable(h1, vdev)


def test_cancel_tears_down_open_write_streams(
    vdev: ThreadedDevice, pair: tuple[w.PortableDevice, w.PortableDevice], files: dict[str, object]
) -> None:
    h1, h2 = pair
    before = sorted(p.name for p in vdev.root.iterdir())
    values = PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "w.bin"})
    stream, optimal = h1.content().create_object_with_properties_and_data(values)
    other, _ = h2.content().create_object_with_properties_and_data(
        PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "h2.bin"})
    )
    written = [0]

    def writer() -> None:
        while True:
            stream.write(b"x" * optimal)
            written[0] += 1

    a = Worker(writer)
    a.start()
    wait(lambda: written[0] > 3)
    h1.cancel()
    a.join(QUICKLY)
    assert a.cancelled(), a.error
    stream.revert()
    stream.close()
    other.write(b"h2 is not affected")
    other.commit()
    other.close()
    assert (vdev.root / "h2.bin").read_bytes() == b"h2 is not affected"
    assert sorted(p.name for p in vdev.root.iterdir()) == sorted([*before, "h2.bin"])
    check_usable(h1, vdev)


def test_cancel_send_command(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openwpd.wpd import commands as c

    h1, h2 = pair
    slow = Slow(monkeypatch, OperationCode.GET_NUM_OBJECTS, lambda p: True)
    params = PortableDeviceValues()
    params[c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = (
        c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE.fmtid
    )
    params[c.WPD_PROPERTY_COMMON_COMMAND_ID] = (
        c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE.pid
    )
    params[c.WPD_PROPERTY_MTP_EXT_OPERATION_CODE] = OperationCode.GET_NUM_OBJECTS
    a = Worker(lambda: h1.send_command(params))
    a.start()
    assert slow.entered.wait(10)
    started = time.monotonic()
    h1.cancel()  # SendCommand has no timeout: Cancel from another thread is the way out
    a.join(QUICKLY)
    assert a.cancelled(), a.error
    assert a.ended - started < QUICKLY
    slow.active.clear()
    done = h1.send_command(params)
    assert done.get_error_value(c.WPD_PROPERTY_COMMON_HRESULT) == e.S_OK
    assert read_all(h2, child(h2, STORAGE, "mid.bin")) == files["mid"]


def test_cancel_waits_only_for_its_own_operations(
    vdev: ThreadedDevice, pair: tuple[w.PortableDevice, w.PortableDevice], files: dict[str, object]
) -> None:
    """Cancelling a handle with nothing pending while the other handle transfers is a no-op for
    both."""
    h1, h2 = pair
    mid = child(h2, STORAGE, "mid.bin")
    b = Worker(lambda: read_all(h2, mid))
    b.start()
    h1.cancel()
    h1.cancel()
    b.join(60)
    assert b.result == files["mid"]
    check_usable(h1, vdev)


def test_bulk_set_is_cancelled_too(
    vdev: ThreadedDevice,
    pair: tuple[w.PortableDevice, w.PortableDevice],
    files: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h1, _h2 = pair
    small = child(h1, STORAGE, "small.txt")
    slow = Slow(monkeypatch, OperationCode.SET_OBJECT_PROP_VALUE, lambda p: True)
    items = PortableDeviceValuesCollection(
        [PortableDeviceValues({k.WPD_OBJECT_ID: small, k.WPD_OBJECT_NAME: "renamed.txt"})]
    )
    recorder = BulkRecorder()
    bulk = h1.content().properties().bulk()
    context = bulk.queue_set_values_by_object_list(items, recorder)
    bulk.start(context)
    assert slow.entered.wait(10)
    h1.cancel()
    assert recorder.done.wait(QUICKLY) and recorder.ended == [CANCELLED]
    slow.active.clear()
    assert (vdev.root / "small.txt").exists()


def test_cancel_on_closed_handle(vdev: ThreadedDevice, tmp_path: Path) -> None:
    device = w.PortableDevice()
    device.open(vdev.url, client_info())
    stream, _ = device.content().create_object_with_properties_and_data(
        PortableDeviceValues({k.WPD_OBJECT_PARENT_ID: STORAGE, k.WPD_OBJECT_NAME: "x"})
    )
    device.close()
    with pytest.raises(w.WpdError) as info:
        stream.cancel()
    assert info.value.hresult == e.E_WPD_DEVICE_NOT_OPEN
    with pytest.raises(w.WpdError) as info:
        stream.write(b"x")
    assert info.value.hresult == e.E_WPD_DEVICE_NOT_OPEN
    stream.close()
