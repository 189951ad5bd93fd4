"""Content commands: ``ls``, ``tree``, ``stat``, ``get``, ``put``, ``cat``, ``rm``, ``mkdir``,
``mv``, ``cp``.

Paths on the device are ``/<storage>/<folder>/<file>``; paths of existing objects may be
``*``/``?``/``[...]`` patterns (:func:`openwpd.cli._remote.expand`). ``get`` and ``put`` copy
files and folders (recursively) like ``cp -r``: one source into a target that does not exist
creates the target; otherwise the sources go *into* the target folder. Transfers show progress
bars on a terminal (:mod:`openwpd.cli._output`); Ctrl-C cancels them on the wire and keeps
nothing partial (:mod:`openwpd.cli._core`).
"""

from __future__ import annotations

import os
import stat as stat_mod
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from openwpd.cli._core import (
    CLOBBER_HINT,
    CliError,
    ExitCode,
    common_options,
    doing,
    force_option,
    json_option,
    no_clobber_option,
    note,
    refuse_existing,
    settings,
    translate,
    unsafe_failure,
    warn_unsafe,
    with_device,
)
from openwpd.cli._output import (
    TransferDisplay,
    emit_json,
    entry_dict,
    format_name,
    human_size,
    iso,
    long_line,
    say,
    storage_dict,
    transfer_display,
)
from openwpd.cli._remote import (
    Node,
    Walked,
    children,
    ensure_folder,
    expand,
    expand_one,
    is_folder,
    lookup,
    node_name,
    node_path,
    normalize,
    split,
    try_lookup,
    walk,
)
from openwpd.client import Entry, Handle, Storage
from openwpd.client.names import UnsafeName, local_path
from openwpd.client.transfer import remove_leftovers
from openwpd.protocol.errors import ResponseError

# --- listing ------------------------------------------------------------------------------------


def _storage_line(storage: Storage, long: bool) -> str:
    if not long:
        return storage.description + "/"
    ro = " (read-only)" if storage.read_only else ""
    return (
        f"s {human_size(storage.free):>10} free of {human_size(storage.capacity):>10}  "
        f"{storage.description}/{ro}"
    )


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


@click.command("ls", context_settings={"help_option_names": ["--help"]})
@click.argument("path", default="/")
@click.option("-l", "long", is_flag=True, help="Long listing: kind, size, date.")
@click.option("-R", "recursive", is_flag=True, help="List every folder below PATH too.")
@click.option(
    "-h", "--human-readable", "human", is_flag=True, help="With -l: sizes as 1.5 KiB, 3.2 MiB."
)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show names starting with '.' too.")
@json_option
@common_options
def ls(path: str, long: bool, recursive: bool, human: bool, show_all: bool, as_json: bool) -> None:
    """List a folder (or show one file). PATH is /<storage>/folder; / lists the storages.

    PATH may be a pattern (/Phone/DCIM/*/IMG_*.jpg): every match is shown. Names starting
    with '.' are left out unless -a is given. (-h is human sizes here; --help is the help.)
    """
    path = normalize(path)

    def line(entry: Entry, shown: str) -> str:
        if long:
            return long_line(entry, shown, human=human)
        return shown + ("/" if entry.is_folder else "")

    async def body(h: Handle) -> None:
        if path == "/":
            storages = await h.storages()
            if as_json:
                emit_json([storage_dict(s) for s in storages])
                return
            for storage in storages:
                say(_storage_line(storage, long))
            return
        nodes = await expand(h, path)
        single = len(nodes) == 1
        data: list[dict[str, object]] = []
        lines: list[str] = []
        for node in nodes:
            if isinstance(node, Entry) and not node.is_folder:
                data.append(entry_dict(node))
                lines.append(line(node, node.name if single else node_path(node)))
        for node in nodes:
            if not is_folder(node):
                continue
            if recursive:
                items = [(w.entry, w.relative) for w in await walk(h, node)]
            else:
                items = [(e, e.name) for e in await children(h, node)]
            if not show_all:
                items = [(e, shown) for e, shown in items if not _hidden(shown)]
            if not single:
                lines.extend([""] if lines else [])
                lines.append(f"{node_path(node)}:")
            for entry, shown in items:
                data.append(entry_dict(entry))
                lines.append(line(entry, shown))
        if as_json:
            emit_json(data)
            return
        for text in lines:
            say(text)

    with_device(f"ls {path}", body)


