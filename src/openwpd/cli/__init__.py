"""The ``wpd`` command line. Each subcommand lives in its own module."""

from __future__ import annotations

import click

from openwpd import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wpd")
def main() -> None:
    """openwpd: Windows Portable Devices for Python, over MTP/PTP (PTP/IP, USB)."""


def _register() -> None:
    from openwpd.cli import serve, tour

    main.add_command(serve.serve)
    main.add_command(tour.tour)


_register()
