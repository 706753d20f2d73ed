"""Absolute gates of a suite checked against one run (pure). Regression gates live in compare.py.

Every result has a ``kind``: ``quality`` (the prompt's answers fall short: exit 1) or ``evaluation``
(too many calls could not be made or finished — timeouts, model errors, an interruption — so the run
cannot say anything about quality: exit 3, rerun). A gate that does not apply to a run is ``skipped``
(a latency limit on answers from the embedded local model measures this machine, not the provider).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..files.schema import Gates
from ..files.schema.run import Aggregate, Run
from .summary import NOT_EVALUATED_KINDS

GateKind = Literal["quality", "evaluation"]
#: What to do when a run could not be evaluated (said in the verdict and the console).
NOT_EVALUATED_ADVICE = (
    "rerun (answered calls are cached); if calls timed out under load, lower --concurrency or raise the "
    "alias's timeout_s; if a provider failed, check its status and the attempts in the run artifact"
)


@dataclass(frozen=True)
class GateResult:
    suite: str
    model: str
    gate: str
    passed: bool
    message: str
    kind: GateKind = "quality"
    skipped: bool = False

    @property
    def failed_quality(self) -> bool:
        return not self.passed and self.kind == "quality"

    @property
    def not_evaluated(self) -> bool:
        return not self.passed and self.kind == "evaluation"


def _kinds(summary: Aggregate, wanted: bool) -> str:
    parts = [f"{n} {kind}" for kind, n in summary.error_kinds.items() if (kind in NOT_EVALUATED_KINDS) == wanted]
    return f" ({', '.join(parts)})" if parts else ""


def error_rate_results(run: Run, model: str, summary: Aggregate, limit: float) -> list[GateResult]:
    """``max_error_rate`` for the calls that could not be evaluated (kind ``evaluation``) and, apart, for
    answers that failed because of the prompt — render errors, refusals (kind ``quality``)."""
    samples = summary.samples
    infra = summary.not_evaluated
    prompt_failures = summary.errors - summary.pii_blocked - infra
    results = []
    if samples and infra / samples > limit:
        results.append(
            GateResult(
                run.suite,
                model,
                "max_error_rate",
                False,
                f"{infra} of {samples} calls could not be evaluated{_kinds(summary, True)}, limit {limit:.0%}",
                kind="evaluation",
            )
        )
    rate = prompt_failures / samples if samples else 0.0
    results.append(
        GateResult(
            run.suite,
            model,
            "max_error_rate",
            rate <= limit,
            f"{prompt_failures} of {samples} answers failed{_kinds(summary, False)} ({rate:.0%}, limit {limit:.0%})"
            + (f"; {infra} more could not be evaluated" if infra else ""),
        )
    )
    return results


def absolute_gate_results(run: Run, gates: Gates) -> list[GateResult]:
    """Every ``min`` threshold (mean score, or ``pass_rate``), ``max_latency_p95_ms`` and
    ``max_error_rate``, per model."""
    results = []
    for model, summary in run.aggregates.items():
        nothing_evaluated = summary.samples > 0 and summary.not_evaluated >= summary.samples - summary.pii_blocked
        for metric, minimum in gates.min.items():
            if nothing_evaluated:
                # No answer at all: a 0.000 here would be a verdict on the prompt that no answer supports.
                message = f"{metric}: no answer could be evaluated ({summary.not_evaluated} of {summary.samples})"
                results.append(GateResult(run.suite, model, f"min:{metric}", False, message, kind="evaluation"))
                continue
            value = summary.pass_rate if metric == "pass_rate" else summary.scores.get(metric, 0.0)
            results.append(
                GateResult(
                    run.suite, model, f"min:{metric}", value >= minimum, f"{metric} {value:.3f} (minimum {minimum:.3f})"
                )
            )
        results.extend(error_rate_results(run, model, summary, gates.max_error_rate))
        if gates.max_latency_p95_ms is not None:
            latency_limit = gates.max_latency_p95_ms
            if run.environment.local_model:
                results.append(
                    GateResult(
                        run.suite,
                        model,
                        "max_latency_p95_ms",
                        True,
                        "not checked: answers came from the embedded local model, whose latency measures this "
                        "machine, not the provider",
                        skipped=True,
                    )
                )
                continue
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
