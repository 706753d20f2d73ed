"""The library API behind ``promptship eval``: load, route, run, store, gate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_NOT_EVALUATED, EXIT_OK, CacheMissError, UsageError
from ..files.atomic import atomic_writer
from ..files.repo import ItemsById, Repository
from ..files.schema import Item, nfc
from ..files.schema.run import Run
from ..files.validate import load_valid_repo
from ..files.workdir import refuse_tracked_results
from ..llm.cache import ResponseCache
from .gates import GateResult, absolute_gate_results
from .progress import Mode, Progress, ProgressFn
from .runs import run_document_chunks, run_path, runs_dir
from .shards import ShardSpec


@dataclass(frozen=True)
class EvalRequest:
    suites: Sequence[str] = ()
    profile: str | None = None
    models: Sequence[str] | None = None
    sample: int | None = None
    items: Sequence[str] | None = None
    concurrency: int = 8
    cache_mode: str = "use"
    #: ``--shard K/N``: only shard K of each suite's items; the runs are shard runs, for ``runs merge``.
    shard: ShardSpec | None = None
    progress: Mode = "off"
    #: Called with (done, total) after every finished sample (Labs' progress bar); replaces the terminal output.
    on_progress: Callable[[int, int], None] | None = None


@dataclass
class EvalOutcome:
    runs: list[Run]
    saved: list[Path] = field(default_factory=list)
    gate_failures: list[GateResult] = field(default_factory=list)
    #: suite → item id → the dataset item, so answers can be shown beside their input and expected value.
    items: dict[str, Mapping[str, Item]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a quality gate failed, 3 could not evaluate (calls failed, or interrupted)."""
        if any(g.kind == "quality" for g in self.gate_failures):
            return EXIT_FAILED
        if self.gate_failures or any(not run.complete for run in self.runs):
            return EXIT_NOT_EVALUATED
        return EXIT_OK

    def json_chunks(self) -> Iterator[str]:
        """``{"runs": [...], "gate_failures": [...]}`` in chunks, each run with its samples inline
        (streamed from its samples file: never built whole)."""
        yield '{"runs": ['
        for index, run in enumerate(self.runs):
            yield ", " if index else ""
            yield from run_document_chunks(run)
        failures = json.dumps([f.__dict__ for f in self.gate_failures], indent=1, ensure_ascii=False)
        yield f'], "gate_failures": {failures}}}'

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def write(self, path: Path) -> None:
        """``--out``: the run as one JSON document with its samples inline (a list when several
        suites ran), written atomically and streamed."""
        with atomic_writer(path) as handle:
            if len(self.runs) != 1:
                handle.write("[")
            for index, run in enumerate(self.runs):
                handle.write(", " if index else "")
                for chunk in run_document_chunks(run):
                    handle.write(chunk)
            if len(self.runs) != 1:
                handle.write("]")


def resolve_suites(repo: Repository, names: Sequence[str]) -> list[str]:
    if not names:
        if not repo.suites:
            raise UsageError("the repository has no suites", hint="add an evals/*.yaml suite")
        return sorted(repo.suites)
    names = [nfc(n) for n in names]  # names are NFC everywhere (a macOS shell may type NFD)
    unknown = [n for n in names if n not in repo.suites]
    if unknown:
        raise UsageError(f"unknown suite(s): {', '.join(unknown)}", hint=f"suites: {', '.join(sorted(repo.suites))}")
    return list(names)


def evaluate(root: Path, request: EvalRequest, repo: Repository | None = None) -> EvalOutcome:
    """Run the requested suites, store each run under ``.promptship/runs/``, check absolute gates.

    With ``request.shard`` each run is a shard run (stored under its own key, never reused as a whole
    run) and no gate is checked: a part of a suite proves nothing about the whole.

    Raises :class:`UsageError` E910 when git tracks ``.promptship/`` (answers cached there would be
    scored, gated and published as if a model had given them).
    """
    from ..llm.routing import ModelRouter
    from .runner import RunOptions, run_suites

    refuse_tracked_results(root)
    repo = repo or load_valid_repo(root)
    names = resolve_suites(repo, request.suites)
    if repo.policies.routing is None:
        raise UsageError("no policies/routing.yaml", hint="create the routing policy")
    router = ModelRouter(repo.policies.routing, profile=request.profile)
    with ExitStack() as stack:
        cache = ResponseCache(None) if request.cache_mode == "off" else ResponseCache.at(root)
        stack.callback(cache.close)
        progress = stack.enter_context(Progress(request.progress))
        options = RunOptions(
            models=request.models,
            sample=request.sample,
            items=request.items,
            concurrency=request.concurrency,
            cache_mode=request.cache_mode,  # type: ignore[arg-type]
            shard=request.shard,
            on_progress=_done_total(request.on_progress) if request.on_progress else progress,
        )
        runs = run_suites(repo, names, router, options, cache, runs_dir(root))
    misses = sum(a.error_kinds.get("cache_miss", 0) for run in runs for a in run.aggregates.values())
    if misses:
        for run in runs:  # a replay that missed is no result: leave no artifact behind
            path = run_path(runs_dir(root), run.suite, run.fingerprint.suite, run.selection.key, complete=run.complete)
            path.unlink(missing_ok=True)
            if run.samples.path is not None:
                run.samples.path.unlink(missing_ok=True)
        raise CacheMissError(
            f"{misses} request(s) are not in the response cache and --cache-only sends nothing",
            code="E811",
            hint="run once without --cache-only to fill the cache",
        )
    outcome = EvalOutcome(runs)
    for run in runs:
        outcome.items[run.suite] = ItemsById(repo.datasets[run.dataset].items)
    for run in runs:
        outcome.saved.append(
            run_path(runs_dir(root), run.suite, run.fingerprint.suite, run.selection.key, complete=run.complete)
        )
        if run.selection.shard is not None:
            continue  # a shard is a part: gates judge the merged run (`promptship runs merge`, then `diff`)
        outcome.gate_failures.extend(
            g for g in absolute_gate_results(run, repo.suites[run.suite].suite.gates) if not g.passed
        )
    return outcome


def _done_total(callback: Callable[[int, int], None]) -> ProgressFn:
    """Adapt a ``(done, total)`` callback to the runner's ``(suite, done, total, errors)``."""
    return lambda suite, done, total, errors: callback(done, total)
