"""``wpd tour``: a guided walk through openwpd against the built-in virtual device.

It starts the virtual device in-process on an ephemeral loopback port over a temporary folder of
sample content, talks to it over real PTP/IP, and shows each step. (This first tour drives the
wire-level engine directly; it grows with the client and WPD layers.)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import ObjectFormatCode, OperationCode, ResponseCode, describe
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, StorageInfo, parse_uint32_array
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link

BIG = 256 * 1024 * 1024


def _make_samples(root: Path) -> None:
    (root / "DCIM" / "Camera").mkdir(parents=True)
    (root / "Music").mkdir()
    (root / "Documents").mkdir()
    for i in range(3):
        (root / "DCIM" / "Camera" / f"IMG_{i:04d}.jpg").write_bytes(os.urandom(200_000 + i))
    (root / "Music" / "Überlied 🎵.mp3").write_bytes(os.urandom(300_000))
    (root / "Documents" / "notes.txt").write_text("openwpd tour\n", encoding="utf-8")
    with open(root / "Documents" / "big.bin", "wb") as f:
        f.truncate(BIG)  # sparse: costs no disk, reads as zeros


@click.command()
def tour() -> None:
    """Walk through openwpd against the built-in virtual device (what `make run` runs)."""
    asyncio.run(_tour(Console()))


async def _tour(con: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="openwpd-tour-") as tmp:
        root = Path(tmp) / "Phone"
        root.mkdir()
        _make_samples(root)
        device = VirtualDevice(
            [StorageSpec(root, "Internal storage")],
            friendly_name="openwpd tour device",
            state_dir=Path(tmp) / "state",
        )
        host, port = await device.serve("127.0.0.1", 0)
        con.rule("[bold]openwpd tour")
        con.print(
            f"1. A virtual MTP device serves [cyan]{root}[/] at [green]ptpip://{host}:{port}[/]"
        )
        try:
            await _walk(con, port, root)
        finally:
            await device.aclose()
        con.rule("[bold]next")
        con.print("Serve your own folder:  [bold]wpd serve ~/Pictures:Photos[/]")
        con.print("Then, from another terminal, any PTP/IP initiator works, e.g. gphoto2:")
        con.print('  gphoto2 --camera "PTP/IP Camera" --port ptpip:127.0.0.1:15740 --list-files')


async def _walk(con: Console, port: int, root: Path) -> None:
    link, ack = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "wpd tour")
    )
    runner = TransactionRunner(link)
    try:
        con.print(f"2. Connected over PTP/IP to [bold]{ack.friendly_name}[/]")
        await runner.transact(OperationCode.OPEN_SESSION, (1,))
        info = DeviceInfo.from_bytes((await runner.transact(OperationCode.GET_DEVICE_INFO)).data)
        con.print(
            f"3. DeviceInfo: {info.manufacturer} {info.model} {info.device_version}, "
            f"serial {info.serial_number}, {len(info.operations_supported)} operations"
        )
        ids = parse_uint32_array((await runner.transact(OperationCode.GET_STORAGE_IDS)).data)
        for sid in ids:
            res = await runner.transact(OperationCode.GET_STORAGE_INFO, (sid,))
            st = StorageInfo.from_bytes(res.data)
            con.print(
                f"4. Storage 0x{sid:08X} [bold]{st.storage_description}[/]: "
                f"{st.free_space_in_bytes / 1e9:.1f} GB free of {st.max_capacity / 1e9:.1f} GB"
            )
        table = Table(title="5. The content tree (GetObjectHandles + GetObjectInfo)")
        for col in ("handle", "path", "size", "format"):
            table.add_column(col)
        big_handle = 0
        big_size = 0

        async def walk(parent: int, prefix: str) -> None:
            nonlocal big_handle, big_size
            res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (ids[0], 0, parent))
            for handle in parse_uint32_array(res.data):
                oi = ObjectInfo.from_bytes(
                    (await runner.transact(OperationCode.GET_OBJECT_INFO, (handle,))).data
                )
                folder = oi.object_format == ObjectFormatCode.ASSOCIATION
                size = oi.compressed_size
                table.add_row(
                    f"0x{handle:X}",
                    f"{prefix}/{oi.filename}" + ("/" if folder else ""),
                    "" if folder else f"{size:,}",
                    describe(ObjectFormatCode, oi.object_format),
                )
                if oi.filename == "big.bin":
                    big_handle, big_size = handle, size
                if folder:
                    await walk(handle, f"{prefix}/{oi.filename}")

        await walk(0xFFFFFFFF, "")
        con.print(table)

        con.print(f"6. Download {big_size / 2**20:.0f} MiB, and cancel it on the wire mid-way")
        received = 0
        halfway = asyncio.Event()

        def sink(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)
            if received >= big_size // 4:
                halfway.set()

        task = asyncio.create_task(
            runner.transact(OperationCode.GET_OBJECT, (big_handle,), sink=sink)
        )
        await halfway.wait()
        t0 = time.perf_counter()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            ms = (time.perf_counter() - t0) * 1000
            con.print(
                f"   cancelled after {received / 2**20:.0f} MiB: Cancel sent on both PTP/IP "
                f"connections, the device answered TransactionCancelled, {ms:.1f} ms"
            )
        res = await runner.transact(OperationCode.GET_PARTIAL_OBJECT, (big_handle, 0, 1 << 20))
        digest = hashlib.sha256(res.data).hexdigest()[:16]
        ok = res.code == ResponseCode.OK and res.data == bytes(1 << 20)
        con.print(
            f"7. The same session keeps working: GetPartialObject read {len(res.data):,} bytes "
            f"(sha256 {digest}…) {'[green]OK' if ok else '[red]WRONG'}"
        )
        await runner.transact(OperationCode.CLOSE_SESSION)
        con.print("8. Session closed.")
    finally:
        await runner.aclose()
