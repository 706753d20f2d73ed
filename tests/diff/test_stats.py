"""Paired statistics, checked against values computed independently of the implementation."""

from __future__ import annotations

import math
import random

import pytest

from promptship.diff.stats import mcnemar_exact, mean_by_item, paired_bootstrap_ci, percentile


def binomial_two_sided(b: int, c: int) -> float:
    """Exact McNemar p-value written out from its definition (independent of promptship.diff.stats)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(0, min(b, c) + 1)) * 0.5**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(
    ("b", "c", "expected"), [(0, 10, 0.001953125), (1, 9, 0.021484375), (5, 5, 1.0), (3, 12, 0.03515625), (0, 0, 1.0)]
)
def test_mcnemar_matches_known_p_values(b: int, c: int, expected: float) -> None:
    base = [True] * b + [False] * c + [True] * 7
    head = [False] * b + [True] * c + [True] * 7
    result = mcnemar_exact(base, head)
    assert (result.b, result.c) == (b, c)
    assert result.p_value == pytest.approx(expected) == pytest.approx(binomial_two_sided(b, c))
    assert result.significant == (expected < 0.05)


def test_bootstrap_detects_a_clear_effect_and_not_noise() -> None:
    rng = random.Random(3)
    base = [rng.random() for _ in range(200)]
    better = [min(1.0, x + 0.2 + rng.gauss(0, 0.05)) for x in base]
    noise = [x + rng.gauss(0, 0.05) for x in base]
    clear = paired_bootstrap_ci(base, better, resamples=2000)
    assert (
        clear.significant and clear.ci_low > 0.1 and clear.delta == pytest.approx(sum(better) / 200 - sum(base) / 200)
    )
    assert not paired_bootstrap_ci(base, noise, resamples=2000).significant


def test_bootstrap_interval_covers_the_true_delta_in_simulation() -> None:
    rng = random.Random(11)
    covered = 0
    for trial in range(100):
        base = [rng.random() for _ in range(60)]
        head = [x + 0.05 + rng.gauss(0, 0.2) for x in base]
        estimate = paired_bootstrap_ci(base, head, resamples=1000, seed=trial)
        covered += estimate.ci_low <= 0.05 <= estimate.ci_high
    assert covered >= 88, f"a 95% interval covered the truth only {covered}/100 times"


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    base, head = [0.1, 0.5, 0.9, 0.3], [0.2, 0.4, 1.0, 0.8]
    assert paired_bootstrap_ci(base, head, seed=5) == paired_bootstrap_ci(base, head, seed=5)


def test_edge_cases() -> None:
    assert paired_bootstrap_ci([], []).n == 0
    single = paired_bootstrap_ci([0.2], [0.7])
    assert single.delta == pytest.approx(0.5) and not single.significant
    constant = paired_bootstrap_ci([0.0] * 10, [1.0] * 10)
    assert constant.ci_low == constant.ci_high == 1.0 and constant.significant
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap_ci([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar_exact([True], [])


def test_percentile_matches_numpy_linear_interpolation() -> None:
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 50) == 35
    assert percentile(values, 95) == pytest.approx(48.0)  # numpy.percentile(values, 95)
    assert percentile(values, 0) == 15 and percentile(values, 100) == 50
    assert percentile([], 50) == 0.0


def test_mean_by_item_averages_repeats() -> None:
    assert mean_by_item({"a": [1.0, 0.0], "b": [1.0], "c": []}) == {"a": 0.5, "b": 1.0}


def test_few_pass_fail_flips_are_not_significant_for_a_binary_metric() -> None:
    """4 of 20 items pass → fail: exact McNemar p = 2·0.5^4 = 0.125, so no gate may call it significant."""
    from promptship.diff.compare import paired_delta

    base = [1.0] * 20
    head = [0.0] * 4 + [1.0] * 16
    delta = paired_delta("contains", base, head)
    assert delta.test == "mcnemar" and delta.p_value == pytest.approx(binomial_two_sided(4, 0))
    assert delta.delta == pytest.approx(-0.2) and not delta.significant
    many = paired_delta("contains", base, [0.0] * 10 + [1.0] * 10)
    assert many.significant and many.p_value == pytest.approx(binomial_two_sided(10, 0))


def test_non_binary_metric_keeps_the_bootstrap_interval() -> None:
    from promptship.diff.compare import paired_delta

    rng = random.Random(5)
    base = [rng.random() for _ in range(50)]
    head = [min(1.0, x + 0.3) for x in base]
    delta = paired_delta("similarity", base, head, resamples=1000)
    assert delta.test == "bootstrap" and delta.p_value is None
    assert delta.ci_low is not None and delta.ci_low > 0 and delta.significant


@pytest.mark.parametrize("n", [2, 3, 5])
def test_tiny_samples_are_never_significant(n: int) -> None:
    """Identical (or near-identical) differences on n ≤ 5 items: an exact sign test cannot reach p < 0.05."""
    identical = paired_bootstrap_ci([0.0] * n, [1.0] * n)
    assert identical.delta == 1.0 and not identical.significant
    near = paired_bootstrap_ci([0.2 + 0.1 * i for i in range(n)], [0.7 + 0.1 * i for i in range(n)])
    assert near.delta == pytest.approx(0.5) and not near.significant
    assert binomial_two_sided(n, 0) >= 0.05


def test_six_identical_moves_are_significant_like_the_sign_test() -> None:
    assert binomial_two_sided(6, 0) < 0.05
    assert paired_bootstrap_ci([0.0] * 6, [0.5] * 6).significant


def reference_bootstrap(base: list[float], head: list[float], resamples: int, seed: int) -> tuple[float, float]:
    """The pure-Python percentile bootstrap promptship used before numpy (random.choices per resample)."""
    rng = random.Random(seed)
    differences = [h - b for b, h in zip(base, head, strict=True)]
    n = len(differences)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(resamples))

    def at(q: float) -> float:
        position = (len(means) - 1) * q
        lower = math.floor(position)
        upper = min(lower + 1, len(means) - 1)
        return means[lower] + (means[upper] - means[lower]) * (position - lower)

    return at(0.025), at(0.975)


@pytest.mark.parametrize("grid", [False, True])
def test_numpy_bootstrap_agrees_with_the_pure_python_one_within_monte_carlo_error(grid: bool) -> None:
    """Continuous scores (index resampling) and scores on a grid (multinomial counts) both give the
    interval the old implementation gave, within Monte-Carlo error (a few thousandths here)."""
    rng = random.Random(21)
    base = [rng.random() for _ in range(400)]
    head = [min(1.0, max(0.0, x + 0.04 + rng.gauss(0, 0.25))) for x in base]
    if grid:
        base, head = [round(x * 4) / 4 for x in base], [round(x * 4) / 4 for x in head]
    old_low, old_high = reference_bootstrap(base, head, resamples=4000, seed=1)
    new = paired_bootstrap_ci(base, head, resamples=4000, seed=1)
    width = old_high - old_low
    assert new.ci_low == pytest.approx(old_low, abs=0.05 * width)
    assert new.ci_high == pytest.approx(old_high, abs=0.05 * width)
    assert new.delta == pytest.approx(sum(head) / 400 - sum(base) / 400)


def test_the_seed_makes_the_numpy_bootstrap_deterministic() -> None:
    rng = random.Random(8)
    base = [rng.random() for _ in range(300)]
    head = [x + rng.gauss(0.02, 0.2) for x in base]
    first, again = paired_bootstrap_ci(base, head, seed=3), paired_bootstrap_ci(base, head, seed=3)
    other = paired_bootstrap_ci(base, head, seed=4)
    assert first == again and (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_sign_test_in_log_space_matches_exact_integer_arithmetic() -> None:
    """Above 2,000 moved pairs the p-value is summed in log space: it agrees with the exact sum."""
    from promptship.diff.stats import sign_test_p

    for up, down in [(1040, 1000), (1100, 1000), (980, 1100), (1300, 900)]:
        moved = up + down
        exact = min(1.0, 2 * (sum(math.comb(moved, k) for k in range(min(up, down) + 1)) / 2**moved))
        assert sign_test_p(up, down) == pytest.approx(exact, rel=1e-9, abs=1e-300)


def test_the_large_sample_path_agrees_with_index_resampling() -> None:
    """Past 100 million draws the bootstrap means come from their normal limit: same interval as
    drawing indices (here forced on 30,000 items × 4,000 resamples), within Monte-Carlo error."""
    import numpy as np

    from promptship.diff.stats import _INDEX_DRAWS_MAX, bootstrap_means

    rng = random.Random(2)
    differences = np.array([rng.gauss(0.01, 0.3) ** 3 for _ in range(30_000)])  # skewed, continuous
    limit = bootstrap_means(differences, 4000, np.random.default_rng(1))
    assert _INDEX_DRAWS_MAX < 30_000 * 4000, "this size takes the large-sample path"
    indices = np.random.default_rng(1).integers(0, differences.size, size=(400, differences.size))
    drawn = differences[indices].mean(axis=1)
    spread = drawn.std()
    assert abs(limit.std() - spread) < 0.1 * spread
    assert abs(np.percentile(limit, 2.5) - np.percentile(drawn, 2.5)) < 0.3 * spread
    assert abs(np.percentile(limit, 97.5) - np.percentile(drawn, 97.5)) < 0.3 * spread
