"""Device paths for the commands: looking things up, listing folders, walking trees.

A device path is ``/<storage description>/<folder>/<file>``; ``/`` alone means "every storage".
Paths of existing objects may hold ``*``, ``?`` and ``[...]`` patterns in any component
(:func:`expand`), matched against the device's listings as a shell matches file names: a
leading ``.`` is matched only by a pattern that starts with one; a pattern that matches nothing
names the object of that literal name if there is one, else it is "not found" (exit 3).
Listings are collected before anything else is asked of the handle: the client streams a listing
inside the handle's turn, so a nested operation must wait until the listing is finished.
"""

from __future__ import annotations

import posixpath
import re
from contextlib import aclosing
from dataclasses import dataclass
from fnmatch import fnmatchcase

from openwpd.cli._core import CliError, ExitCode
from openwpd.client import Entry, Handle, Storage
from openwpd.client.names import printable
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import LocalProtocolError, ResponseError

Node = Entry | Storage

#: How many folder levels below its root :func:`walk` goes before it gives up (a real tree is
#: far shallower; a device that makes up folders as it is asked would never end).
MAX_DEPTH = 128

_MISSING = (
    ResponseCode.INVALID_OBJECT_HANDLE,
    ResponseCode.INVALID_STORAGE_ID,
    ResponseCode.INVALID_PARENT_OBJECT,
)


def normalize(path: str) -> str:
    """``"Phone//DCIM/"`` -> ``"/Phone/DCIM"``; ``""`` and ``"/"`` -> ``"/"``. ``.`` and ``..``
    components are resolved textually."""
    # normpath keeps a leading "//" (POSIX leaves its meaning open): strip every leading slash
    return "/" + posixpath.normpath("/" + path.strip()).lstrip("/")


def split(path: str) -> tuple[str, str]:
    """(parent path, name) of a normalized path below a storage."""
    parent, name = posixpath.split(path)
    return parent, name


def node_path(node: Node) -> str:
    return node.path if isinstance(node, Storage) else (node.path or f"/?/{node.name}")


def node_name(node: Node) -> str:
    return node.description if isinstance(node, Storage) else node.name


def is_folder(node: Node) -> bool:
    return isinstance(node, Storage) or node.is_folder


async def lookup(handle: Handle, path: str) -> Node:
    """The object (or storage) at ``path``; raises CliError NOT_FOUND when it does not exist."""
    path = normalize(path)
    if path == "/":
        raise CliError("/ is not a file or folder (name a storage: /<storage>/...)", ExitCode.USAGE)
    try:
        return await handle.resolve(path)
    except ResponseError as exc:
        if exc.code in _MISSING:
            raise CliError(
                f"no such file or folder on the device: {path}",
                ExitCode.NOT_FOUND,
                hint="`wpd ls` shows what is there",
            ) from None
        raise
    except LocalProtocolError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None


async def try_lookup(handle: Handle, path: str) -> Node | None:
    """Like :func:`lookup`, None when nothing is at ``path``."""
    try:
        return await lookup(handle, path)
    except CliError as exc:
        if exc.exit_code == ExitCode.NOT_FOUND:
            return None
        raise


async def children(handle: Handle, parent: Node) -> list[Entry]:
    """The children of a folder or storage, sorted by name (folders and files mixed)."""
    found: list[Entry] = []
    async with aclosing(handle.list(parent)) as listing:
        async for entry in listing:
            found.append(entry)
    found.sort(key=lambda e: e.name)
    return found


@dataclass(frozen=True, slots=True)
class Walked:
    """One object met by :func:`walk`: its entry, its path relative to the walk's root, and
    the names on that path (as the device gave them: a name may itself contain ``/``)."""

    entry: Entry
    relative: str
    depth: int
    names: tuple[str, ...] = ()


