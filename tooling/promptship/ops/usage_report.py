"""The usage report: rows → per-group calls, cost, tokens, errors, latency percentiles and upstream
attempts per call (pure), and the library API of ``promptship usage`` (:func:`load_usage_report`).

Extension point for comparisons: :data:`GROUPINGS` maps a ``--by`` name to a function giving a
row's group (its label and identifying fields); :func:`grouped` splits rows by it and
:func:`summarize` turns any list of rows into a :class:`UsageGroup`, so a caller can compute more
per group (e.g. statistics between prompt versions) over the same groups.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files.times import time_window
from .stores import open_usage_store, usage_store_url
from .usage import OK, UsageQuery, UsageRow, redacted_url

#: A row's group: a label to show and the fields that identify it.
Group = tuple[str, dict[str, Any]]


def _day(row: UsageRow) -> Group:
    day = dt.datetime.fromtimestamp(row.ts, dt.UTC).date().isoformat()
    return day, {"day": day}


def _version(row: UsageRow) -> Group:
    prompt = row.prompt or "(no prompt)"
    version = f"v{row.prompt_version}" if row.prompt_version is not None else "bundled"
    label = f" [{row.prompt_label}]" if row.prompt_label else ""
    fields = {"prompt": row.prompt, "prompt_version": row.prompt_version, "prompt_label": row.prompt_label}
    return f"{prompt} {version}{label}", fields


#: ``--by`` name → the group of a row.
GROUPINGS: dict[str, Callable[[UsageRow], Group]] = {
    "project": lambda row: (row.project, {"project": row.project}),
    "alias": lambda row: (row.alias, {"alias": row.alias}),
    "prompt": lambda row: (row.prompt or "(no prompt)", {"prompt": row.prompt}),
    "version": _version,
    "day": _day,
}


@dataclass(frozen=True)
class UsageGroup:
    """What the calls of one group consumed and how they went.

    ``errors``: calls whose outcome is not ``ok``; ``errors_by_outcome``: their count per outcome.
    ``latency_p50_ms``/``latency_p95_ms``: of the calls that were answered (``ok``), ``None`` when
    none was. ``attempts``: upstream requests in all; ``attempts_per_call``: ``attempts / calls``.
    """

    key: str
    fields: dict[str, Any]
    calls: int
    cost_usd: float
    input_tokens: int
    output_tokens: int
    errors: int
    errors_by_outcome: dict[str, int]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    attempts: int
    attempts_per_call: float


@dataclass(frozen=True)
class UsageReport:
    """Groups (ordered by cost, most first; by day: oldest first), the total, and calls and cost per
    day (for charts). ``since``/``until``: the range asked for (epoch seconds, ``None`` = open);
    ``source``: where the rows came from (a store's location, or ``langfuse``)."""

    by: str
    source: str
    since: float | None
    until: float | None
    project: str | None
    groups: list[UsageGroup]
    total: UsageGroup
    daily: list[UsageGroup] = field(default_factory=list)


def percentiles(values: Sequence[float], points: Sequence[float]) -> list[float | None]:
    """``diff/stats.py``'s percentiles (every percentile in promptship is computed there) of
    ``values`` at ``points`` (0..100); ``None`` each when ``values`` is empty (no answered call)."""
    if not values:
        return [None for _ in points]
    from ..diff.stats import percentiles as linear_percentiles  # numpy: imported when a report is built

    return list(linear_percentiles(values, points))


def summarize(rows: Sequence[UsageRow], key: str = "total", fields: Mapping[str, Any] | None = None) -> UsageGroup:
    """One group's figures (pure)."""
    calls = len(rows)
    errors = Counter(row.outcome for row in rows if row.outcome != OK)
    p50, p95 = percentiles([row.latency_ms for row in rows if row.outcome == OK], (50, 95))
    attempts = sum(row.attempts for row in rows)
    return UsageGroup(
        key=key,
        fields=dict(fields or {}),
        calls=calls,
        cost_usd=sum(row.cost_usd for row in rows),
        input_tokens=sum(row.input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        errors=sum(errors.values()),
        errors_by_outcome=dict(sorted(errors.items())),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        attempts=attempts,
        attempts_per_call=attempts / calls if calls else 0.0,
    )


def grouped(rows: Iterable[UsageRow], by: str) -> dict[str, tuple[dict[str, Any], list[UsageRow]]]:
    """Rows split by :data:`GROUPINGS` ``[by]``: label → (identifying fields, rows)."""
    group_of = GROUPINGS[by]
    groups: dict[str, tuple[dict[str, Any], list[UsageRow]]] = {}
    for row in rows:
        key, fields = group_of(row)
        groups.setdefault(key, (fields, []))[1].append(row)
    return groups


def build_report(
    rows: Iterable[UsageRow],
    by: str = "project",
    *,
    source: str = "",
    since: float | None = None,
    until: float | None = None,
    project: str | None = None,
) -> UsageReport:
    """The report of ``rows`` grouped ``by`` one of :data:`GROUPINGS` (pure)."""
    if by not in GROUPINGS:
        raise UsageError(f"cannot group usage by '{by}'", hint=f"use one of: {', '.join(GROUPINGS)}")
    kept = list(rows)
    groups = [summarize(group_rows, key, fields) for key, (fields, group_rows) in grouped(kept, by).items()]
    if by == "day":
        groups.sort(key=lambda g: g.key)
    else:
        groups.sort(key=lambda g: (-g.cost_usd, -g.calls, g.key))
    daily = sorted(
        (summarize(day_rows, key, fields) for key, (fields, day_rows) in grouped(kept, "day").items()),
        key=lambda g: g.key,
    )
    return UsageReport(by, source, since, until, project, groups, summarize(kept), daily)


def time_range(since: str | None, until: str | None, now: float) -> tuple[float | None, float | None]:
    """``--since``/``--until`` (see :func:`promptship.files.times.parse_time`) as epoch seconds,
    ``now`` in epoch seconds; E962 for a bad time or an ``until`` not after ``since``."""
    start, end = time_window(since, until, now=dt.datetime.fromtimestamp(now, dt.UTC))
    return (start.timestamp() if start else None), (end.timestamp() if end else None)


def load_usage_rows(
    root: Path,
    env: Mapping[str, str],
    *,
    since: float | None,
    until: float | None,
    project: str | None = None,
    store_url: str | None = None,
) -> tuple[list[UsageRow], str]:
    """The rows in the usage store ``store_url`` (default: the one the gateway and SDK write to,
    :func:`~promptship.ops.stores.usage_store_url`) between ``since`` and ``until``, and where they
    were read (password hidden).

    Raises :class:`~promptship.errors.UsageStoreError` (E960/E961) when the store cannot be read,
    :class:`UsageError` when usage recording is switched off.
    """
    url = store_url or usage_store_url(env, root)
    if url is None:
        raise UsageError(
            "usage recording is off (PROMPTSHIP_USAGE_URL=off): there is no store to report on",
            hint="pass --store URL, or unset PROMPTSHIP_USAGE_URL",
        )
    store = open_usage_store(url, env)
    try:
        return list(store.query(UsageQuery(since=since, until=until, project=project))), redacted_url(store.location)
    finally:
        store.close()


def load_usage_report(
    root: Path,
    env: Mapping[str, str],
    *,
    since: float | None,
    until: float | None,
    project: str | None = None,
    by: str = "project",
    store_url: str | None = None,
) -> UsageReport:
    """The report of :func:`load_usage_rows` grouped ``by`` one of :data:`GROUPINGS` (the library API
    of ``promptship usage``); the same errors."""
    rows, source = load_usage_rows(root, env, since=since, until=until, project=project, store_url=store_url)
    return build_report(rows, by, source=source, since=since, until=until, project=project)
