"""The code stays ruff- and mypy-clean (STYLE.md): checked by the same test command as everything else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import PROJECT

BIN = Path(sys.executable).parent


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [BIN / "ruff", "check", "tooling", "tests", "bench"], cwd=PROJECT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run([BIN / "mypy", "--strict", "tooling/promptship"], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
