"""``wpd sync``: copy only what is missing or changed, between a device folder and a local one.

Theory of operation
-------------------
``wpd sync REMOTE LOCAL`` pulls (device -> here), ``wpd sync --push LOCAL REMOTE`` pushes. Both
walk the two trees and compare each file by size and modification time (to the second, as MTP
dates go); a file is copied when it is missing on the other side or differs. Every copy is
atomic -- a download lands under its name only when complete (the client renames its temporary
file), an upload that replaces a file goes up under a temporary name first -- so an interrupted
run (Ctrl-C, a lost link, a kill) leaves complete files and nothing half-written: running the
same command again copies only the rest. Leftovers of a killed run (the client's temporary
``.NAME.XXXXXXXX.openwpd-part`` files here that no running download holds, our ``.wpd-part``
objects on the device) are removed first.

Replacing files: sync replaces a destination file that differs from its source only when it
is the copy an earlier sync made and nobody changed it since (its size and modification time
are still what that sync recorded; the records live in the user's state directory, never in the
synced folders). Any other file in the way -- one made by hand or by another program, or a copy
changed on the destination side -- is never replaced by surprise: the run refuses before
copying anything (exit 1) unless ``-f/--force`` (replace it) or ``--no-clobber`` (skip it; ``-v``
names it) is given. (``-n`` is ``--dry-run``, as in rsync.) A destination file equal to its
source counts as synced from then on. A file new here that another program makes while it is
downloaded is left alone too (the download is hard-linked into place, which cannot replace).

Each copied file is verified: its size on the other side must equal the source's; with
``--checksum`` the device's copy is read back and its SHA-256 compared with the local file's.
A file that does not verify is removed (so the next run copies it again) and the exit code is
7. Nothing is ever deleted on the destination otherwise (no mirror mode). The command says what
it did: one line per copied file (``+`` new, ``~`` changed) and a summary (``--json``: data).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import click

from openwpd.cli._core import (
    CliError,
    ExitCode,
    common_options,
    doing,
    force_option,
    json_option,
    no_clobber_option,
    note,
    refuse_existing,
    unsafe_failure,
    warn_unsafe,
    with_device,
)
from openwpd.cli._output import (
    TransferDisplay,
    emit_json,
    human_size,
    say,
    transfer_display,
)
from openwpd.cli._remote import Node, children, ensure_folder, is_folder, lookup, normalize, walk
from openwpd.cli.files import download_new
from openwpd.client import Entry, Handle
from openwpd.client.names import UnsafeName, local_path
from openwpd.client.transfer import PART_SUFFIX, remove_leftovers

#: Names of leftovers from an interrupted run: the client's temporary download files and the
#: temporary names ``put``/``sync`` upload replacements under.
LOCAL_PART_SUFFIX = PART_SUFFIX
REMOTE_PART_SUFFIX = Handle.REPLACE_SUFFIX
#: Modification times closer than this are the same (MTP dates have whole seconds).
MTIME_SLACK = 1.0
_HASH_CHUNK = 1024 * 1024


@dataclass
class Report:
    """What a sync did."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0
    cleaned: int = 0
    #: objects left out because their names cannot be local names (warned; exit 6)
    unsafe: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": self.skipped,
            "bytes": self.bytes,
            "leftovers_removed": self.cleaned,
            "unsafe": self.unsafe,
        }


def _same(size_a: int, mtime_a: float | None, size_b: int, mtime_b: float | None) -> bool:
    if size_a != size_b:
        return False
    if mtime_a is None or mtime_b is None:
        return True
    return abs(int(mtime_a) - int(mtime_b)) <= MTIME_SLACK


