"""Experiments: suite runs started from the browser, each in a background thread with progress.

A job evaluates one suite through :func:`promptship.eval.evaluation.evaluate` (the library API of
``eval``: validation first, routing, PII guard, response cache, the run artifact stored under
``.promptship/runs/``), so a run started here is the same artifact ``eval`` and ``diff`` use.
"""

from __future__ import annotations

import secrets
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import PromptshipError
from ..eval.evaluation import EvalRequest, evaluate
from .runstore import run_id

Status = Literal["running", "finished", "failed"]


@dataclass
class Job:
    id: str
    suite: str
    models: list[str]
    sample: int | None
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
            "done": self.done,
            "total": self.total,
            "status": self.status,
            "run_id": self.run_id,
            "error": self.error,
            "gate_failures": list(self.gate_failures),
        }


class Experiments:
    """Jobs of one Labs process (kept in memory; the runs they produce are on disk)."""

    def __init__(self, root: Path, profile: str | None = None, concurrency: int = 8) -> None:
        self.root = root
        self.profile = profile
        self.concurrency = concurrency
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, suite: str, models: Sequence[str] = (), sample: int | None = None) -> Job:
        """Start evaluating ``suite`` (optionally some of its models, a stable sample of items)."""
        job = Job(secrets.token_hex(6), suite, list(models), sample)
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
            outcome = evaluate(self.root, request)
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
