"""Prompt versions compared on live traffic: arms from usage rows, base = the default label's version."""

from __future__ import annotations

import random

import pytest

from promptship.diff.versions import compare_versions
from promptship.ops.usage import UsageRow


def row(version: int | None, label: str | None, *, ok: bool = True, latency: float = 100.0, cost: float = 0.001,
        outcome: str | None = None, prompt: str = "support/reply") -> UsageRow:  # fmt: skip
    return UsageRow(
        ts=1_700_000_000.0,
        source="gateway",
        project="support",
        key_id=None,
        alias="fast",
        deployment="d1",
        prompt=prompt,
        prompt_version=version,
        prompt_label=label,
        input_tokens=10,
        output_tokens=5,
        cost_usd=cost,
        latency_ms=latency,
        attempts=1,
        outcome=outcome or ("ok" if ok else "timeout"),
        request_hash=None,
    )


def traffic(seed: int = 1) -> list[UsageRow]:
    """v3 (production) 800 calls, 2% errors, ~100 ms; v4 (candidate) 200 calls, 9% errors, ~140 ms."""
    rng = random.Random(seed)
    rows = [row(3, "production", ok=rng.random() > 0.02, latency=rng.gauss(100, 15)) for _ in range(800)]
    rows += [row(4, "candidate", ok=rng.random() > 0.09, latency=rng.gauss(140, 15), cost=0.0012) for _ in range(200)]
    rows += [row(3, "production", outcome="budget") for _ in range(50)]  # never reached the model: left out
    rows.append(row(None, None, prompt="other"))
    return rows


def test_a_worse_candidate_is_called_worse_with_n_intervals_and_tests() -> None:
    (other, reply) = compare_versions(traffic(), splits={"support/reply": {"production": 80, "candidate": 20}})
    assert other.prompt == "other" and other.comparisons == () and other.base_version is None
    assert reply.base_version == 3 and reply.split == {"production": 80, "candidate": 20}
    assert [(a.version, a.labels, a.calls) for a in reply.arms] == [(4, ("candidate",), 200), (3, ("production",), 800)]
    candidate = reply.arms[0]
    assert candidate.error_ci[0] < candidate.error_rate < candidate.error_ci[1]
    (comparison,) = reply.comparisons
    metrics = {m.metric: m for m in comparison.metrics}
    errors = metrics["error rate"]
    assert (errors.n_base, errors.n_head, errors.test) == (800, 200, "Fisher exact")
    assert errors.verdict == "worse" and errors.ci_low > 0 and errors.p_value is not None and errors.p_value < 0.05
    latency = metrics["latency p50 (ms)"]
    assert latency.verdict == "worse" and latency.test == "Mann–Whitney U" and 30 < latency.delta < 50
    assert latency.n_base == sum(1 for r in traffic() if r.prompt_version == 3 and r.outcome == "ok")
    cost = metrics["cost per call (USD)"]
    assert cost.delta == pytest.approx(0.0002) and cost.verdict == "worse"


def test_no_difference_and_too_few_calls_get_no_verdict() -> None:
    rng = random.Random(4)
    same = [row(1, "production", latency=rng.gauss(100, 10)) for _ in range(300)]
    same += [row(2, "candidate", latency=rng.gauss(100, 10)) for _ in range(300)]
    (result,) = compare_versions(same)
    verdicts = {m.metric: m.verdict for m in result.comparisons[0].metrics}
    assert verdicts["latency p50 (ms)"] == "no significant difference"
    few = [row(1, "production") for _ in range(300)] + [row(2, "candidate", ok=False) for _ in range(12)]
    (result,) = compare_versions(few)
    assert {m.verdict for m in result.comparisons[0].metrics} == {"not enough data"}


def test_scores_are_compared_per_version_and_the_base_follows_the_default_label() -> None:
    rows = [row(5, "candidate") for _ in range(400)] + [row(6, "production") for _ in range(100)]
    scores = {
        ("support/reply", 5): {"helpful": [1.0] * 30 + [0.0] * 30},
        ("support/reply", 6): {"helpful": [1.0] * 50 + [0.0] * 10},
    }
    (result,) = compare_versions(rows, scores=scores)
    assert result.base_version == 6, "production's version is the base, even with fewer calls"
    score = next(m for m in result.comparisons[0].metrics if m.metric == "score helpful")
    assert (score.n_base, score.n_head, score.base, score.head) == (60, 60, pytest.approx(50 / 60), 0.5)
    assert score.verdict == "worse" and not score.lower_is_better
    assert {a.version: a.scores["helpful"].n for a in result.arms} == {5: 60, 6: 60}


def test_a_measurement_that_is_not_a_number_is_left_out_not_compared() -> None:
    """A NaN latency (a row from a store that kept one) made every interval NaN and the verdict "better"."""
    rows = [row(3, "production", latency=100.0 + i % 7) for i in range(60)]
    rows += [row(4, "candidate", latency=100.0 + i % 7) for i in range(59)] + [row(4, "candidate", latency=float("nan"))]
    (prompt,) = compare_versions(rows)
    latency = next(m for m in prompt.comparisons[0].metrics if m.metric.startswith("latency"))
    assert (latency.n_head, latency.verdict) == (59, "no significant difference")
    assert latency.ci_low <= 0 <= latency.ci_high
