"""``wpd serve``: the virtual MTP device over PTP/IP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import uuid
from pathlib import Path

import click

from openwpd.server.device import StorageSpec, VirtualDevice


def _parse_guid(text: str) -> bytes:
    cleaned = text.replace(":", "").replace("-", "").strip()
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        try:
            raw = uuid.UUID(text).bytes_le
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a 16-byte GUID") from None
    return raw


@click.command()
@click.argument("dirs", nargs=-1, required=True, metavar="DIR[:NAME][:ro]...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=15740, show_default=True, type=int, help="TCP port (0: any free).")
@click.option(
    "--name",
    default="openwpd virtual device",
    show_default=True,
    help="The device's friendly name.",
)
@click.option(
    "--allow-guid",
    "allow_guids",
    multiple=True,
    metavar="GUID",
    help="Only these initiators may connect (repeatable; hex, colons allowed).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the device keeps its state (default: the user's state directory).",
)
@click.option(
    "--samples",
    is_flag=True,
    help="First fill each DIR with generated sample content (photos, music, documents, "
    "contacts, calendar).",
)
@click.option("-v", "--verbose", count=True, help="Log every operation (-vv: protocol detail).")
def serve(
    dirs: tuple[str, ...],
    host: str,
    port: int,
    name: str,
    allow_guids: tuple[str, ...],
    state_dir: Path | None,
    samples: bool,
    verbose: int,
) -> None:
    """Serve folders as an MTP device over PTP/IP.

    Each DIR becomes a storage; DIR:NAME names it, DIR:ro (or DIR:NAME:ro) makes it read-only.
    The first line printed is "serving ptpip://HOST:PORT". Ctrl-C or SIGTERM stops cleanly.
    """
    specs = [StorageSpec.parse(d) for d in dirs]
    if samples:
        from openwpd.server.samples import make_samples

        for spec in specs:
            make_samples(spec.path)
    for spec in specs:
        if not spec.path.is_dir():
            raise click.BadParameter(f"{spec.path} is not a folder", param_hint="DIR")
    level = logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", stream=sys.stderr)
    guids = [_parse_guid(g) for g in allow_guids] or None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(specs, host, port, name, guids, state_dir, verbose > 0))


async def _serve(
    specs: list[StorageSpec],
    host: str,
    port: int,
    name: str,
    guids: list[bytes] | None,
    state_dir: Path | None,
    verbose: bool,
) -> None:
    device = VirtualDevice(specs, friendly_name=name, state_dir=state_dir, verbose=verbose)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        real_host, real_port = await device.serve(host, port, allowed_guids=guids)
    except OSError as exc:
        await device.aclose()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"serving ptpip://{real_host}:{real_port}")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await device.aclose()
