"""Every layer rule of the architecture (docs/architecture.md), checked on every module's AST.

Imports go downward only: ``cli -> wpd -> client -> transport -> protocol``,
``cli -> mount -> client`` and ``server -> transport -> protocol``. The server never imports the
client, the WPD API or the CLI; the client never imports the server, the WPD API or the CLI; the
transports import neither; the protocol core imports nothing above it, only the standard
library, and no I/O or clock module.
``_aio.py`` and ``_files.py`` (helpers shared by the server and the client) import only the
standard library; the package's ``__init__`` only the protocol core (it re-exports the errors).

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, relative ones,
and ``__import__`` / ``importlib.import_module`` calls with a constant name.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import openwpd

PACKAGE = Path(openwpd.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))

SHARED_HELPERS = {"_aio", "_files"}
#: What each layer may import from the package ("root" is ``openwpd/__init__.py``).
ALLOWED: dict[str, set[str]] = {
    "protocol": {"protocol"},
    "root": {"protocol"},
    "_aio": set(),
    "_files": set(),
    "transport": {"transport", "protocol", "root", *SHARED_HELPERS},
    "server": {"server", "transport", "protocol", "root", *SHARED_HELPERS},
    "client": {"client", "transport", "protocol", "root", *SHARED_HELPERS},
    "wpd": {"wpd", "client", "transport", "protocol", "root", *SHARED_HELPERS},
    "mount": {"mount", "client", "transport", "protocol", "root", *SHARED_HELPERS},
    "cli": {
        "cli",
        "mount",
        "wpd",
        "client",
        "server",
        "transport",
        "protocol",
        "root",
        *SHARED_HELPERS,
    },
}
#: Standard-library modules the sans-I/O core must not import: I/O, clocks, threads, processes.
IO_MODULES = {
    "asyncio",
    "io",
    "mmap",
    "multiprocessing",
    "os",
    "select",
    "selectors",
    "shutil",
    "signal",
    "socket",
    "ssl",
    "subprocess",
    "tempfile",
    "threading",
    "time",
    "usb",
    "usb1",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer of an ``openwpd...`` module name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the module ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # "from openwpd import client" imports the package openwpd.client
            if target == "openwpd":
                found += [
                    (node.lineno, f"openwpd.{alias.name}")
                    for alias in node.names
                    if (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").is_file()
                ]
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What ``source`` (the module ``module``) imports against the layer rules."""
    layer = layer_of(module)
    bad = []
    for line, name in imports(source, module, is_package):
        top = name.split(".")[0]
        if top == "openwpd":
            target = layer_of(name)
            if name == "openwpd" and layer != "root":
                target = "root"
            if target not in ALLOWED[layer]:
                bad.append(f"{module}:{line}: {layer} imports {name} ({target})")
        elif layer in ("protocol", "root", *SHARED_HELPERS) and (
            top not in sys.stdlib_module_names and top != "__future__"
        ):
            bad.append(f"{module}:{line}: {layer} imports {name}, not in the standard library")
        elif layer == "protocol" and top in IO_MODULES:
            bad.append(f"{module}:{line}: protocol imports {name}, an I/O or clock module")
    return bad


def test_every_layer_has_modules() -> None:
    layers = {layer_of(module_name(p)) for p in MODULES}
    assert layers == set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_layer_rules(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    bad = violations(source, module_name(path), path.name == "__init__.py")
    assert bad == [], "imports against the layer rules (docs/architecture.md):\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("openwpd.protocol.codes", "import asyncio"),
        ("openwpd.protocol.codes", "from time import monotonic"),
        ("openwpd.protocol.codes", "import click"),
        ("openwpd.protocol.codes", "from openwpd import client"),
        ("openwpd.protocol.codes", "from openwpd._aio import off_loop"),
        ("openwpd.protocol.datasets.x", "from ...transport import ptpip"),
        ("openwpd.transport.ptpip", "from openwpd.client.wire import TransactionRunner"),
        ("openwpd.transport.usb", "def f():\n    from openwpd.server import device"),
        ("openwpd.server.session", "from openwpd.client import open_connection"),
        ("openwpd.server.session", "if TYPE_CHECKING:\n    from openwpd.wpd import values"),
        ("openwpd.server.handlers.objects", "from ...cli import main"),
        ("openwpd.client.handle", "import openwpd.server.device"),
        ("openwpd.client.handle", "from openwpd.wpd import PortableDevice"),
        ("openwpd.client.handle", "importlib.import_module('openwpd.cli')"),
        ("openwpd.wpd.device", "from openwpd.server import VirtualDevice"),
        ("openwpd.wpd.device", "from openwpd.cli import main"),
        ("openwpd._aio", "from openwpd.protocol import errors"),
        ("openwpd._files", "import watchdog"),
        ("openwpd", "from openwpd.client import Connection"),
    ],
)
def test_the_checker_catches(module: str, source: str) -> None:
    assert violations(source, module, module == "openwpd") != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("openwpd.protocol.codes", "import struct\nfrom .errors import RemoteProtocolError"),
        ("openwpd.transport.ptpip", "import asyncio\nfrom openwpd.protocol import ptpip"),
        ("openwpd.server.session", "from openwpd.transport.ptpip import PtpIpLink"),
        (
            "openwpd.server.store.core",
            "from openwpd._files import discard\nfrom ..objprops import x",
        ),
        (
            "openwpd.client.transfer",
            "from openwpd._aio import off_loop\nfrom openwpd import Cancelled",
        ),
        ("openwpd.wpd.device", "from openwpd.client import open_connection"),
        ("openwpd.cli.serve", "from openwpd.server.device import VirtualDevice"),
    ],
)
def test_the_checker_allows(module: str, source: str) -> None:
    assert violations(source, module) == []
