"""Sixteen initiators at once, each with its own session, doing mixed work on one device:
uploads, downloads checked by SHA-256 (their own files and shared ones), listings, and deletes of
their own files. Every result is checked, and so is the folder on disk at the end."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import (
    ALL,
    AssociationType,
    ObjectFormatCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import ObjectInfo, parse_uint32_array
from openwpd.server.device import VirtualDevice
from support import connect

PHONE = 0x00010001
SESSIONS = 16
ROUNDS = 3


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def names_in(runner: TransactionRunner, parent: int) -> dict[str, int]:
    res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (PHONE, 0, parent))
    assert res.code == ResponseCode.OK
    names: dict[str, int] = {}
    for handle in parse_uint32_array(res.data):
        info = await runner.transact(OperationCode.GET_OBJECT_INFO, (handle,))
        if info.code == ResponseCode.OK:  # another session may have deleted it meanwhile
            names[ObjectInfo.from_bytes(info.data).filename] = handle
        else:
            assert info.code == ResponseCode.INVALID_OBJECT_HANDLE
    return names


async def worker(
    index: int, port: int, shared: dict[str, bytes], shared_handles: dict[str, int]
) -> dict[str, bytes]:
    """One initiator's mixed work; returns the files it left on the device."""
    rng = random.Random(index)
    runner = await connect(port, name=f"worker-{index}")
    kept: dict[str, bytes] = {}
    try:
        folder_info = ObjectInfo(
            object_format=ObjectFormatCode.ASSOCIATION,
            association_type=AssociationType.GENERIC_FOLDER,
            filename=f"w{index:02d}",
        )
        res = await runner.transact(
            OperationCode.SEND_OBJECT_INFO, (PHONE, ALL), data=folder_info.to_bytes()
        )
        assert res.code == ResponseCode.OK, hex(res.code)
        folder = res.params[2]
        for round_ in range(ROUNDS):
            # upload two files of random sizes into our folder
            mine: dict[str, tuple[bytes, int]] = {}
            for k in range(2):
                name = f"r{round_}-{k}.bin"
                data = os.urandom(rng.choice((0, 1, 1000, 300_000, 1_500_000)))
                info = ObjectInfo(compressed_size=len(data), filename=name)
                res = await runner.transact(
                    OperationCode.SEND_OBJECT_INFO, (PHONE, folder), data=info.to_bytes()
                )
                assert res.code == ResponseCode.OK, hex(res.code)
                handle = res.params[2]
                res = await runner.transact(OperationCode.SEND_OBJECT, data=data)
                assert res.code == ResponseCode.OK, hex(res.code)
                mine[name] = (data, handle)
            # read them back
            for name, (data, handle) in mine.items():
                res = await runner.transact(OperationCode.GET_OBJECT, (handle,))
                assert res.code == ResponseCode.OK
                assert sha(res.data) == sha(data), name
            # a shared file, whole and in part
            name = rng.choice(sorted(shared))
            res = await runner.transact(OperationCode.GET_OBJECT, (shared_handles[name],))
            assert sha(res.data) == sha(shared[name])
            offset = rng.randrange(len(shared[name]))
            res = await runner.transact(
                OperationCode.GET_PARTIAL_OBJECT, (shared_handles[name], offset, 65536)
            )
            assert res.data == shared[name][offset : offset + 65536]
            assert res.params == (len(res.data),)
            # listings: our folder holds exactly what we put there; the root has the shared files
            listing = await names_in(runner, folder)
            assert set(listing) == set(kept) | set(mine)
            root = await names_in(runner, ALL)
            assert set(shared) <= set(root)
            # delete one of this round's files, keep the other
            doomed, survivor = sorted(mine)
            res = await runner.transact(OperationCode.DELETE_OBJECT, (mine[doomed][1],))
            assert res.code == ResponseCode.OK
            res = await runner.transact(OperationCode.GET_OBJECT_INFO, (mine[doomed][1],))
            assert res.code == ResponseCode.INVALID_OBJECT_HANDLE
            kept[survivor] = mine[survivor][0]
        return kept
    finally:
        await runner.aclose()


async def test_sixteen_sessions_at_once(device: tuple[VirtualDevice, int], served: Path) -> None:
    dev, port = device
    shared = {f"shared-{i}.bin": os.urandom(200_000 + 77 * i) for i in range(4)}
    for name, data in shared.items():
        (served / name).write_bytes(data)
    probe = await connect(port)
    try:
        shared_handles = {
            name: handle for name, handle in (await names_in(probe, ALL)).items() if name in shared
        }
    finally:
        await probe.aclose()
    assert set(shared_handles) == set(shared)

    results = await asyncio.gather(
        *(worker(i, port, shared, shared_handles) for i in range(SESSIONS))
    )

    # the disk holds exactly the shared files and each worker's survivors, byte for byte
    expected = set(shared)
    for index, kept in enumerate(results):
        expected.add(f"w{index:02d}")
        expected.update(f"w{index:02d}/{name}" for name in kept)
        for name, data in kept.items():
            assert (served / f"w{index:02d}" / name).read_bytes() == data
    on_disk = set()
    for dirpath, dirnames, filenames in os.walk(served):
        for name in dirnames + filenames:
            on_disk.add(os.path.relpath(os.path.join(dirpath, name), served))
    assert on_disk == expected
    for name, data in shared.items():
        assert (served / name).read_bytes() == data
    async with asyncio.timeout(10):
        while dev.sessions:
            await asyncio.sleep(0.01)
