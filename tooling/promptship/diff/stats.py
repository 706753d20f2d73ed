"""Paired statistics for base-vs-head comparisons: pure functions, vectorised with numpy.

Items are paired by index; callers average repeats per item first (:func:`mean_by_item`).
Which test a metric gets (:func:`is_binary`): paired 0/1 values (pass/fail, contains, label
accuracy with one repeat) get the exact McNemar test, anything else the paired bootstrap. Both
need at least as many moved items as an exact sign test needs to reach the level (6 at 95%), so a
handful of items never makes a change "significant".

Every percentile in promptship (latency p50/p95, bootstrap interval bounds) is :func:`percentile` /
:func:`percentiles`: linear interpolation, numpy's default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass

import numpy as np

#: Above this many distinct differences the bootstrap draws indices; at or below it, multinomial counts.
_MULTINOMIAL_MAX_VALUES = 64
#: Beyond this many random indices in all (e.g. 20,000 items × 5,000 resamples), continuous scores use the
#: bootstrap's large-sample (normal) limit instead of drawing indices.
_INDEX_DRAWS_MAX = 100_000_000
#: Random indices drawn per chunk of bootstrap resamples (bounds the memory of one chunk: 8 bytes each).
_CHUNK_DRAWS = 4_000_000
#: Up to this many discordant pairs the exact sign test sums integers; above, it sums in log space.
_EXACT_INTEGER_MAX = 2_000


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


def _check_pairs(base: Sized, head: Sized) -> None:
    if len(base) != len(head):
        raise ValueError(f"paired samples need equal lengths (base {len(base)}, head {len(head)})")


def sign_test_p(up: int, down: int) -> float:
    """Exact two-sided sign (binomial, p=1/2) test p-value for ``up`` vs ``down`` nonzero paired changes.

    1.0 when nothing changed; never above 1.0. McNemar's exact test is this test on the discordant pairs.
    Exact integer arithmetic up to 2,000 moved pairs; beyond, the same sum of binomial terms in log space.
    """
    moved = up + down
    if moved == 0:
        return 1.0
    low = min(up, down)
    if moved <= _EXACT_INTEGER_MAX:
        tail: float = sum(math.comb(moved, i) for i in range(low + 1)) / 2**moved
        return min(1.0, 2 * tail)
    k = np.arange(low + 1, dtype=np.float64)
    log_terms = math.lgamma(moved + 1) - _lgamma(k + 1) - _lgamma(moved - k + 1) - moved * math.log(2)
    peak = float(log_terms.max())
    log_tail = peak + math.log(float(np.exp(log_terms - peak).sum()))
    return min(1.0, 2 * math.exp(log_tail))


def _lgamma(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.vectorize(math.lgamma, otypes=[np.float64])(values), dtype=np.float64)


def is_binary(values: Sequence[float] | np.ndarray) -> bool:
    """True when every value is exactly 0 or 1 (a pass/fail outcome per item)."""
    array = np.asarray(values, dtype=np.float64)
    return bool(np.all((array == 0.0) | (array == 1.0)))


def percentiles(values: Iterable[float] | np.ndarray, qs: Sequence[float]) -> list[float]:
    """The ``qs``-th percentiles (0..100) of ``values`` with linear interpolation (numpy's default);
    0.0 each if ``values`` is empty. Raises ``ValueError`` for a ``q`` outside 0..100."""
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be within 0..100, got {q}")
    array = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return [0.0 for _ in qs]
    return [float(v) for v in np.percentile(array, list(qs))]


def percentile(values: Iterable[float] | np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default); 0.0 if empty."""
    return percentiles(values, (q,))[0]


def mean_by_item(samples: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Average each item's repeats; items with no samples are left out."""
    return {item: sum(values) / len(values) for item, values in samples.items() if values}


def bootstrap_means(differences: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` resamples (with replacement, size n) of ``differences``.

    Few distinct values (the usual case: scores on a small grid) draw multinomial counts of the
    values — the same distribution as drawing indices, at a cost independent of n. Otherwise indices
    are drawn in chunks of at most a few million, so memory stays bounded; past 100 million indices
    in all (a 100,000-item run of continuous scores), the means are drawn from the bootstrap
    distribution's large-sample limit, Normal(mean, sd/√n), which agrees with index resampling within
    Monte-Carlo error there (``tests/diff/test_stats.py``).
    """
    n = differences.size
    values, counts = np.unique(differences, return_counts=True)
    if values.size <= _MULTINOMIAL_MAX_VALUES:
        drawn = rng.multinomial(n, counts / n, size=resamples)
        return np.asarray(drawn @ values / n, dtype=np.float64)
    if n * resamples > _INDEX_DRAWS_MAX:
        # Large-sample limit of the bootstrap distribution of a mean (its CLT): Normal(mean, sd / sqrt(n)),
        # sd with ddof=0 as a resample's variance has. At these sizes it agrees with index resampling
        # within the Monte-Carlo error of either, at a cost independent of n.
        return rng.normal(float(differences.mean()), float(differences.std()) / math.sqrt(n), size=resamples)
    means = np.empty(resamples, dtype=np.float64)
    per_chunk = max(1, _CHUNK_DRAWS // n)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        indices = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = differences[indices].mean(axis=1)
    return means


def paired_bootstrap_ci(
    base: Sequence[float] | np.ndarray,
    head: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> DeltaEstimate:
    """Mean difference head − base with a percentile bootstrap interval over items.

    ``significant`` means the interval excludes 0 *and* enough items moved that an exact sign test
    could reach ``1 - confidence`` (at least 6 at 95%): a percentile bootstrap over 2–5 items, or over
    identical differences, has no spread to speak of and would call any change significant.
    Deterministic for a given ``seed`` (numpy ``default_rng(seed)``).
    """
    _check_pairs(base, head)
    n = len(base)
    if n == 0:
        return DeltaEstimate(0.0, 0.0, 0.0, 0.0, 0.0, False, 0)
    base_array = np.asarray(base, dtype=np.float64)
    head_array = np.asarray(head, dtype=np.float64)
    differences = head_array - base_array
    delta = float(differences.mean())
    mean_base, mean_head = float(base_array.mean()), float(head_array.mean())
    # Even if every moved item moved the same way, too few of them cannot reach the level.
    moved = int(np.count_nonzero(differences))
    enough = sign_test_p(moved, 0) < 1 - confidence
    if bool(np.all(differences == differences[0])):
        # No spread to resample: the interval is the point, and the sign test alone decides.
        return DeltaEstimate(mean_base, mean_head, delta, delta, delta, enough and delta != 0, n)
    means = bootstrap_means(differences, resamples, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    low, high = percentiles(means, (alpha * 100, (1 - alpha) * 100))
    return DeltaEstimate(mean_base, mean_head, delta, low, high, enough and (low > 0 or high < 0), n)


def mcnemar_exact(
    base_pass: Sequence[bool] | np.ndarray, head_pass: Sequence[bool] | np.ndarray, *, alpha: float = 0.05
) -> McNemarResult:
    """Exact (binomial) two-sided McNemar test on paired pass/fail outcomes."""
    _check_pairs(base_pass, head_pass)
    base_array = np.asarray(base_pass, dtype=bool)
    head_array = np.asarray(head_pass, dtype=bool)
    n = base_array.size
    b = int(np.count_nonzero(base_array & ~head_array))
    c = int(np.count_nonzero(~base_array & head_array))
    p_value = sign_test_p(c, b)
    return McNemarResult(
        b,
        c,
        p_value,
        p_value < alpha,
        float(base_array.mean()) if n else 0.0,
        float(head_array.mean()) if n else 0.0,
    )
