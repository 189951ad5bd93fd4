"""GetObjectPropList of a 50,000-file folder against the virtual device over loopback PTP/IP.

Prints, for all properties and for group 1 ("listing essentials"), the time of a cold listing
(the store scans the folder and the encoded blocks are built) and of a warm one (cached
blocks), each end to end: operation sent, list received and parsed into elements.

    .venv/bin/python bench/bench_proplist.py [NFILES]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.datasets import iter_prop_list, parse_uint32_array
from openwpd.server import objprops
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link


async def _connect(port: int) -> TransactionRunner:
    link, _ = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "bench")
    )
    runner = TransactionRunner(link)
    assert (await runner.transact(OperationCode.OPEN_SESSION, (1,))).code == ResponseCode.OK
    return runner


async def _list(runner: TransactionRunner, handle: int, code: int, group: int) -> float:
    start = time.perf_counter()
    res = await runner.transact(OperationCode.GET_OBJECT_PROP_LIST, (handle, 0, code, group, 1))
    assert res.code == ResponseCode.OK, hex(res.code)
    received = time.perf_counter() - start
    n = sum(1 for _ in iter_prop_list(Reader(res.data)))
    elapsed = time.perf_counter() - start
    print(
        f"    {n} elements, {len(res.data) / 1e6:.1f} MB: received in {received:.3f} s, "
        f"parsed (generic iter_prop_list) {elapsed:.3f} s"
    )
    return elapsed


async def main(nfiles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "served"
        big = served / "big"
        big.mkdir(parents=True)
        for i in range(nfiles):
            (big / f"IMG_{i:05d}.jpg").write_bytes(b"x" * (i % 7))
        for code, group, what in ((ALL, 0, "all properties"), (0, 1, "group 1")):
            objprops._date_at.cache_clear()  # each device caches its own blocks; dates too
            device = VirtualDevice(
                [StorageSpec(served, "Phone")], state_dir=Path(tmp) / f"state{group}", watch=False
            )
            _, port = await device.serve("127.0.0.1", 0)
            runner = await _connect(port)
            try:
                res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (ALL, 0, ALL))
                (folder,) = parse_uint32_array(res.data)
                print(f"{what}, {nfiles} files:")
                print("  cold (folder scanned, blocks built):")
                await _list(runner, folder, code, group)
                print("  warm:")
                await _list(runner, folder, code, group)
            finally:
                await runner.aclose()
                await device.aclose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
