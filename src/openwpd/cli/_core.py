"""What every ``wpd`` command shares: options, device selection, running, errors, exit codes.

Theory of operation
-------------------
A command is a small synchronous click function that calls :func:`with_device` with an async
body ``body(handle)``. :func:`with_device` picks the device (``-d``, ``OPENWPD_DEVICE``, or the
only known device), opens the connection and one handle, runs the body and closes everything.
:func:`run_async` runs it on a fresh event loop with our own SIGINT handling:

* the first Ctrl-C cancels the command's task. The client cancels the transaction on the wire,
  a download removes its temporary file, an upload deletes its partial object, the connection
  closes the session; then one line is printed and the exit code is 130;
* a second Ctrl-C exits at once (130), without waiting for any of that.

Errors: every failure becomes :class:`CliError` -- one human line (what failed, the device's
response in words, a hint) with an exit code from :class:`ExitCode`; ``-v`` adds the detail
(the error's type, HRESULT, response parameters and the traceback with ``-vv``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import click

from openwpd.client import Handle, open_connection, parse_device_url
from openwpd.client.names import printable
from openwpd.client.transfer import PART_SUFFIX
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import (
    Cancelled,
    ConnectError,
    LocalProtocolError,
    OpenWpdError,
    RemoteProtocolError,
    ResponseError,
    SessionReset,
    TransportError,
)

T = TypeVar("T")

#: Environment: the device to use (a URL), and the devices known (comma-separated URLs).
ENV_DEVICE = "OPENWPD_DEVICE"
ENV_DEVICES = "OPENWPD_DEVICES"


class ExitCode(IntEnum):
    """The exit codes of ``wpd`` (documented in README.md, "Command line")."""

    OK = 0  #: success
    FAILED = 1  #: the device refused the operation, or it failed for another reason
    USAGE = 2  #: bad command line (click's own usage errors use 2 as well)
    NOT_FOUND = 3  #: no such object, folder or storage (on the device or locally)
    NO_DEVICE = 4  #: no device chosen, or it cannot be reached / the link failed
    PROTOCOL = 5  #: the device broke the protocol or did not recover (session reset)
    LOCAL = 6  #: a local file or folder could not be read or written
    VERIFY = 7  #: a copied file did not verify (sync)
    INTERRUPTED = 130  #: Ctrl-C
    #: the reader of stdout went away (``wpd cat F | head``): ended quietly, with the status a
    #: shell reports for ``cat`` killed by SIGPIPE (128 + 13)
    PIPE = 141


class CliError(click.ClickException):
    """A failure reported as one line ``wpd: <message>`` (plus ``hint: ...``) and an exit code.
    ``detail`` is printed with ``-v``."""

    def __init__(
        self,
        message: str,
        code: ExitCode = ExitCode.FAILED,
        *,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        # click declares exit_code as a class variable; each error carries its own
        setattr(self, "exit_code", int(code))  # noqa: B010
        self.hint = hint
        self.detail = detail
        #: the -v count in force when the error was made (show() runs after the context ended)
        self.verbose = _current_verbosity()

    def show(self, file: Any = None) -> None:
        out = file if file is not None else sys.stderr
        # one line whatever a device put into the names and messages it contains
        line = f"wpd: {self.message}"
        if self.hint:
            line += f" (hint: {self.hint})"
        click.echo(printable(hide_temp_names(line)), file=out)
        if self.verbose and self.detail:
            for detail in hide_temp_names(self.detail.rstrip("\n")).split("\n"):
                click.echo(printable(detail), file=out)


# a download's temp file (.NAME.XXXXXXXX.openwpd-part) and a replacing upload's (.NAME.wpd-part)
_TEMP_NAME = re.compile(
    r"(?<![^/\s'\"])\.([^/]+?)"
    rf"(?:\.[A-Za-z0-9_]+{re.escape(PART_SUFFIX)}|{re.escape(Handle.REPLACE_SUFFIX)})"
    r"(?![^/\s'\":,;)])"  # the name ends where a path, a word or a clause does
)


def hide_temp_names(text: str) -> str:
    """``text`` with every temporary file name replaced by the name it stands for: a message
    names what the user asked for, never ``.NAME.XXXX.openwpd-part``."""
    return _TEMP_NAME.sub(r"\1", text)


@dataclass
class Settings:
    """Options shared by every command (set on ``wpd`` itself or on the subcommand)."""

    device: str | None = None
    verbose: int = 0
    #: ``--json`` given on ``wpd`` itself (before the subcommand)
    json: bool = False
    #: what the command is doing right now (for the line printed on Ctrl-C)
    activity: list[str] = field(default_factory=list)


def _current_verbosity() -> int:
    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.obj, Settings):
        return 0
    return ctx.obj.verbose


def settings() -> Settings:
    """The current command's :class:`Settings`."""
    return click.get_current_context().ensure_object(Settings)


