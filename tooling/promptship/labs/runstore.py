"""Stored run artifacts (the ones ``eval`` and ``diff`` write) with short, stable, URL-safe ids.

A run lives at ``.promptship/runs/<suite-dir>/<fingerprint>.<selection key>[.interrupted].json``; its
id is ``<suite-dir>-<12 hex digits of the fingerprint>-<6 of the selection key>`` plus
``-interrupted`` for an interrupted run (e.g. ``review-sentiment-3fa2b1c4d5e6-9c01ab``), so a link to
``/runs/<id>`` keeps working as long as the artifact exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..eval.runs import load_run, runs_dir
from ..files.schema.run import Run

FINGERPRINT_DIGITS, SELECTION_DIGITS = 12, 6
_ID = re.compile(r"^(?P<suite>[A-Za-z0-9_.\-]+)-(?P<prefix>[0-9a-f]{12})-[0-9a-f]{6}(-interrupted)?$")


class NotFound(UsageError):
    """A page's subject (run, prompt, experiment) does not exist: the app answers 404."""


@dataclass(frozen=True)
class StoredRun:
    id: str
    path: Path
    run: Run


def run_id(path: Path, run: Run) -> str:
    """The id of the artifact at ``path``: its folder, fingerprint and selection, and whether it is complete."""
    fingerprint, selection = run.fingerprint.suite[:FINGERPRINT_DIGITS], run.selection.key[:SELECTION_DIGITS]
    return f"{path.parent.name}-{fingerprint}-{selection}" + ("" if run.complete else "-interrupted")


def list_runs(root: Path) -> list[StoredRun]:
    """Every readable stored run under ``root``, newest first (by ``finished_at``)."""
    directory = runs_dir(root)
    found = []
    for path in sorted(directory.glob("*/*.json")) if directory.is_dir() else []:
        run = load_run(path)
        if run is not None:
            found.append(StoredRun(run_id(path, run), path, run))
    return sorted(found, key=lambda s: (s.run.finished_at, s.id), reverse=True)


def get_run(root: Path, run_id_text: str) -> StoredRun:
    """The stored run with this id. :class:`UsageError` (E000) when there is none."""
    match = _ID.match(run_id_text)
    if match is not None:
        folder = runs_dir(root) / match["suite"]
        for path in sorted(folder.glob(f"{match['prefix']}*.json")) if folder.is_dir() else []:
            run = load_run(path)
            if run is not None and run_id(path, run) == run_id_text:
                return StoredRun(run_id_text, path, run)
    raise NotFound(f"no stored run {run_id_text!r}", hint="the runs page lists the stored runs")


def parse_run_ids(text: str) -> list[str]:
    """``"a,b , c"`` → ``["a", "b", "c"]`` (empty parts dropped, order kept, duplicates kept once)."""
    ids: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in ids:
            ids.append(part)
    return ids