def _stamp(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _HashSink(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return len(data)


async def _sha256_device(h: Handle, entry: Entry) -> str:
    sink = _HashSink()
    await h.download(entry, cast(BinaryIO, sink))
    return sink.digest.hexdigest()


#: Which files each sync wrote: ``{relative path: [size, mtime]}`` of the destination's copy.
_Records = dict[str, tuple[int, float]]

REPLACE_HINT = "not made by an earlier sync, or changed since: -f replaces, --no-clobber skips"


def _records_file(direction: str, device: str, remote: str, local: Path) -> Path:
    """Where the records of one pair of folders live (the user's state directory)."""
    import platformdirs

    key = json.dumps([direction, device, remote, str(local.resolve())])
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".json"
    return Path(platformdirs.user_state_dir("openwpd")) / "sync" / name


def _load_records(path: Path) -> _Records:
    try:
        data = json.loads(path.read_text())
        return {str(k): (int(v[0]), float(v[1])) for k, v in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}  # none yet, or unreadable: every differing file counts as someone else's


def _save_records(path: Path, records: _Records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps({"version": 1, "files": records}))
    os.replace(temp, path)


class _Clobber:
    """The replace rule (see the module docstring): ``ours(rel, size, mtime)`` says whether a
    differing destination file may be replaced; ``mark`` records a destination file that now
    equals its source."""

    def __init__(self, records: _Records, force: bool, no_clobber: bool) -> None:
        self.records = records
        self.force = force
        self.no_clobber = no_clobber
        self.in_the_way: list[str] = []

    def mark(self, rel: str, size: int, mtime: float | None) -> None:
        self.records[rel] = (size, mtime or 0.0)

    def may_replace(self, rel: str, size: int, mtime: float | None, report: Report) -> bool:
        known = self.records.get(rel)
        if self.force or (known is not None and _same(known[0], known[1], size, mtime)):
            return True
        if self.no_clobber:
            report.skipped.append(rel)
            note(f"skipped {rel}: it exists and was not made by an earlier sync")
        else:
            self.in_the_way.append(rel)
        return False

    def check(self) -> None:
        if self.in_the_way:
            raise refuse_existing("sync", self.in_the_way, REPLACE_HINT)


def _say(kind: str, rel: str, as_json: bool) -> None:
    if not as_json:
        say(f"{kind} {rel}")


# --- pull ---------------------------------------------------------------------------------------


async def _pull(
    h: Handle,
    remote: str,
    local: Path,
    *,
    checksum: bool,
    dry_run: bool,
    as_json: bool,
    clobber: _Clobber,
) -> Report:
    report = Report()
    root = await lookup(h, remote)
    if not is_folder(root):
        raise CliError(f"{remote} is not a folder", ExitCode.USAGE, hint="wpd get copies a file")
    if local.exists() and not local.is_dir():
        raise CliError(f"{local} is not a folder", ExitCode.USAGE)
    if local.is_dir():
        for folder, _, _ in os.walk(local):
            report.cleaned += len(remove_leftovers(folder, dry_run=dry_run))
    items = await walk(h, root)
    todo: list[tuple[Entry, Path, str, bool]] = []
    skipped: list[tuple[str, ...]] = []  # folders left out for their names, with their content
    for item in items:
        if any(item.names[: len(s)] == s for s in skipped):
            continue
        try:
            dest = local_path(local, *item.names)
        except UnsafeName:
            skipped.append(item.names)
            report.unsafe.append(item.relative)
            warn_unsafe(item.entry.path or item.relative)
            continue
        if item.entry.is_folder:
            if not dry_run:
                dest.mkdir(parents=True, exist_ok=True)
            continue
        if dest.is_dir():
            report.failed.append(item.relative)
            say(f"wpd: sync: {item.relative}: a folder is in the way here", err=True)
            continue
        exists = dest.exists()
        if exists:
            st = dest.stat()
            if _same(item.entry.size, _stamp(item.entry.modified), st.st_size, st.st_mtime):
                report.unchanged += 1
                clobber.mark(item.relative, st.st_size, st.st_mtime)
                continue
            if not clobber.may_replace(item.relative, st.st_size, st.st_mtime, report):
                continue
        todo.append((item.entry, dest, item.relative, exists))
    clobber.check()
    if not dry_run:
        local.mkdir(parents=True, exist_ok=True)
    with transfer_display(sum(e.size for e, *_ in todo), len(todo)) as display:
        for entry, dest, rel, existed in todo:
            if not dry_run:
                doing(f"download of {entry.path}")
                progress = display.file(entry.name, entry.size)
                if existed or clobber.force:
                    done = await h.download(entry, dest, progress=progress)
                else:  # new here: never replace what another program makes meanwhile
                    got = await download_new(h, entry, dest, progress, clobber.no_clobber)
                    if got is None:
                        report.skipped.append(rel)
                        continue
                    done = got
                display.done_file(done)
                if not await _verify_pull(h, entry, dest, checksum):
                    dest.unlink(missing_ok=True)
                    report.failed.append(rel)
                    say(f"wpd: sync: {rel}: did not verify (removed)", err=True)
                    continue
                report.bytes += done
                st = dest.stat()
                clobber.mark(rel, st.st_size, st.st_mtime)
            (report.changed if existed else report.new).append(rel)
            _say("~" if existed else "+", rel, as_json)
    return report


async def _verify_pull(h: Handle, entry: Entry, dest: Path, checksum: bool) -> bool:
    size = dest.stat().st_size
    if entry.size_exact and size != entry.size:
        return False
    if checksum:
        return await _sha256_device(h, entry) == _sha256_file(dest)
    return True


# --- push ---------------------------------------------------------------------------------------


async def _push(
    h: Handle,
    local: Path,
    remote: str,
    *,
    checksum: bool,
    dry_run: bool,
    as_json: bool,
    clobber: _Clobber,
) -> Report:
    report = Report()
    if not local.is_dir():
        raise CliError(f"{local} is not a folder", ExitCode.USAGE, hint="wpd put copies a file")
    root: Node = (
        await lookup(h, remote) if dry_run else await ensure_folder(h, remote, parents=True)
    )
    if not is_folder(root):
        raise CliError(f"{remote} is not a folder", ExitCode.USAGE)
    there: dict[str, Entry] = {}
    for item in await walk(h, root):
        if item.entry.name.endswith(REMOTE_PART_SUFFIX) and not item.entry.is_folder:
            if not dry_run:
                await h.delete(item.entry)
            report.cleaned += 1
            continue
        there[item.relative] = item.entry
    folders: dict[str, Node] = {"": root}
    todo: list[tuple[Path, str, Entry | None]] = []
    for dirpath, dirnames, filenames in os.walk(local):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(local).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(filenames):
            path = base / name
            if not path.is_file() or name.endswith(LOCAL_PART_SUFFIX):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            old = there.get(rel)
            if old is not None and old.is_folder:
                report.failed.append(rel)
                say(f"wpd: sync: {rel}: a folder is in the way on the device", err=True)
                continue
            st = path.stat()
            if old is not None:
                if _same(old.size, _stamp(old.modified), st.st_size, st.st_mtime):
                    report.unchanged += 1
                    clobber.mark(rel, old.size, _stamp(old.modified))
                    continue
                if not clobber.may_replace(rel, old.size, _stamp(old.modified), report):
                    continue
            todo.append((path, rel, old))
    clobber.check()
    with transfer_display(sum(p.stat().st_size for p, *_ in todo), len(todo)) as display:
        for path, rel, old in todo:
            if not dry_run:
                parent = await _remote_folder(h, folders, there, rel.rpartition("/")[0])
                ok, size = await _push_one(h, path, parent, old, display, checksum)
                if not ok:
                    report.failed.append(rel)
                    say(f"wpd: sync: {rel}: did not verify (removed)", err=True)
                    continue
                report.bytes += size
                clobber.mark(rel, size, path.stat().st_mtime)
            (report.changed if old is not None else report.new).append(rel)
            _say("~" if old is not None else "+", rel, as_json)
    return report


async def _remote_folder(
    h: Handle, folders: dict[str, Node], there: dict[str, Entry], rel: str
) -> Node:
    """The device folder for local folder ``rel`` (created, with its parents, when missing)."""
    if rel in folders:
        return folders[rel]
    head, _, name = rel.rpartition("/")
    parent = await _remote_folder(h, folders, there, head)
    existing = there.get(rel)
    if existing is not None and existing.is_folder:
        folder: Node = existing
    else:
        folder = next(
            (c for c in await children(h, parent) if c.name == name and c.is_folder), None
        ) or await h.mkdir(parent, name)
    folders[rel] = folder
    return folder


async def _push_one(
    h: Handle,
    path: Path,
    parent: Node,
    old: Entry | None,
    display: TransferDisplay,
    checksum: bool,
) -> tuple[bool, int]:
    size = path.stat().st_size
    doing(f"upload of {path}")
    progress = display.file(path.name, size)
    if old is None:
        new = await h.upload(path, parent, progress=progress)
    else:
        new = await h.upload(
            path, parent, name=f".{path.name}{REMOTE_PART_SUFFIX}", progress=progress
        )
    display.done_file(size)
    ok = new.size == size
    if ok and checksum:
        ok = await _sha256_device(h, new) == _sha256_file(path)
    if not ok:
        await h.delete(new)
        return False, size
    if old is not None:
        await h.delete(old)
        await h.rename(new, path.name)
    return True, size


# --- the command --------------------------------------------------------------------------------


@click.command()
@click.argument("source")
@click.argument("destination")
@click.option("--push", is_flag=True, help="Copy from here to the device (SOURCE is local).")
@click.option("--checksum", is_flag=True, help="Read each copy back and compare SHA-256.")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be copied; copy nothing.")
@force_option
@no_clobber_option("--no-clobber")
@json_option
@common_options
def sync(
    source: str,
    destination: str,
    push: bool,
    checksum: bool,
    dry_run: bool,
    force: bool,
    no_clobber: bool,
    as_json: bool,
) -> None:
    """Copy what is missing or changed: wpd sync REMOTE LOCAL, or wpd sync --push LOCAL REMOTE.

    Files are compared by size and modification time; each copy is verified; an interrupted
    run resumes where it stopped when run again. Prints + (new) and ~ (changed) per file and a
    summary; exits 7 when a copy did not verify.

    A changed file is replaced only when it is the copy an earlier sync made, unchanged since;
    any other file in the way makes the run refuse before copying anything, unless -f
    (replace it) or --no-clobber (skip it) is given. -n is --dry-run, as in rsync.
    """
    if force and no_clobber:
        raise CliError("-f and --no-clobber exclude each other", ExitCode.USAGE)
    if push:
        local, remote = Path(source), normalize(destination)
    else:
        local, remote = Path(destination), normalize(source)
    direction = "push" if push else "pull"

    async def body(h: Handle) -> Report:
        info = h.connection.device_info
        device = f"{info.manufacturer}|{info.model}|{info.serial_number}"
        where = _records_file(direction, device, remote, local)
        clobber = _Clobber(_load_records(where), force, no_clobber)
        try:
            if push:
                return await _push(
                    h,
                    local,
                    remote,
                    checksum=checksum,
                    dry_run=dry_run,
                    as_json=as_json,
                    clobber=clobber,
                )
            return await _pull(
                h,
                remote,
                local,
                checksum=checksum,
                dry_run=dry_run,
                as_json=as_json,
                clobber=clobber,
            )
        finally:
            if not dry_run:
                _save_records(where, clobber.records)

    report = with_device(f"sync {source} {destination}", body)
    if as_json:
        emit_json(report.as_dict() | {"dry_run": dry_run})
    else:
        verb = "would copy" if dry_run else "copied"
        copied = len(report.new) + len(report.changed)
        line = (
            f"{verb} {copied} file{'s' * (copied != 1)} ({len(report.new)} new, "
            f"{len(report.changed)} changed, {human_size(report.bytes)}), "
            f"{report.unchanged} up to date"
        )
        if report.skipped:
            line += f", {len(report.skipped)} skipped"
        if report.failed:
            line += f", {len(report.failed)} failed"
        if report.unsafe:
            line += f", {len(report.unsafe)} skipped (unsafe names)"
        if report.cleaned:
            line += f", {report.cleaned} leftover{'s' * (report.cleaned != 1)} removed"
        click.echo(line)
    if report.failed:
        raise CliError(
            f"sync: {len(report.failed)} file(s) failed: {', '.join(report.failed[:5])}",
            ExitCode.VERIFY,
            hint="run the same command again",
        )
    unsafe_failure(report.unsafe)


__all__ = ["LOCAL_PART_SUFFIX", "REMOTE_PART_SUFFIX", "Report", "sync"]
