"""Output of ``wpd``: text and JSON forms of what the client returns, and transfer progress.

Progress bars (per file and total: bytes, speed, ETA) are drawn on stderr, and only when stderr
is a terminal; piped or redirected, a transfer prints nothing extra.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from openwpd.client import Entry, Storage
from openwpd.client.names import printable
from openwpd.protocol.codes import ObjectFormatCode, StorageType


def human_size(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``; exact bytes below 1 KiB."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def format_name(code: int) -> str:
    """An object format's spec name (``EXIF_JPEG``), or its hex code."""
    try:
        return ObjectFormatCode(code).name
    except ValueError:
        return f"0x{code:04X}"


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def entry_dict(entry: Entry) -> dict[str, Any]:
    """An entry as JSON-ready data."""
    return {
        "path": entry.path,
        "name": entry.name,
        "folder": entry.is_folder,
        "size": None if entry.is_folder else entry.size,
        "size_exact": entry.size_exact,
        "modified": iso(entry.modified),
        "format": format_name(entry.format),
        "handle": entry.handle,
        "storage_id": entry.storage_id,
        "parent": entry.parent,
        "puid": None if entry.puid is None else f"{entry.puid:032x}",
    }


def storage_dict(storage: Storage) -> dict[str, Any]:
    """A storage as JSON-ready data."""
    try:
        kind = StorageType(storage.storage_type).name.lower()
    except ValueError:
        kind = f"0x{storage.storage_type:04X}"
    return {
        "path": storage.path,
        "description": storage.description,
        "volume_label": storage.volume_label,
        "id": storage.id,
        "type": kind,
        "capacity": storage.capacity,
        "free": storage.free,
        "read_only": storage.read_only,
    }


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def emit_json(data: object) -> None:
    """Print ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def emit_json_line(data: object) -> None:
    """Print ``data`` as one line of JSON (streams: ``wpd watch --json``)."""
    click.echo(json.dumps(data, ensure_ascii=False, default=_default))
    sys.stdout.flush()


def say(text: str = "", *, err: bool = False) -> None:
    """Print one line of human output (stdout, or stderr with ``err``) with every character a
    terminal would act on escaped (:func:`openwpd.client.names.printable`): names, labels and
    messages from a device must not move the cursor, retitle the terminal or fake a line.
    JSON output needs no such care (json escapes control characters)."""
    click.echo(printable(text), err=err)


def long_line(entry: Entry, name: str | None = None, *, human: bool = False) -> str:
    """``ls -l`` style: kind, size (``human``: 1.5 KiB), date, name."""
    kind = "d" if entry.is_folder else "-"
    size = "" if entry.is_folder else human_size(entry.size) if human else f"{entry.size:,}"
    when = entry.modified.strftime("%Y-%m-%d %H:%M") if entry.modified else "-" * 16
    shown = name if name is not None else entry.name
    return f"{kind} {size:>15} {when}  {shown}{'/' if entry.is_folder else ''}"


def stderr_console() -> Console:
    return Console(stderr=True)


class TransferDisplay:
    """Progress of a set of transfers: one bar for the current file, one for the total.

    ``file(name, size)`` starts a file and returns its ``progress(done, total)`` callback;
    ``done_file()`` completes it. Draws nothing unless ``enabled``.
    """

    def __init__(self, enabled: bool, total_bytes: int, total_files: int) -> None:
        self.enabled = enabled
        self.total_files = total_files
        self.files_done = 0
        self._base = 0
        self._current = 0
        self._progress: Progress | None = None
        self._total_task: TaskID | None = None
        self._file_task: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description}", justify="left"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
                transient=True,
            )
            if total_files > 1:
                self._total_task = self._progress.add_task(
                    f"total (0/{total_files})", total=total_bytes
                )

    def start(self) -> None:
        if self._progress is not None:
            self._progress.start()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    def file(self, name: str, size: int | None) -> Callable[[int, int | None], None]:
        """Start a file; returns the callback for the client's ``progress=``."""
        self._current = 0
        progress = self._progress
        if progress is not None:
            if self._file_task is not None:
                progress.remove_task(self._file_task)
            name = printable(name)
            label = escape(name if len(name) <= 32 else "…" + name[-31:])  # no rich markup
            self._file_task = progress.add_task(label, total=size)

        def update(done: int, total: int | None) -> None:
            self._current = done
            if progress is None:
                return
            if self._file_task is not None:
                progress.update(self._file_task, completed=done, total=total)
            if self._total_task is not None:
                progress.update(self._total_task, completed=self._base + done)

        return update

    def done_file(self, size: int) -> None:
        self.files_done += 1
        self._base += size
        if self._progress is not None and self._total_task is not None:
            self._progress.update(
                self._total_task,
                completed=self._base,
                description=f"total ({self.files_done}/{self.total_files})",
            )

    @property
    def current(self) -> int:
        """Bytes of the current file so far."""
        return self._current


@contextmanager
def transfer_display(total_bytes: int, total_files: int) -> Iterator[TransferDisplay]:
    """A :class:`TransferDisplay`, enabled when stderr is a terminal; stopped on exit."""
    display = TransferDisplay(sys.stderr.isatty(), total_bytes, total_files)
    display.start()
    try:
        yield display
    finally:
        display.stop()


__all__ = [
    "TransferDisplay",
    "emit_json",
    "emit_json_line",
    "entry_dict",
    "format_name",
    "human_size",
    "iso",
    "long_line",
    "say",
    "storage_dict",
    "transfer_display",
]
