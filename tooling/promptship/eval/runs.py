"""Run artifacts on disk, written atomically.

A complete run is stored at ``.promptship/runs/<suite>/<fingerprint>.<selection key>.json``: it is
reused only for the same fingerprint *and* the same selection (items, models, repeats), so a run of
two items never stands in for the whole suite. An interrupted run is kept beside it as
``….interrupted.json`` for inspection and is never read back, so it cannot replace a complete one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from ..errors import UsageError
from ..files.redact import redact
from ..files.repo import content_hash
from ..files.schema.run import Run, Selection
from ..files.workdir import workdir


def runs_dir(root: Path) -> Path:
    return workdir(root) / "runs"


def make_selection(
    item_ids: list[str],
    models: list[str],
    repeats: int,
    *,
    all_items: list[str],
    all_models: list[str],
    sample: int | None = None,
    requested_items: list[str] | None = None,
) -> Selection:
    """The :class:`Selection` of a run of ``item_ids`` × ``models`` × ``repeats`` of a suite whose
    dataset holds ``all_items`` and which evaluates ``all_models``."""
    items = sorted(item_ids)
    return Selection(
        items=items,
        models=list(models),
        repeats=repeats,
        sample=sample,
        requested_items=requested_items,
        full=items == sorted(all_items) and sorted(models) == sorted(all_models),
        key=content_hash({"items": items, "models": sorted(models), "repeats": repeats}),
    )


def run_path(directory: Path, suite: str, fingerprint: str, selection_key: str, *, complete: bool = True) -> Path:
    name = f"{fingerprint}.{selection_key[:16]}" + ("" if complete else ".interrupted")
    return directory / suite.replace("/", "__") / f"{name}.json"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so readers see the old file or the new one, never half of it.

    Credential values are redacted: every run, report and ``--out`` file is written here. Missing
    folders are created; a path that cannot be written (a file where a folder should be, no
    permission, a full disk) is a :class:`UsageError` naming it, and nothing is left half-written.
    """
    text = redact(text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="choose a path whose folder can be created and written",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(directory: Path, run: Run) -> Path:
    """Store ``run``; an incomplete run goes to its own ``.interrupted.json`` and never replaces a complete one."""
    path = run_path(directory, run.suite, run.fingerprint.suite, run.selection.key, complete=run.complete)
    write_atomically(path, run.model_dump_json(indent=1))
    return path


def load_run(path: Path) -> Run | None:
    """The run stored at ``path``, or None if absent or unreadable (a stale format is not an error)."""
    try:
        return Run.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return None


def covers_exactly(run: Run, selection: Selection) -> bool:
    """True when ``run`` holds one sample for each item × model × repeat of ``selection``, and no other."""
    wanted = {(i, m, r) for i in selection.items for m in selection.models for r in range(selection.repeats)}
    held = [(s.item_id, s.model, s.repeat) for s in run.samples]
    return len(held) == len(wanted) and set(held) == wanted


def find_run(directories: list[Path], suite: str, fingerprint: str, selection: Selection) -> Run | None:
    """A complete stored run of ``suite`` with exactly this fingerprint and selection, from the first
    directory that has one (a file whose content disagrees with its name is ignored)."""
    for directory in directories:
        run = load_run(run_path(directory, suite, fingerprint, selection.key))
        if (
            run is not None
            and run.complete
            and run.fingerprint.suite == fingerprint
            and run.selection.key == selection.key
            and covers_exactly(run, selection)
        ):
            return run
    return None
