"""Two runs of a suite (base, head) → deltas with paired statistics, per-item changes and gates (pure).

Items are paired by id; repeats are averaged per item first. A metric whose paired per-item values
are all 0 or 1 (the all-evaluators ``pass_rate``, and e.g. ``contains`` or ``label_accuracy`` with one
repeat) gets an exact McNemar test; any other metric a paired bootstrap 95% interval. A regression gate
fails only on a *significant* drop larger than its tolerance, so noise on a small golden set does
not block a PR, and a real drop does.

Runs are read as streams: both sides' samples (in job order, by item id) are merged item by item into
per-item vectors (:mod:`.items`), and only the first :data:`ITEM_CHANGE_LIMIT` changed items of each
kind get their answers read back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..eval.gates import GateResult, absolute_gate_results
from ..files.schema import Gates
from ..files.schema.run import Run, SampleResult
from .items import first_samples, pair_items
from .stats import is_binary, mcnemar_exact, paired_bootstrap_ci, percentile

PASS_METRIC = "pass_rate"
DAYS_PER_MONTH = 30
TRUNCATE = 300
#: Changed items listed per model (newly failing first, then by id); the counts cover them all.
ITEM_CHANGE_LIMIT = 200


@dataclass(frozen=True)
class MetricDelta:
    metric: str
    base: float
    head: float
    delta: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool
    #: Items paired: answered and scored on both sides (the denominator of ``base`` and ``head``).
    n: int
    test: str  # "bootstrap" | "mcnemar"
    #: Items of the model in either run: ``n`` of ``items`` were paired.
    items: int = 0

    @property
    def denominator(self) -> str:
        """``26 of 30 paired items``: every view that shows ``base``/``head`` says this with it."""
        return f"{self.n} of {self.items} paired items"


@dataclass(frozen=True)
class ItemChange:
    item_id: str
    change: str  # "newly_failing" | "newly_passing"
    input: str
    base_output: str
    head_output: str
    expected: str = ""


@dataclass(frozen=True)
class ModelComparison:
    model: str
    metrics: list[MetricDelta]
    cost_per_call_base: float
    cost_per_call_head: float
    #: Head at head prices vs base at base prices (what merging changes), in %.
    cost_change_pct: float | None
    monthly_cost_delta: float | None
    latency_p50_base: float
    latency_p50_head: float
    latency_p95_base: float
    latency_p95_head: float
    tokens_per_call_base: float
    tokens_per_call_head: float
    errors_base: int
    errors_head: int
    #: The first :data:`ITEM_CHANGE_LIMIT` changed items (newly failing first, then by id).
    item_changes: list[ItemChange] = field(default_factory=list)
    #: Items that pass on base and fail on head, and the reverse (all of them, listed or not).
    newly_failing: int = 0
    newly_passing: int = 0
    #: Base's answers at head's prices, per call: separates the two causes of a cost change.
    cost_per_call_base_at_head_prices: float | None = None
    #: Base at head prices vs base at base prices: what the price change alone does, in %.
    price_change_pct: float | None = None
    #: Head vs base, both at head prices: what the prompt's answers (their usage) change, in %.
    usage_change_pct: float | None = None
    #: Why base and head latencies cannot be compared (None: they can): a latency change is then
    #: never attributed to the prompt.
    latency_not_comparable: str | None = None
    #: The prompt's ``traffic.calls_per_day`` × 30, when it declares traffic.
    calls_per_month: float | None = None


def _truncate(text: Any, limit: int = TRUNCATE) -> str:
    shown: str = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def paired_delta(
    metric: str,
    base: Sequence[float] | np.ndarray,
    head: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    resamples: int = 5000,
) -> MetricDelta:
    """Head − base of one metric over paired per-item values, with the test that fits the values.

    All values 0 or 1 → exact McNemar (``p_value`` set, no interval); otherwise the paired bootstrap
    (``ci_low``/``ci_high`` set, no p-value). ``significant`` is at the 95% level either way.
    """
    n = len(base)
    if is_binary(base) and is_binary(head):
        test = mcnemar_exact(np.asarray(base) == 1.0, np.asarray(head) == 1.0)
        return MetricDelta(
            metric,
            test.base_rate,
            test.head_rate,
            test.head_rate - test.base_rate,
            None,
            None,
            test.p_value,
            test.significant,
            n,
            "mcnemar",
        )
    estimate = paired_bootstrap_ci(base, head, resamples=resamples, seed=seed)
    return MetricDelta(
        metric,
        estimate.mean_base,
        estimate.mean_head,
        estimate.delta,
        estimate.ci_low,
        estimate.ci_high,
        None,
        estimate.significant,
        n,
        "bootstrap",
    )


def compare_model(
    base: Run,
    head: Run,
    model: str,
    *,
    calls_per_day: float | None,
    inputs: Mapping[str, Any] | None = None,
    seed: int = 0,
    resamples: int = 5000,
    base_at_head_prices: Run | None = None,
    expected: Mapping[str, Any] | None = None,
) -> ModelComparison:
    """Compare ``model``'s samples in two runs of one suite (each priced at its own side's prices);
    ``inputs`` maps item id → input for the per-item change list; ``base_at_head_prices`` (base's
    answers priced at head's prices) splits a cost change into its price and usage parts."""
    items = pair_items(base.samples, head.samples, model, limit=ITEM_CHANGE_LIMIT)
    total = items.total
    metrics = []
    for name in sorted(items.metrics):
        base_values, head_values = items.values(name)
        if base_values.size:
            delta = paired_delta(name, base_values, head_values, seed=seed, resamples=resamples)
            metrics.append(replace(delta, items=total))
    base_pass, head_pass = items.passes()
    if items.common:
        delta = paired_delta(PASS_METRIC, base_pass.astype(np.float64), head_pass.astype(np.float64))
        metrics.append(replace(delta, items=total))
    base_summary, head_summary = base.aggregates[model], head.aggregates[model]
    cost_base, cost_head = base_summary.cost_per_call_usd, head_summary.cost_per_call_usd
    failing, passing = items.failing_ids, items.passing_ids
    listed = (failing + passing)[:ITEM_CHANGE_LIMIT]
    wanted, listed_failing = set(listed), set(failing[:ITEM_CHANGE_LIMIT])
    firsts_base, firsts_head = first_samples(base.samples, model, wanted), first_samples(head.samples, model, wanted)
    changes = []
    for item_id in listed:
        first_base, first_head = firsts_base[item_id], firsts_head[item_id]
        changes.append(
            ItemChange(
                item_id,
                "newly_failing" if item_id in listed_failing else "newly_passing",
                _truncate((inputs or {}).get(item_id, "")),
                _truncate(first_base.output if first_base.output is not None else f"[{_error(first_base)}]"),
                _truncate(first_head.output if first_head.output is not None else f"[{_error(first_head)}]"),
                _truncate((expected or {}).get(item_id)) if (expected or {}).get(item_id) is not None else "",
            )
        )
    repriced = base_at_head_prices.aggregates[model].cost_per_call_usd if base_at_head_prices else None
    return ModelComparison(
        latency_not_comparable=latency_not_comparable(base, head),
        calls_per_month=calls_per_day * DAYS_PER_MONTH if calls_per_day else None,
        cost_per_call_base_at_head_prices=repriced,
        price_change_pct=_pct(cost_base, repriced) if repriced is not None else None,
        usage_change_pct=_pct(repriced, cost_head) if repriced is not None else None,
        model=model,
        metrics=metrics,
        cost_per_call_base=cost_base,
        cost_per_call_head=cost_head,
        cost_change_pct=_pct(cost_base, cost_head),
        monthly_cost_delta=(cost_head - cost_base) * calls_per_day * DAYS_PER_MONTH if calls_per_day else None,
        latency_p50_base=base_summary.latency_p50_ms,
        latency_p50_head=head_summary.latency_p50_ms,
        latency_p95_base=base_summary.latency_p95_ms,
        latency_p95_head=head_summary.latency_p95_ms,
        tokens_per_call_base=items.base_totals.tokens_per_call,
        tokens_per_call_head=items.head_totals.tokens_per_call,
        errors_base=base_summary.errors,
        errors_head=head_summary.errors,
        item_changes=changes,
        newly_failing=items.newly_failing,
        newly_passing=items.newly_passing,
    )


def latency_not_comparable(base: Run, head: Run) -> str | None:
    """Why the latencies of two runs say nothing about the prompt, or None when they can be compared."""
    reasons = []
    if base.environment.local_model or head.environment.local_model:
        reasons.append("answers from the embedded local model (its latency measures this machine and its load)")
    if base.profile != head.profile:
        reasons.append(f"different routing profiles ({base.profile or 'none'} vs {head.profile or 'none'})")
    if base.environment.concurrency != head.environment.concurrency:
        reasons.append(f"different concurrency ({base.environment.concurrency} vs {head.environment.concurrency})")
    if base.environment.machine != head.environment.machine:
        reasons.append(f"different machines ({base.environment.machine} vs {head.environment.machine})")
    return "; ".join(reasons) or None


def _pct(before: float, after: float) -> float | None:
    return (after - before) / before * 100 if before > 0 else None


def _error(sample: SampleResult) -> str:
    return f"{sample.error.kind}: {sample.error.message}" if sample.error else "no output"


def check_gates(suite: str, gates: Gates, head: Run, comparisons: Sequence[ModelComparison]) -> list[GateResult]:
    """Absolute minimums on head, significant regressions beyond tolerance, and cost increases."""
    results = absolute_gate_results(head, gates)
    for comparison in comparisons:
        by_name = {m.metric: m for m in comparison.metrics}
        for metric, tolerance in gates.max_regression.items():
            delta = by_name.get(metric)
            if delta is None:
                continue
            regressed = delta.significant and delta.delta < -tolerance
            results.append(
                GateResult(
                    suite,
                    comparison.model,
                    f"max_regression:{metric}",
                    not regressed,
                    f"{metric} {delta.base:.3f} → {delta.head:.3f} ({delta.delta:+.3f}"
                    + (", significant" if delta.significant else ", not significant")
                    + f"; tolerance {tolerance:.3f})",
                )
            )
        if gates.max_cost_increase_pct is not None and comparison.cost_change_pct is not None:
            too_costly = comparison.cost_change_pct > gates.max_cost_increase_pct
            results.append(
                GateResult(
                    suite,
                    comparison.model,
                    "max_cost_increase_pct",
                    not too_costly,
                    f"cost per call {comparison.cost_change_pct:+.1f}% (allowed +{gates.max_cost_increase_pct:.0f}%)",
                )
            )
    return results


def to_jsonable(value: Any) -> Any:
    return asdict(value) if hasattr(value, "__dataclass_fields__") else value


__all__ = [
    "GateResult",
    "ItemChange",
    "MetricDelta",
    "ModelComparison",
    "check_gates",
    "compare_model",
    "paired_delta",
    "percentile",
]
