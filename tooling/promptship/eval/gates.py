"""Absolute gates of a suite checked against one run (pure). Regression gates live in compare.py."""

from __future__ import annotations

from dataclasses import dataclass

from ..files.schema import Gates
from ..files.schema.run import Run


@dataclass(frozen=True)
class GateResult:
    suite: str
    model: str
    gate: str
    passed: bool
    message: str


def absolute_gate_results(run: Run, gates: Gates) -> list[GateResult]:
    """Every ``min`` threshold (mean score, or ``pass_rate``), ``max_latency_p95_ms`` and
    ``max_error_rate``, per model."""
    results = []
    for model, summary in run.aggregates.items():
        for metric, minimum in gates.min.items():
            value = summary.pass_rate if metric == "pass_rate" else summary.scores.get(metric, 0.0)
            results.append(
                GateResult(
                    run.suite, model, f"min:{metric}", value >= minimum, f"{metric} {value:.3f} (minimum {minimum:.3f})"
                )
            )
        failed_calls = summary.errors - summary.pii_blocked
        error_rate = failed_calls / summary.samples if summary.samples else 0.0
        limit = gates.max_error_rate
        message = f"{failed_calls} of {summary.samples} calls failed ({error_rate:.0%}, limit {limit:.0%})"
        results.append(GateResult(run.suite, model, "max_error_rate", error_rate <= limit, message))
        if gates.max_latency_p95_ms is not None:
            latency_limit = gates.max_latency_p95_ms
            results.append(
                GateResult(
                    run.suite,
                    model,
                    "max_latency_p95_ms",
                    summary.latency_p95_ms <= latency_limit,
                    f"p95 latency {summary.latency_p95_ms:.0f} ms (limit {latency_limit:.0f} ms)",
                )
            )
    return results
