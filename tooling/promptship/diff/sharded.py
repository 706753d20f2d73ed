"""``promptship diff --shard K/N``: one job of a CI matrix evaluates shard K of what ``diff`` would evaluate.

For every suite the change affects, at head and (for a changed suite) at the merge-base, shard K of N
is evaluated and stored as a shard run — unless a whole run of that side is stored already (``main``'s
results restored from the CI cache), in which case that side needs no shard at all. Nothing is
compared: a part of a suite proves nothing. A later job merges the N jobs' shard runs
(``promptship runs merge``) and runs ``diff`` as usual, which finds every side stored and makes no
model call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..eval.progress import Progress
from ..eval.runner import RunOptions, plan_jobs, run_suites
from ..eval.runs import find_run, runs_dir, save_run
from ..eval.shards import ShardSpec
from ..files.repo import Repository
from ..files.schema.run import Run
from ..files.sources import merge_base, resolve_commit
from ..files.workdir import refuse_tracked_results
from ..llm.cache import ResponseCache
from .affected import affected_suites
from .change import DiffRequest, RoutersByPolicy, _routing, _valid


@dataclass(frozen=True)
class ShardWork:
    """What one side of one affected suite needed from this shard job."""

    suite: str
    side: str  # "head" | "base"
    #: "whole run stored" (nothing to do), "shard stored" (reused), or "evaluated".
    source: str
    run: Run | None = None
    #: Where the shard run was written for the matrix's artifact (``out_dir``), if anywhere.
    written: Path | None = None

    @property
    def interrupted(self) -> bool:
        return self.run is not None and not self.run.complete


def run_diff_shard(root: Path, request: DiffRequest, shard: ShardSpec, out_dir: Path | None = None) -> list[ShardWork]:
    """Evaluate shard ``shard`` of each side ``diff`` would evaluate; store each shard run under
    ``.promptship/runs/`` and, with ``out_dir``, also there (the folder a CI job uploads).

    Raises what :func:`~promptship.diff.change.run_diff` raises (tracked results, unknown refs, an
    invalid tree); never prints.
    """
    refuse_tracked_results(root, request.results_dirs)
    head_sha = resolve_commit(root, request.head) if request.head else None
    base_sha = merge_base(root, resolve_commit(root, request.base), head_sha or "HEAD")
    base = _valid(root, base_sha, f"base {request.base}")
    head = _valid(root, request.head, f"head {request.head or 'working tree'}")
    changes = affected_suites(base, _routing(base, request.profile), head, _routing(head, request.profile), os.environ)
    directories = [*request.results_dirs, runs_dir(root)]
    router_for = RoutersByPolicy(request.profile)
    done: list[ShardWork] = []
    cache = ResponseCache(None) if request.cache_mode == "off" else ResponseCache.at(root)
    progress = Progress(request.progress)
    options = RunOptions(
        concurrency=request.concurrency,
        cache_mode=request.cache_mode,  # type: ignore[arg-type]
        shard=shard,
        on_progress=progress.__enter__(),
    )

    def one(repo: Repository, suite: str, side: str, fingerprint: str) -> ShardWork:
        if find_run(directories, suite, fingerprint, plan_jobs(repo, suite, RunOptions())[2]) is not None:
            return ShardWork(suite, side, "whole run stored")
        part = plan_jobs(repo, suite, options)[2]
        run = find_run(directories, suite, fingerprint, part)
        source = "shard stored"
        if run is None:
            run = run_suites(repo, [suite], router_for(repo), options, cache, runs_dir(root))[0]
            source = "evaluated"
        written = save_run(out_dir, run) if out_dir is not None else None
        return ShardWork(suite, side, source, run, written)

    try:
        for change in changes:
            if change.status in ("changed", "added") and change.head is not None:
                done.append(one(head, change.suite, "head", change.head.suite))
            if change.status == "changed" and change.base is not None:
                done.append(one(base, change.suite, "base", change.base.suite))
    finally:
        progress.__exit__(None, None, None)
        cache.close()
    return done
