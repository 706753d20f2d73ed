"""Per-model aggregates of a run's samples (pure).

Score means are over samples that produced an answer (a scorer that raised counts as 0 there);
failed calls are counted separately, in ``errors``. ``pass_rate`` is over all samples, so a failed or
blocked call counts as not passing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diff.stats import percentile
from ..files.schema.run import Aggregate, SampleResult

#: Error kinds that say nothing about the prompt: the call could not be made or finished.
NOT_EVALUATED_KINDS = frozenset({"model", "timeout", "interrupted", "cache_miss", "credentials"})


def aggregate(samples: Sequence[SampleResult], models: Sequence[str]) -> dict[str, Aggregate]:
    return {model: aggregate_model([s for s in samples if s.model == model]) for model in models}


def aggregate_model(samples: Sequence[SampleResult]) -> Aggregate:
    answered = [s for s in samples if s.error is None]
    names = sorted({name for s in answered for name in s.scores})
    scores, pass_rates = {}, {}
    for name in names:
        values = [s.scores[name].value or 0.0 for s in answered if name in s.scores]
        passed = [bool(s.scores[name].passed) for s in answered if name in s.scores]
        scores[name] = round(sum(values) / len(values), 6) if values else 0.0
        pass_rates[name] = round(sum(passed) / len(samples), 6) if samples else 0.0
    all_passed = sum(1 for s in answered if s.scores and all(r.passed for r in s.scores.values()))
    latencies = [s.latency_ms for s in answered]
    cost = sum(s.cost_usd for s in samples)
    return Aggregate(
        samples=len(samples),
        errors=len(samples) - len(answered),
        scores=scores,
        pass_rates=pass_rates,
        pass_rate=round(all_passed / len(samples), 6) if samples else 0.0,
        latency_p50_ms=round(percentile(latencies, 50), 2) if latencies else 0.0,
        latency_p95_ms=round(percentile(latencies, 95), 2) if latencies else 0.0,
        cost_usd=round(cost, 8),
        cost_per_call_usd=round(cost / len(answered), 8) if answered else 0.0,
        spent_usd=round(sum(s.cost_usd for s in samples if not s.cached) + sum(s.judge_cost_usd for s in samples), 8),
        judge_cost_usd=round(sum(s.judge_cost_usd for s in samples), 8),
        prompt_tokens=sum(s.prompt_tokens for s in samples),
        completion_tokens=sum(s.completion_tokens for s in samples),
        cache_hits=sum(s.cached for s in samples),
        attempts=sum(len(s.attempts) for s in samples),
        pii_blocked=sum(1 for s in samples if s.error and s.error.kind == "pii_blocked"),
        pii_masked=sum(sum(s.pii_masked.values()) for s in samples),
        not_evaluated=sum(1 for s in samples if s.error and s.error.kind in NOT_EVALUATED_KINDS),
        error_kinds=_error_kinds(samples),
        confusion=_confusion(answered),
    )


def _error_kinds(samples: Sequence[SampleResult]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for sample in samples:
        if sample.error is not None:
            kinds[sample.error.kind] = kinds.get(sample.error.kind, 0) + 1
    return dict(sorted(kinds.items()))


def _confusion(samples: Sequence[SampleResult]) -> dict[str, dict[str, dict[str, int]]]:
    matrix: dict[str, dict[str, dict[str, int]]] = {}
    for sample in samples:
        for name, result in sample.scores.items():
            if "predicted" in result.detail and "expected" in result.detail:
                expected = str(result.detail["expected"])
                predicted = str(result.detail["predicted"])
                row = matrix.setdefault(name, {}).setdefault(expected, {})
                row[predicted] = row.get(predicted, 0) + 1
    return matrix