@click.command()
@click.argument("path", default="/")
@json_option
@common_options
def tree(path: str, as_json: bool) -> None:
    """Show the content tree below PATH (/ for every storage), with sizes."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        roots: list[Node] = list(await h.storages()) if path == "/" else await expand(h, path)
        data = []
        for root in roots:
            items = await walk(h, root) if is_folder(root) else []
            data.append((root, items))
        if as_json:
            emit_json([_tree_json(root, items) for root, items in data])
            return
        for root, items in data:
            say(node_path(root) + ("/" if is_folder(root) else ""))
            _print_tree(items)

    with_device(f"tree {path}", body)


def _tree_json(root: Node, items: list[Walked]) -> dict[str, object]:
    top: dict[str, object] = (
        storage_dict(root) if isinstance(root, Storage) else entry_dict(root)
    ) | {"children": []}
    stack: list[dict[str, object]] = [top]
    for item in items:
        node = entry_dict(item.entry) | {"children": []}
        del stack[item.depth + 1 :]
        kids = stack[-1]["children"]
        assert isinstance(kids, list)
        kids.append(node)
        stack.append(node)
    return top


def _print_tree(walked: list[Walked]) -> None:
    # whether the item is the last child of its parent, to draw the branches
    last = [True] * len(walked)
    for i, item in enumerate(walked):
        for later in walked[i + 1 :]:
            if later.depth < item.depth:
                break
            if later.depth == item.depth:
                last[i] = False
                break
    open_levels: list[bool] = []
    for i, item in enumerate(walked):
        del open_levels[item.depth :]
        prefix = "".join("│   " if more else "    " for more in open_levels)
        branch = "└── " if last[i] else "├── "
        entry = item.entry
        size = "" if entry.is_folder else f"  ({human_size(entry.size)})"
        say(f"{prefix}{branch}{entry.name}{'/' if entry.is_folder else ''}{size}")
        open_levels.append(not last[i])


@click.command()
@click.argument("path")
@json_option
@common_options
def stat(path: str, as_json: bool) -> None:
    """Show what the device says about one file, folder or storage."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        node = await expand_one(h, path)
        data = storage_dict(node) if isinstance(node, Storage) else entry_dict(node)
        if as_json:
            emit_json(data)
            return
        if isinstance(node, Entry):
            data["format"] = format_name(node.format)
            data["handle"] = f"0x{node.handle:08X}"
            data["storage_id"] = f"0x{node.storage_id:08X}"
            data["parent"] = f"0x{node.parent:08X}"
        else:
            data["id"] = f"0x{node.id:08X}"
        for key, value in data.items():
            shown = "-" if value is None else value
            say(f"{key + ':':<13}{shown}")

    with_device(f"stat {path}", body)


# --- downloads ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    folders: list[Path]
    files: list[tuple[Entry, Path]]
    #: device paths left out because a name on the way cannot be a local name (warned)
    unsafe: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(e.size for e, _ in self.files)


async def _plan_download(h: Handle, sources: list[Node], local: Path) -> _Plan:
    plan = _Plan([], [])
    into = local.is_dir() or len(sources) > 1
    if len(sources) > 1 and not local.is_dir():
        raise CliError(
            f"{local} is not a folder (several sources need one)",
            ExitCode.USAGE,
            hint="create it first",
        )
    for node in sources:
        target = _safe_dest(plan, node_path(node), local, node_name(node)) if into else local
        if target is None:
            continue
        if not is_folder(node):
            assert isinstance(node, Entry)
            plan.files.append((node, target))
            continue
        plan.folders.append(target)
        skipped: list[tuple[str, ...]] = []  # folders left out: their content goes too
        for item in await walk(h, node):
            if any(item.names[: len(s)] == s for s in skipped):
                continue
            dest = _safe_dest(plan, node_path(item.entry), target, *item.names)
            if dest is None:
                skipped.append(item.names)
                continue
            if item.entry.is_folder:
                plan.folders.append(dest)
            else:
                plan.files.append((item.entry, dest))
    return plan


