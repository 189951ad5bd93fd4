"""``wpd serve``: the virtual MTP device over PTP/IP."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openwpd.protocol.profiles import imitated_profiles, profile_named
from openwpd.server.context import MtpError
from openwpd.server.device import StorageSpec, VirtualDevice, check_storage_specs
from openwpd.server.store.state import default_state_dir

from ._core import CliError, ExitCode

#: the file in the state directory a running ``wpd serve`` holds locked (see _lock_state_dir)
LOCK_NAME = "serve.lock"

if TYPE_CHECKING:
    from openwpd.transport.dnssd import Advertiser
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
@click.option(
    "--profile",
    type=click.Choice(imitated_profiles()),
    default=None,
    help="Behave like a family of real devices (what it advertises, refuses and answers); "
    "docs/profiles.md says what each changes.",
)
@click.option(
    "--camera",
    is_flag=True,
    help="Be a still camera too: capture operations and camera settings (SIGUSR1 presses "
    "the shutter on the device).",
)
@click.option(
    "--allow-format",
    is_flag=True,
    help="Offer FormatStore: an initiator may then empty a writable storage's folder "
    "(only what it serves; off by default).",
)
@click.option(
    "--no-advertise",
    is_flag=True,
    envvar="OPENWPD_NO_ADVERTISE",
    help="Do not announce the device by DNS-SD (_ptp._tcp) on the interfaces it listens on "
    "(also $OPENWPD_NO_ADVERTISE=1).",
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
    usb: bool,
    ffs_dir: Path | None,
    gadget_name: str | None,
    ptpip: bool,
    profile: str | None,
    camera: bool,
    allow_format: bool,
    no_advertise: bool,
    verbose: int,
) -> None:
    """Serve folders as an MTP device over PTP/IP (or USB with --usb).

    Each DIR becomes a storage; DIR:NAME names it, DIR:ro (or DIR:NAME:ro) makes it read-only.
    Storages must have different names and folders that do not overlap. The first line
    printed is "serving ptpip://HOST:PORT" ("serving usb ..." with --usb, which writes the USB
    descriptors to FunctionFS and connects the gadget to the host). Ctrl-C or SIGTERM stops
    cleanly.

    The device's identity (GUID, serial number) and object IDs live in the state directory:
    one device per state directory, which a second `wpd serve` cannot share.

    The PTP/IP device is announced by DNS-SD (service _ptp._tcp, friendly name and GUID in the
    TXT record) on the interfaces it listens on, so `wpd devices` finds it; --no-advertise
    keeps it quiet. An announcement that fails is a warning, never a reason not to serve.
    """
    try:
        specs = [StorageSpec.parse(d) for d in dirs]
    except ValueError as exc:
        raise CliError(f"bad storage {exc}", ExitCode.USAGE) from None
    if samples:
        from openwpd.server.samples import make_samples

        for spec in specs:
            make_samples(spec.path)
    for spec in specs:
        if not spec.path.is_dir():
            raise CliError(f"{spec.path} is not a folder", ExitCode.USAGE)
    try:
        check_storage_specs(specs)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    guids = [_parse_guid(g) for g in allow_guids] or None
    state = state_dir if state_dir is not None else default_state_dir()
    lock = _lock_state_dir(state)  # held (open) until the process ends, however it ends
    if not _is_loopback(host) and not allow_guids:
        click.echo(
            f"wpd: warning: listening on {host} without --allow-guid: anyone who can reach it "
            "can read and change the served folders",
            err=True,
        )
    level = logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", stream=sys.stderr)
    usb_options = _UsbOptions(usb, ffs_dir, gadget_name, ptpip)
    if usb:
        _check_usb(usb_options)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                _serve(
                    specs,
                    host,
                    port,
                    name,
                    guids,
                    state,
                    verbose > 0,
                    usb_options,
                    profile,
                    camera=camera,
                    allow_format=allow_format,
                    advertise=not no_advertise,
                )
            )
    finally:
        os.close(lock)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lock_state_dir(state: Path) -> int:
    """Lock ``state/serve.lock`` for this process (``flock``; the kernel lets go when the
    process ends, even by SIGKILL, so a stale file never blocks). Two devices on one state
    directory would share a GUID and a PUID database; the second is refused."""
    try:
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(state / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise CliError(
            f"cannot use the state directory {state}: {exc.strerror}", ExitCode.LOCAL
        ) from None
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one device per state directory is on the user
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise CliError(
            f"another wpd serve{who} is using the state directory {state}",
            ExitCode.FAILED,
            hint="give each device its own --state-dir",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


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
    profile: str | None = None,
    *,
    camera: bool = False,
    allow_format: bool = False,
    advertise: bool = False,
) -> None:
    device = VirtualDevice(
        specs,
        friendly_name=name,
        state_dir=state_dir,
        verbose=verbose,
        profile=profile_named(profile) if profile else None,
        camera=camera,
        allow_format=allow_format,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if device.camera is not None and hasattr(signal, "SIGUSR1"):
        loop.add_signal_handler(signal.SIGUSR1, _shutter, device)
    usb = usb or _UsbOptions()
    gadget = None
    advertiser: Advertiser | None = None
    try:
        if usb.usb:
            gadget = await _serve_usb(device, usb)
        if not usb.usb or usb.ptpip:
            try:
                real_host, real_port = await device.serve(host, port, allowed_guids=guids)
            except OSError as exc:
                raise CliError(
                    f"cannot listen on {host}:{port}: {exc.strerror}",
                    hint="--port 0 picks a free port" if port else None,
                ) from None
            click.echo(f"serving ptpip://{real_host}:{real_port}")
            if advertise:
                advertiser = await _advertise(device, real_host, real_port, verbose)
        sys.stdout.flush()
        await stop.wait()
    finally:
        if advertiser is not None:
            await advertiser.aclose()
        if gadget is not None:
            await gadget.aclose()
        await device.aclose()


async def _advertise(
    device: VirtualDevice, host: str, port: int, verbose: bool
) -> Advertiser | None:
    """Announce the device by DNS-SD; None (and a warning) when the network cannot."""
    try:
        # imported here: a machine without the zeroconf library still serves
        from openwpd.server.advertise import advertise

        advertiser = await advertise(device, host, port)
    except Exception as exc:  # e.g. an interface without multicast: serve anyway
        click.echo(f"wpd: warning: cannot announce the device by DNS-SD: {exc}", err=True)
        return None
    if verbose:
        click.echo(f"wpd: announced by DNS-SD as {advertiser.info.name!r}", err=True)
    return advertiser


def _shutter(device: VirtualDevice) -> None:
    """SIGUSR1 with --camera: a capture made on the device (a busy camera ignores it)."""
    camera = device.camera
    assert camera is not None

    async def press() -> None:
        try:
            taken = await camera.trigger()
        except MtpError as exc:
            click.echo(f"wpd: shutter: {exc}", err=True)
            return
        for obj in taken:
            click.echo(f"captured {obj.name}")
        sys.stdout.flush()

    task = asyncio.get_running_loop().create_task(press())
    _PRESSES.add(task)
    task.add_done_callback(_PRESSES.discard)


_PRESSES: set[asyncio.Task[None]] = set()


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
