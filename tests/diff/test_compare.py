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
        samples=samples,
        aggregates=aggregate(samples, ["fast"]),
    )


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