def _safe_dest(plan: _Plan, shown: str, base: Path, *names: str) -> Path | None:
    """``base/names...``, or None (warned, recorded) when a device name is unusable here."""
    try:
        return local_path(base, *names)
    except UnsafeName:
        plan.unsafe.append(shown)
        warn_unsafe(shown)
        return None


async def _run_download(
    h: Handle, plan: _Plan, force: bool = True, no_clobber: bool = False
) -> tuple[int, int]:
    for folder in plan.folders:
        folder.mkdir(parents=True, exist_ok=True)
    # what a killed earlier run of this command left next to the files it is about to write
    targets: dict[Path, list[str]] = {}
    for _, dest in plan.files:
        targets.setdefault(dest.parent, []).append(dest.name)
    for folder, names in targets.items():
        remove_leftovers(folder, names)
    copied = 0
    with transfer_display(plan.total, len(plan.files)) as display:
        for entry, dest in plan.files:
            doing(f"download of {entry.path}")
            progress = display.file(entry.name, entry.size)
            if force:
                done = await h.download(entry, dest, progress=progress)
            elif (got := await download_new(h, entry, dest, progress, no_clobber)) is None:
                continue
            else:
                done = got
            display.done_file(done)
            copied += done
    return len(plan.files), copied


async def download_new(
    h: Handle, entry: Entry, dest: Path, progress: Any, no_clobber: bool
) -> int | None:
    """Download ``entry`` as ``dest``, which did not exist when the command started and must
    not be replaced if another program makes it meanwhile (the library's ``replace=False``:
    the copy is hard-linked into place, which fails rather than replace anything). Returns
    the bytes copied, None when ``dest`` appeared and ``no_clobber`` skips it."""
    try:
        return await h.download(entry, dest, progress=progress, replace=False)
    except FileExistsError:
        if no_clobber:
            note(f"skipped {dest}: it appeared during the download")
            return None
        raise CliError(
            f"{dest} appeared during the download and was left alone",
            ExitCode.FAILED,
            hint=CLOBBER_HINT,
        ) from None


def _summary(verb: str, files: int, size: int, started: float) -> None:
    if not sys.stderr.isatty():
        return
    took = max(time.monotonic() - started, 1e-6)
    click.echo(
        f"{verb} {files} file{'s' * (files != 1)}, {human_size(size)} in {took:.1f} s "
        f"({human_size(int(size / took))}/s)",
        err=True,
    )


FOLDER_SLASH_HINT = "a destination ending in / must be an existing folder"


def _exclusive(force: bool, no_clobber: bool) -> None:
    if force and no_clobber:
        raise CliError("-f and -n exclude each other", ExitCode.USAGE)


def _local_slash(local: str) -> None:
    """A local destination written with a trailing slash must be an existing folder (as cp)."""
    if not local.endswith(("/", os.sep)) or Path(local).is_dir():
        return
    if os.path.lexists(local.rstrip("/" + os.sep) or local):
        raise CliError(f"{local} is not a folder", ExitCode.USAGE, hint=FOLDER_SLASH_HINT)
    raise CliError(f"no such folder here: {local}", ExitCode.NOT_FOUND, hint=FOLDER_SLASH_HINT)


