"""Paired statistics for base-vs-head comparisons: pure functions, stdlib only.

Items are paired by index; callers average repeats per item first (:func:`mean_by_item`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DeltaEstimate:
    mean_base: float
    mean_head: float
    delta: float
    ci_low: float
    ci_high: float
    significant: bool
    n: int


@dataclass(frozen=True)
class McNemarResult:
    b: int  # pass → fail
    c: int  # fail → pass
    p_value: float
    significant: bool
    base_rate: float
    head_rate: float


def _check_pairs(base: Sequence[object], head: Sequence[object]) -> None:
    if len(base) != len(head):
        raise ValueError(f"paired samples need equal lengths (base {len(base)}, head {len(head)})")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default); 0.0 if empty."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def mean_by_item(samples: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Average each item's repeats; items with no samples are left out."""
    return {item: sum(values) / len(values) for item, values in samples.items() if values}


def paired_bootstrap_ci(
    base: Sequence[float],
    head: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> DeltaEstimate:
    """Mean difference head − base with a percentile bootstrap interval over items.

    ``significant`` means the interval excludes 0. Deterministic for a given ``seed``.
    """
    _check_pairs(base, head)
    n = len(base)
    if n == 0:
        return DeltaEstimate(0.0, 0.0, 0.0, 0.0, 0.0, False, 0)
    differences = [h - b for b, h in zip(base, head, strict=True)]
    delta = sum(differences) / n
    mean_base, mean_head = sum(base) / n, sum(head) / n
    if n == 1 or all(d == differences[0] for d in differences):
        # No spread to resample: the interval is the point itself.
        return DeltaEstimate(mean_base, mean_head, delta, delta, delta, n > 1 and delta != 0, n)
    rng = random.Random(seed)
    choices = rng.choices
    means = sorted(sum(choices(differences, k=n)) / n for _ in range(resamples))
    alpha = (1 - confidence) / 2
    low = percentile(means, alpha * 100)
    high = percentile(means, (1 - alpha) * 100)
    return DeltaEstimate(mean_base, mean_head, delta, low, high, low > 0 or high < 0, n)


def mcnemar_exact(base_pass: Sequence[bool], head_pass: Sequence[bool], *, alpha: float = 0.05) -> McNemarResult:
    """Exact (binomial) two-sided McNemar test on paired pass/fail outcomes."""
    _check_pairs(base_pass, head_pass)
    n = len(base_pass)
    b = sum(1 for x, y in zip(base_pass, head_pass, strict=True) if x and not y)
    c = sum(1 for x, y in zip(base_pass, head_pass, strict=True) if not x and y)
    discordant = b + c
    if discordant == 0:
        p_value = 1.0
    else:
        k = min(b, c)
        tail = sum(math.comb(discordant, i) for i in range(k + 1)) / 2**discordant
        p_value = min(1.0, 2 * tail)
    return McNemarResult(
        b,
        c,
        p_value,
        p_value < alpha,
        sum(base_pass) / n if n else 0.0,
        sum(head_pass) / n if n else 0.0,
    )
