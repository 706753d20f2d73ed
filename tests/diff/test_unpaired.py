"""Unpaired two-sample statistics, checked against published values and against the definitions
written out independently here (no scipy)."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from promptship.diff.unpaired import (
    MIN_ARM,
    bootstrap_difference,
    fisher_exact,
    mann_whitney,
    newcombe_interval,
    verdict,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_newcombe_table(successes: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("base", "head", "low", "high"),
    # Newcombe (1998), "Interval estimation for the difference between independent proportions",
    # Table II, method 10: 56/70 − 48/80 and 0/10 − 0/20 (head − base here)
    [((48, 80), (56, 70), 0.0524, 0.3339), ((0, 20), (0, 10), -0.1611, 0.2775)],
)
def test_newcombe_difference_matches_the_paper(
    base: tuple[int, int], head: tuple[int, int], low: float, high: float
) -> None:
    assert newcombe_interval(*base, *head) == pytest.approx((low, high), abs=5e-5)


def hypergeometric_p(a: int, b: int, c: int, d: int) -> float:
    """Fisher's two-sided p written out from its definition over every table with the same margins."""
    row1, col1, total = a + b, a + c, a + b + c + d

    def probability(x: int) -> float:
        return math.comb(row1, x) * math.comb(total - row1, col1 - x) / math.comb(total, col1)

    observed = probability(a)
    tables = range(max(0, col1 - (total - row1)), min(row1, col1) + 1)
    return sum(p for x in tables if (p := probability(x)) <= observed * (1 + 1e-9))


def test_fisher_exact_matches_the_tea_tasting_and_the_definition() -> None:
    # Fisher's lady tasting tea: 3 of 4 cups right, two-sided p = 34/70
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)
    for x1, n1, x2, n2 in [(2, 30, 9, 31), (0, 50, 5, 40), (12, 100, 12, 100), (1, 7, 6, 9)]:
        assert fisher_exact(x1, n1, x2, n2) == pytest.approx(hypergeometric_p(x1, n1 - x1, x2, n2 - x2))
    assert fisher_exact(0, 0, 0, 0) == 1.0


def u_by_counting(base: list[float], head: list[float]) -> float:
    return sum(1.0 if h > b else 0.5 if h == b else 0.0 for b, h in itertools.product(base, head))


def test_mann_whitney_matches_a_worked_example_and_the_definition() -> None:
    # R: wilcox.test(c(4, 5, 6), c(1, 2, 3), exact = FALSE) → W = 9, p-value = 0.08086
    result = mann_whitney([1, 2, 3], [4, 5, 6])
    assert (result.u, result.effect) == (9.0, 1.0)
    assert result.p_value == pytest.approx(0.08086, abs=5e-6)
    rng = random.Random(5)
    base = [rng.choice([1, 2, 3, 4, 5]) for _ in range(40)]  # many ties, as scores have
    head = [rng.choice([2, 3, 4, 5, 5]) for _ in range(35)]
    result = mann_whitney(base, head)
    assert result.u == u_by_counting(base, head)
    # tie-corrected normal approximation, written out
    pooled = sorted(base + head)
    ties = sum(pooled.count(v) ** 3 - pooled.count(v) for v in set(pooled))
    n1, n2, n = len(base), len(head), len(base) + len(head)
    sd = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (abs(result.u - n1 * n2 / 2) - 0.5) / sd
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert mann_whitney([2, 2], [2, 2, 2]).p_value == 1.0


def test_bootstrap_difference_is_deterministic_and_covers_the_truth() -> None:
    rng = random.Random(2)
    covered = 0
    for trial in range(60):
        base = [rng.expovariate(1 / 100) for _ in range(80)]
        head = [rng.expovariate(1 / 120) for _ in range(60)]
        estimate = bootstrap_difference(base, head, resamples=500, seed=trial)
        covered += estimate.ci_low <= 20 <= estimate.ci_high
    assert covered >= 51, f"a 95% interval covered the true difference only {covered}/60 times"
    base, head = [1.0, 5.0, 2.0, 8.0], [3.0, 4.0, 9.0]
    first = bootstrap_difference(base, head, statistic="median", seed=3)
    assert first == bootstrap_difference(base, head, statistic="median", seed=3)
    assert (first.base, first.head, first.delta) == (3.5, 4.0, 0.5)


def test_a_verdict_needs_enough_calls_an_interval_off_zero_and_a_small_p() -> None:
    assert verdict(MIN_ARM - 1, 500, 0.1, 0.2, 0.001, lower_is_better=True) == "not enough data"
    assert verdict(100, 100, 0.1, 0.2, 0.001, lower_is_better=True) == "worse"
    assert verdict(100, 100, 0.1, 0.2, 0.001, lower_is_better=False) == "better"
    assert verdict(100, 100, -0.2, -0.1, 0.001, lower_is_better=True) == "better"
    assert verdict(100, 100, -0.1, 0.2, 0.001, lower_is_better=True) == "no significant difference"
    assert verdict(100, 100, 0.1, 0.2, 0.2, lower_is_better=True) == "no significant difference"
    nan = float("nan")  # compares false both ways: it used to fall through to "better"
    assert verdict(100, 100, nan, nan, nan, lower_is_better=True) == "no significant difference"
    assert verdict(100, 100, 0.1, 0.2, nan, lower_is_better=False) == "no significant difference"
