"""ruff, mypy, vulture (dead code) and deptry (dependency declarations), as configured in
pyproject.toml, stay clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_dead_code():
    result = _run("python", "scripts/dead_code.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependencies_are_declared_and_used():
    result = _run("deptry", ".")
    assert result.returncode == 0, result.stdout + result.stderr
