"""``wpd serve``: the virtual MTP device over PTP/IP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openwpd.server.device import StorageSpec, VirtualDevice

if TYPE_CHECKING:
    from openwpd.transport.functionfs import FunctionFsGadget


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
@click.option(
    "--usb",
    is_flag=True,
    help="Serve over USB instead, as this machine's USB gadget (see `wpd gadget up`).",
)
@click.option(
    "--ffs-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="With --usb: the FunctionFS folder (default: the one `wpd gadget up` mounts).",
)
@click.option("--gadget", "gadget_name", default=None, help="With --usb: the gadget to bind.")
@click.option("--ptpip", is_flag=True, help="With --usb: serve PTP/IP beside it.")
@click.option("-v", "--verbose", count=True, help="Log every operation (-vv: protocol detail).")
def serve(
    dirs: tuple[str, ...],
    host: str,
    port: int,
    name: str,
    allow_guids: tuple[str, ...],
    state_dir: Path | None,
    samples: bool,
    usb: bool,
    ffs_dir: Path | None,
    gadget_name: str | None,
    ptpip: bool,
    verbose: int,
) -> None:
    """Serve folders as an MTP device over PTP/IP (or USB with --usb).

    Each DIR becomes a storage; DIR:NAME names it, DIR:ro (or DIR:NAME:ro) makes it read-only.
    The first line printed is "serving ptpip://HOST:PORT" ("serving usb ..." with --usb, which
    writes the USB descriptors to FunctionFS and connects the gadget to the host). Ctrl-C or
    SIGTERM stops cleanly.
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
    usb_options = _UsbOptions(usb, ffs_dir, gadget_name, ptpip)
    if usb:
        _check_usb(usb_options)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(specs, host, port, name, guids, state_dir, verbose > 0, usb_options))


@dataclass(frozen=True, slots=True)
class _UsbOptions:
    usb: bool = False
    ffs_dir: Path | None = None
    gadget: str | None = None
    ptpip: bool = False

    @property
    def folder(self) -> Path:
        from openwpd.transport import configfs

        return self.ffs_dir or configfs.DEFAULT_FFS_DIR


def _check_usb(options: _UsbOptions) -> None:
    """Before anything starts: one line saying what is missing for --usb."""
    from openwpd.cli._core import CliError, ExitCode
    from openwpd.transport import configfs

    if not (options.folder / "ep0").exists():
        problem = configfs.missing() if options.ffs_dir is None else None
        raise CliError(
            problem or f"no FunctionFS at {options.folder}",
            ExitCode.NO_DEVICE,
            hint=None if problem else "run `wpd gadget up` first (as root)",
        )


async def _serve(
    specs: list[StorageSpec],
    host: str,
    port: int,
    name: str,
    guids: list[bytes] | None,
    state_dir: Path | None,
    verbose: bool,
    usb: _UsbOptions | None = None,
) -> None:
    device = VirtualDevice(specs, friendly_name=name, state_dir=state_dir, verbose=verbose)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    usb = usb or _UsbOptions()
    gadget = None
    try:
        if usb.usb:
            gadget = await _serve_usb(device, usb)
        if not usb.usb or usb.ptpip:
            try:
                real_host, real_port = await device.serve(host, port, allowed_guids=guids)
            except OSError as exc:
                raise click.ClickException(
                    f"cannot listen on {host}:{port}: {exc.strerror}"
                ) from None
            click.echo(f"serving ptpip://{real_host}:{real_port}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if gadget is not None:
            await gadget.aclose()
        await device.aclose()


async def _serve_usb(device: VirtualDevice, usb: _UsbOptions) -> FunctionFsGadget:
    """Write the USB descriptors to FunctionFS, then connect the gadget to the host."""
    from openwpd.cli._core import CliError, ExitCode
    from openwpd.protocol.errors import ConnectError
    from openwpd.transport import configfs
    from openwpd.transport.functionfs import FunctionFsGadget

    device.start_watching()
    gadget = FunctionFsGadget(usb.folder, lambda link: device.serve_link(link, "USB host"))
    try:
        await gadget.start()
        name = usb.gadget or configfs.DEFAULT_NAME
        udc = None
        if (configfs.GADGETS / name).is_dir():
            udc = await asyncio.to_thread(configfs.bind, name)
    except ConnectError as exc:
        await gadget.aclose()
        raise CliError(str(exc), ExitCode.NO_DEVICE) from None
    where = f"on {udc}" if udc else "(bind the gadget to a UDC to connect it)"
    click.echo(f"serving usb {where} through {usb.folder}")
    return gadget
