"""IPortableDeviceServiceMethods against the virtual device: invoke, invoke_async, and the
cancels -- targeted by callback, of the whole service handle, from another thread -- with the
device handle's transfers untouched."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from services_support import BIG, DeviceThread, open_service, populate, wait_until

from openwpd.wpd import (
    E_INVALIDARG,
    E_WPD_SERVICE_NOT_OPEN,
    ERROR_NOT_FOUND,
    HRESULT_CANCELLED,
    HRESULT_FROM_WIN32,
    S_OK,
    STGM_READ,
    WPD_RESOURCE_DEFAULT,
    PortableDevice,
    PortableDeviceValues,
    WpdError,
)
from openwpd.wpd import service_keys as sk
from openwpd.wpd.services import PortableDeviceService

NOT_FOUND = HRESULT_FROM_WIN32(ERROR_NOT_FOUND)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DeviceThread]:
    root = tmp_path / "served"
    populate(root)
    device = DeviceThread(root, tmp_path / "state")
    try:
        yield device
    finally:
        device.close()


@pytest.fixture
def diagnostics(dev: DeviceThread) -> Iterator[PortableDeviceService]:
    service = open_service(dev.url, sk.SERVICE_OpenwpdDiagnostics)
    try:
        yield service
    finally:
        service.close()


def echo(text: str) -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[sk.PKEY_OpenwpdDiagnostics_EchoText] = text
    return params


def sleep(ms: int) -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[sk.PKEY_OpenwpdDiagnostics_SleepMilliseconds] = ms
    return params


def hash_of(object_id: str, algorithm: str | None = None) -> PortableDeviceValues:
    params = PortableDeviceValues()
    params[sk.PKEY_OpenwpdDiagnostics_HashObject] = object_id
    if algorithm is not None:
        params[sk.PKEY_OpenwpdDiagnostics_HashAlgorithm] = algorithm
    return params


class Completion:
    """An IPortableDeviceServiceMethodCallback: one per invocation."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.hresult: int | None = None
        self.results: PortableDeviceValues | None = None
        self.thread: threading.Thread | None = None

    def on_complete(self, hresult: int, results: PortableDeviceValues) -> None:
        self.hresult, self.results = hresult, results
        self.thread = threading.current_thread()
        self.done.set()


def object_id(dev: DeviceThread, name: str) -> str:
    return f"o{dev.handle_of(name):X}"


def test_invoke(diagnostics: PortableDeviceService, dev: DeviceThread) -> None:
    methods = diagnostics.methods()
    results = methods.invoke(sk.METHOD_OpenwpdDiagnostics_Echo, echo("héllo"))
    assert dict(results.items()) == {sk.PKEY_OpenwpdDiagnostics_EchoResult: "héllo"}
    assert len(methods.invoke(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(1))) == 0
    data = (dev.root / "small.bin").read_bytes()
    digest = methods.invoke(
        sk.METHOD_OpenwpdDiagnostics_HashObject, hash_of(object_id(dev, "small.bin"), "sha1")
    )
    assert digest[sk.PKEY_OpenwpdDiagnostics_HashDigest] == hashlib.sha1(data).hexdigest()
    assert dev.method_objects() == 0
    # failures: the method's (an object that is not there), the device's (a value outside the
    # form), ours (no such method, not a parameter of it, a value that does not fit)
    with pytest.raises(WpdError) as err:
        methods.invoke(sk.METHOD_OpenwpdDiagnostics_HashObject, hash_of("oFFFFFF"))
    assert err.value.hresult == NOT_FOUND
    with pytest.raises(WpdError) as err:
        methods.invoke(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(700_000))
    assert err.value.hresult == E_INVALIDARG
    for method, params in (
        (sk.METHOD_FullEnumSyncSvc_BeginSync, None),
        ("Echo", None),
        (sk.METHOD_OpenwpdDiagnostics_Echo, sleep(1)),
        (sk.METHOD_OpenwpdDiagnostics_Echo, "text"),
        (sk.METHOD_OpenwpdDiagnostics_HashObject, hash_of("DEVICE")),
        (sk.METHOD_OpenwpdDiagnostics_Sleep, echo("x")),
    ):
        with pytest.raises(WpdError) as err:
            methods.invoke(method, params)  # type: ignore[arg-type]
        assert err.value.hresult == E_INVALIDARG
    bad_value = PortableDeviceValues()
    bad_value[sk.PKEY_OpenwpdDiagnostics_SleepMilliseconds] = "ten"
    with pytest.raises(WpdError) as err:
        methods.invoke(sk.METHOD_OpenwpdDiagnostics_Sleep, bad_value)
    assert err.value.hresult == E_INVALIDARG


