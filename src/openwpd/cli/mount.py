"""``wpd mount``: the device as a folder (FUSE; see :mod:`openwpd.mount`)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from openwpd.cli._core import (
    CliError,
    ExitCode,
    choose_device,
    common_options,
    settings,
    translate,
)


@click.command()
@click.argument("mountpoint", type=click.Path(path_type=Path))
@click.option("--background", is_flag=True, help="Detach once the mount is ready.")
@click.option("--read-only", is_flag=True, help="Refuse every change (EROFS).")
@click.option(
    "--spool",
    is_flag=True,
    help="Gather writes in a spool file in the cache directory and upload them on close, "
    "even where the device could edit files in place.",
)
@click.option(
    "-o",
    "mount_options",
    multiple=True,
    metavar="OPTION",
    help="A mount option; allow_other (other users may use the mount) and ro are known.",
)
@common_options
def mount(
    mountpoint: Path,
    background: bool,
    read_only: bool,
    spool: bool,
    mount_options: tuple[str, ...],
) -> None:
    """Mount the device on MOUNTPOINT: each storage is a folder named by its description.

    Runs in the foreground until Ctrl-C, SIGTERM or `fusermount3 -u MOUNTPOINT`; transfers
    still running then are cancelled on the device and nothing partial is kept.
    """
    from openwpd.mount.fuse import MountOptions, fuse_available

    why = fuse_available()
    if why is not None:
        raise CliError(why, ExitCode.LOCAL)
    url = choose_device(settings().device)
    options = MountOptions(read_only=read_only, spool=spool)
    for group in mount_options:
        for option in filter(None, (o.strip() for o in group.split(","))):
            if option == "allow_other":
                options.allow_other = True
            elif option == "ro":
                options.read_only = True
            else:
                raise CliError(f"unknown mount option {option!r}", ExitCode.USAGE)
    if not mountpoint.is_dir():
        raise CliError(f"{mountpoint} is not a folder", ExitCode.LOCAL)
    if background:
        _detach(url, mountpoint, options)
    else:
        _mount(url, mountpoint, options, ready_fd=None)


def _status(url: str, mountpoint: Path, storages: int, background: bool) -> str:
    how = "unmount with fusermount3 -u" if background else "Ctrl-C or fusermount3 -u to unmount"
    return f"mounted {url} on {mountpoint} ({storages} storages; {how})"


def _mount(url: str, mountpoint: Path, options: object, ready_fd: int | None) -> None:
    from openwpd.mount.fuse import MountOptions
    from openwpd.mount.run import run_mount

    assert isinstance(options, MountOptions)
    verbose = settings().verbose
    counts: list[int] = []

    def connected(_conn: object, tree: object) -> None:
        counts.append(len(getattr(tree, "storages", {})))

    def ready() -> None:
        line = _status(url, mountpoint, counts[0] if counts else 0, ready_fd is not None)
        if ready_fd is None:
            click.echo(line)
            sys.stdout.flush()
            return
        with contextlib.suppress(OSError):
            os.write(ready_fd, ("ok " + line).encode())
            os.close(ready_fd)
            # detached from here on: let go of the terminal (or the caller's pipe)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 2)
            os.close(devnull)

    started: list[bool] = []

    def ready_once() -> None:
        started.append(True)
        ready()

    try:
        run_mount(url, mountpoint, options, on_connected=connected, on_ready=ready_once)
    except RuntimeError as exc:
        # libfuse's loop ends with the number of the signal that stopped it: after a mount
        # that was up, that is the normal way to stop
        if not started:
            raise CliError(
                f"cannot mount on {mountpoint} (libfuse: {exc})", ExitCode.LOCAL
            ) from None
    except Exception as exc:
        raise translate(exc, f"cannot mount {url}", verbose) from None
    if ready_fd is None:
        click.echo(f"unmounted {mountpoint}")


def _detach(url: str, mountpoint: Path, options: object) -> None:
    """Fork; the child mounts and says "ok" on a pipe once the mount is ready (or the error);
    the parent prints that and exits. Nothing is threaded yet, so forking is safe here."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        os.setsid()
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.close(devnull)
            _mount(url, mountpoint, options, ready_fd=write_end)
        except CliError as exc:
            with contextlib.suppress(OSError):
                os.write(write_end, ("error " + exc.message).encode())
            code = exc.exit_code
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.write(write_end, f"error {exc}".encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    message = b"".join(chunks).decode(errors="replace")
    if message.startswith("ok "):
        click.echo(message[3:] + f" [pid {pid}]")
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    raise CliError(message.removeprefix("error ") or "the mount failed", ExitCode.FAILED)


COMMANDS = [mount]
