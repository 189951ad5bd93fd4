"""Every Python code block of README.md and docs/*.md runs, and passes ``mypy --strict``.

The blocks are written against ``ptpip://127.0.0.1:15740`` and a device serving one storage
named ``Phone`` filled by ``wpd serve --samples``. The test starts that device (127.0.0.1, a free
port, a temporary folder and state directory), rewrites the URL to its port, and runs each block
as a program in an empty folder. A block that shows Cancel must print the cancel HRESULT, so a
cancel that never happened (the transfer finished first) fails too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wpd_process import start_wpd

REPO = Path(__file__).resolve().parents[1]
DOC_URL = "ptpip://127.0.0.1:15740"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def python_blocks() -> list[tuple[str, str]]:
    """(``file:line``, code) of every fenced ``python`` block."""
    blocks = []
    for doc in documents():
        text = doc.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            blocks.append((f"{doc.relative_to(REPO)}:{line}", m.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_blocks_found() -> None:
    # The README has the async client's and the WPD API's examples; a broken pattern finding
    # none would make the tests below vacuous.
    assert [where for where, _ in BLOCKS if where.startswith("README.md")] != []
    assert len(BLOCKS) >= 2
    assert all(DOC_URL in code for _, code in BLOCKS), "a block names another device"


def clean_env() -> dict[str, str]:
    """The environment without the user's device settings (the blocks name their device)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENWPD_")}


def test_blocks_type_check(tmp_path: Path) -> None:
    files = []
    for i, (_, code) in enumerate(BLOCKS):
        path = tmp_path / f"block_{i}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--config-file",
            os.devnull,
            *files,
        ],
        cwd=tmp_path,
        env={**clean_env(), "MYPYPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    def in_document(m: re.Match[str]) -> str:
        # block_I.py:N -> the document's own file:line
        doc, fence = BLOCKS[int(m[1])][0].rsplit(":", 1)
        return f"{doc}:{int(fence) + int(m[2])}"

    report = re.sub(r"block_(\d+)\.py:(\d+)", in_document, done.stdout + done.stderr)
    assert done.returncode == 0, report


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_block_runs_against_the_sample_device(where: str, code: str, tmp_path: Path) -> None:
    served, state, work = tmp_path / "served", tmp_path / "state", tmp_path / "work"
    for folder in (served, state, work):
        folder.mkdir()
    server = start_wpd(served, state, tmp_path / "serve.log", "--samples")
    try:
        program = work / "block.py"
        program.write_text(code.replace(DOC_URL, f"ptpip://127.0.0.1:{server.port}"))
        done = subprocess.run(
            [sys.executable, str(program)],
            cwd=work,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        server.stop()
    assert done.returncode == 0, f"{where}:\n{done.stdout}\n{done.stderr}"
    if "except Cancelled" in code:
        assert "0x800704c7" in done.stdout, f"{where}: no cancel happened:\n{done.stdout}"
    # nothing partial is left by a cancelled download
    assert not [p.name for p in work.iterdir() if p.name not in ("block.py", "IMG_0001.jpg")]