def _local_clobber(plan: _Plan, force: bool, no_clobber: bool) -> None:
    """Check the plan against what exists here: a file in the way refuses the whole download
    (before anything is copied) unless ``force`` (replace) or ``no_clobber`` (skip it)."""
    for folder in plan.folders:
        if os.path.lexists(folder) and not folder.is_dir():
            raise CliError(f"{folder} exists and is not a folder", ExitCode.FAILED)
    kept: list[tuple[Entry, Path]] = []
    existing: list[str] = []
    for entry, dest in plan.files:
        if dest.is_dir():
            raise CliError(f"{dest} is a folder; a file cannot replace it", ExitCode.FAILED)
        if os.path.lexists(dest):
            if no_clobber:
                note(f"skipped {dest}: it exists")
                continue
            if not force:
                existing.append(str(dest))
                continue
        kept.append((entry, dest))
    if existing:
        raise refuse_existing("get", existing)
    plan.files = kept


@click.command()
@click.argument("remote", nargs=-1, required=True)
@click.argument("local")
@force_option
@no_clobber_option("-n", "--no-clobber")
@common_options
def get(remote: tuple[str, ...], local: str, force: bool, no_clobber: bool) -> None:
    """Download files and folders (recursively): wpd get REMOTE... LOCAL.

    An existing file is never replaced unless -f is given (-n skips it instead); without
    either, the command refuses before copying anything. Folders are merged. LOCAL ending
    in / must be an existing folder.
    """
    _exclusive(force, no_clobber)
    _local_slash(local)
    target = Path(local)
    started = time.monotonic()

    unsafe: list[str] = []

    async def body(h: Handle) -> tuple[int, int]:
        sources = [node for p in remote for node in await expand(h, p)]
        plan = await _plan_download(h, sources, target)
        unsafe.extend(plan.unsafe)
        _local_clobber(plan, force, no_clobber)
        return await _run_download(h, plan, force, no_clobber)

    files, size = with_device(f"get {' '.join(remote)}", body)
    _summary("downloaded", files, size, started)
    unsafe_failure(unsafe)


@click.command()
@click.argument("path")
@common_options
def cat(path: str) -> None:
    """Write a file's content to stdout (every match of a pattern, one after the other)."""
    path = normalize(path)
    out = sys.stdout.buffer

    async def body(h: Handle) -> None:
        nodes = await expand(h, path)
        for node in nodes:
            if is_folder(node):
                shown = node_path(node)
                raise CliError(f"{shown} is a folder", ExitCode.USAGE, hint=f"wpd ls {shown}")
        for node in nodes:
            assert isinstance(node, Entry)
            doing(f"reading {node_path(node)}")
            await h.download(node, out)
            out.flush()

    with_device(f"cat {path}", body)


# --- uploads ------------------------------------------------------------------------------------


