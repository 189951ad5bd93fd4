"""The ``wpd`` command line. Each group of subcommands lives in its own module.

Exit codes are :class:`openwpd.cli._core.ExitCode` (documented in README.md, "Command line").
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from openwpd import __version__
from openwpd.cli._core import (
    CliError,
    ExitCode,
    Settings,
    common_options,
    translate,
    warning_lines,
)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is still buffered at exit cannot fail
    (and print Python's "Exception ignored ... BrokenPipeError") once its reader is gone."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


#: ``wpd`` or ``wpd props`` alone: click shows the help (exit 2); that is not an error line
_HELP_SHOWN: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if t is not None
)


def _usage_line(exc: click.UsageError) -> CliError:
    # the program is `wpd` whatever name it was started by (python -m openwpd.cli, tests)
    command = exc.ctx.command_path.partition(" ")[2] if exc.ctx is not None else ""
    where = f"{command}: " if command else ""
    message = exc.format_message().rstrip(".")
    return CliError(
        f"{where}{message}", ExitCode.USAGE, hint=f"`{' '.join(('wpd', command)).strip()} --help`"
    )


class WpdGroup(click.Group):
    """The ``wpd`` group: every failure ends as one ``wpd:`` line and an exit code of the
    README's table, click's usage errors included (instead of its "Usage: ... Error: ..."
    block); a closed stdout (``wpd cat F | head``) ends the command quietly with
    :attr:`ExitCode.PIPE`, and a Ctrl-C outside a transfer with one line and 130."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with warning_lines():  # -v, parsed later, configures logging instead
            return super().main(*args, **kwargs)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _HELP_SHOWN:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a broken pipe shows here at the latest, not at exit
            return result
        except _HELP_SHOWN:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from None
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(ExitCode.PIPE) from None
        except KeyboardInterrupt:
            raise CliError("interrupted", ExitCode.INTERRUPTED) from None
        except OSError as exc:  # a local file, outside a command's device session (raw --out)
            raise translate(exc, ctx.invoked_subcommand or "wpd") from None


def _json_first(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).json = True


@click.group(cls=WpdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wpd")
@click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    callback=_json_first,
    help="Machine-readable output (JSON) for the command that follows.",
)
@common_options
def main() -> None:
    """openwpd: Windows Portable Devices for Python, over MTP/PTP (PTP/IP, USB).

    Paths on the device are /<storage>/<folder>/<file>; paths of existing objects may be
    patterns (* ? [...]). The device is -d URL, else $OPENWPD_DEVICE, else the only device
    listed in $OPENWPD_DEVICES. Errors are one 'wpd:' line on stderr; exit codes: 0 ok, 1
    refused or failed, 2 usage, 3 not found, 4 no device or link, 5 protocol, 6 local file,
    7 sync verify, 130 interrupted, 141 output closed (as cat in a pipe).
    """


def _register() -> None:
    from openwpd.cli import (
        camera,
        device,
        doctor,
        files,
        gadget,
        mount,
        serve,
        services,
        sync,
        tour,
    )

    commands = (*device.COMMANDS, *doctor.COMMANDS, *files.COMMANDS, *services.COMMANDS)
    for command in (*commands, *camera.COMMANDS):
        main.add_command(command)
    main.add_command(sync.sync)
    main.add_command(mount.mount)
    main.add_command(serve.serve)
    main.add_command(gadget.gadget)
    main.add_command(tour.tour)


_register()
