"""Run artifacts on disk: ``.promptship/runs/<suite>/<fingerprint>.json``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from ..files.schema.run import Run
from ..files.workdir import workdir


def runs_dir(root: Path) -> Path:
    return workdir(root) / "runs"


def run_path(directory: Path, suite: str, fingerprint: str) -> Path:
    return directory / suite.replace("/", "__") / f"{fingerprint}.json"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(directory: Path, run: Run) -> Path:
    path = run_path(directory, run.suite, run.fingerprint.suite)
    write_atomically(path, run.model_dump_json(indent=1))
    return path


def load_run(path: Path) -> Run | None:
    """The run stored at ``path``, or None if absent or unreadable (a stale format is not an error)."""
    try:
        return Run.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return None


def find_run(directories: list[Path], suite: str, fingerprint: str) -> Run | None:
    """A complete stored run of ``suite`` with exactly this fingerprint, from the first directory that has one."""
    for directory in directories:
        run = load_run(run_path(directory, suite, fingerprint))
        if run is not None and run.complete and run.fingerprint.suite == fingerprint:
            return run
    return None
