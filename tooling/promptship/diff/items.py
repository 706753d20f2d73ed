"""Per-item vectors of one model of a run, built in one streamed pass over its samples.

What a paired comparison needs of a run is, per item: the sum and count of each metric over its
answered repeats, how many repeats answered and passed every evaluator, and how many repeats there
were. :class:`ItemTable` keeps exactly that in flat arrays (a few dozen bytes an item), so comparing
two runs of 100,000 items never holds their samples.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from ..files.schema.run import SampleResult


def _grow(values: array, size: int) -> None:  # type: ignore[type-arg]
    if len(values) < size:
        values.extend([0] * (size - len(values)))


class ItemTable:
    """One model's per-item sums of a run. Rows are items in the order first seen."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.score_sums: dict[str, array] = {}  # type: ignore[type-arg]
        self.score_counts: dict[str, array] = {}  # type: ignore[type-arg]
        self.passed = array("q")
        self.repeats = array("q")
        self.answered = 0
        self.answered_tokens = 0

    @classmethod
    def of(cls, samples: Iterable[SampleResult], model: str) -> ItemTable:
        """The table of ``model``'s samples among ``samples`` (streamed once)."""
        table = cls()
        for sample in samples:
            if sample.model == model:
                table.add(sample)
        return table

    def add(self, sample: SampleResult) -> None:
        row = self.index.get(sample.item_id)
        if row is None:
            row = self.index[sample.item_id] = len(self.index)
            self.passed.append(0)
            self.repeats.append(0)
        self.repeats[row] += 1
        if sample.error is not None:
            return
        self.answered += 1
        self.answered_tokens += sample.prompt_tokens + sample.completion_tokens
        for name, result in sample.scores.items():
            sums = self.score_sums.setdefault(name, array("d"))
            counts = self.score_counts.setdefault(name, array("q"))
            _grow(sums, row + 1)
            _grow(counts, row + 1)
            # A scorer that raised counts as 0, as in the run's aggregates.
            sums[row] += result.value or 0.0
            counts[row] += 1
        if sample.scores and all(r.passed for r in sample.scores.values()):
            self.passed[row] += 1

    @property
    def metrics(self) -> set[str]:
        return set(self.score_sums)

    def rows(self, ids: list[str]) -> np.ndarray:
        """Row numbers of ``ids`` (each must be in the table)."""
        return np.fromiter((self.index[i] for i in ids), dtype=np.int64, count=len(ids))

    def item_means(self, metric: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean over each row's answered repeats, whether the row has any) for ``metric``."""
        size = len(self.index)
        sums = np.zeros(size)
        counts = np.zeros(size, dtype=np.int64)
        if metric in self.score_sums:
            held = np.frombuffer(self.score_sums[metric], dtype=np.float64)
            sums[: held.size] = held
            held_counts = np.frombuffer(self.score_counts[metric], dtype=np.int64)
            counts[: held_counts.size] = held_counts
        picked_sums, picked_counts = sums[rows], counts[rows]
        has = picked_counts > 0
        means = np.divide(picked_sums, picked_counts, out=np.zeros_like(picked_sums), where=has)
        return means, has

    def item_passed(self, rows: np.ndarray) -> np.ndarray:
        """An item passes when most of its repeats answered and passed every evaluator."""
        passed = np.frombuffer(self.passed, dtype=np.int64)[rows]
        repeats = np.frombuffer(self.repeats, dtype=np.int64)[rows]
        return np.asarray(passed * 2 > repeats)

    @property
    def tokens_per_call(self) -> float:
        return self.answered_tokens / self.answered if self.answered else 0.0


def first_samples(samples: Iterable[SampleResult], model: str, ids: set[str]) -> dict[str, SampleResult]:
    """The first sample of each of ``ids`` for ``model`` (streamed; repeat 0 in a stored run)."""
    found: dict[str, SampleResult] = {}
    if not ids:
        return found
    for sample in samples:
        if sample.model == model and sample.item_id in ids and sample.item_id not in found:
            found[sample.item_id] = sample
            if len(found) == len(ids):
                break
    return found
