"""Paired statistics for base-vs-head comparisons: pure functions, stdlib only.

Items are paired by index; callers average repeats per item first (:func:`mean_by_item`).
Which test a metric gets (:func:`is_binary`): paired 0/1 values (pass/fail, contains, label
accuracy with one repeat) get the exact McNemar test, anything else the paired bootstrap. Both
need at least as many moved items as an exact sign test needs to reach the level (6 at 95%), so a
handful of items never makes a change "significant".
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


def sign_test_p(up: int, down: int) -> float:
    """Exact two-sided sign (binomial, p=1/2) test p-value for ``up`` vs ``down`` nonzero paired changes.

    1.0 when nothing changed; never above 1.0. McNemar's exact test is this test on the discordant pairs.
    """
    moved = up + down
    if moved == 0:
        return 1.0
    tail: float = sum(math.comb(moved, i) for i in range(min(up, down) + 1)) / 2**moved
    return min(1.0, 2 * tail)


def is_binary(values: Sequence[float]) -> bool:
    """True when every value is exactly 0 or 1 (a pass/fail outcome per item)."""
    return all(v in (0.0, 1.0) for v in values)


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

    ``significant`` means the interval excludes 0 *and* enough items moved that an exact sign test
    could reach ``1 - confidence`` (at least 6 at 95%): a percentile bootstrap over 2–5 items, or over
    identical differences, has no spread to speak of and would call any change significant.
    Deterministic for a given ``seed``.
    """
    _check_pairs(base, head)
    n = len(base)
    if n == 0:
        return DeltaEstimate(0.0, 0.0, 0.0, 0.0, 0.0, False, 0)
    differences = [h - b for b, h in zip(base, head, strict=True)]
    delta = sum(differences) / n
    mean_base, mean_head = sum(base) / n, sum(head) / n
    # Even if every moved item moved the same way, too few of them cannot reach the level.
    moved = sum(1 for d in differences if d != 0)
    enough = sign_test_p(moved, 0) < 1 - confidence
    if all(d == differences[0] for d in differences):
        # No spread to resample: the interval is the point, and the sign test alone decides.
        return DeltaEstimate(mean_base, mean_head, delta, delta, delta, enough and delta != 0, n)
    rng = random.Random(seed)
    choices = rng.choices
    means = sorted(sum(choices(differences, k=n)) / n for _ in range(resamples))
    alpha = (1 - confidence) / 2
    low = percentile(means, alpha * 100)
    high = percentile(means, (1 - alpha) * 100)
    return DeltaEstimate(mean_base, mean_head, delta, low, high, enough and (low > 0 or high < 0), n)


def mcnemar_exact(base_pass: Sequence[bool], head_pass: Sequence[bool], *, alpha: float = 0.05) -> McNemarResult:
    """Exact (binomial) two-sided McNemar test on paired pass/fail outcomes."""
    _check_pairs(base_pass, head_pass)
    n = len(base_pass)
    b = sum(1 for x, y in zip(base_pass, head_pass, strict=True) if x and not y)
    c = sum(1 for x, y in zip(base_pass, head_pass, strict=True) if not x and y)
    p_value = sign_test_p(c, b)
    return McNemarResult(
        b,
        c,
        p_value,
        p_value < alpha,
        sum(base_pass) / n if n else 0.0,
        sum(head_pass) / n if n else 0.0,
    )
