"""Absolute gates of a suite checked against one run (pure). Regression gates live in compare.py."""

from __future__ import annotations

from dataclasses import dataclass

from .schema import Gates
from .schema.run import Run


@dataclass(frozen=True)
class GateFailure:
    suite: str
    model: str
    metric: str
    message: str


def absolute_gate_failures(run: Run, gates: Gates) -> list[GateFailure]:
    """Every ``min`` threshold (mean score, or ``pass_rate``) and ``max_latency_p95_ms`` a model misses."""
    failures = []
    for model, summary in run.aggregates.items():
        for metric, minimum in gates.min.items():
            value = summary.pass_rate if metric == "pass_rate" else summary.scores.get(metric, 0.0)
            if value < minimum:
                failures.append(
                    GateFailure(run.suite, model, metric, f"{metric} {value:.3f} < minimum {minimum:.3f}")
                )
        if gates.max_latency_p95_ms is not None and summary.latency_p95_ms > gates.max_latency_p95_ms:
            failures.append(
                GateFailure(
                    run.suite,
                    model,
                    "latency_p95_ms",
                    f"p95 latency {summary.latency_p95_ms:.0f} ms > {gates.max_latency_p95_ms:.0f} ms",
                )
            )
    return failures
