"""The data each page shows, assembled from the library API (no HTTP here; the app renders it)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ..diff.fingerprint import suite_models
from ..errors import Diagnostic, UsageError
from ..eval.gates import GateResult, absolute_gate_results
from ..files.schema import Message
from ..files.schema.run import SampleResult
from ..files.validate import check
from .branch import head_text
from .catalog import datasets_of, file_history, langfuse_labels, load_tree, prompt_entry, run_items, suites_of
from .comparison import Column, Comparison, as_text, columns_of, compare_columns, sample_passed
from .runstore import NotFound, StoredRun, get_run, list_runs, parse_run_ids

#: Charts are bars of at most this many pixels.
BAR_PX = 240
#: Rows a run or comparison page shows (the first, in item order); the run artifact holds them all.
PAGE_ROWS = 1000


def current_branch(root: Path) -> str | None:
    done = subprocess.run(
        ["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


def remotes(root: Path) -> list[str]:
    done = subprocess.run(["git", "remote"], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.split()


def prompts_page(root: Path) -> dict[str, Any]:
    result = load_tree(root)
    diagnostics = check(result)
    repo = result.repo
    rows = []
    for name, entry in sorted(repo.prompts.items()):
        problems = [d for d in diagnostics if d.path == entry.path and d.severity == "error"]
        rows.append(
            {
                "name": name,
                "description": entry.prompt.description or "",
                "owners": entry.prompt.owners,
                "tags": entry.prompt.tags,
                "model": entry.prompt.model,
                "suites": suites_of(repo, name),
                "errors": len(problems),
            }
        )
    errors = [d for d in diagnostics if d.severity == "error"]
    return {"prompts": rows, "errors": errors}


def prompt_page(root: Path, name: str) -> dict[str, Any]:
    result = load_tree(root)
    repo = result.repo
    entry = prompt_entry(repo, name)
    prompt = entry.prompt
    runs = [s for s in list_runs(root) if s.run.prompt == name]
    return {
        "name": name,
        "path": entry.path,
        "prompt": prompt,
        "params": prompt.params.model_dump(mode="json", exclude_none=True),
        "messages": [
            {"role": m.role, "content": m.content}
            if isinstance(m, Message)
            else {"role": "placeholder", "content": m.name}
            for m in prompt.messages or []
        ]
        or [{"role": "template", "content": prompt.template or ""}],
        "suites": suites_of(repo, name),
        "datasets": datasets_of(repo, name),
        "history": file_history(root, entry.path),
        "diagnostics": [d for d in check(result) if d.path == entry.path],
        "runs": runs[:10],
        **dict(zip(("labels", "labels_note"), langfuse_labels(repo, name, os.environ), strict=True)),
    }


def test_page(root: Path, name: str | None) -> dict[str, Any]:
    repo = load_tree(root).repo
    names = sorted(repo.prompts)
    chosen = name if name in repo.prompts else (names[0] if names else None)
    data: dict[str, Any] = {"prompts": names, "chosen": chosen, "aliases": [], "variables": {}, "items": []}
    if repo.policies.routing is not None:
        data["aliases"] = sorted(n for n, a in repo.policies.routing.aliases.items() if a.kind == "chat")
    if chosen is None:
        return data
    prompt = repo.prompts[chosen].prompt
    data["model"] = prompt.model
    data["variables"] = {k: v.model_dump(mode="json") for k, v in prompt.variables.items()}
    data["params"] = prompt.params.model_dump(mode="json", exclude_none=True)
    items = []
    for dataset in datasets_of(repo, chosen):
        for item in repo.datasets[dataset].items[:200]:
            items.append({"key": f"{dataset}:{item.id}", "input": _as_fields(item.input)})
    data["items"] = items
    return data


def _as_fields(values: dict[str, Any]) -> dict[str, str]:
    """Variable values as the text a form field holds (lists and objects as JSON)."""
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in values.items()}


def runs_page(root: Path) -> dict[str, Any]:
    repo = load_tree(root).repo
    suites = {
        name: {
            "prompt": entry.suite.prompt,
            "models": suite_models(repo, entry) if entry.suite.prompt in repo.prompts else list(entry.suite.models),
        }
        for name, entry in sorted(repo.suites.items())
    }
    return {"runs": list_runs(root), "suites": suites, "prompts": sorted(repo.prompts)}


class _FirstOf(Mapping[str, tuple[Any, Any]]):
    """Look an item up in each mapping in turn (each reads only the items looked up)."""

    def __init__(self, sources: Sequence[Mapping[str, tuple[Any, Any]]]) -> None:
        self._sources = sources

    def __getitem__(self, item_id: str) -> tuple[Any, Any]:
        for source in self._sources:
            if item_id in source:
                return source[item_id]
        raise KeyError(item_id)

    def __iter__(self) -> Iterator[str]:
        return iter({item_id: None for source in self._sources for item_id in source})

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class SampleRow:
    sample: SampleResult
    input: str
    expected: str
    passed: bool
    changed: bool | None  # None when there is no earlier run to compare with


def previous_run(root: Path, stored: StoredRun) -> StoredRun | None:
    """The newest other stored run of the same suite that finished before this one."""
    older = [
        s
        for s in list_runs(root)
        if s.run.suite == stored.run.suite and s.id != stored.id and s.run.finished_at <= stored.run.finished_at
    ]
    return older[0] if older else None


def run_page(root: Path, run_id: str) -> dict[str, Any]:
    stored = get_run(root, run_id)
    run = stored.run
    items = run_items(root, run)
    previous = previous_run(root, stored)
    shown = sorted(islice(run.samples, PAGE_ROWS), key=lambda s: (s.item_id, s.model, s.repeat))
    keys = {(s.item_id, s.model, s.repeat) for s in shown}
    before: dict[tuple[str, str, int], SampleResult] = {}
    if previous is not None:
        before = {key: s for s in previous.run.samples if (key := (s.item_id, s.model, s.repeat)) in keys}
    rows = []
    for sample in shown:
        given, expected = items.get(sample.item_id, (None, None))
        old = before.get((sample.item_id, sample.model, sample.repeat))
        changed = (
            None
            if previous is None
            else old is None or old.output != sample.output or sample_passed(old) != sample_passed(sample)
        )
        rows.append(SampleRow(sample, as_text(given), as_text(expected), sample_passed(sample), changed))
    repo = load_tree(root).repo
    gates: list[GateResult] = []
    if run.suite in repo.suites:
        gates = absolute_gate_results(run, repo.suites[run.suite].suite.gates)
    metrics = sorted({n for a in run.aggregates.values() for n in a.scores})
    return {
        "stored": stored,
        "run": run,
        "rows": rows,
        "rows_total": run.sample_count,
        "gates": gates,
        "metrics": metrics,
        "previous": previous,
    }


def bars(values: Sequence[float | None]) -> list[int]:
    """Pixel lengths of bars for ``values`` on a common scale (None and negatives draw nothing)."""
    top = max((v for v in values if v is not None), default=0.0)
    return [int(BAR_PX * v / top) if v and top > 0 and v > 0 else 0 for v in values]


def charts(comparison: Comparison) -> list[dict[str, Any]]:
    """One bar chart per metric: score means, pass rate, cost, latency, tokens per call."""
    columns = comparison.columns

    def tokens_per_call(column: Column) -> float:
        answered = tokens = 0
        for sample in column.run.samples:
            if sample.model == column.model and sample.error is None:
                answered += 1
                tokens += sample.prompt_tokens + sample.completion_tokens
        return tokens / answered if answered else 0.0

    series: list[tuple[str, str, list[float | None]]] = [
        (f"score: {m}", "{:.3f}", [c.aggregate.scores.get(m) for c in columns]) for m in comparison.metrics
    ]
    series += [
        ("pass rate", "{:.0%}", [c.aggregate.pass_rate for c in columns]),
        ("cost per call (USD)", "{:.6f}", [c.aggregate.cost_per_call_usd for c in columns]),
        ("latency p50 (ms)", "{:.0f}", [c.aggregate.latency_p50_ms for c in columns]),
        ("latency p95 (ms)", "{:.0f}", [c.aggregate.latency_p95_ms for c in columns]),
        ("tokens per call", "{:.1f}", [tokens_per_call(c) for c in columns]),
    ]
    return [
        {
            "title": title,
            "bars": [
                {"label": f"#{i + 1}", "px": px, "text": fmt.format(v) if v is not None else "–"}
                for i, (v, px) in enumerate(zip(values, bars(values), strict=True))
            ],
        }
        for title, fmt, values in series
    ]


def compare_page(root: Path, runs_param: str, models_param: str = "") -> dict[str, Any]:
    ids = parse_run_ids(runs_param)
    if not ids:
        raise UsageError("no runs to compare", hint="pick two or more runs on the runs page")
    stored = [get_run(root, i) for i in ids]
    models = [m.strip() for m in models_param.split(",") if m.strip()]
    columns = columns_of([(s.id, s.run) for s in stored], models)
    if len(columns) < 2:
        raise UsageError(
            "a comparison needs two or more columns (a column is one model of one run)",
            hint="pick another run, or a run that evaluated several models",
        )
    sources = [run_items(root, s.run) for s in stored]
    items = _FirstOf(sources)  # the first run's dataset wins, as the page lists it first
    comparison = compare_columns(columns, items, max_rows=PAGE_ROWS)
    return {"comparison": comparison, "charts": charts(comparison), "ids": ids, "models": models}


def edit_page(root: Path, name: str) -> dict[str, Any]:

    repo = load_tree(root).repo
    entry = prompt_entry(repo, name)
    text = head_text(root, entry.path)
    if text is None:
        raise UsageError(f"{entry.path} is not committed yet", hint="Labs edits start from HEAD; commit the file first")
    on_disk = (root / entry.path).read_text(encoding="utf-8") if (root / entry.path).is_file() else None
    slug = name.replace("/", "-")
    return {
        "name": name,
        "path": entry.path,
        "text": text,
        "dirty": on_disk is not None and on_disk != text,
        "branch": current_branch(root),
        "suggested": f"labs/{slug}",
        "remotes": remotes(root),
    }


def diagnostics_json(diagnostics: Sequence[Diagnostic]) -> list[dict[str, object]]:
    return [{**d.to_dict(), "text": d.format()} for d in diagnostics]


def dataset_page(root: Path, name: str) -> dict[str, Any]:

    repo = load_tree(root).repo
    dataset = repo.datasets.get(name)
    if dataset is None:
        raise NotFound(f"no dataset {name!r}", hint="datasets are listed on each prompt's page")
    items_path = dataset.items_path or ""
    if not items_path.endswith(".jsonl") or head_text(root, items_path) is None:
        raise UsageError(
            f"dataset {name!r} cannot take uploaded rows here: its items are not a committed .jsonl file",
            hint="Labs appends rows to NAME.jsonl datasets; convert a CSV dataset or edit it in git",
        )
    prompt = repo.prompts.get(dataset.meta.prompt)
    return {
        "name": name,
        "path": items_path,
        "meta": dataset.meta,
        "count": len(dataset.items),
        "variables": list(prompt.prompt.variables) if prompt else [],
        "suggested": f"labs/{name.replace('/', '-')}-rows",
        "remotes": remotes(root),
    }
