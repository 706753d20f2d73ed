"""``promptship eval --publish``: record a run in Langfuse as experiment runs on its dataset.

Uses the SDK's experiment runner, so Langfuse links every result to its dataset item: one
experiment run per model alias (``SUITE · ALIAS · SHA``), whose task replays the recorded answer
and whose evaluator reports promptship's scores plus cost and latency. Nothing is re-evaluated.
The dataset is synced first (idempotent), so its items exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .langfuse_sync import LangfuseStore, SyncError, apply_plan, desired_datasets, make_plan
from .repo import Repository
from .schema.run import Run, SampleResult


@dataclass(frozen=True)
class Published:
    run_name: str
    items: int


def _scores(sample: SampleResult) -> dict[str, float]:
    values = {name: float(s.value) for name, s in sample.scores.items() if s.value is not None}
    values["cost_usd"] = sample.cost_usd
    values["latency_ms"] = sample.latency_ms
    return values


def _replay(samples: dict[str, SampleResult]) -> tuple[Callable[..., str], Callable[..., list[Any]]]:
    """The experiment's task (the recorded answer) and evaluator (the recorded scores)."""
    from langfuse import Evaluation

    def sample_of(metadata: Any) -> SampleResult:
        return samples[(metadata or {})["promptship_id"]]

    def task(*, item: Any, **_: Any) -> str:
        sample = sample_of(item.metadata)
        if sample.output is None:
            raise RuntimeError(f"{sample.error.kind}: {sample.error.message}" if sample.error else "no output")
        return sample.output

    def evaluate(*, metadata: Any = None, **_: Any) -> list[Any]:
        return [Evaluation(name=name, value=value) for name, value in _scores(sample_of(metadata)).items()]

    return task, evaluate


def publish_run(
    store: LangfuseStore, repo: Repository, run: Run, log: Callable[[str], None] = lambda line: None
) -> list[Published]:
    """Publish ``run`` (its first repeat per item) as one experiment run per model."""
    wanted = {run.dataset: desired_datasets(repo)[run.dataset]}
    existing = store.dataset_items(run.dataset)
    plan = make_plan(run.git_sha or "working-tree", [], {}, wanted, {run.dataset: existing} if existing else {})
    apply_plan(store, plan, log)
    dataset = store.client.get_dataset(run.dataset)
    published = []
    for model in run.models:
        samples = {s.item_id: s for s in run.samples if s.model == model and s.repeat == 0}
        items = [i for i in dataset.items if (i.metadata or {}).get("promptship_id") in samples]

        task, evaluate = _replay(samples)
        run_name = f"{run.suite} · {model} · {(run.git_sha or 'working-tree')[:7]}"
        result = store.client.run_experiment(
            name=run.suite,
            run_name=run_name,
            data=items,
            task=task,
            evaluators=[evaluate],
            metadata={"suite_fingerprint": run.fingerprint.suite[:16], "model": model, "profile": run.profile or ""},
        )
        published.append(Published(run_name, len(result.item_results)))
        log(f"published {run_name}: {len(result.item_results)} item(s)")
    store.client.flush()
    if not published:
        raise SyncError("nothing to publish", code="E824")
    return published
