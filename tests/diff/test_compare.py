"""compare_model on literal runs: what a reviewer reads must match what the run artifacts hold."""

from __future__ import annotations

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
