"""protocol/ is sans-I/O: no module there may import an I/O or clock module
(docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import openwpd.protocol

FORBIDDEN = {
    "asyncio",
    "socket",
    "threading",
    "time",
    "selectors",
    "usb",
    "usb1",
    "ssl",
    "os",
    "subprocess",
    "multiprocessing",
    "io",
    "select",
    "signal",
}
PROTOCOL_DIR = Path(openwpd.protocol.__file__).parent
MODULES = sorted(PROTOCOL_DIR.rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def test_there_are_modules_to_check() -> None:
    names = {p.name for p in MODULES}
    assert {"transaction.py", "ptpip.py", "container.py", "codes.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PROTOCOL_DIR)))
def test_no_io_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [
        f"{path.name}:{line}: imports {name}"
        for line, name in _imports(tree)
        if name.split(".")[0] in FORBIDDEN
        or (name.startswith("openwpd.") and not name.startswith("openwpd.protocol"))
    ]
    assert not bad, "protocol/ must stay free of I/O and of higher layers:\n" + "\n".join(bad)


def test_the_checker_catches_imports() -> None:
    tree = ast.parse("import asyncio\nfrom time import monotonic\nimport openwpd.client\n")
    names = [name for _, name in _imports(tree)]
    assert names == ["asyncio", "time", "openwpd.client"]
