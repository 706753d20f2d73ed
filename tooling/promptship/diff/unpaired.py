"""Two-sample statistics for *unpaired* arms — production traffic split between two prompt versions
(pure functions; the paired tests of :mod:`promptship.diff.stats` are for the same items answered twice).

Different users make the calls of each arm, so nothing pairs a call of one arm with a call of the
other: McNemar and the paired bootstrap do not apply. Instead:

- a rate (errors per call): each arm's Wilson score interval (:func:`wilson_interval`), Newcombe's
  hybrid score interval for the difference (:func:`newcombe_interval`) and Fisher's exact test
  (:func:`fisher_exact`);
- a measurement (latency, cost per call, a score): a bootstrap interval of the difference of medians
  or means, each arm resampled on its own (:func:`bootstrap_difference`), and the Mann–Whitney U test
  (:func:`mann_whitney`; normal approximation with tie and continuity corrections).

Below :data:`MIN_ARM` observations in either arm, :func:`verdict` says ``not enough data``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from .stats import bootstrap_means, percentiles

#: Fewest observations per arm before a difference gets a verdict (the normal approximations of the
#: Wilson, Newcombe and Mann–Whitney procedures are poor below this, and a bootstrap has little to draw on).
MIN_ARM = 30

Verdict = Literal["better", "worse", "no significant difference", "not enough data"]


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``successes / n`` (``(0.0, 1.0)`` when ``n`` is 0).

    Unlike the textbook ``p ± z·sqrt(p(1-p)/n)`` it never leaves [0, 1] and keeps its coverage for
    rates near 0, which is where error rates live (0 errors in 50 calls: 0 to 7.1%).
    """
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    low = 0.0 if successes == 0 else max(0.0, (centre - spread) / denominator)
    high = 1.0 if successes == n else min(1.0, (centre + spread) / denominator)
    return low, high


def newcombe_interval(
    x_base: int, n_base: int, x_head: int, n_head: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of the difference of proportions head − base (Newcombe 1998, method 10: the hybrid
    score interval built from the two Wilson intervals). Both arms need at least one observation."""
    if n_base == 0 or n_head == 0:
        raise ValueError("a difference of proportions needs observations in both arms")
    p1, p2 = x_base / n_base, x_head / n_head
    l1, u1 = wilson_interval(x_base, n_base, confidence=confidence)
    l2, u2 = wilson_interval(x_head, n_head, confidence=confidence)
    delta = p2 - p1
    low = delta - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = delta + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return low, high


def fisher_exact(x_base: int, n_base: int, x_head: int, n_head: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2×2 table (x, n − x) per arm: the probability,
    given the margins, of a table at most as likely as the one observed (R's ``fisher.test``)."""
    if not (0 <= x_base <= n_base and 0 <= x_head <= n_head):
        raise ValueError("need 0 <= x <= n in both arms")
    successes, total = x_base + x_head, n_base + n_head
    if total == 0:
        return 1.0

    def log_probability(k: int) -> float:  # hypergeometric: k successes in the base arm
        return _log_comb(n_base, k) + _log_comb(n_head, successes - k) - _log_comb(total, successes)

    lowest, highest = max(0, successes - n_head), min(successes, n_base)
    observed = log_probability(x_base)
    tolerance = 1e-7  # tables as likely as the observed one, up to rounding, count (as R does)
    p_value = sum(
        math.exp(lp) for k in range(lowest, highest + 1) if (lp := log_probability(k)) <= observed + tolerance
    )
    return min(1.0, p_value)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@dataclass(frozen=True)
class MannWhitney:
    """``u``: the head arm's U statistic (pairs where head > base, ties counting ½); ``z`` and the
    two-sided ``p_value`` from the normal approximation; ``effect`` = U / (n_base · n_head), the
    probability that a random head value exceeds a random base value (ties ½)."""

    u: float
    z: float
    p_value: float
    effect: float


def mann_whitney(base: Sequence[float], head: Sequence[float]) -> MannWhitney:
    """Mann–Whitney U test (Wilcoxon rank-sum) of ``head`` against ``base``, two-sided, normal
    approximation with the tie correction of the variance and a continuity correction (R's
    ``wilcox.test(..., exact = FALSE, correct = TRUE)``). Both arms need at least one value."""
    n1, n2 = len(base), len(head)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann–Whitney test needs values in both arms")
    ranked = sorted([(v, 1) for v in head] + [(v, 0) for v in base])
    rank_sum_head = 0.0
    ties = 0.0
    index = 0
    while index < len(ranked):
        end = index
        while end + 1 < len(ranked) and ranked[end + 1][0] == ranked[index][0]:
            end += 1
        average = (index + end) / 2 + 1  # ranks start at 1
        size = end - index + 1
        ties += size**3 - size
        rank_sum_head += average * sum(arm for _, arm in ranked[index : end + 1])
        index = end + 1
    u = rank_sum_head - n2 * (n2 + 1) / 2
    mean = n1 * n2 / 2
    total = n1 + n2
    variance = n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1))) if total > 1 else 0.0
    if variance <= 0:  # every value equal: nothing to tell apart
        return MannWhitney(u, 0.0, 1.0, u / (n1 * n2))
    shift = u - mean
    corrected = max(abs(shift) - 0.5, 0.0)
    z = math.copysign(corrected / math.sqrt(variance), shift)
    p_value = min(1.0, 2 * (1 - NormalDist().cdf(abs(z))))
    return MannWhitney(u, z, p_value, u / (n1 * n2))


