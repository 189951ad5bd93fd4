"""``wpd gadget up|down``: this machine as a USB device (a configfs gadget with one FunctionFS
function), for ``wpd serve --usb``."""

from __future__ import annotations

from pathlib import Path

import click

from openwpd.cli._core import CliError, ExitCode
from openwpd.protocol.errors import ConnectError
from openwpd.transport import configfs


def _hex16(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a hexadecimal number") from None
    if not 0 <= value <= 0xFFFF:
        raise click.BadParameter(f"{text!r} does not fit 16 bits")
    return value


@click.group()
def gadget() -> None:
    """Make this machine a USB MTP device (needs root and a USB Device Controller).

    `wpd gadget up` creates the gadget and mounts its FunctionFS; `wpd serve --usb DIR...`
    then serves DIR on it and connects it to the host; `wpd gadget down` removes it.
    """


_name = click.option(
    "--name", default=configfs.DEFAULT_NAME, show_default=True, help="The gadget's name."
)
_ffs_dir = click.option(
    "--ffs-dir",
    type=click.Path(path_type=Path),
    default=configfs.DEFAULT_FFS_DIR,
    show_default=True,
    help="Where FunctionFS is mounted.",
)


@gadget.command("up")
@_name
@_ffs_dir
@click.option("--vid", default=f"{configfs.DEFAULT_VID:04x}", show_default=True, help="Vendor ID.")
@click.option("--pid", default=f"{configfs.DEFAULT_PID:04x}", show_default=True, help="Product ID.")
@click.option("--manufacturer", default=configfs.DEFAULT_MANUFACTURER, show_default=True)
@click.option("--product", default=configfs.DEFAULT_PRODUCT, show_default=True)
@click.option("--serial", default=configfs.DEFAULT_SERIAL, show_default=True)
def up(
    name: str,
    ffs_dir: Path,
    vid: str,
    pid: str,
    manufacturer: str,
    product: str,
    serial: str,
) -> None:
    """Create the gadget and mount its FunctionFS (binds it to the UDC when a device already
    serves it). Prints the FunctionFS folder."""
    config = configfs.GadgetConfig(
        name, _hex16(vid), _hex16(pid), manufacturer, product, serial, ffs_dir
    )
    try:
        configfs.gadget_up(config)
        if (ffs_dir / "ep1").exists():  # a device has written its descriptors: connect it
            configfs.bind(name, timeout=0)
    except ConnectError as exc:
        raise CliError(str(exc), ExitCode.NO_DEVICE) from None
    click.echo(f"gadget {name} up: FunctionFS at {ffs_dir}")


@gadget.command("down")
@_name
@_ffs_dir
def down(name: str, ffs_dir: Path) -> None:
    """Disconnect the gadget from the host and remove it."""
    config = configfs.GadgetConfig(name=name, ffs_dir=ffs_dir)
    problem = configfs.missing()
    if problem is not None and "root" in problem:
        raise CliError(problem, ExitCode.NO_DEVICE)
    try:
        configfs.gadget_down(config)
    except ConnectError as exc:
        raise CliError(str(exc), ExitCode.FAILED) from None
    click.echo(f"gadget {name} down")
