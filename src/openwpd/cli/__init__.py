"""The ``wpd`` command line. Each group of subcommands lives in its own module.

Exit codes are :class:`openwpd.cli._core.ExitCode` (documented in README.md, "Command line").
"""

from __future__ import annotations

import click

from openwpd import __version__
from openwpd.cli._core import common_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wpd")
@common_options
def main() -> None:
    """openwpd: Windows Portable Devices for Python, over MTP/PTP (PTP/IP, USB).

    Paths on the device are /<storage>/<folder>/<file>. The device is -d URL, else
    $OPENWPD_DEVICE, else the only device listed in $OPENWPD_DEVICES.
    """


def _register() -> None:
    from openwpd.cli import device, files, gadget, serve, services, sync, tour

    for command in (*device.COMMANDS, *files.COMMANDS, *services.COMMANDS):
        main.add_command(command)
    main.add_command(sync.sync)
    main.add_command(serve.serve)
    main.add_command(gadget.gadget)
    main.add_command(tour.tour)


_register()
