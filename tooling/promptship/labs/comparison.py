"""Two or more stored runs side by side (pure): the same paired statistics as ``diff``, per item.

A *column* is one model of one run, so different prompts, models or commits can be compared: the
first column is the baseline and every other column is compared with it by
:func:`promptship.diff.compare.compare_model` (items paired by id, McNemar for 0/1 metrics, paired
bootstrap otherwise). Rows hold each column's first-repeat output, with the word difference from the
baseline's output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..diff.compare import ModelComparison, compare_model
from ..files.schema.run import Aggregate, Run, SampleResult
from .textdiff import Segment, word_diff

#: The model name both sides are given before pairing (compare_model pairs one model of two runs).
_PAIRED = "column"


@dataclass(frozen=True)
class Column:
    run_id: str
    run: Run
    model: str

    @property
    def label(self) -> str:
        sha = (self.run.git_sha or "working tree")[:12]
        return f"{self.run.suite} · {self.model} · {sha}"

    @property
    def aggregate(self) -> Aggregate:
        return self.run.aggregates[self.model]


@dataclass(frozen=True)
class Cell:
    output: str | None
    error: str | None
    passed: bool
    scores: dict[str, float | None]
    latency_ms: float
    cost_usd: float
    tokens: int
    diff: list[Segment] | None = None  # word difference from the baseline cell (None for the baseline)


@dataclass
class Row:
    item_id: str
    input: str
    expected: str
    cells: list[Cell | None]

    @property
    def failed(self) -> bool:
        return any(c is not None and not c.passed for c in self.cells)

    @property
    def changed(self) -> bool:
        """Some column's output or verdict differs from the baseline's."""
        base = self.cells[0]
        return any(
            c is None or base is None or c.output != base.output or c.passed != base.passed for c in self.cells[1:]
        )


@dataclass
class Comparison:
    columns: list[Column]
    versus_baseline: list[ModelComparison | None]  # one per column; None for the baseline
    rows: list[Row] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    #: Items of the largest column (``rows`` may show only the first of them).
    items_total: int = 0


def columns_of(runs: Sequence[tuple[str, Run]], models: Sequence[str] = ()) -> list[Column]:
    """One column per (run, model), in the given order; ``models`` keeps only those aliases."""
    return [
        Column(run_id, run, model)
        for run_id, run in runs
        for model in run.models
        if model in run.aggregates and (not models or model in models)  # an interrupted run may lack a model
    ]


def _as_paired(run: Run, model: str) -> Run:
    """``run`` with only ``model``'s samples, renamed to the shared column name."""

    def renamed(sample: SampleResult) -> SampleResult:
        # Other models' samples get a name no alias can have, so only ``model``'s are paired.
        return sample.model_copy(update={"model": _PAIRED if sample.model == model else f" {sample.model}"})

    paired = run.with_samples(run.samples.mapped(renamed))
    return paired.model_copy(update={"models": [_PAIRED], "aggregates": {_PAIRED: run.aggregates[model]}})


def _first_samples(run: Run, model: str, limit: int | None = None) -> dict[str, SampleResult]:
    """Each item's lowest repeat of ``model`` (one streamed pass), for the first ``limit`` items in
    id order (samples come in item-id order, so the pass stops there)."""
    found: dict[str, SampleResult] = {}
    for sample in run.samples:
        if limit is not None and len(found) >= limit and sample.item_id not in found:
            break
        if sample.model == model:
            held = found.get(sample.item_id)
            if held is None or sample.repeat < held.repeat:
                found[sample.item_id] = sample
    return found


def as_text(value: Any) -> str:
    """A value as one line of text for a table cell (strings as they are, the rest as JSON)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def sample_passed(sample: SampleResult) -> bool:
    """Answered and passed every evaluator (the run's own definition of a passing sample)."""
    return sample.error is None and bool(sample.scores) and all(r.passed for r in sample.scores.values())


def _cell(sample: SampleResult, base: SampleResult | None) -> Cell:
    output = sample.output
    diff = word_diff(as_text(base.output), as_text(output)) if base is not None else None
    return Cell(
        output=output,
        error=f"{sample.error.kind}: {sample.error.message}" if sample.error else None,
        passed=sample_passed(sample),
        scores={name: result.value for name, result in sample.scores.items()},
        latency_ms=sample.latency_ms,
        cost_usd=sample.cost_usd,
        tokens=sample.prompt_tokens + sample.completion_tokens,
        diff=diff,
    )


def compare_columns(
    columns: Sequence[Column],
    items: Mapping[str, tuple[Any, Any]] | None = None,
    *,
    resamples: int = 2000,
    max_rows: int | None = None,
) -> Comparison:
    """Compare every column with the first. ``items`` maps item id → (input, expected) for the table,
    whose rows are the first ``max_rows`` items in id order (all when None); the statistics cover
    every item.

    Raises ``ValueError`` when fewer than two columns are given.
    """
    if len(columns) < 2:
        raise ValueError("a comparison needs at least two columns")
    base = columns[0]
    paired_base = _as_paired(base.run, base.model)
    versus: list[ModelComparison | None] = [None]
    for column in columns[1:]:
        versus.append(
            compare_model(
                paired_base, _as_paired(column.run, column.model), _PAIRED, calls_per_day=None, resamples=resamples
            )
        )
    firsts = [_first_samples(c.run, c.model, max_rows) for c in columns]
    ids = sorted({i for f in firsts for i in f})[:max_rows]
    rows = []
    for item_id in ids:
        base_sample = firsts[0].get(item_id)
        cells: list[Cell | None] = []
        for index, found in enumerate(firsts):
            sample = found.get(item_id)
            if sample is None:
                cells.append(None)
            else:
                cells.append(_cell(sample, base_sample if index > 0 else None))
        given, expected = items.get(item_id, (None, None)) if items is not None else (None, None)
        rows.append(Row(item_id, as_text(given), as_text(expected), cells))
    metrics = sorted({n for c in columns for n in c.aggregate.scores})
    total = max((c.aggregate.samples // max(1, c.run.repeats) for c in columns), default=0)
    return Comparison(list(columns), versus, rows, metrics, items_total=max(total, len(rows)))