@dataclass(frozen=True)
class Difference:
    """``head − base`` of a statistic with its bootstrap interval."""

    base: float
    head: float
    delta: float
    ci_low: float
    ci_high: float


def bootstrap_difference(
    base: Sequence[float],
    head: Sequence[float],
    *,
    statistic: Literal["mean", "median"] = "mean",
    confidence: float = 0.95,
    resamples: int = 2_000,
    seed: int = 0,
) -> Difference:
    """Percentile bootstrap interval of statistic(head) − statistic(base), each arm resampled with
    replacement on its own (unpaired). Means are drawn by :func:`~promptship.diff.stats.bootstrap_means`
    (the paired bootstrap's engine), medians in chunks; memory stays bounded for arms of any size.
    Deterministic for a given ``seed``. Both arms need at least one value."""
    if not base or not head:
        raise ValueError("a bootstrap difference needs values in both arms")
    _z(confidence)
    rng = np.random.default_rng(seed)
    arms = [np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)]
    if statistic == "mean":
        point = [float(arm.mean()) for arm in arms]
        draws = [bootstrap_means(arm, resamples, rng) for arm in arms]
    else:
        point = [float(np.median(arm)) for arm in arms]
        draws = [_bootstrap_medians(arm, resamples, rng) for arm in arms]
    alpha = (1 - confidence) / 2
    low, high = percentiles(draws[1] - draws[0], (alpha * 100, (1 - alpha) * 100))
    return Difference(point[0], point[1], point[1] - point[0], low, high)


def _bootstrap_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``resamples`` resamples (with replacement, size n) of ``values``, drawn in chunks."""
    n = values.size
    medians = np.empty(resamples, dtype=np.float64)
    per_chunk = max(1, 4_000_000 // n)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        medians[start:stop] = np.median(values[rng.integers(0, n, size=(stop - start, n))], axis=1)
    return medians


def verdict(
    n_base: int,
    n_head: int,
    ci_low: float,
    ci_high: float,
    p_value: float,
    *,
    lower_is_better: bool,
    alpha: float = 0.05,
    min_arm: int = MIN_ARM,
) -> Verdict:
    """``better``/``worse`` (for head) only when both arms have ``min_arm`` observations, the interval
    of head − base excludes 0 and the test's ``p_value`` is below ``alpha``; else ``not enough data``
    or ``no significant difference`` (also for a non-finite interval or p-value)."""
    if min(n_base, n_head) < min_arm:
        return "not enough data"
    if not all(math.isfinite(v) for v in (ci_low, ci_high, p_value)):
        return "no significant difference"  # a NaN compares false both ways: it must not read as a verdict
    if p_value >= alpha or ci_low <= 0 <= ci_high:
        return "no significant difference"
    increased = ci_low > 0
    return "worse" if increased == lower_is_better else "better"
