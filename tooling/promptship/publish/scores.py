"""Langfuse scores of a prompt's versions, for ``promptship usage --by version``.

A score counts for the version whose generation it judges: a score on the generation itself, or on
the trace holding it (user feedback is usually given on the trace). Generations and scores are read
with :class:`~promptship.publish.pull.TraceReader` (documented v2 observations and v3 scores APIs,
cursor pages, retries as ``llm/retry.py`` decides). Only numeric and boolean scores (as 0/1) count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .pull.reader import TraceReader


def version_scores(
    reader: TraceReader, prompts: Iterable[str], *, since: dt.datetime | None, until: dt.datetime | None
) -> dict[tuple[str, int], dict[str, list[float]]]:
    """(prompt, version) → score name → values, for the generations of ``prompts`` started in
    [``since``, ``until``). Versions without scores are left out. Raises what the reader raises
    (:class:`~promptship.errors.SyncError` when Langfuse cannot be read)."""
    found: dict[tuple[str, int], dict[str, list[float]]] = {}
    for prompt in prompts:
        generations = [g for page in reader.generations(prompt, version=None, since=since, until=until) for g in page]
        scored = reader.scores([g.trace_id for g in generations], ())
        for generation in generations:
            if generation.prompt_version is None:
                continue
            for name, values in scored.of(generation).items():
                numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                if numbers:
                    found.setdefault((prompt, generation.prompt_version), {}).setdefault(name, []).extend(numbers)
    return found