def test_invoke_async(diagnostics: PortableDeviceService, dev: DeviceThread) -> None:
    methods = diagnostics.methods()
    first, second = Completion(), Completion()
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("one"), first)
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("two"), second)
    assert first.done.wait(10) and second.done.wait(10)
    assert first.hresult == S_OK and second.hresult == S_OK
    assert first.results is not None and second.results is not None
    assert first.results[sk.PKEY_OpenwpdDiagnostics_EchoResult] == "one"
    assert second.results[sk.PKEY_OpenwpdDiagnostics_EchoResult] == "two"
    assert first.thread is not threading.current_thread()
    # a plain callable, a failing method, no callback at all
    seen: list[tuple[int, int]] = []
    got = threading.Event()

    def callback(hresult: int, results: PortableDeviceValues) -> None:
        seen.append((hresult, len(results)))
        got.set()

    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_HashObject, hash_of("oFFFFFF"), callback)
    assert got.wait(10) and seen == [(NOT_FOUND, 0)]
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("nobody"))
    assert wait_until(lambda: dev.method_objects() == 0)
    # a callback that raises does not stop the next one
    boom = threading.Event()

    def raising(hresult: int, results: PortableDeviceValues) -> None:
        boom.set()
        raise RuntimeError("callback failure")

    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("a"), raising)
    after = Completion()
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("b"), after)
    assert boom.wait(10) and after.done.wait(10) and after.hresult == S_OK
    with pytest.raises(WpdError) as err:
        methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("x"), object())
    assert err.value.hresult == E_INVALIDARG


def test_targeted_cancel_of_a_2gib_hash(
    diagnostics: PortableDeviceService, dev: DeviceThread
) -> None:
    """invoke_async(HashObject of a 2 GiB object), then methods.cancel(callback): on_complete
    gets 0x800704C7, the method stops on the device, another invocation goes on, and a later
    invoke works."""
    methods = diagnostics.methods()
    big = object_id(dev, "big.bin")
    assert (dev.root / "big.bin").stat().st_size == BIG
    target, bystander = Completion(), Completion()
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_HashObject, hash_of(big), target)
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(300), bystander)
    assert wait_until(lambda: dev.method_objects() == 2)
    started = time.monotonic()
    methods.cancel(target)
    assert target.done.wait(10)
    assert target.hresult == HRESULT_CANCELLED
    assert target.results is not None and len(target.results) == 0
    assert time.monotonic() - started < 1.0  # far less than hashing 2 GiB takes
    assert bystander.done.wait(10) and bystander.hresult == S_OK  # not targeted
    assert wait_until(lambda: dev.method_objects() == 0)
    results = methods.invoke(sk.METHOD_OpenwpdDiagnostics_Echo, echo("later"))
    assert results[sk.PKEY_OpenwpdDiagnostics_EchoResult] == "later"
    methods.cancel(target)  # nothing pending for it any more: a no-op


def test_cancel_none_cancels_every_invocation(
    diagnostics: PortableDeviceService, dev: DeviceThread
) -> None:
    methods = diagnostics.methods()
    shared = Completion()
    calls: list[int] = []

    def counting(hresult: int, results: PortableDeviceValues) -> None:
        calls.append(hresult)

    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), counting)
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), counting)
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), shared)
    blocked: list[BaseException] = []

    def blocking() -> None:
        try:
            methods.invoke(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000))
        except WpdError as exc:
            blocked.append(exc)

    thread = threading.Thread(target=blocking)
    thread.start()
    assert wait_until(lambda: dev.method_objects() == 4)
    methods.cancel(counting)  # one callback used twice: both invocations
    assert wait_until(lambda: calls == [HRESULT_CANCELLED, HRESULT_CANCELLED])
    assert not shared.done.is_set() and thread.is_alive()
    methods.cancel()  # None: the rest, the synchronous one included
    thread.join(10)
    assert shared.done.wait(10) and shared.hresult == HRESULT_CANCELLED
    assert len(blocked) == 1 and isinstance(blocked[0], WpdError) and blocked[0].cancelled
    assert wait_until(lambda: dev.method_objects() == 0)