def _local_tree(src: Path, unreadable: list[str]) -> tuple[list[Path], list[Path]]:
    """(folders, files) below ``src``, sorted, parents first; symlinks to files are followed.
    What cannot be copied -- a folder that cannot be listed, a dangling symlink, a FIFO, a
    socket, a device -- is added to ``unreadable`` (``"PATH: why"``) and left out."""
    folders: list[Path] = []
    files: list[Path] = []

    def cannot_list(exc: OSError) -> None:
        unreadable.append(f"{exc.filename}: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(src, onerror=cannot_list):
        dirnames.sort()
        base = Path(dirpath)
        folders.extend(base / d for d in dirnames)
        for name in sorted(filenames):
            path = base / name
            why = _not_copyable(path)
            if why is None:
                files.append(path)
            else:
                unreadable.append(f"{path}: {why}")
    return folders, files


def _not_copyable(path: Path) -> str | None:
    """Why ``path`` cannot be uploaded as a file, or None when it can (a regular file, or a
    symlink to one)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a dangling symlink" if path.is_symlink() else "it is gone"
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat_mod.S_ISREG(mode):
        return None
    if stat_mod.S_ISFIFO(mode):
        return "not a regular file (a FIFO)"
    if stat_mod.S_ISSOCK(mode):
        return "not a regular file (a socket)"
    return "not a regular file"


async def _upload_file(
    h: Handle,
    src: Path,
    parent: Node,
    name: str,
    display: TransferDisplay,
    existing: list[Entry],
) -> int:
    """Upload ``src`` as ``name`` into ``parent``, replacing a file of that name only once the
    new copy is complete (see ``Handle.replace``)."""
    size = src.stat().st_size
    old = next((e for e in existing if e.name == name), None)
    if old is not None and old.is_folder:
        raise CliError(f"{node_path(parent)}/{name} is a folder", ExitCode.FAILED)
    doing(f"upload of {src}")
    progress = display.file(src.name, size)
    if old is None:
        await h.upload(src, parent, name=name, progress=progress)
    else:
        await h.replace(old, src, progress=progress)
    display.done_file(size)
    return size


@click.command()
@click.argument("local", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.argument("remote")
@force_option
@no_clobber_option("-n", "--no-clobber")
@common_options
def put(local: tuple[Path, ...], remote: str, force: bool, no_clobber: bool) -> None:
    """Upload files and folders (recursively): wpd put LOCAL... REMOTE.

    What cannot be read here (a file or folder without permission, a dangling symlink, a FIFO,
    a file gone meanwhile) is named on stderr and left out; the rest is copied and the exit
    code is 6.

    An existing file is never replaced unless -f is given (-n skips it instead); without
    either, the command refuses before copying anything. A replaced file is swapped only once
    the new copy is complete. Folders are merged. REMOTE ending in / must be an existing
    folder.
    """
    _exclusive(force, no_clobber)
    slash = remote.rstrip().endswith("/") and normalize(remote) != "/"
    remote = normalize(remote)
    started = time.monotonic()

    async def body(h: Handle) -> tuple[int, int]:
        target = await try_lookup(h, remote)
        jobs: list[tuple[Path, str]] = []  # (local source, device path it becomes)
        if target is not None and is_folder(target):
            jobs = [(src, f"{remote}/{src.name}") for src in local]
        elif slash:
            if target is None:
                raise CliError(
                    f"no such folder on the device: {remote}/",
                    ExitCode.NOT_FOUND,
                    hint=FOLDER_SLASH_HINT,
                )
            raise CliError(f"{remote}/ is not a folder", ExitCode.USAGE, hint=FOLDER_SLASH_HINT)
        elif len(local) > 1:
            raise CliError(f"{remote} is not a folder", ExitCode.USAGE, hint="name a folder")
        else:
            jobs = [(local[0], remote)]
        folders: list[str] = []  # device folders to make, parents first
        plan: list[tuple[Path, str]] = []
        for src, dest in jobs:
            if src.is_dir():
                below, files = _local_tree(src, unreadable)
                folders.append(dest)
                folders.extend(f"{dest}/{d.relative_to(src).as_posix()}" for d in below)
                plan.extend((f, f"{dest}/{f.relative_to(src).as_posix()}") for f in files)
            elif (why := _not_copyable(src)) is not None:
                unreadable.append(f"{src}: {why}")
            else:
                plan.append((src, dest))
        plan = await _remote_clobber(h, folders, plan, force, no_clobber)
        for folder in folders:
            await ensure_folder(h, folder, parents=False)
        total_bytes = sum(_size(src) for src, _ in plan)
        listings: dict[str, tuple[Node, list[Entry]]] = {}
        total = 0
        count = 0
        with transfer_display(total_bytes, len(plan)) as display:
            for src, dest in plan:
                parent_path, name = split(dest)
                if parent_path not in listings:
                    parent = await lookup(h, parent_path)
                    if not is_folder(parent):
                        raise CliError(f"{parent_path} is not a folder", ExitCode.FAILED)
                    listings[parent_path] = (parent, await children(h, parent))
                parent, existing = listings[parent_path]
                try:
                    total += await _upload_file(h, src, parent, name, display, existing)
                except BrokenPipeError:
                    raise
                except OSError as exc:  # read here; the client left nothing on the device
                    unreadable.append(f"{src}: {exc.strerror or exc}")
                    continue
                count += 1
        return count, total

    unreadable: list[str] = []
    files, size = with_device(f"put {remote}", body)
    _summary("uploaded", files, size, started)
    if unreadable:
        for line in unreadable:
            click.echo(f"wpd: put: cannot read {line}", err=True)
        raise CliError(
            f"put: {len(unreadable)} local file(s) or folder(s) could not be read; "
            f"the rest ({files} file{'s' * (files != 1)}) was copied",
            ExitCode.LOCAL,
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when its upload fails


async def _remote_clobber(
    h: Handle,
    folders: list[str],
    plan: list[tuple[Path, str]],
    force: bool,
    no_clobber: bool,
) -> list[tuple[Path, str]]:
    """Check an upload plan against what is on the device (before anything is made there): a
    file in the way refuses the whole upload unless ``force`` (replace) or ``no_clobber``
    (skip it); a file where a folder goes, or a folder where a file goes, is an error."""
    listings: dict[str, dict[str, Entry] | None] = {}

    async def existing(path: str) -> Entry | None:
        parent_path, name = split(path)
        if parent_path not in listings:
            parent = await try_lookup(h, parent_path)
            if parent is None:
                listings[parent_path] = None
            elif not is_folder(parent):
                raise CliError(f"{parent_path} is not a folder", ExitCode.FAILED)
            else:
                listings[parent_path] = {e.name: e for e in await children(h, parent)}
        found = listings[parent_path]
        return None if found is None else found.get(name)

    for folder in folders:
        old = await existing(folder)
        if old is not None and not old.is_folder:
            raise CliError(f"{folder} exists and is not a folder", ExitCode.FAILED)
    kept: list[tuple[Path, str]] = []
    in_the_way: list[str] = []
    for src, dest in plan:
        old = await existing(dest)
        if old is not None:
            if old.is_folder:
                raise CliError(f"{dest} is a folder; a file cannot replace it", ExitCode.FAILED)
            if no_clobber:
                note(f"skipped {dest}: it exists on the device")
                continue
            if not force:
                in_the_way.append(dest)
                continue
        kept.append((src, dest))
    if in_the_way:
        raise refuse_existing("put", in_the_way)
    return kept


# --- changing the tree --------------------------------------------------------------------------


async def _each(h: Handle, what: str, paths: tuple[str, ...], one: Any) -> None:
    """Run ``one(h, path)`` for every path, going on after a path that fails (as rm and mkdir
    do): each failure is one line; the exit code is the first failure's."""
    verbose = settings().verbose
    errors: list[CliError] = []
    for path in paths:
        try:
            await one(h, normalize(path))
        except CliError as exc:
            errors.append(exc)
        except ResponseError as exc:
            errors.append(translate(exc, f"{what} {normalize(path)}", verbose))
    if errors:
        for error in errors[:-1]:
            error.show()
        last = errors[-1]
        setattr(last, "exit_code", errors[0].exit_code)  # noqa: B010
        raise last


@click.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@click.option("-r", "recursive", is_flag=True, help="Delete folders with everything in them.")
@common_options
def rm(paths: tuple[str, ...], recursive: bool) -> None:
    """Delete files (folders with -r). PATHs may be patterns: /Phone/DCIM/*.jpg."""

    async def one(h: Handle, path: str) -> None:
        nodes = await expand(h, path)
        for node in nodes:
            shown = node_path(node)
            if isinstance(node, Storage):
                raise CliError(f"{shown} is a storage; it cannot be deleted", ExitCode.USAGE)
            if node.is_folder and not recursive:
                raise CliError(f"{shown} is a folder", ExitCode.USAGE, hint=f"wpd rm -r {shown}")
        for node in nodes:
            assert isinstance(node, Entry)
            doing(f"delete of {node_path(node)}")
            await h.delete(node)

    with_device(f"rm {' '.join(paths)}", lambda h: _each(h, "rm", paths, one))


@click.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@click.option("-p", "parents", is_flag=True, help="Create missing parents; no error if it exists.")
@common_options
def mkdir(paths: tuple[str, ...], parents: bool) -> None:
    """Create folders."""

    async def one(h: Handle, path: str) -> None:
        if not parents and await try_lookup(h, path) is not None:
            raise CliError(f"{path} already exists", ExitCode.FAILED)
        await ensure_folder(h, path, parents=parents)

    with_device(f"mkdir {' '.join(paths)}", lambda h: _each(h, "mkdir", paths, one))


async def _destination(h: Handle, src: Entry, dst: str) -> tuple[Node, str]:
    """(parent folder, name) that ``dst`` names for ``src``: into ``dst`` when it is a folder,
    else ``dst``'s parent under ``dst``'s name."""
    target = await try_lookup(h, dst)
    if target is not None and is_folder(target):
        return target, src.name
    if target is not None:
        raise CliError(f"{dst} already exists", ExitCode.FAILED, hint=f"wpd rm {dst} first")
    parent_path, name = split(dst)
    if parent_path == "/":
        raise CliError(f"{dst} is not inside a storage", ExitCode.USAGE)
    parent = await lookup(h, parent_path)
    if not is_folder(parent):
        raise CliError(f"{parent_path} is not a folder", ExitCode.FAILED)
    return parent, name


def _not_into_itself(verb: str, node: Entry, parent: Node, dst: str) -> None:
    """A folder cannot go into itself or anything below it."""
    if not node.is_folder or node.path is None:
        return
    where = node_path(parent)
    if where == node.path or where.startswith(node.path + "/"):
        raise CliError(
            f"cannot {verb} {node.path} into itself ({dst} is inside it)", ExitCode.USAGE
        )


def _same_parent(entry: Entry, parent: Node) -> bool:
    if isinstance(parent, Storage):
        return entry.parent == 0 and entry.storage_id == parent.id
    return entry.parent == parent.handle


@click.command()
@click.argument("src")
@click.argument("dst")
@common_options
def mv(src: str, dst: str) -> None:
    """Move or rename a file or folder."""
    src, dst = normalize(src), normalize(dst)

    async def body(h: Handle) -> None:
        node = await expand_one(h, src)
        if isinstance(node, Storage):
            raise CliError(f"{src} is a storage", ExitCode.USAGE)
        parent, name = await _destination(h, node, dst)
        _not_into_itself("move", node, parent, dst)
        entry = node
        if not _same_parent(entry, parent):
            entry = await h.move(entry, parent)
        if name != entry.name:
            await h.rename(entry, name)

    with_device(f"mv {src} {dst}", body)


@click.command()
@click.argument("src")
@click.argument("dst")
@common_options
def cp(src: str, dst: str) -> None:
    """Copy a file or folder on the device (the device copies; nothing travels)."""
    src, dst = normalize(src), normalize(dst)

    async def body(h: Handle) -> None:
        node = await expand_one(h, src)
        if isinstance(node, Storage):
            raise CliError(f"{src} is a storage", ExitCode.USAGE)
        parent, name = await _destination(h, node, dst)
        _not_into_itself("copy", node, parent, dst)
        doing(f"copy of {src}")
        if _same_parent(node, parent):
            # CopyObject takes no name, and a folder cannot hold two objects of one name:
            # a copy next to the original travels through the host instead
            if node.is_folder:
                raise CliError("a folder can only be copied into another folder", ExitCode.USAGE)
            with tempfile.TemporaryFile() as spool:
                await h.download(node, spool)
                spool.seek(0)
                await h.upload(spool, parent, name=name, mtime=node.modified)
            return
        if any(child.name == node.name for child in await children(h, parent)):
            raise CliError(f"{node_path(parent)}/{node.name} already exists", ExitCode.FAILED)
        copy = await h.copy(node, parent)
        if name != copy.name:
            await h.rename(copy, name)

    with_device(f"cp {src} {dst}", body)


COMMANDS = (ls, tree, stat, get, put, cat, rm, mkdir, mv, cp)

__all__ = ["COMMANDS", "download_new", "iso"]
