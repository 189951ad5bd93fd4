"""Benchmarks of the virtual device, served by ``wpd serve`` in its own process exactly as a user
runs it, and driven over loopback TCP by the transaction runner. A benchmark prints figures; it
is not a test (see bench/README.md).

1. listing: a folder of 50,000 files, listed with GetObjectPropList depth 1 (one transaction)
   when the device advertises it, and with GetObjectHandles + one GetObjectInfo per file (what
   an initiator without 0x9805 does); cold (first listing of the folder by a fresh device
   process), and for GetObjectPropList warm as well (again, same session).
2. throughput: GetObject of a 1 GiB file through the device, against a raw loopback TCP copy of
   the same file's bytes (a separate process reading it in 1 MiB chunks and ``sendall``-ing
   them) measured in the same run; MB/s of both and their ratio.

Usage: ``.venv/bin/python bench/bench_server.py [listing|throughput ...]`` (default: both).
Environment: ``OPENWPD_BENCH_FILES`` (default 50000), ``OPENWPD_BENCH_MIB`` (default 1024),
``OPENWPD_BENCH_DIR`` (where the temporary folders go; default /dev/shm when writable, else the
system temp dir).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, iter_prop_list, parse_uint32_array
from openwpd.protocol.transaction import Timeouts
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

FILES = int(os.environ.get("OPENWPD_BENCH_FILES", "50000"))
MIB = 1 << 20
SIZE = int(os.environ.get("OPENWPD_BENCH_MIB", "1024")) * MIB
#: tmpfs when there is one: creating 50,000 files on this kind of virtual disk takes a minute by
#: itself, and neither benchmark is meant to measure the disk
BASE = os.environ.get("OPENWPD_BENCH_DIR") or (
    "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
)
STORAGE = 0x00010001
#: GetObjectPropList p3: every property the device supports (MTP 1.1).
ALL_PROPS = 0xFFFFFFFF
READ_SIZE = 1024 * 1024  # the most a PtpIpLink connection asks for per read; so does the baseline


# -- the device, as a user runs it --------------------------------------------------------------


@contextmanager
def wpd_serve(folder: Path, state: Path) -> Iterator[int]:
    """``wpd serve FOLDER:Bench --port 0`` in a subprocess; yields its port; SIGTERM at the end."""
    script = Path(sys.executable).parent / "wpd"
    proc = subprocess.Popen(
        [str(script), "serve", f"{folder}:Bench", "--port", "0", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"serving ptpip://[^:]+:(\d+)", line)
        if match is None:
            raise SystemExit(f"wpd serve did not start: {line!r}")
        yield int(match.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def session(port: int) -> TransactionRunner:
    link, _ = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "bench")
    )
    # a 50,000-object listing can take a while before its data starts: no response timeout
    runner = TransactionRunner(link, timeouts=Timeouts(response=None))
    res = await runner.transact(OperationCode.OPEN_SESSION, (1,))
    assert res.code == ResponseCode.OK
    return runner


async def ok(runner: TransactionRunner, code: int, params: tuple[int, ...] = ()) -> bytes:
    res = await runner.transact(code, params)
    if res.code != ResponseCode.OK:
        raise SystemExit(f"0x{code:04X} {params} failed: 0x{res.code:04X}")
    return res.data


async def find(runner: TransactionRunner, name: str) -> int:
    for handle in parse_uint32_array(
        await ok(runner, OperationCode.GET_OBJECT_HANDLES, (STORAGE, 0, ALL))
    ):
        info = ObjectInfo.from_bytes(await ok(runner, OperationCode.GET_OBJECT_INFO, (handle,)))
        if info.filename == name:
            return handle
    raise SystemExit(f"{name} not found on the device")


def timed(label: str, seconds: float, count: int, unit: str = "objects") -> None:
    print(f"  {label:<44} {seconds:8.3f} s  {count / seconds:12,.0f} {unit}/s")


# -- 1. listing -------------------------------------------------------------------------------


def make_folder(root: Path, count: int) -> Path:
    folder = root / "served" / "many"
    folder.mkdir(parents=True)
    for i in range(count):
        # empty files: the listing is what is measured, not the disk
        with open(folder / f"IMG_{i:06d}.jpg", "wb"):
            pass
    return folder.parent


async def list_with_prop_list(port: int) -> None:
    runner = await session(port)
    try:
        supported = DeviceInfo.from_bytes(await ok(runner, OperationCode.GET_DEVICE_INFO))
        if OperationCode.GET_OBJECT_PROP_LIST not in supported.operations_supported:
            print("  GetObjectPropList (0x9805) is not in OperationsSupported: skipped")
            return
        folder = await find(runner, "many")
        for phase in ("cold", "warm"):
            start = time.perf_counter()
            data = await ok(
                runner, OperationCode.GET_OBJECT_PROP_LIST, (folder, 0, ALL_PROPS, 0, 1)
            )
            elapsed = time.perf_counter() - start
            handles = set()
            elements = 0
            for element in iter_prop_list(Reader(data)):
                handles.add(element.handle)
                elements += 1
            assert len(handles) == FILES, len(handles)
            timed(f"GetObjectPropList depth 1, {phase}", elapsed, FILES)
            print(f"  {'':<44} {elements:,} elements, {len(data) / MIB:.1f} MiB of data")
    finally:
        await runner.aclose()


async def list_with_object_info(port: int) -> None:
    runner = await session(port)
    try:
        folder = await find(runner, "many")
        # one pass only: 50,000 round trips take long enough without a warm repeat
        for phase in ("cold",):
            start = time.perf_counter()
            handles = parse_uint32_array(
                await ok(runner, OperationCode.GET_OBJECT_HANDLES, (STORAGE, 0, folder))
            )
            names = set()
            for handle in handles:
                info = await ok(runner, OperationCode.GET_OBJECT_INFO, (handle,))
                names.add(ObjectInfo.from_bytes(info).filename)
            elapsed = time.perf_counter() - start
            assert len(names) == FILES, len(names)
            timed(f"GetObjectHandles + {FILES:,} GetObjectInfo, {phase}", elapsed, FILES)
    finally:
        await runner.aclose()


def bench_listing() -> None:
    print(f"listing a folder of {FILES:,} files (device in its own process, loopback TCP)")
    with tempfile.TemporaryDirectory(dir=BASE) as tmp:
        start = time.perf_counter()
        served = make_folder(Path(tmp), FILES)
        print(f"  (created the folder in {time.perf_counter() - start:.1f} s)")
        # a fresh device process (same state dir) for each method, so both start cold
        with wpd_serve(served, Path(tmp) / "state") as port:
            asyncio.run(list_with_prop_list(port))
        with wpd_serve(served, Path(tmp) / "state") as port:
            asyncio.run(list_with_object_info(port))


# -- 2. throughput ----------------------------------------------------------------------------


def make_big_file(folder: Path, size: int) -> Path:
    """``size`` bytes of random data (a sparse file would read back zeros from no disk at all,
    flattering both sides equally, but random data keeps the page cache honest)."""
    path = folder / "big.bin"
    chunk = os.urandom(16 * MIB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
    return path


def _raw_sender(path: str, port_out: multiprocessing.SimpleQueue[int]) -> None:
    """The baseline: accept one connection, send the file's bytes in 1 MiB reads."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port_out.put(server.getsockname()[1])
        conn, _ = server.accept()
        with conn, open(path, "rb") as f:
            while chunk := f.read(MIB):
                conn.sendall(chunk)


