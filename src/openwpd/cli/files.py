"""Content commands: ``ls``, ``tree``, ``stat``, ``get``, ``put``, ``cat``, ``rm``, ``mkdir``,
``mv``, ``cp``.

Paths on the device are ``/<storage>/<folder>/<file>``. ``get`` and ``put`` copy files and folders
(recursively) like ``cp -r``: one source into a target that does not exist creates the target;
otherwise the sources go *into* the target folder. Transfers show progress bars on a terminal
(:mod:`openwpd.cli._output`); Ctrl-C cancels them on the wire and keeps nothing partial
(:mod:`openwpd.cli._core`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from openwpd.cli._core import (
    CliError,
    ExitCode,
    common_options,
    doing,
    json_option,
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

# --- listing ------------------------------------------------------------------------------------


def _storage_line(storage: Storage, long: bool) -> str:
    if not long:
        return storage.description + "/"
    ro = " (read-only)" if storage.read_only else ""
    return (
        f"s {human_size(storage.free):>10} free of {human_size(storage.capacity):>10}  "
        f"{storage.description}/{ro}"
    )


@click.command("ls")
@click.argument("path", default="/")
@click.option("-l", "long", is_flag=True, help="Long listing: kind, size, date.")
@click.option("-R", "recursive", is_flag=True, help="List every folder below PATH too.")
@json_option
@common_options
def ls(path: str, long: bool, recursive: bool, as_json: bool) -> None:
    """List a folder (or show one file). PATH is /<storage>/folder; / lists the storages."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        if path == "/":
            storages = await h.storages()
            if as_json:
                emit_json([storage_dict(s) for s in storages])
                return
            for storage in storages:
                say(_storage_line(storage, long))
            return
        node = await lookup(h, path)
        if not is_folder(node):
            assert isinstance(node, Entry)
            if as_json:
                emit_json([entry_dict(node)])
            else:
                say(long_line(node) if long else node.name)
            return
        if recursive:
            items = [(w.entry, w.relative) for w in await walk(h, node)]
        else:
            items = [(e, e.name) for e in await children(h, node)]
        if as_json:
            emit_json([entry_dict(e) for e, _ in items])
            return
        for entry, shown in items:
            if long:
                say(long_line(entry, shown))
            else:
                say(shown + ("/" if entry.is_folder else ""))

    with_device(f"ls {path}", body)


@click.command()
@click.argument("path", default="/")
@json_option
@common_options
def tree(path: str, as_json: bool) -> None:
    """Show the content tree below PATH (/ for every storage), with sizes."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        roots: list[Node] = list(await h.storages()) if path == "/" else [await lookup(h, path)]
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
        node = await lookup(h, path)
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


async def _run_download(h: Handle, plan: _Plan) -> tuple[int, int]:
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
            done = await h.download(entry, dest, progress=display.file(entry.name, entry.size))
            display.done_file(done)
            copied += done
    return len(plan.files), copied


def _summary(verb: str, files: int, size: int, started: float) -> None:
    if not sys.stderr.isatty():
        return
    took = max(time.monotonic() - started, 1e-6)
    click.echo(
        f"{verb} {files} file{'s' * (files != 1)}, {human_size(size)} in {took:.1f} s "
        f"({human_size(int(size / took))}/s)",
        err=True,
    )


@click.command()
@click.argument("remote", nargs=-1, required=True)
@click.argument("local", type=click.Path(path_type=Path))
@common_options
def get(remote: tuple[str, ...], local: Path) -> None:
    """Download files and folders (recursively): wpd get REMOTE... LOCAL."""
    started = time.monotonic()

    unsafe: list[str] = []

    async def body(h: Handle) -> tuple[int, int]:
        sources = [await lookup(h, p) for p in remote]
        plan = await _plan_download(h, sources, local)
        unsafe.extend(plan.unsafe)
        return await _run_download(h, plan)

    files, size = with_device(f"get {' '.join(remote)}", body)
    _summary("downloaded", files, size, started)
    unsafe_failure(unsafe)


@click.command()
@click.argument("path")
@common_options
def cat(path: str) -> None:
    """Write a file's content to stdout."""
    path = normalize(path)
    out = sys.stdout.buffer

    async def body(h: Handle) -> None:
        node = await lookup(h, path)
        if is_folder(node):
            raise CliError(f"{path} is a folder", ExitCode.USAGE, hint=f"wpd ls {path}")
        assert isinstance(node, Entry)
        doing(f"reading {path}")
        await h.download(node, out)
        out.flush()

    with_device(f"cat {path}", body)


# --- uploads ------------------------------------------------------------------------------------


