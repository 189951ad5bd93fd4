"""Many handles on one session: interleaving, isolation of cancels, events while busy."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
from pathlib import Path

from client_support import Connect, sha256_file, tree

from openwpd import Cancelled
from openwpd.client import Entry, Quirks

MiB = 1024 * 1024


async def test_two_handles_transfer_at_once_and_one_is_cancelled(
    connect: Connect, served: Path, tmp_path: Path
) -> None:
    a_data, b_data = os.urandom(48 * MiB), os.urandom(40 * MiB)
    (served / "a.bin").write_bytes(a_data)
    local_b = tmp_path / "b.bin"
    local_b.write_bytes(b_data)
    async with connect(quirks=Quirks(window=1 * MiB)) as conn:
        ha, hb, hc = conn.open_handle(), conn.open_handle(), conn.open_handle()
        a = await ha.resolve("/Phone/a.bin")
        assert isinstance(a, Entry)
        order: list[str] = []

        def note(who: str) -> object:
            return lambda done, total: order.append(who)

        down = asyncio.create_task(ha.download(a, tmp_path / "a.out", progress=note("a")))
        up = asyncio.create_task(hb.upload(local_b, "/Phone", progress=note("b")))
        copy = asyncio.create_task(hc.download(a, tmp_path / "c.out", progress=note("c")))
        while order.count("a") < 20:
            await asyncio.sleep(0.001)
        await ha.cancel()
        try:
            await down
        except Cancelled:
            pass
        else:
            raise AssertionError("the cancelled download completed")
        entry = await up
        await copy
        # both other transfers went on and are byte-identical
        assert sha256_file(served / "b.bin") == hashlib.sha256(b_data).hexdigest()
        assert entry.size == len(b_data)
        assert sha256_file(tmp_path / "c.out") == hashlib.sha256(a_data).hexdigest()
        assert not (tmp_path / "a.out").exists()
        assert not [n for n in os.listdir(tmp_path) if "openwpd" in n]
        # round robin: while the three ran, each got turns in between the others'
        first_b, last_a = order.index("b"), len(order) - 1 - order[::-1].index("a")
        assert first_b < last_a
        assert "c" in order[: order.index("b") + 50]
        # the cancelled handle works again afterwards
        assert await ha.read(a, 10, 5) == a_data[10:15]
        assert conn.generation == 0


async def test_cancel_fails_only_the_handles_queued_operations(
    connect: Connect, served: Path
) -> None:
    (served / "big.bin").write_bytes(os.urandom(32 * MiB))
    async with connect(quirks=Quirks(window=1 * MiB)) as conn:
        h1, h2 = conn.open_handle(), conn.open_handle()
        big = await h1.resolve("/Phone/big.bin")
        assert isinstance(big, Entry)
        h1_ops = [asyncio.create_task(h1.read(big)) for _ in range(3)]
        h2_ops = [asyncio.create_task(h2.read(big, 0, 2 * MiB)) for _ in range(3)]
        await asyncio.sleep(0.01)
        await h1.cancel()
        results = await asyncio.gather(*h1_ops, return_exceptions=True)
        assert all(isinstance(r, Cancelled) for r in results), results
        assert all(r.hresult == 0x800704C7 for r in results if isinstance(r, Cancelled))
        for task in h2_ops:
            assert len(await task) == 2 * MiB
        # operations started after the cancel run normally
        assert len(await h1.read(big, 0, 100)) == 100


async def test_targeted_cancel_leaves_the_handles_other_operations(
    connect: Connect, served: Path
) -> None:
    (served / "big.bin").write_bytes(os.urandom(16 * MiB))
    async with connect(quirks=Quirks(window=1 * MiB)) as conn:
        h = conn.open_handle()
        big = await h.resolve("/Phone/big.bin")
        assert isinstance(big, Entry)
        victim = asyncio.create_task(h.read(big))
        other = asyncio.create_task(h.read(big))
        await asyncio.sleep(0.005)
        victim.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await victim
        assert len(await other) == 16 * MiB


async def test_events_arrive_during_a_long_transfer(
    connect: Connect, served: Path, tmp_path: Path
) -> None:
    (served / "big.bin").write_bytes(os.urandom(64 * MiB))
    async with connect(quirks=Quirks(window=4 * MiB)) as conn, connect() as other:
        h = conn.open_handle()
        stream = h.events()
        big = await h.resolve("/Phone/big.bin")
        assert isinstance(big, Entry)
        transfer = asyncio.create_task(h.download(big, io.BytesIO()))
        o = other.open_handle()
        added = await o.mkdir("/Phone", "new")
        async with asyncio.timeout(10):
            async for event in stream:
                if added.handle in event.params:
                    break
        await transfer
        assert tree(served) == {"big.bin", "new"}