async def walk(handle: Handle, root: Node) -> list[Walked]:
    """Every object below ``root``, depth first, parents before their children.

    A device's folders are trusted to form a tree only as far as it is checked: a folder met a
    second time (a folder listed inside itself or inside one of its descendants; a cycle would
    make the walk endless) raises CliError PROTOCOL, and so does a tree nested more than
    :data:`MAX_DEPTH` folder levels below ``root`` (a device can make up new folders forever)."""
    result: list[Walked] = []
    seen: set[int] = set() if isinstance(root, Storage) else {root.handle}

    async def visit(node: Node, prefix: str, names: tuple[str, ...]) -> None:
        if len(names) >= MAX_DEPTH:
            raise CliError(
                f"{printable(node_path(node))}: the device's folders go deeper than "
                f"{MAX_DEPTH} levels below {printable(node_path(root))}",
                ExitCode.PROTOCOL,
                hint="walk a folder further down",
            )
        for child in await children(handle, node):
            rel = f"{prefix}{child.name}"
            path = (*names, child.name)
            result.append(Walked(child, rel, len(names), path))
            if child.is_folder:
                if child.handle in seen:
                    raise CliError(
                        f"{printable(node_path(root))}/{printable(rel)}: the device lists "
                        f"folder 0x{child.handle:08X} inside itself: its folders form a cycle",
                        ExitCode.PROTOCOL,
                        hint="the device is broken or hostile; walk a folder outside the cycle",
                    )
                seen.add(child.handle)
                await visit(child, rel + "/", path)

    await visit(root, "", ())
    return result


async def ensure_folder(handle: Handle, path: str, *, parents: bool) -> Node:
    """The folder at ``path``, created if missing (with its missing parents when ``parents``).
    Raises CliError when something that is not a folder is in the way."""
    path = normalize(path)
    node = await try_lookup(handle, path)
    if node is not None:
        if not is_folder(node):
            raise CliError(f"{path} exists and is not a folder", ExitCode.FAILED)
        return node
    parent_path, name = split(path)
    if parent_path == "/":
        raise CliError(f"no storage called {name!r}", ExitCode.NOT_FOUND, hint="`wpd storages`")
    if parents:
        parent = await ensure_folder(handle, parent_path, parents=True)
    else:
        parent = await lookup(handle, parent_path)
        if not is_folder(parent):
            raise CliError(f"{parent_path} is not a folder", ExitCode.FAILED)
    return await handle.mkdir(parent, name)


_MAGIC = re.compile(r"[*?[]")


def has_magic(path: str) -> bool:
    """Whether ``path`` holds a glob pattern (``*``, ``?`` or ``[``)."""
    return _MAGIC.search(path) is not None


def _matches(name: str, pattern: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatchcase(name, pattern)


async def expand(handle: Handle, path: str) -> list[Node]:
    """The objects (or storages) that ``path`` names, sorted by path: the one object for a
    plain path, every match for a pattern (see the module docstring). Raises CliError
    NOT_FOUND when nothing matches."""
    path = normalize(path)
    if not has_magic(path):
        return [await lookup(handle, path)]
    first, *rest = path.strip("/").split("/")
    current: list[Node]
    if has_magic(first):
        current = [s for s in await handle.storages() if _matches(s.description, first)]
    else:
        found = await try_lookup(handle, "/" + first)
        current = [] if found is None else [found]
    for part in rest:
        following: list[Node] = []
        for node in current:
            if not is_folder(node):
                continue
            if has_magic(part):
                following.extend(c for c in await children(handle, node) if _matches(c.name, part))
            else:
                found = await try_lookup(handle, f"{node_path(node)}/{part}")
                if found is not None:
                    following.append(found)
        current = following
    if not current:
        literal = await try_lookup(handle, path)  # a name that holds * ? or [ itself
        if literal is not None:
            return [literal]
        raise CliError(
            f"nothing on the device matches {path}",
            ExitCode.NOT_FOUND,
            hint="`wpd ls` shows what is there",
        )
    return sorted(current, key=node_path)


async def expand_one(handle: Handle, path: str) -> Node:
    """The single object ``path`` (a pattern or not) names; a pattern matching several is a
    usage error."""
    found = await expand(handle, path)
    if len(found) > 1:
        names = ", ".join(node_path(n) for n in found[:3]) + (", ..." if len(found) > 3 else "")
        raise CliError(
            f"{normalize(path)} matches {len(found)} objects ({names}); this command takes one",
            ExitCode.USAGE,
        )
    return found[0]


__all__ = [
    "MAX_DEPTH",
    "Node",
    "Walked",
    "children",
    "ensure_folder",
    "expand",
    "expand_one",
    "has_magic",
    "is_folder",
    "lookup",
    "node_name",
    "node_path",
    "normalize",
    "split",
    "try_lookup",
    "walk",
]