def _set_device(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Settings).device = value


def _add_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        obj = ctx.ensure_object(Settings)
        obj.verbose += value
        _configure_logging(obj.verbose)


class _WarningLines(logging.Handler):
    """Without -v, the library's warnings (a storage or object skipped, a partial object that
    could not be deleted) are ``wpd: warning: ...`` lines on stderr, like every other line
    wpd writes there (Python would print them bare)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("wpd: warning: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            click.echo(self.format(record), err=True)  # the sys.stderr of the moment


_WARNING_LINES = _WarningLines()


@contextlib.contextmanager
def warning_lines() -> Iterator[None]:
    """Send the library's warnings to :class:`_WarningLines` while a command runs (until -v
    configures logging); the logger is as it was afterwards (``wpd`` may run in-process)."""
    logger = logging.getLogger("openwpd")
    propagate = logger.propagate
    logger.addHandler(_WARNING_LINES)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(_WARNING_LINES)
        logger.propagate = propagate


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 1 else logging.INFO if verbose == 2 else logging.DEBUG
    logging.basicConfig(level=level, format="%(name)s: %(message)s", stream=sys.stderr)
    logger = logging.getLogger("openwpd")
    logger.removeHandler(_WARNING_LINES)
    logger.propagate = True
    logger.setLevel(level)


F = TypeVar("F", bound=Callable[..., Any])


def common_options(f: F) -> F:
    """``-d/--device URL`` and ``-v/--verbose``; accepted on ``wpd`` and on every command."""
    f = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_add_verbose,
        help="Say more when something fails (-vv: log the protocol).",
    )(f)
    f = click.option(
        "-d",
        "--device",
        metavar="URL",
        expose_value=False,
        callback=_set_device,
        help=f"The device (ptpip://HOST[:PORT]); default ${ENV_DEVICE}, or the only one known.",
    )(f)
    return f


def _json_anywhere(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    return value or ctx.ensure_object(Settings).json


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=_json_anywhere,
    help="Machine-readable output (JSON) instead of text (also accepted before the command).",
)

#: What ``get``, ``put`` (and ``sync``) say when a file is in the way.
CLOBBER_HINT = "-f replaces it, -n skips it"


def force_option(f: F) -> F:
    """``-f/--force``: replace existing files."""
    return click.option("-f", "--force", is_flag=True, help="Replace files that exist already.")(f)


def no_clobber_option(*names: str) -> Callable[[F], F]:
    """``-n/--no-clobber`` (``sync`` has ``--no-clobber`` only: its ``-n`` is ``--dry-run``)."""
    return click.option(
        *names, "no_clobber", is_flag=True, help="Skip files that exist already (-v names them)."
    )


def refuse_existing(what: str, existing: Sequence[str], hint: str = CLOBBER_HINT) -> CliError:
    """The one-line refusal when ``existing`` (at least one) are in the way."""
    first = existing[0]
    more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
    verb = "exist" if more else "exists"
    return CliError(
        f"{what}: {first}{more} {verb} already; nothing was copied",
        ExitCode.FAILED,
        hint=hint,
    )


def note(text: str) -> None:
    """A ``wpd:`` line on stderr, shown only with ``-v``."""
    if settings().verbose:
        click.echo(f"wpd: {text}", err=True)


# --- devices ------------------------------------------------------------------------------------


def known_devices(browse_seconds: float | None = None) -> list[str]:
    """The devices known to this machine: the WPD device manager's list (``$OPENWPD_DEVICES``,
    comma-separated URLs, normalized, repeats and malformed entries dropped; then USB devices
    and PTP/IP devices announced by DNS-SD within ``browse_seconds``, None:
    ``$OPENWPD_BROWSE_SECONDS``, else 1 s). A malformed ``$OPENWPD_BROWSE_SECONDS`` is a usage
    error."""
    from openwpd.client.urls import browse_seconds_from_env
    from openwpd.wpd import PortableDeviceManager

    if browse_seconds is None:
        try:
            browse_seconds = browse_seconds_from_env()
        except LocalProtocolError as exc:
            raise CliError(str(exc), ExitCode.USAGE) from None
    return PortableDeviceManager(browse_seconds=browse_seconds).get_devices()


def choose_device(flag: str | None) -> str:
    """The device URL to use: ``-d``, else ``$OPENWPD_DEVICE``, else the only known device.
    Raises CliError (NO_DEVICE) when none or several are known, (USAGE) for a malformed URL."""
    url = flag or os.environ.get(ENV_DEVICE, "").strip() or None
    if url is None:
        known = known_devices()
        if not known:
            raise CliError(
                "no device given",
                ExitCode.NO_DEVICE,
                hint=f"pass -d ptpip://HOST:PORT or set {ENV_DEVICE}; "
                "`wpd serve DIR` prints the URL of a virtual device",
            )
        if len(known) > 1:
            raise CliError(
                f"{len(known)} devices are known ({', '.join(known)}): which one?",
                ExitCode.NO_DEVICE,
                hint=f"pass -d URL or set {ENV_DEVICE}",
            )
        url = known[0]
    try:
        parse_device_url(url)
    except LocalProtocolError as exc:
        raise CliError(str(exc), ExitCode.USAGE, hint="a device is ptpip://HOST[:PORT]") from None
    return url


# --- errors -------------------------------------------------------------------------------------

_HINTS: dict[int, tuple[ExitCode, str]] = {
    ResponseCode.INVALID_OBJECT_HANDLE: (ExitCode.NOT_FOUND, "check the path with `wpd ls`"),
    ResponseCode.INVALID_STORAGE_ID: (ExitCode.NOT_FOUND, "`wpd storages` lists the storages"),
    ResponseCode.INVALID_PARENT_OBJECT: (ExitCode.NOT_FOUND, "the parent must be a folder"),
    ResponseCode.STORE_READ_ONLY: (ExitCode.FAILED, "the storage is read-only"),
    ResponseCode.OBJECT_WRITE_PROTECTED: (ExitCode.FAILED, "the object is write-protected"),
    ResponseCode.ACCESS_DENIED: (ExitCode.FAILED, "the device does not allow this"),
    ResponseCode.STORE_FULL: (ExitCode.FAILED, "free some space on the device"),
    ResponseCode.DEVICE_BUSY: (ExitCode.FAILED, "try again in a moment"),
    ResponseCode.OPERATION_NOT_SUPPORTED: (
        ExitCode.FAILED,
        "the device does not offer this operation (`wpd info` lists what it offers)",
    ),
    ResponseCode.OBJECT_PROP_NOT_SUPPORTED: (
        ExitCode.FAILED,
        "`wpd props get PATH` lists the properties",
    ),
    ResponseCode.INVALID_OBJECT_PROP_VALUE: (ExitCode.FAILED, "the device rejected that value"),
    ResponseCode.SESSION_NOT_OPEN: (ExitCode.PROTOCOL, "run the command again"),
}


def response_words(code: int) -> str:
    """A response code in words: ``"invalid object handle (0x2009)"``."""
    try:
        name = ResponseCode(code).name.replace("_", " ").lower()
    except ValueError:
        return f"response 0x{code:04X}"
    return f"{name} (0x{code:04X})"


def _detail(exc: BaseException, verbose: int) -> str:
    lines = [f"{type(exc).__module__}.{type(exc).__name__}: {exc}"]
    hresult = getattr(exc, "hresult", None)
    if isinstance(hresult, int):
        lines.append(f"HRESULT 0x{hresult:08X}")
    if isinstance(exc, ResponseError) and exc.params:
        lines.append("response parameters: " + " ".join(f"0x{p:08X}" for p in exc.params))
    if verbose >= 2:
        lines.append("".join(traceback.format_exception(exc)).rstrip())
    return "\n".join(lines)


def translate(exc: BaseException, what: str, verbose: int = 0) -> CliError:
    """The :class:`CliError` for ``exc`` raised while doing ``what`` (``"get /Phone/a.jpg"``)."""
    if isinstance(exc, CliError):
        return exc
    error = _translate(exc, what, _detail(exc, verbose))
    error.verbose = verbose
    return error


def _translate(exc: BaseException, what: str, detail: str) -> CliError:
    if isinstance(exc, ResponseError):
        code, hint = _HINTS.get(exc.code, (ExitCode.FAILED, None))
        said = str(exc)
        words = response_words(exc.code)
        message = f"{what}: the device answered {words}"
        if said and not said.startswith("device answered"):
            message += f": {said}"
        return CliError(message, code, hint=hint, detail=detail)
    if isinstance(exc, ConnectError):
        return CliError(
            f"{what}: cannot reach the device: {exc}",
            ExitCode.NO_DEVICE,
            hint="is `wpd serve` (or the device) running, and is the URL right?",
            detail=detail,
        )
    if isinstance(exc, TransportError):
        return CliError(
            f"{what}: the link to the device failed: {exc}",
            ExitCode.NO_DEVICE,
            hint="check the connection and run the command again",
            detail=detail,
        )
    if isinstance(exc, SessionReset | RemoteProtocolError):
        return CliError(
            f"{what}: the device misbehaved: {exc}",
            ExitCode.PROTOCOL,
            hint="run the command again; -vv logs the protocol",
            detail=detail,
        )
    if isinstance(exc, Cancelled):
        return CliError(f"{what}: cancelled", ExitCode.INTERRUPTED, detail=detail)
    if isinstance(exc, LocalProtocolError):
        return CliError(f"{what}: {exc}", ExitCode.USAGE, detail=detail)
    if isinstance(exc, OSError):  # here, not on the device: 6 (a missing folder included)
        where = f": {exc.filename}" if exc.filename else ""
        return CliError(f"{what}: {exc.strerror or exc}{where}", ExitCode.LOCAL, detail=detail)
    if isinstance(exc, OpenWpdError):
        return CliError(f"{what}: {exc}", ExitCode.FAILED, detail=detail)
    raise exc


# --- running ------------------------------------------------------------------------------------


class Interrupted(Exception):
    """The command's task was cancelled by Ctrl-C."""


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new event loop; the first SIGINT cancels it (raising
    :class:`Interrupted` once it has unwound), the second exits the process at once (130)."""
    loop = asyncio.new_event_loop()
    task = loop.create_task(coro)
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            task.cancel()
            return
        with contextlib.suppress(OSError):
            os.write(2, b"\nwpd: interrupted again: exiting at once\n")
        os._exit(ExitCode.INTERRUPTED)

    installed = False
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        installed = True
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if interrupts:
            raise Interrupted() from None
        raise
    except KeyboardInterrupt:  # no handler could be installed (not the main thread)
        raise Interrupted() from None
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run_command(what: str, coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine (see :func:`run_async`); failures become :class:`CliError`
    and Ctrl-C the interrupt line and exit 130."""
    opts = settings()
    opts.activity.clear()
    try:
        return run_async(coro)
    except BrokenPipeError:
        raise  # stdout's reader went away: ended quietly by the command group
    except Interrupted:
        if opts.activity:
            message = (
                f"interrupted: the {opts.activity[-1]} was cancelled on the device; "
                "nothing partial was kept"
            )
        else:
            message = "interrupted"
        raise CliError(message, ExitCode.INTERRUPTED) from None
    except (OpenWpdError, OSError) as exc:
        raise translate(exc, what, opts.verbose) from None