def test_service_cancel_from_another_thread_stops_a_blocked_invoke(
    diagnostics: PortableDeviceService, dev: DeviceThread
) -> None:
    """service.cancel() from another thread while invoke(Sleep(10 s)) blocks: it raises
    0x800704C7 within 100 ms."""
    methods = diagnostics.methods()
    cancelled_at: list[float] = []

    def cancel_later() -> None:
        wait_until(lambda: dev.method_objects() == 1)
        cancelled_at.append(time.monotonic())
        diagnostics.cancel()

    thread = threading.Thread(target=cancel_later)
    thread.start()
    with pytest.raises(WpdError) as err:
        methods.invoke(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000))
    raised_at = time.monotonic()
    thread.join(10)
    assert err.value.hresult == HRESULT_CANCELLED
    assert raised_at - cancelled_at[0] < 0.1
    assert wait_until(lambda: dev.method_objects() == 0)  # stopped on the device
    results = methods.invoke(sk.METHOD_OpenwpdDiagnostics_Echo, echo("after"))
    assert results[sk.PKEY_OpenwpdDiagnostics_EchoResult] == "after"


def test_service_cancel_spares_a_device_download(
    diagnostics: PortableDeviceService, dev: DeviceThread
) -> None:
    """service.cancel() while the device handle downloads: the download completes intact; the
    service's own invocation is cancelled."""
    device = PortableDevice()
    device.open(dev.url)
    try:
        big = object_id(dev, "big.bin")
        size = 256 << 20
        done: list[bytes] = []
        started = threading.Event()

        def download() -> None:
            resources = device.content().transfer()
            stream, optimal = resources.get_stream(big, WPD_RESOURCE_DEFAULT, STGM_READ)
            digest = hashlib.sha256()
            got = 0
            with stream:
                while got < size:
                    chunk = stream.read(min(optimal, size - got))
                    if not chunk:
                        break
                    started.set()
                    digest.update(chunk)
                    got += len(chunk)
            done.append(digest.digest() if got == size else b"short")

        reader = threading.Thread(target=download)
        reader.start()
        pending = Completion()
        diagnostics.methods().invoke_async(
            sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), pending
        )
        assert started.wait(10)
        diagnostics.cancel()
        assert pending.done.wait(10) and pending.hresult == HRESULT_CANCELLED
        reader.join(120)
        assert done == [hashlib.sha256(bytes(size)).digest()]
    finally:
        device.close()


def test_facet_cancel_reaches_invocations(
    diagnostics: PortableDeviceService, dev: DeviceThread
) -> None:
    """The cancel of any object of the service handle is the handle's cancel."""
    pending = Completion()
    diagnostics.methods().invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), pending)
    assert wait_until(lambda: dev.method_objects() == 1)
    diagnostics.content().transfer().cancel()  # a facet of the WPD device layer
    assert pending.done.wait(10) and pending.hresult == HRESULT_CANCELLED
    assert wait_until(lambda: dev.method_objects() == 0)


def test_close_cancels_and_later_calls_fail(dev: DeviceThread) -> None:
    service = open_service(dev.url, sk.SERVICE_OpenwpdDiagnostics)
    methods = service.methods()
    pending = Completion()
    methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Sleep, sleep(10_000), pending)
    assert wait_until(lambda: dev.method_objects() == 1)
    service.close()
    assert pending.done.wait(10) and pending.hresult == HRESULT_CANCELLED
    assert wait_until(lambda: dev.method_objects() == 0)
    for call in (
        lambda: methods.invoke(sk.METHOD_OpenwpdDiagnostics_Echo, echo("x")),
        lambda: methods.invoke_async(sk.METHOD_OpenwpdDiagnostics_Echo, echo("x")),
        methods.cancel,
    ):
        with pytest.raises(WpdError) as err:
            call()
        assert err.value.hresult == E_WPD_SERVICE_NOT_OPEN
