"""``promptship eval --publish``: record a run in Langfuse as experiment runs on its dataset.

Uses the SDK's experiment runner, so Langfuse links every result to its dataset item: one
experiment run per model alias (``SUITE · ALIAS · SHA``), whose task replays the recorded answer
and whose evaluator reports promptship's scores plus cost and latency. Nothing is re-evaluated.

Datasets belong to ``promptship sync`` (from the release branch): publishing never updates or
archives an item, because ``eval --publish`` may run on any branch and a feature branch must not
rewrite the golden datasets. Only a dataset Langfuse does not have yet is created, with this tree's
items (the next sync reconciles it). Results are linked to the items Langfuse holds (active ones);
results for items it does not hold are left out, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..files.repo import Repository
from ..files.schema.run import Run, SampleResult
from .sync import LangfuseStore, SyncError, apply_plan, desired_datasets, make_plan


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


def _dataset_items(store: LangfuseStore, repo: Repository, name: str, log: Callable[[str], None]) -> dict[str, Any]:
    """promptship id → active Langfuse item of dataset ``name``; the dataset is created only if missing."""
    if store.dataset_items(name) is None:
        plan = make_plan("working-tree", [], {}, {name: desired_datasets(repo)[name]}, {})
        apply_plan(store, plan, log)
    found: dict[str, Any] = {}
    for item in store.client.get_dataset(name).items:
        item_id = item.metadata.get("promptship_id") if isinstance(item.metadata, dict) else None
        if isinstance(item_id, str) and str(getattr(item.status, "value", item.status)) == "ACTIVE":
            found[item_id] = item
    return found


def publish_run(
    store: LangfuseStore, repo: Repository, run: Run, log: Callable[[str], None] = lambda line: None
) -> list[Published]:
    """Publish ``run`` (its first repeat per item) as one experiment run per model.

    Never changes an existing dataset (see the module docstring); :class:`SyncError` when no result
    could be linked to an item.
    """
    items_by_id = _dataset_items(store, repo, run.dataset, log)
    published = []
    for model in run.models:
        samples = {s.item_id: s for s in run.samples if s.model == model and s.repeat == 0}
        items = [items_by_id[item_id] for item_id in samples if item_id in items_by_id]
        missing = len(samples) - len(items)
        if missing:
            log(
                f"note: {missing} item(s) of {run.dataset} are not in Langfuse (datasets are published by "
                f"`promptship sync` from the release branch): their results for {model} are not published"
            )
        if not items:
            continue
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
        raise SyncError(
            "nothing to publish",
            code="E824",
            hint=f"no result matches an item of dataset {run.dataset} in Langfuse; run `promptship sync` first",
        )
    return published
