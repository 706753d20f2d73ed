"""Sharded evaluation: which items shard K of N holds, and merging N shard runs into the whole run.

An item's shard is a function of its id alone (sha256, not Python's salted ``hash``): the same item is
in the same shard on every machine and branch, whatever the order of the dataset and whatever other
items are added. A run stores its samples in job order (item id × model × repeat), so the N shards'
sample streams interleave by item id into exactly the samples of an unsharded run; :func:`merged_run`
gives its manifest (the same fingerprint and selection key), and the aggregates are recomputed from
the merged samples by the same :class:`~promptship.eval.runs.RunWriter` that writes every run.
Pure: nothing is read or written here except through the runs given.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..errors import UsageError
from ..files.schema.run import Run, SampleResult, Selection, Shard
from .runs import covers_exactly, selection_key

T = TypeVar("T")

#: Keeps shard assignment independent of ``--sample``, which orders items by sha256 of the bare id.
_SALT = b"promptship-shard\x00"
_FORM = re.compile(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*")


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (K, 1-based) of ``count`` (N)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> ShardSpec:
    """``"2/4"`` → ``ShardSpec(2, 4)``. Raises :class:`UsageError` E980 unless it is K/N with 1 ≤ K ≤ N."""
    match = _FORM.fullmatch(text)
    hint = "write the shard as K/N with 1 ≤ K ≤ N, e.g. --shard 2/4 for the second of four"
    if match is None:
        raise UsageError(f"--shard {text!r} is not of the form K/N", code="E980", hint=hint)
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: K must be between 1 and N (here N is {count})", code="E980", hint=hint)
    return ShardSpec(index, count)


def shard_of(item_id: str, count: int) -> int:
    """The shard (1..``count``) that holds the item with this id: sha256 of the id, modulo ``count``."""
    digest = hashlib.sha256(_SALT + item_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def take_shard(items: Sequence[T], spec: ShardSpec, id_of: Callable[[T], str]) -> list[T]:
    """The items of shard ``spec``, in the order of ``items``."""
    return [item for item in items if shard_of(id_of(item), spec.count) == spec.index]


def shard_record(spec: ShardSpec, whole: Selection) -> Shard:
    """What a shard run stores about the whole selection it was cut from."""
    return Shard(
        index=spec.index, count=spec.count, whole_items=len(whole.items), whole_key=whole.key, whole_full=whole.full
    )


# ---------------------------------------------------------------------------------------------- merge


@dataclass(frozen=True)
class ShardRun:
    """A shard run and where it came from (a file name), which errors name."""

    origin: str
    run: Run


#: Settings every shard of one whole run must share: (what the error calls it, how to read it).
_SAME: tuple[tuple[str, Callable[[Run], object]], ...] = (
    ("prompt", lambda r: r.prompt),
    ("dataset", lambda r: r.dataset),
    ("models", lambda r: r.models),
    ("repeats", lambda r: r.repeats),
    ("profile", lambda r: r.profile),
    ("fingerprint", lambda r: r.fingerprint.model_dump()),
    ("--sample", lambda r: r.selection.sample),
    ("--items", lambda r: r.selection.requested_items),
    ("whole selection", lambda r: _shard(r).whole_key),
    ("concurrency", lambda r: r.environment.concurrency),
    ("local model", lambda r: r.environment.local_model),
)


def _shard(run: Run) -> Shard:
    assert run.selection.shard is not None
    return run.selection.shard


@dataclass(frozen=True)
class MergePlan:
    """Shards 1/N..N/N of one suite and fingerprint that :func:`plan_merges` accepted."""

    shards: list[ShardRun]  # in shard order

    @property
    def origins(self) -> list[str]:
        return [s.origin for s in self.shards]

    def manifest(self) -> Run:
        """The whole run's manifest: the shards' own fields, the whole selection, and what the
        samples do not give (times, cache misses). Aggregates and the samples file are the writer's."""
        runs = [s.run for s in self.shards]
        first = runs[0]
        record = _shard(first)
        items = sorted(item for run in runs for item in run.selection.items)
        selection = first.selection.model_copy(
            update={"items": items, "full": record.whole_full, "key": record.whole_key, "shard": None}
        )
        machines = sorted({r.environment.machine for r in runs if r.environment.machine})
        environment = first.environment.model_copy(update={"machine": " + ".join(machines) if machines else None})
        return first.model_copy(
            update={
                "selection": selection,
                "environment": environment,
                "started_at": min(r.started_at for r in runs),
                "finished_at": max(r.finished_at for r in runs),
                "complete": True,
                "cache_hits": sum(r.cache_hits for r in runs),
                "cache_misses": sum(r.cache_misses for r in runs),
            }
        )

    def samples(self) -> Iterator[SampleResult]:
        """The whole run's samples in job order: each shard's stream is in item-id order and an item's
        samples all come from one shard, so interleaving the streams by item id is exactly that order."""
        return heapq.merge(*(iter(s.run.samples) for s in self.shards), key=lambda sample: sample.item_id)