async def _with_handle(url: str, body: Callable[[Handle], Awaitable[T]]) -> T:
    async with open_connection(url, client_name="wpd") as conn:
        handle = conn.open_handle()
        async with handle:
            return await body(handle)


def with_device(what: str, body: Callable[[Handle], Awaitable[T]]) -> T:
    """Open the chosen device, run ``body(handle)``, close; see the module docstring."""
    url = choose_device(settings().device)
    return run_command(what, _with_handle(url, body))


def doing(text: str) -> None:
    """Record what the command is doing now (named by the Ctrl-C line)."""
    activity = settings().activity
    activity.clear()
    activity.append(text)


def warn_unsafe(device_path: str) -> None:
    """The one-line warning for an object left out because its name (or a folder's on its way)
    cannot be a local file name (see :mod:`openwpd.client.names`)."""
    click.echo(f"wpd: skipping {printable(device_path)}: unsafe name from device", err=True)


def unsafe_failure(skipped: Sequence[str]) -> None:
    """After a download that left objects out for their names: exit 6 (LOCAL), as for any
    file that could not be written here under its name. Not 1 (the device refused nothing),
    not 5 (MTP lets a device name objects as it likes): the names are unusable *here*."""
    if skipped:
        count = len(skipped)
        raise CliError(
            f"{count} object{'s' * (count != 1)} skipped: unsafe names from the device",
            ExitCode.LOCAL,
            hint="rename them on the device (`wpd mv`) to copy them",
        )


def echo_lines(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(line)


__all__ = [
    "CLOBBER_HINT",
    "ENV_DEVICE",
    "ENV_DEVICES",
    "CliError",
    "ExitCode",
    "Settings",
    "choose_device",
    "common_options",
    "doing",
    "force_option",
    "hide_temp_names",
    "json_option",
    "known_devices",
    "no_clobber_option",
    "note",
    "refuse_existing",
    "response_words",
    "run_async",
    "run_command",
    "settings",
    "translate",
    "unsafe_failure",
    "warn_unsafe",
    "warning_lines",
    "with_device",
]
