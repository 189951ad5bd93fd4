"""The repository stands on its own: nothing in it reads or cites a path beside the clone.

The first test copies the repository's files (what git tracks, plus new files not ignored) into
an empty temporary folder and collects the whole suite there, importing the copy's ``src/``: the
same tests are collected, with no errors, although nothing sits beside the copy. It also runs
there the tests that read the project's own data files (the code tables). The second greps every
file for the names of documents that live outside the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Built from pieces so that this file does not match its own search.
OUTSIDE_NAMES = (
    ".." + "/shared",
    "shared" + "/reference",
    "DESIGN" + ".md",
    "STYLE" + ".md",
    "protocol" + ".md",
    "wpd-api" + ".md",
    "peers" + ".md",
)


def repository_files() -> list[Path]:
    """The files a clone has: tracked ones and new ones git does not ignore."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the file list comes from git")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    names = sorted({n for n in out.decode().split("\0") if n})
    return [Path(n) for n in names if (REPO / n).is_file()]


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest in ``root`` with its own ``src`` first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(root / "src")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )


def collect(root: Path) -> tuple[int, str]:
    """Collect the whole suite in ``root``: the number of tests, and pytest's output."""
    proc = run_pytest(root, "--collect-only")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    m = re.search(r"^(\d+) tests? collected", output, re.MULTILINE)
    assert m, output[-3000:]
    assert "error" not in output.splitlines()[-1].lower(), output[-3000:]
    return int(m[1]), output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_suite_collects_in_a_copy_with_nothing_beside_it(tmp_path: Path) -> None:
    copy = tmp_path / "alone" / "openwpd"
    for name in repository_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    # The copy imports its own package, not the one this run imports.
    where = subprocess.run(
        [sys.executable, "-c", "import openwpd; print(openwpd.__file__)"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy / "src")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(copy), where
    assert sorted(p.name for p in (tmp_path / "alone").iterdir()) == ["openwpd"]

    in_copy, _ = collect(copy)
    here, _ = collect(REPO)
    assert in_copy == here
    assert in_copy > 1000
    ran = run_pytest(copy, "tests/protocol/test_codes.py")
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]


def test_no_file_names_documents_outside_the_repository() -> None:
    offenders = []
    for name in repository_files():
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for lineno, line in enumerate(text.splitlines(), 1):
            offenders += [f"{name}:{lineno}: {n}" for n in OUTSIDE_NAMES if n in line]
    assert offenders == []
