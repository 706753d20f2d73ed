"""compare_model on literal runs: what a reviewer reads must match what the run artifacts hold."""

from __future__ import annotations

import pytest

from promptship.diff.compare import compare_model
from promptship.eval.runs import make_selection
from promptship.eval.summary import aggregate
from promptship.files.schema.run import Fingerprint, Run, SampleResult, ScoreResult

FINGERPRINT = Fingerprint(suite="s", prompt="p", dataset="d", evaluators="e", scorers="c", deployments="m", pricing="q")


def run(scores: list[float | None]) -> Run:
    """One sample per item; ``None`` is a scorer that raised on that item."""
    samples = [
        SampleResult(
            item_id=f"i{n:02d}",
            model="fast",
            repeat=0,
            output="answer",
            scores={
                "custom": ScoreResult(error="Traceback ...")
                if value is None
                else ScoreResult(value=value, passed=value >= 0.5)
            },
        )
        for n, value in enumerate(scores)
    ]
    return Run(
        suite="s",
        prompt="p",
        dataset="d",
        models=["fast"],
        repeats=1,
        fingerprint=FINGERPRINT,
        selection=make_selection(ids := [s.item_id for s in samples], ["fast"], 1, all_items=ids, all_models=["fast"]),
        started_at="t",
        finished_at="t",
        complete=True,
        aggregates=aggregate(samples, ["fast"]),
    ).with_samples(samples)


def test_a_scorer_that_raises_on_head_shows_as_a_drop() -> None:
    base = run([1.0] * 30)
    head = run([None if n % 10 == 3 else 1.0 for n in range(30)])
    custom = next(m for m in compare_model(base, head, "fast", calls_per_day=None).metrics if m.metric == "custom")
    assert (custom.base, custom.head) == (1.0, 0.9), "the 3 crashed items count as 0, as in the run's aggregates"
    assert head.aggregates["fast"].scores["custom"] == custom.head


def test_latency_of_runs_made_differently_is_never_attributed_to_the_prompt() -> None:
    from promptship.eval.gates import absolute_gate_results
    from promptship.files.schema import Gates
    from promptship.files.schema.run import RunEnvironment

    base = run([1.0] * 10).model_copy(update={"environment": RunEnvironment(concurrency=8, machine="m")})
    same = run([1.0] * 10).model_copy(update={"environment": RunEnvironment(concurrency=8, machine="m")})
    assert compare_model(base, same, "fast", calls_per_day=None).latency_not_comparable is None
    local = same.model_copy(update={"environment": RunEnvironment(concurrency=2, machine="m", local_model=True)})
    reason = compare_model(base, local, "fast", calls_per_day=None).latency_not_comparable
    assert reason and "embedded local model" in reason and "concurrency (8 vs 2)" in reason
    [latency] = [g for g in absolute_gate_results(local, Gates(max_latency_p95_ms=1)) if "latency" in g.gate]
    assert latency.skipped and latency.passed and "local model" in latency.message


def test_only_the_first_changed_items_are_listed_but_all_are_counted() -> None:
    from promptship.diff.compare import ITEM_CHANGE_LIMIT

    n = ITEM_CHANGE_LIMIT + 150
    base = run([1.0] * n)
    head = run([0.0 if i % 2 else 1.0 for i in range(n - 40)] + [1.0] * 40)
    comparison = compare_model(base, head, "fast", calls_per_day=None)
    failing = sum(1 for i in range(n - 40) if i % 2)
    assert (comparison.newly_failing, comparison.newly_passing) == (failing, 0)
    assert len(comparison.item_changes) == min(failing, ITEM_CHANGE_LIMIT)
    listed = [c.item_id for c in comparison.item_changes]
    assert listed == sorted(listed) and all(c.change == "newly_failing" for c in comparison.item_changes)


def test_streamed_pairing_matches_a_direct_computation_on_mixed_runs() -> None:
    """Two models, three repeats, failed calls, items on one side only, an evaluator scored on some
    items only, samples given in no particular order: every paired mean and count equals the one
    computed directly from per-item lists."""
    import random

    from promptship.files.schema.run import SampleError

    rng = random.Random(4)

    def side(ids: list[str]) -> Run:
        samples = []
        for item_id in ids:
            for model in ("fast", "slow"):
                for repeat in range(3):
                    failed = rng.random() < 0.1
                    scores = {"a": ScoreResult(value=(v := rng.choice([0.0, 0.5, 1.0])), passed=v >= 0.5)}
                    if rng.random() < 0.6:
                        scores["b"] = ScoreResult(value=(w := rng.random()), passed=w > 0.3)
                    samples.append(
                        SampleResult(
                            item_id=item_id,
                            model=model,
                            repeat=repeat,
                            output=None if failed else "x",
                            scores={} if failed else scores,
                            error=SampleError(kind="model", message="boom") if failed else None,
                        )
                    )
        rng.shuffle(samples)
        base = run([1.0])
        return base.model_copy(
            update={"models": ["fast", "slow"], "aggregates": aggregate(samples, ["fast", "slow"])}
        ).with_samples(samples)

    ids = [f"i{n:03d}" for n in range(120)]
    base, head = side(ids[:110]), side(ids[10:])
    comparison = compare_model(base, head, "slow", calls_per_day=None, resamples=200)

    def per_item(r: Run) -> dict[str, list[SampleResult]]:
        grouped: dict[str, list[SampleResult]] = {}
        for s in r.samples:
            if s.model == "slow":
                grouped.setdefault(s.item_id, []).append(s)
        return grouped

    def mean(samples: list[SampleResult], metric: str) -> float | None:
        values = [s.scores[metric].value or 0.0 for s in samples if s.error is None and metric in s.scores]
        return sum(values) / len(values) if values else None

    def passed(samples: list[SampleResult]) -> bool:
        ok = sum(1 for s in samples if s.error is None and s.scores and all(r.passed for r in s.scores.values()))
        return ok * 2 > len(samples)

    b_items, h_items = per_item(base), per_item(head)
    common = sorted(set(b_items) & set(h_items))
    by_name = {m.metric: m for m in comparison.metrics}
    for metric in ("a", "b"):
        pairs = [
            (x, y)
            for i in common
            if (x := mean(b_items[i], metric)) is not None and (y := mean(h_items[i], metric)) is not None
        ]
        got = by_name[metric]
        assert got.n == len(pairs) and got.items == 120
        assert got.base == pytest.approx(sum(x for x, _ in pairs) / len(pairs))
        assert got.head == pytest.approx(sum(y for _, y in pairs) / len(pairs))
    flips = [(passed(b_items[i]), passed(h_items[i])) for i in common]
    assert comparison.newly_failing == sum(1 for was, now in flips if was and not now)
    assert comparison.newly_passing == sum(1 for was, now in flips if now and not was)
    assert by_name["pass_rate"].n == len(common)
    listed = [c.item_id for c in comparison.item_changes if c.change == "newly_failing"]
    assert listed == sorted(i for i, (was, now) in zip(common, flips, strict=True) if was and not now)