def _local_tree(src: Path) -> tuple[list[Path], list[Path]]:
    """(folders, files) below ``src``, sorted, parents first; symlinks to files are followed."""
    folders: list[Path] = []
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        base = Path(dirpath)
        folders.extend(base / d for d in dirnames)
        files.extend(base / f for f in sorted(filenames) if (base / f).is_file())
    return folders, files


async def _upload_file(
    h: Handle,
    src: Path,
    parent: Node,
    name: str,
    display: TransferDisplay,
    existing: list[Entry],
) -> int:
    """Upload ``src`` as ``name`` into ``parent``, replacing a file of that name only once the
    new copy is complete (uploaded under a temporary name, then renamed)."""
    size = src.stat().st_size
    old = next((e for e in existing if e.name == name), None)
    if old is not None and old.is_folder:
        raise CliError(f"{node_path(parent)}/{name} is a folder", ExitCode.FAILED)
    doing(f"upload of {src}")
    progress = display.file(src.name, size)
    if old is None:
        await h.upload(src, parent, name=name, progress=progress)
    else:
        temp = await h.upload(src, parent, name=f".{name}.wpd-part", progress=progress)
        await h.delete(old)
        await h.rename(temp, name)
    display.done_file(size)
    return size


@click.command()
@click.argument("local", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.argument("remote")
@common_options
def put(local: tuple[Path, ...], remote: str) -> None:
    """Upload files and folders (recursively): wpd put LOCAL... REMOTE."""
    remote = normalize(remote)
    started = time.monotonic()

    async def body(h: Handle) -> tuple[int, int]:
        target = await try_lookup(h, remote)
        jobs: list[tuple[Path, str]] = []  # (local source, device path it becomes)
        if target is not None and is_folder(target):
            jobs = [(src, f"{remote}/{src.name}") for src in local]
        elif len(local) > 1:
            raise CliError(f"{remote} is not a folder", ExitCode.USAGE, hint="name a folder")
        else:
            jobs = [(local[0], remote)]
        total = 0
        count = 0
        plan: list[tuple[Path, str]] = []
        for src, dest in jobs:
            if src.is_dir():
                folders, files = _local_tree(src)
                await ensure_folder(h, dest, parents=False)
                for folder in folders:
                    await ensure_folder(
                        h, f"{dest}/{folder.relative_to(src).as_posix()}", parents=False
                    )
                plan.extend((f, f"{dest}/{f.relative_to(src).as_posix()}") for f in files)
            else:
                plan.append((src, dest))
        total_bytes = sum(src.stat().st_size for src, _ in plan)
        listings: dict[str, tuple[Node, list[Entry]]] = {}
        with transfer_display(total_bytes, len(plan)) as display:
            for src, dest in plan:
                parent_path, name = split(dest)
                if parent_path not in listings:
                    parent = await lookup(h, parent_path)
                    if not is_folder(parent):
                        raise CliError(f"{parent_path} is not a folder", ExitCode.FAILED)
                    listings[parent_path] = (parent, await children(h, parent))
                parent, existing = listings[parent_path]
                total += await _upload_file(h, src, parent, name, display, existing)
                count += 1
        return count, total

    files, size = with_device(f"put {remote}", body)
    _summary("uploaded", files, size, started)


# --- changing the tree --------------------------------------------------------------------------


@click.command()
@click.argument("path")
@click.option("-r", "recursive", is_flag=True, help="Delete a folder with everything in it.")
@common_options
def rm(path: str, recursive: bool) -> None:
    """Delete a file (a folder with -r)."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        node = await lookup(h, path)
        if isinstance(node, Storage):
            raise CliError(f"{path} is a storage; it cannot be deleted", ExitCode.USAGE)
        if node.is_folder and not recursive:
            raise CliError(f"{path} is a folder", ExitCode.USAGE, hint=f"wpd rm -r {path}")
        doing(f"delete of {path}")
        await h.delete(node)

    with_device(f"rm {path}", body)


@click.command()
@click.argument("path")
@click.option("-p", "parents", is_flag=True, help="Create missing parents; no error if it exists.")
@common_options
def mkdir(path: str, parents: bool) -> None:
    """Create a folder."""
    path = normalize(path)

    async def body(h: Handle) -> None:
        if not parents and await try_lookup(h, path) is not None:
            raise CliError(f"{path} already exists", ExitCode.FAILED)
        await ensure_folder(h, path, parents=parents)

    with_device(f"mkdir {path}", body)


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
        node = await lookup(h, src)
        if isinstance(node, Storage):
            raise CliError(f"{src} is a storage", ExitCode.USAGE)
        parent, name = await _destination(h, node, dst)
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
        node = await lookup(h, src)
        if isinstance(node, Storage):
            raise CliError(f"{src} is a storage", ExitCode.USAGE)
        parent, name = await _destination(h, node, dst)
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

__all__ = ["COMMANDS", "iso"]
