"""Per-model aggregates of a run's samples, computed incrementally (one sample at a time).

Score means are over samples that produced an answer (a scorer that raised counts as 0 there);
failed calls are counted separately, in ``errors``. ``pass_rate`` is over all samples, so a failed or
blocked call counts as not passing.

:class:`AggregateBuilder` holds counts and sums plus one float per answered sample (for the latency
percentiles): 8 bytes a sample, so a run of a million samples aggregates in a few MB. Fed the same
samples in the same order, it gives exactly what :func:`aggregate` gives for the stored samples.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

from ..diff.stats import percentiles
from ..files.schema.run import Aggregate, SampleResult

#: Error kinds that say nothing about the prompt: the call could not be made or finished.
NOT_EVALUATED_KINDS = frozenset({"model", "timeout", "interrupted", "cache_miss", "credentials"})


class AggregateBuilder:
    """Accumulates one model's samples; :meth:`result` is the :class:`Aggregate` of those seen so far."""

    def __init__(self) -> None:
        self.samples = 0
        self.answered = 0
        self.score_sums: dict[str, float] = {}
        self.score_counts: dict[str, int] = {}
        self.passed: dict[str, int] = {}
        self.all_passed = 0
        self.latencies = array("d")
        self.cost = 0.0
        self.fetched_cost = 0.0
        self.judge_cost = 0.0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cache_hits = 0
        self.attempts = 0
        self.pii_blocked = 0
        self.pii_masked = 0
        self.not_evaluated = 0
        self.error_kinds: dict[str, int] = {}
        self.confusion: dict[str, dict[str, dict[str, int]]] = {}

    def add(self, sample: SampleResult) -> None:
        self.samples += 1
        self.cost += sample.cost_usd
        if not sample.cached:
            self.fetched_cost += sample.cost_usd
        self.judge_cost += sample.judge_cost_usd
        self.prompt_tokens += sample.prompt_tokens
        self.completion_tokens += sample.completion_tokens
        self.cache_hits += sample.cached
        self.attempts += len(sample.attempts)
        self.pii_masked += sum(sample.pii_masked.values())
        if sample.error is not None:
            kind = sample.error.kind
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
            self.pii_blocked += kind == "pii_blocked"
            self.not_evaluated += kind in NOT_EVALUATED_KINDS
            return
        self.answered += 1
        self.latencies.append(sample.latency_ms)
        for name, result in sample.scores.items():
            self.score_sums[name] = self.score_sums.get(name, 0.0) + (result.value or 0.0)
            self.score_counts[name] = self.score_counts.get(name, 0) + 1
            self.passed[name] = self.passed.get(name, 0) + bool(result.passed)
            if "predicted" in result.detail and "expected" in result.detail:
                row = self.confusion.setdefault(name, {}).setdefault(str(result.detail["expected"]), {})
                predicted = str(result.detail["predicted"])
                row[predicted] = row.get(predicted, 0) + 1
        if sample.scores and all(r.passed for r in sample.scores.values()):
            self.all_passed += 1

    def result(self) -> Aggregate:
        n, names = self.samples, sorted(self.score_sums)
        p50, p95 = percentiles(self.latencies, (50, 95)) if self.latencies else (0.0, 0.0)
        return Aggregate(
            samples=n,
            errors=n - self.answered,
            scores={name: round(self.score_sums[name] / self.score_counts[name], 6) for name in names},
            pass_rates={name: round(self.passed[name] / n, 6) if n else 0.0 for name in names},
            pass_rate=round(self.all_passed / n, 6) if n else 0.0,
            latency_p50_ms=round(p50, 2),
            latency_p95_ms=round(p95, 2),
            cost_usd=round(self.cost, 8),
            cost_per_call_usd=round(self.cost / self.answered, 8) if self.answered else 0.0,
            spent_usd=round(self.fetched_cost + self.judge_cost, 8),
            judge_cost_usd=round(self.judge_cost, 8),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cache_hits=self.cache_hits,
            attempts=self.attempts,
            pii_blocked=self.pii_blocked,
            pii_masked=self.pii_masked,
            not_evaluated=self.not_evaluated,
            error_kinds=dict(sorted(self.error_kinds.items())),
            confusion=self.confusion,
        )


class RunAggregates:
    """One :class:`AggregateBuilder` per model of a run (samples of other models are ignored)."""

    def __init__(self, models: Sequence[str]) -> None:
        self.builders = {model: AggregateBuilder() for model in models}

    def add(self, sample: SampleResult) -> None:
        builder = self.builders.get(sample.model)
        if builder is not None:
            builder.add(sample)

    def result(self) -> dict[str, Aggregate]:
        return {model: builder.result() for model, builder in self.builders.items()}


def aggregate(samples: Iterable[SampleResult], models: Sequence[str]) -> dict[str, Aggregate]:
    """Per-model aggregates of ``samples`` (one pass; ``samples`` may be streamed from disk)."""
    builders = RunAggregates(models)
    for sample in samples:
        builders.add(sample)
    return builders.result()


def aggregate_model(samples: Iterable[SampleResult]) -> Aggregate:
    """The aggregate of one model's samples."""
    builder = AggregateBuilder()
    for sample in samples:
        builder.add(sample)
    return builder.result()
