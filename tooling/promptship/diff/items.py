"""Paired per-item values of one model in two runs, built by merging their sample streams.

A stored run's samples are in job order — item ids ascending, then model, then repeat — so one
model's samples of an item are consecutive. :func:`item_records` reduces them to one
:class:`ItemRecord` per item as they stream by, and :func:`pair_items` merges the two sides' records
by id like a sorted merge: it keeps, per paired item, one float and one flag per metric and side plus
the pass/fail outcome (a few dozen bytes an item), the ids of only the first changed items, and
counts. Comparing two runs of a million items never holds their samples or their ids.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..files.schema.run import SampleResult


@dataclass
class ItemRecord:
    """One item's samples of one model: per-metric sums and counts over its answered repeats (a scorer
    that raised counts as 0, as in the run's aggregates), repeats that passed every evaluator, repeats."""

    item_id: str
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    passed: int = 0
    repeats: int = 0

    def add(self, sample: SampleResult) -> None:
        self.repeats += 1
        if sample.error is not None:
            return
        for name, result in sample.scores.items():
            self.sums[name] = self.sums.get(name, 0.0) + (result.value or 0.0)
            self.counts[name] = self.counts.get(name, 0) + 1
        if sample.scores and all(r.passed for r in sample.scores.values()):
            self.passed += 1

    @property
    def item_passed(self) -> bool:
        """An item passes when most of its repeats answered and passed every evaluator."""
        return self.passed * 2 > self.repeats

    def mean(self, metric: str) -> float | None:
        count = self.counts.get(metric, 0)
        return self.sums[metric] / count if count else None


@dataclass
class SideTotals:
    """Answered samples and their tokens, counted while a side streams by."""

    answered: int = 0
    tokens: int = 0

    @property
    def tokens_per_call(self) -> float:
        return self.tokens / self.answered if self.answered else 0.0


def item_records(samples: Iterable[SampleResult], model: str, totals: SideTotals) -> Iterator[ItemRecord]:
    """One record per item of ``model``, in item-id order. Raises ``ValueError`` when the samples are
    not in job order (a run artifact whose lines were reordered by hand)."""
    current: ItemRecord | None = None
    for sample in samples:
        if sample.model != model:
            continue
        if sample.error is None:
            totals.answered += 1
            totals.tokens += sample.prompt_tokens + sample.completion_tokens
        if current is None or sample.item_id != current.item_id:
            if current is not None:
                if sample.item_id < current.item_id:
                    raise ValueError(
                        f"samples are not in job order ({sample.item_id!r} after {current.item_id!r}): "
                        "a run artifact lists items by ascending id"
                    )
                yield current
            current = ItemRecord(sample.item_id)
        current.add(sample)
    if current is not None:
        yield current


@dataclass
class _Metric:
    base: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    head: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    paired: array = field(default_factory=lambda: array("b"))  # type: ignore[type-arg]


@dataclass
class PairedItems:
    """What a comparison needs of two runs of one model, item by item (items paired by id)."""

    limit: int
    #: Items in either run, and in both.
    total: int = 0
    common: int = 0
    metrics: dict[str, _Metric] = field(default_factory=dict)
    base_pass: array = field(default_factory=lambda: array("b"))  # type: ignore[type-arg]
    head_pass: array = field(default_factory=lambda: array("b"))  # type: ignore[type-arg]
    newly_failing: int = 0
    newly_passing: int = 0
    #: Ids of the first ``limit`` newly failing and newly passing items, by id.
    failing_ids: list[str] = field(default_factory=list)
    passing_ids: list[str] = field(default_factory=list)
    base_totals: SideTotals = field(default_factory=SideTotals)
    head_totals: SideTotals = field(default_factory=SideTotals)

    def values(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Base and head per-item means of ``metric`` over the items both sides scored."""
        entry = self.metrics[metric]
        paired = np.frombuffer(entry.paired, dtype=np.int8).astype(bool)
        return np.frombuffer(entry.base)[paired], np.frombuffer(entry.head)[paired]

    def passes(self) -> tuple[np.ndarray, np.ndarray]:
        """Base and head pass/fail per paired item."""
        return (
            np.frombuffer(self.base_pass, dtype=np.int8).astype(bool),
            np.frombuffer(self.head_pass, dtype=np.int8).astype(bool),
        )

    def _pair(self, base: ItemRecord, head: ItemRecord) -> None:
        for name in {*base.counts, *head.counts}:
            entry = self.metrics.get(name)
            if entry is None:  # a metric first seen here: the items before had no value for it
                entry = self.metrics[name] = _Metric(
                    array("d", bytes(8 * self.common)),
                    array("d", bytes(8 * self.common)),
                    array("b", bytes(self.common)),
                )
            b, h = base.mean(name), head.mean(name)
            entry.base.append(b or 0.0)
            entry.head.append(h or 0.0)
            entry.paired.append(b is not None and h is not None)
        self.common += 1
        for entry in self.metrics.values():
            if len(entry.paired) < self.common:  # neither side scored this metric on this item
                entry.base.append(0.0)
                entry.head.append(0.0)
                entry.paired.append(False)
        was, now = base.item_passed, head.item_passed
        self.base_pass.append(was)
        self.head_pass.append(now)
        if was and not now:
            self.newly_failing += 1
            if len(self.failing_ids) < self.limit:
                self.failing_ids.append(base.item_id)
        elif now and not was:
            self.newly_passing += 1
            if len(self.passing_ids) < self.limit:
                self.passing_ids.append(base.item_id)


def pair_items(base: Iterable[SampleResult], head: Iterable[SampleResult], model: str, *, limit: int) -> PairedItems:
    """Merge ``model``'s samples of two runs (each in job order) into :class:`PairedItems`."""
    paired = PairedItems(limit)
    left = item_records(base, model, paired.base_totals)
    right = item_records(head, model, paired.head_totals)
    b, h = next(left, None), next(right, None)
    while b is not None or h is not None:
        paired.total += 1
        if h is None or (b is not None and b.item_id < h.item_id):
            b = next(left, None)
        elif b is None or h.item_id < b.item_id:
            h = next(right, None)
        else:
            paired._pair(b, h)
            b, h = next(left, None), next(right, None)
    return paired


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