async def raw_copy(path: Path, size: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.SimpleQueue[int] = ctx.SimpleQueue()
    sender = ctx.Process(target=_raw_sender, args=(str(path), queue))
    sender.start()
    try:
        port = await asyncio.to_thread(queue.get)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = 0
        start = time.perf_counter()
        while data := await reader.read(READ_SIZE):
            got += len(data)
        elapsed = time.perf_counter() - start
        writer.close()
        assert got == size, got
        return elapsed
    finally:
        sender.join(30)


async def device_copy(port: int, size: int) -> float:
    runner = await session(port)
    try:
        handle = await find(runner, "big.bin")
        got = 0

        def sink(chunk: bytes) -> None:
            nonlocal got
            got += len(chunk)

        start = time.perf_counter()
        res = await runner.transact(OperationCode.GET_OBJECT, (handle,), sink=sink)
        elapsed = time.perf_counter() - start
        assert res.code == ResponseCode.OK and got == size, (res.code, got)
        return elapsed
    finally:
        await runner.aclose()


def bench_throughput() -> None:
    print(f"GetObject of a {SIZE / MIB:,.0f} MiB file vs a raw loopback socket copy")
    with tempfile.TemporaryDirectory(dir=BASE) as tmp:
        served = Path(tmp) / "served"
        served.mkdir()
        path = make_big_file(served, SIZE)
        with open(path, "rb") as f:  # warm the page cache for both contenders
            while f.read(16 * MIB):
                pass
        raw = asyncio.run(raw_copy(path, SIZE))
        with wpd_serve(served, Path(tmp) / "state") as port:
            dev = asyncio.run(device_copy(port, SIZE))
        raw_rate, dev_rate = SIZE / raw / 1e6, SIZE / dev / 1e6
        print(f"  {'raw loopback socket':<44} {raw:8.3f} s  {raw_rate:10,.0f} MB/s")
        print(f"  {'GetObject through wpd serve':<44} {dev:8.3f} s  {dev_rate:10,.0f} MB/s")
        print(f"  ratio device / raw: {dev_rate / raw_rate:.2f}")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "listing": bench_listing,
    "throughput": bench_throughput,
}


def main(argv: list[str]) -> None:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    for name in names:
        start = time.perf_counter()
        BENCHMARKS[name]()
        print(f"  ({name}: {time.perf_counter() - start:.1f} s in all)\n")


if __name__ == "__main__":
    main(sys.argv[1:])
