"""Experiments: suite runs started from the browser, each in a background thread with progress.

A job evaluates one suite through :func:`promptship.eval.evaluation.evaluate` (the library API of
``eval``: validation first, routing, PII guard, response cache, the run artifact stored under
``.promptship/runs/``), so a run started here is the same artifact ``eval`` and ``diff`` use.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import PromptshipError, UsageError
from ..eval.evaluation import EvalRequest, evaluate
from ..files.repo import Repository, SuiteEntry
from ..files.validate import load_valid_repo
from .runstore import run_id

Status = Literal["running", "finished", "failed"]


@dataclass
class Job:
    id: str
    suite: str
    models: list[str]
    sample: int | None
    prompt: str | None = None  # evaluate this prompt instead of the suite's (same dataset and evaluators)
    done: int = 0
    total: int = 0
    status: Status = "running"
    run_id: str | None = None
    error: str | None = None
    gate_failures: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[str, object]:
        return {
            "id": self.id,
            "suite": self.suite,
            "prompt": self.prompt,
            "done": self.done,
            "total": self.total,
            "status": self.status,
            "run_id": self.run_id,
            "error": self.error,
            "gate_failures": list(self.gate_failures),
        }


def with_prompt(repo: Repository, suite: str, prompt: str) -> Repository:
    """``repo`` in which ``suite`` evaluates ``prompt`` (an experiment: prompt × the suite's dataset,
    aliases and evaluators). The run is stored under the suite with its own fingerprint, so it never
    stands in for the suite's own prompt. :class:`UsageError` for an unknown suite or prompt."""
    entry = repo.suites.get(suite)
    if entry is None or prompt not in repo.prompts:
        raise UsageError(f"unknown suite {suite!r} or prompt {prompt!r}")
    changed = SuiteEntry(entry.name, entry.source, entry.suite.model_copy(update={"prompt": prompt}))
    return dataclasses.replace(repo, suites={**repo.suites, suite: changed})


class Experiments:
    """Jobs of one Labs process (kept in memory; the runs they produce are on disk)."""

    def __init__(self, root: Path, profile: str | None = None, concurrency: int = 8) -> None:
        self.root = root
        self.profile = profile
        self.concurrency = concurrency
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(
        self, suite: str, models: Sequence[str] = (), sample: int | None = None, prompt: str | None = None
    ) -> Job:
        """Start evaluating ``suite`` (optionally some of its models, a stable sample of items, or
        another prompt on the suite's dataset with its evaluators)."""
        job = Job(secrets.token_hex(6), suite, list(models), sample, prompt)
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"labs-experiment-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        request = EvalRequest(
            suites=[job.suite],
            profile=self.profile,
            models=job.models or None,
            sample=job.sample,
            concurrency=self.concurrency,
            on_progress=progress,
        )
        try:
            repo = with_prompt(load_valid_repo(self.root), job.suite, job.prompt) if job.prompt else None
            outcome = evaluate(self.root, request, repo)
        except PromptshipError as exc:
            job.error, job.status = exc.format(), "failed"
            return
        except Exception:  # noqa: BLE001 - a bug: shown on the page instead of dying silently in a thread
            job.error, job.status = "internal error (please report it):\n" + traceback.format_exc(limit=5), "failed"
            return
        job.run_id = run_id(outcome.saved[0], outcome.runs[0])
        job.gate_failures = [f"{g.model}: {g.gate}: {g.message}" for g in outcome.gate_failures]
        job.done = job.total = max(job.total, len(outcome.runs[0].samples))
        job.status = "finished"
