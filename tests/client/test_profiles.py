"""Each DevicePolicy setting against the virtual device imitating a device that really behaves
that way (``wpd serve --profile``, over PTP/IP on 127.0.0.1), with the setting and without it;
and the client's fallbacks against the profiles that need them."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from client_support import TrapLink, open_trap_link

from openwpd import Cancelled, ResponseError, SessionReset
from openwpd.client import Connection, DevicePolicy, Entry, open_connection
from openwpd.client.wire import Link
from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.errors import ConnectError
from openwpd.protocol.profiles import profile_named
from openwpd.protocol.transaction import Timeouts
from openwpd.server.context import OperationContext
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.server.registry import HANDLERS, Registration
from openwpd.server.session import DeviceSession

MiB = 1024 * 1024
_O = OperationCode

Serve = Callable[[str | None], Awaitable[int]]


@pytest.fixture
async def serve(served: Path, tmp_path: Path) -> AsyncIterator[Serve]:
    """``port = await serve("android")``: the virtual device imitating a profile."""
    devices: list[VirtualDevice] = []

    async def start(profile: str | None) -> int:
        dev = VirtualDevice(
            [StorageSpec(served, "Phone")],
            state_dir=tmp_path / f"state-{len(devices)}",
            profile=profile_named(profile) if profile else None,
        )
        devices.append(dev)
        _, port = await dev.serve("127.0.0.1", 0)
        return port

    yield start
    for dev in devices:
        await dev.aclose()


def _url(port: int) -> str:
    return f"ptpip://127.0.0.1:{port}"


@asynccontextmanager
async def _open(port: int, **kwargs: object) -> AsyncIterator[Connection]:
    async with open_connection(_url(port), client_name="pytest", **kwargs) as conn:  # type: ignore[arg-type]
        yield conn


# -- the profile reaches the client by itself -------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "matched"),
    [
        ("android", ("android",)),
        ("samsung", ("android", "samsung")),
        ("umtprd", ("android", "umtprd")),
        ("ptp-camera", ()),
        (None, ("openwpd",)),
    ],
)
async def test_each_imitation_is_recognised_by_the_client(
    serve: Serve, profile: str | None, matched: tuple[str, ...]
) -> None:
    port = await serve(profile)
    async with _open(port) as conn:
        assert conn.policy.profiles == matched


# -- root_parent_move_copy ----------------------------------------------------------------------


@pytest.mark.parametrize("op", ["move", "copy"])
async def test_move_copy_to_a_storage_root_send_the_profiles_root_parent(
    serve: Serve, served: Path, op: str
) -> None:
    (served / "sub").mkdir()
    (served / "sub" / "a.txt").write_bytes(b"a")
    port = await serve("android")
    # without the setting (the protocol's 0xFFFFFFFF): Android names no such folder
    async with _open(port, policy=DevicePolicy()) as conn, conn.open_handle() as h:
        with pytest.raises(ResponseError) as info:
            await getattr(h, op)("/Phone/sub/a.txt", "/Phone")
        assert info.value.code == ResponseCode.INVALID_PARENT_OBJECT
    assert not (served / "a.txt").exists()
    async with _open(port) as conn, conn.open_handle() as h:
        assert conn.policy.root_parent_move_copy == 0
        entry = await getattr(h, op)("/Phone/sub/a.txt", "/Phone")
        assert entry.path == "/Phone/a.txt"
    assert (served / "a.txt").read_bytes() == b"a"
    assert (served / "sub" / "a.txt").exists() is (op == "copy")


# -- disabled_operations (umtprd: GetObjectPropList ignores Depth) -------------------------------


async def test_umtprd_lists_without_its_broken_prop_list(serve: Serve, served: Path) -> None:
    (served / "d").mkdir()
    for name in ("x.txt", "y.txt"):
        (served / "d" / name).write_bytes(b"1")
    port = await serve("umtprd")
    async with _open(port) as conn, conn.open_handle() as h:
        assert _O.GET_OBJECT_PROP_LIST in conn.policy.disabled_operations
        assert not conn.policy.prop_list
        assert sorted([e.name async for e in h.list("/Phone/d")]) == ["x.txt", "y.txt"]
        folder = await h.resolve("/Phone/d")
    # without the setting listings go wrong: a folder's children come back as the folder's own
    # properties, and the root (no object) is refused
    async with _open(port, policy=DevicePolicy()) as conn, conn.open_handle() as h:
        assert conn.policy.prop_list
        assert [e.name async for e in h.list(folder)] == ["d"]
        with pytest.raises(ResponseError):
            [e async for e in h.list("/Phone")]


async def test_umtprd_imitation_refuses_what_the_real_one_refuses(serve: Serve) -> None:
    """What the client never does with umtprd (an all-storage listing stalls it; DeviceInfo
    outside a session is refused): the imitation does it, the client works regardless."""
    port = await serve("umtprd")
    link, _ = await _raw_link(port)
    try:
        from openwpd.client.wire import TransactionRunner

        runner = TransactionRunner(link, timeouts=Timeouts(response=0.5, cancel_budget=0.5))
        res = await runner.transact(_O.GET_DEVICE_INFO)
        assert res.code == ResponseCode.SESSION_NOT_OPEN
        assert (await runner.transact(_O.OPEN_SESSION, (1,))).code == ResponseCode.OK
        assert (await runner.transact(_O.GET_DEVICE_INFO)).code == ResponseCode.OK
        with pytest.raises(Exception):  # noqa: B017 - never answered: a timeout of some kind
            await runner.transact(_O.GET_OBJECT_HANDLES, (ALL, 0, ALL))
    finally:
        await link.aclose()
    async with _open(port) as conn, conn.open_handle() as h:
        await h.upload(io.BytesIO(b"hi"), "/Phone", name="hi.txt")
        assert [e.name async for e in h.list("/Phone")] == ["hi.txt"]


async def _raw_link(port: int) -> tuple[Link, object]:
    from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

    return await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "raw")
    )


# -- cancel_in_flight_safe (Android wedges on a cancel during a data phase) ----------------------


async def _cancel_mid_download(
    port: int, served: Path, tmp_path: Path, policy: DevicePolicy | None
) -> Connection:
    """Start a 64 MiB download in one 32 MiB window at a time, cancel it while the first window
    arrives; return the (closed) connection for inspection."""
    (served / "big.bin").write_bytes(os.urandom(64 * MiB))
    trap = await open_trap_link(port)

    async def again() -> Link:
        return await open_trap_link(port)

    dest = tmp_path / "dl"
    dest.mkdir(exist_ok=True)
    async with open_connection(
        trap,
        policy=policy,
        reconnect=again,
        timeouts=Timeouts(response=5, cancel_budget=0.5),
    ) as conn:
        h = conn.open_handle()
        entry = await h.resolve("/Phone/big.bin")
        assert isinstance(entry, Entry)
        cancels: list[asyncio.Task[None]] = []
        trap.arm(3, lambda: cancels.append(asyncio.ensure_future(h.cancel())))
        async with asyncio.timeout(20):
            with pytest.raises((Cancelled, SessionReset)):
                await h.download(entry, dest / "big.bin")
            await asyncio.gather(*cancels)
        assert trap.fired
        assert os.listdir(dest) == []
        # the connection still works (after a reset or not)
        assert [s.description for s in await conn.open_handle().storages()] == ["Phone"]
    return conn


WINDOWS = {"window": 32 * MiB, "solo_window": 32 * MiB}


async def test_android_cancel_lets_the_window_finish(
    serve: Serve, served: Path, tmp_path: Path
) -> None:
    port = await serve("android")
    policy = DevicePolicy(cancel_in_flight_safe=False, root_parent_move_copy=0, **WINDOWS)  # type: ignore[arg-type]
    conn = await _cancel_mid_download(port, served, tmp_path, policy)
    assert conn.generation == 0  # no reset: the device never saw a cancel it could choke on


async def test_android_cancel_on_the_wire_wedges_the_phone(
    serve: Serve, served: Path, tmp_path: Path
) -> None:
    port = await serve("android")
    conn = await _cancel_mid_download(port, served, tmp_path, DevicePolicy(**WINDOWS))  # type: ignore[arg-type]
    assert conn.generation == 1  # the device stopped answering: the session had to be reset


# -- recovery: applied to every link the connection makes -----------------------------------------


class RecordingLink(TrapLink):
    """A link that, like a USB one, would reset the device unless told otherwise; records the
    steps of every recovery."""

    def __init__(self, inner: TrapLink, log: list[tuple[str, ...]]) -> None:
        super().__init__(inner.inner)
        self.recovery = ("device-reset", "usb-reset")
        self._log = log

    async def recover(self, steps: Sequence[str] | None = None) -> str | None:
        self._log.append(tuple(self.recovery if steps is None else steps))
        return None


def _hanging(monkeypatch: pytest.MonkeyPatch, code: OperationCode) -> None:
    async def hang(ctx: OperationContext) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setitem(HANDLERS, code, Registration(code, hang, False, True))
    monkeypatch.setattr(DeviceSession, "_on_cancel", lambda self, tid: None)


async def test_a_policy_without_device_reset_never_resets_even_after_a_reconnect(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await serve(None)
    _hanging(monkeypatch, _O.GET_NUM_OBJECTS)
    steps: list[tuple[str, ...]] = []

    async def new_link() -> Link:
        return RecordingLink(await open_trap_link(port), steps)

    timeouts = Timeouts(response=0.3, cancel_budget=0.3)
    policy = DevicePolicy(recovery=())  # e.g. a Pixel: a Device Reset kills its MtpServer
    async with open_connection(
        await new_link(), policy=policy, reconnect=new_link, timeouts=timeouts
    ) as conn:
        h = conn.open_handle()
        for generation in (1, 2):
            with pytest.raises(SessionReset):
                await h.execute(_O.GET_NUM_OBJECTS, (ALL,))
            assert conn.generation == generation
    assert steps == [(), ()]


# -- reopen_delays ------------------------------------------------------------------------------


async def _reopen(port: int, delays: tuple[float, ...], monkeypatch: pytest.MonkeyPatch) -> bool:
    """A device that is away for a moment after a failed recovery (the first reopen finds no
    listener): does the connection come back?"""
    _hanging(monkeypatch, _O.GET_NUM_OBJECTS)
    closed = await _closed_port()
    attempts = 0

    async def new_link() -> Link:
        nonlocal attempts
        attempts += 1
        if attempts == 1:  # the device is still restarting: nobody listens
            link, _ = await _raw_link(closed)
            return link
        return await open_trap_link(port)

    timeouts = Timeouts(response=0.3, cancel_budget=0.3)
    policy = DevicePolicy(reopen_delays=delays)
    async with open_connection(
        await open_trap_link(port), policy=policy, reconnect=new_link, timeouts=timeouts
    ) as conn:
        h = conn.open_handle()
        with pytest.raises(SessionReset):
            await h.execute(_O.GET_NUM_OBJECTS, (ALL,))
        return conn.broken is None


async def _closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


async def test_reopen_delays_give_a_restarting_device_time(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await serve(None)
    assert await _reopen(port, (0.05,), monkeypatch)


async def test_without_reopen_delays_one_failed_reopen_is_final(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await serve(None)
    with pytest.raises(ConnectError):
        await _raw_link(await _closed_port())
    assert not await _reopen(port, (), monkeypatch)


# -- the client's fallbacks against the profiles that need them --------------------------------


@pytest.mark.parametrize("profile", ["android", "samsung", "umtprd", "ptp-camera"])
async def test_files_round_trip_on_every_profile(
    serve: Serve, served: Path, tmp_path: Path, profile: str
) -> None:
    (served / "DCIM").mkdir()
    data = os.urandom(3 * MiB + 5)
    (served / "DCIM" / "IMG_0001.JPG").write_bytes(data)
    (served / "DCIM" / "IMG_0001.CR2").write_bytes(data[::-1])
    port = await serve(profile)
    async with _open(port, policy=None) as conn, conn.open_handle() as h:
        expected_read = {
            "android": _O.GET_PARTIAL_OBJECT_64,
            "samsung": _O.GET_PARTIAL_OBJECT,  # no 64-bit operations
            "umtprd": _O.GET_PARTIAL_OBJECT_64,
            "ptp-camera": _O.GET_PARTIAL_OBJECT,
        }[profile]
        assert conn.policy.partial_read == expected_read
        assert conn.policy.prop_list is (profile in ("android", "samsung"))
        assert conn.policy.windowed_upload is (profile != "ptp-camera")  # no edit operations
        assert not conn.policy.send_prop_list
        names = sorted([e.name async for e in h.list("/Phone/DCIM")])
        assert names == ["IMG_0001.CR2", "IMG_0001.JPG"]
        folder = await h.resolve("/Phone/DCIM")
        assert folder.is_folder
        await h.download("/Phone/DCIM/IMG_0001.JPG", tmp_path / "a.jpg")
        assert (tmp_path / "a.jpg").read_bytes() == data
        await h.upload(io.BytesIO(data), "/Phone", name="up.bin")
        assert (served / "up.bin").read_bytes() == data
        if profile == "ptp-camera":  # no Move/Copy on a camera: a clear refusal, nothing moved
            with pytest.raises(ResponseError) as info:
                await h.move("/Phone/up.bin", "/Phone/DCIM")
            assert info.value.code == ResponseCode.OPERATION_NOT_SUPPORTED
            assert (served / "up.bin").exists()
        else:
            await h.move("/Phone/up.bin", "/Phone/DCIM")
            await h.move("/Phone/DCIM/up.bin", "/Phone")
            assert (served / "up.bin").exists()


async def test_android_prop_list_by_group_falls_back_to_every_property(
    serve: Serve, served: Path
) -> None:
    (served / "f.txt").write_bytes(b"x")
    port = await serve("android")
    link, _ = await _raw_link(port)
    try:
        from openwpd.client.wire import TransactionRunner

        runner = TransactionRunner(link, timeouts=Timeouts())
        await runner.transact(_O.OPEN_SESSION, (1,))
        by_group = await runner.transact(_O.GET_OBJECT_PROP_LIST, (0, 0, 0, 1, 1))
        assert by_group.code == ResponseCode.SPECIFICATION_BY_GROUP_UNSUPPORTED
        deep = await runner.transact(_O.GET_OBJECT_PROP_LIST, (0, 0, ALL, 0, 2))
        assert deep.code == ResponseCode.SPECIFICATION_BY_DEPTH_UNSUPPORTED
        whole = await runner.transact(_O.GET_OBJECT_HANDLES, (ALL, 0, 0))
        assert whole.code == ResponseCode.OK
    finally:
        await link.aclose()
    async with _open(port) as conn, conn.open_handle() as h:
        assert [e.name async for e in h.list("/Phone")] == ["f.txt"]
        assert [e.name async for e in h.list("/Phone")] == ["f.txt"]  # the choice is kept
