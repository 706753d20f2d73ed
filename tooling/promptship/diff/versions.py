"""``promptship usage --by version``: the versions of each prompt compared on live traffic (pure).

Every version of a prompt that served calls in the period is an *arm*: calls, errors (rate with its
Wilson interval), p50/p95 latency of the calls that succeeded, cost per call and, when Langfuse holds
scores of its generations, the mean of each score. Each other version is compared with the *base*
version — the one the split's default label (``production``) served most, else the busiest — with the
unpaired statistics of :mod:`promptship.diff.unpaired`:

=================  ==================================================  ==========================
metric             interval of head − base                             test (two-sided)
=================  ==================================================  ==========================
error rate         Newcombe's hybrid score interval                    Fisher's exact test
latency p50        bootstrap, difference of medians (ok calls)         Mann–Whitney U
cost per call      bootstrap, difference of means                      Mann–Whitney U
score NAME         bootstrap, difference of means                      Mann–Whitney U
=================  ==================================================  ==========================

A metric is ``better``/``worse`` only with :data:`~promptship.diff.unpaired.MIN_ARM` observations per
arm, an interval that excludes 0 and p < 0.05; else ``not enough data`` or ``no significant
difference``. Calls refused before the prompt mattered (the budget, the PII policy) are left out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..ops.usage import BLOCKED, BUDGET, UsageRow
from .stats import percentile
from .unpaired import (
    MIN_ARM,
    Verdict,
    bootstrap_difference,
    fisher_exact,
    mann_whitney,
    newcombe_interval,
    verdict,
    wilson_interval,
)

#: Outcomes that say nothing about the prompt's version: the call never reached the model because of it.
NOT_THE_VERSIONS_DOING = frozenset({BUDGET, BLOCKED})

#: Scores of one prompt version: score name → values, keyed by (prompt, version).
VersionScores = Mapping[tuple[str, int], Mapping[str, Sequence[float]]]


@dataclass(frozen=True)
class ScoreSummary:
    n: int
    mean: float


@dataclass(frozen=True)
class VersionArm:
    """One version's live numbers. ``version`` None: calls served from a bundled file (no version)."""

    version: int | None
    labels: tuple[str, ...]
    calls: int
    errors: int
    error_rate: float
    error_ci: tuple[float, float]
    #: Latency of the calls that succeeded (None when none did), milliseconds.
    p50_ms: float | None
    p95_ms: float | None
    cost_per_call_usd: float
    scores: dict[str, ScoreSummary] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricComparison:
    """head − base for one metric: both values, the difference with its interval, the test and its
    p-value (None when an arm is empty), the n of each arm, and the verdict for head."""

    metric: str
    base: float
    head: float
    delta: float
    ci_low: float
    ci_high: float
    test: str
    p_value: float | None
    n_base: int
    n_head: int
    verdict: Verdict
    lower_is_better: bool


@dataclass(frozen=True)
class VersionComparison:
    head_version: int
    metrics: tuple[MetricComparison, ...]