def plan_merges(shards: Sequence[ShardRun], unusable: Sequence[str] = ()) -> list[MergePlan]:
    """Group shard runs of one or more suites (and fingerprints: a PR's base and head) into whole runs.

    Runs are grouped by suite and fingerprint; every group must be complete and consistent. Raises
    :class:`UsageError` E981 listing every problem of every group, and each of ``unusable`` (shard
    files that could not be read), so nothing merges unless all do.
    """
    groups: dict[tuple[str, str], list[ShardRun]] = {}
    problems: list[str] = list(unusable)
    for shard in shards:
        if shard.run.selection.shard is None:
            problems.append(f"{shard.origin} is not a shard run (it was not made with --shard K/N)")
            continue
        groups.setdefault((shard.run.suite, shard.run.fingerprint.suite), []).append(shard)
    if not shards:
        problems.append("no shard runs were found in the paths given")
    plans: list[MergePlan] = []
    for (suite, fingerprint), group in sorted(groups.items()):
        found = shard_problems(group)
        if found:
            others = sorted(f[:12] for s, f in groups if s == suite and f != fingerprint)
            if others:
                found.append(
                    f"other shards of {suite} have fingerprint {', '.join(others)}: shards of different "
                    "fingerprints never merge (they evaluated different prompts, data, evaluators or deployments)"
                )
            problems.append(f"{suite} (fingerprint {fingerprint[:12]}):\n    - " + "\n    - ".join(found))
        else:
            plans.append(MergePlan(sorted(group, key=lambda s: _shard(s.run).index)))
    if problems:
        raise UsageError(
            "cannot merge the shard runs:\n  " + "\n  ".join(problems),
            code="E981",
            hint="give every shard 1/N..N/N of one evaluation exactly once; rerun (or re-download) the shard named",
        )
    return plans


def shard_problems(group: Sequence[ShardRun]) -> list[str]:
    """Why shard runs of one suite and fingerprint do not make one whole run (empty when they do)."""
    problems: list[str] = []
    first = group[0]
    counts = {_shard(s.run).count for s in group}
    if len(counts) > 1:
        split = ", ".join(f"{s.origin} is {_shard(s.run).index}/{_shard(s.run).count}" for s in group)
        return [f"the shards split the suite differently ({split}): every shard needs the same N"]
    count = counts.pop()
    for shard in group[1:]:
        for name, read in _SAME:
            if read(shard.run) != read(first.run):
                problems.append(
                    f"{shard.origin} differs from {first.origin} in {name}: {_short(read(shard.run))} vs "
                    f"{_short(read(first.run))}"
                )
    seen: dict[int, str] = {}
    for shard in group:
        record = _shard(shard.run)
        label = f"shard {record.index}/{count}"
        if record.index in seen:
            problems.append(f"{label} is given twice: {seen[record.index]} and {shard.origin}")
            continue
        seen[record.index] = shard.origin
        if not shard.run.complete:
            problems.append(f"{label} ({shard.origin}) was interrupted before every sample finished: rerun it")
        problems.extend(f"{label} ({shard.origin}): {p}" for p in _content_problems(shard.run, record))
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        given = ", ".join(f"{k}/{count} ({seen[k]})" for k in sorted(seen))
        problems.append(f"shard {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing (given: {given})")
    if not problems:
        problems.extend(_coverage_problems(group))
    return problems


def _content_problems(run: Run, record: Shard) -> list[str]:
    """A shard run that is not what ``--shard`` makes: items of other shards, a wrong key, samples."""
    problems = []
    strays = [i for i in run.selection.items if shard_of(i, record.count) != record.index]
    if strays:
        problems.append(f"holds item(s) of other shards ({', '.join(strays[:3])}): it was not made by --shard")
    if run.selection.key != selection_key(run.selection.items, run.selection.models, run.selection.repeats, record):
        problems.append("its selection key does not match its items (the file was edited)")
    if not covers_exactly(run, run.selection):
        problems.append("its samples are not one per item × model × repeat of its selection, in job order")
    return problems


def _coverage_problems(group: Sequence[ShardRun]) -> list[str]:
    """Do the shards' items add up to the whole selection they were cut from, each once?"""
    record, first = _shard(group[0].run), group[0].run
    items = sorted(i for s in group for i in s.run.selection.items)
    if len(items) != record.whole_items:
        return [f"the shards hold {len(items)} item(s), the whole selection {record.whole_items}"]
    if selection_key(items, first.selection.models, first.selection.repeats) != record.whole_key:
        return ["the shards' items together are not the whole selection they were cut from"]
    return []


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"
