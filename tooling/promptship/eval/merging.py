"""The library API behind ``promptship runs merge``: shard run files → whole runs, stored for ``diff``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..files.schema.run import RUN_FORMAT_VERSION, Run
from ..files.workdir import refuse_tracked_results
from .runs import RunWriter, read_run, runs_dir, stored_runs
from .shards import MergePlan, ShardRun, plan_merges


@dataclass
class MergeOutcome:
    runs: list[Run]
    #: For each merged run, the shard files it was made of (in shard order).
    sources: list[list[str]] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)


def collect_shard_runs(paths: Sequence[Path]) -> tuple[list[ShardRun], list[str]]:
    """The shard runs in ``paths``, and why shard runs there could not be used.

    A file must be a readable run (a whole one is refused by the merge, by name; anything else is a
    :class:`UsageError`). A folder contributes every shard run stored under it; whole runs and files of
    another format there are skipped (a restored ``.promptship/runs`` holds both), but a shard run of
    this format whose samples file is missing or does not match its manifest is named in the second list.
    """
    found: list[ShardRun] = []
    broken: list[str] = []
    for path in paths:
        if not path.is_dir():
            found.append(ShardRun(str(path), read_run(path)))
            continue
        for file in stored_runs(path):
            try:
                run = read_run(file)
            except UsageError as exc:
                if _is_shard_manifest(file):
                    broken.append(exc.message)
                continue
            if run.selection.shard is not None:
                found.append(ShardRun(str(file), run))
    return found, broken


def _is_shard_manifest(path: Path) -> bool:
    """A run manifest of this format whose selection names a shard (read without the samples)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data.get("format_version") == RUN_FORMAT_VERSION and bool(data["selection"].get("shard"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def write_merged(directory: Path, plan: MergePlan) -> tuple[Run, Path]:
    """Stream ``plan``'s samples through a :class:`RunWriter` into ``directory``: the stored whole run
    (aggregates computed as for any run) and its manifest's path."""
    manifest = plan.manifest()
    writer = RunWriter(directory, manifest.suite, manifest.fingerprint.suite, manifest.selection.key, manifest.models)
    try:
        for sample in plan.samples():
            writer.add(sample)
        return writer.finish(manifest)
    except BaseException:
        writer.discard()
        raise


def merge_run_files(root: Path, paths: Sequence[Path], output: Path | None = None) -> MergeOutcome:
    """Merge the shard runs found in ``paths`` into whole runs, store each under ``root``'s
    ``.promptship/runs/`` (where ``diff`` finds them) and, with ``output``, write them there too (one
    document with the samples inline, a list when several merge, as ``eval --out`` does).

    Raises :class:`UsageError` E971 naming every missing, doubled or mismatched shard, and E910 when
    git tracks ``.promptship/`` or any of ``paths``; nothing is written unless every group merges.
    """
    from .evaluation import EvalOutcome

    refuse_tracked_results(root, paths)  # shard files committed in the tree under review are not evidence
    shards, broken = collect_shard_runs(paths)
    plans = plan_merges(shards, broken)
    outcome = MergeOutcome([])
    for plan in plans:
        run, path = write_merged(runs_dir(root), plan)
        outcome.runs.append(run)
        outcome.saved.append(path)
        outcome.sources.append(plan.origins)
    if output is not None:
        EvalOutcome(outcome.runs).write(output)
    return outcome