@dataclass(frozen=True)
class PromptVersions:
    prompt: str
    #: The split's labels and percents, when the release policy splits this prompt.
    split: dict[str, int] | None
    base_version: int | None
    arms: tuple[VersionArm, ...]
    comparisons: tuple[VersionComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_versions(
    rows: Iterable[UsageRow],
    *,
    splits: Mapping[str, Mapping[str, int]] | None = None,
    scores: VersionScores | None = None,
    default_labels: Mapping[str, str] | None = None,
    min_arm: int = MIN_ARM,
    seed: int = 0,
) -> list[PromptVersions]:
    """Per prompt (sorted by name), its arms (newest version first) and each version against the base.

    ``rows``: usage rows (rows without a prompt are ignored). ``splits``: the release policy's splits
    (shown beside their prompt). ``scores``: :data:`VersionScores` from Langfuse. ``default_labels``:
    prompt → the label whose version is the base — a split's default label
    (:func:`promptship.runtime.split.default_label`, given by the caller) — else ``production``.
    Deterministic for a given ``seed``.
    """
    splits = splits or {}
    by_prompt: dict[str, dict[int | None, list[UsageRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.prompt is not None and row.outcome not in NOT_THE_VERSIONS_DOING:
            by_prompt[row.prompt][row.prompt_version].append(row)
    result = []
    for prompt in sorted(by_prompt):
        versions = by_prompt[prompt]
        split = splits.get(prompt)
        wanted = (default_labels or {}).get(prompt) or "production"
        prompt_scores = {v: (scores or {}).get((prompt, v), {}) for v in versions if v is not None}
        arms = tuple(
            _arm(version, versions[version], prompt_scores.get(version, {}) if version is not None else {})
            for version in sorted(versions, key=lambda v: -1 if v is None else v, reverse=True)
        )
        base = _base_version(versions, wanted)
        comparisons = tuple(
            VersionComparison(
                version,
                _compare(versions[base], versions[version], prompt_scores[base], prompt_scores[version], min_arm, seed),
            )
            for version in sorted((v for v in versions if v is not None and v != base), reverse=True)
            if base is not None
        )
        result.append(PromptVersions(prompt, dict(split) if split else None, base, arms, comparisons))
    return result


def _base_version(versions: Mapping[int | None, Sequence[UsageRow]], label: str) -> int | None:
    """The version ``label`` served most often, else the version with the most calls."""
    numbered = {v: rows for v, rows in versions.items() if v is not None}
    if not numbered:
        return None
    labelled = {v: sum(r.prompt_label == label for r in rows) for v, rows in numbered.items()}
    if any(labelled.values()):
        return max(labelled, key=lambda v: (labelled[v], v))
    return max(numbered, key=lambda v: (len(numbered[v]), v))


def _arm(version: int | None, rows: Sequence[UsageRow], scores: Mapping[str, Sequence[float]]) -> VersionArm:
    errors = sum(row.failed for row in rows)
    latencies = [row.latency_ms for row in rows if not row.failed]
    return VersionArm(
        version=version,
        labels=tuple(sorted({row.prompt_label for row in rows if row.prompt_label})),
        calls=len(rows),
        errors=errors,
        error_rate=errors / len(rows),
        error_ci=wilson_interval(errors, len(rows)),
        p50_ms=percentile(latencies, 50) if latencies else None,
        p95_ms=percentile(latencies, 95) if latencies else None,
        cost_per_call_usd=sum(row.cost_usd for row in rows) / len(rows),
        scores={
            name: ScoreSummary(len(values), sum(values) / len(values)) for name, values in scores.items() if values
        },
    )


def _compare(
    base: Sequence[UsageRow],
    head: Sequence[UsageRow],
    base_scores: Mapping[str, Sequence[float]],
    head_scores: Mapping[str, Sequence[float]],
    min_arm: int,
    seed: int,
) -> tuple[MetricComparison, ...]:
    metrics = [_error_rate(base, head, min_arm)]
    metrics.append(
        _measured(
            "latency p50 (ms)",
            [r.latency_ms for r in base if not r.failed],
            [r.latency_ms for r in head if not r.failed],
            "median",
            True,
            min_arm,
            seed,
        )
    )
    metrics.append(
        _measured(
            "cost per call (USD)", [r.cost_usd for r in base], [r.cost_usd for r in head], "mean", True, min_arm, seed
        )
    )
    for name in sorted(set(base_scores) | set(head_scores)):
        metrics.append(
            _measured(
                f"score {name}",
                list(base_scores.get(name, ())),
                list(head_scores.get(name, ())),
                "mean",
                False,
                min_arm,
                seed,
            )
        )
    return tuple(metrics)


def _finite(values: list[float]) -> list[float]:
    """``values`` without NaN and infinities (a measurement that is not a number says nothing)."""
    return [v for v in values if math.isfinite(v)]


def _error_rate(base: Sequence[UsageRow], head: Sequence[UsageRow], min_arm: int) -> MetricComparison:
    x1, n1 = sum(r.failed for r in base), len(base)
    x2, n2 = sum(r.failed for r in head), len(head)
    low, high = newcombe_interval(x1, n1, x2, n2)
    p_value = fisher_exact(x1, n1, x2, n2)
    return MetricComparison(
        "error rate",
        x1 / n1,
        x2 / n2,
        x2 / n2 - x1 / n1,
        low,
        high,
        "Fisher exact",
        p_value,
        n1,
        n2,
        verdict(n1, n2, low, high, p_value, lower_is_better=True, min_arm=min_arm),
        True,
    )


def _measured(
    metric: str,
    base: list[float],
    head: list[float],
    statistic: str,
    lower_is_better: bool,
    min_arm: int,
    seed: int,
) -> MetricComparison:
    base, head = _finite(base), _finite(head)
    if not base or not head:
        mean_base = sum(base) / len(base) if base else 0.0
        mean_head = sum(head) / len(head) if head else 0.0
        return MetricComparison(
            metric, mean_base, mean_head, 0.0, 0.0, 0.0, "Mann–Whitney U", None, len(base), len(head),
            "not enough data", lower_is_better,
        )  # fmt: skip
    difference = bootstrap_difference(base, head, statistic="median" if statistic == "median" else "mean", seed=seed)
    test = mann_whitney(base, head)
    return MetricComparison(
        metric,
        difference.base,
        difference.head,
        difference.delta,
        difference.ci_low,
        difference.ci_high,
        "Mann–Whitney U",
        test.p_value,
        len(base),
        len(head),
        verdict(
            len(base), len(head), difference.ci_low, difference.ci_high, test.p_value,
            lower_is_better=lower_is_better, min_arm=min_arm,
        ),
        lower_is_better,
    )  # fmt: skip
