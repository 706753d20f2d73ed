"""Langfuse reads for ``dataset pull``: a prompt's traced generations and their scores.

Only documented endpoints and parameters of Langfuse's public API (its OpenAPI document):
``GET /api/public/v2/observations`` (cursor pages, field groups, the structured ``filter``) and
``GET /api/public/v3/scores`` (cursor pages, ``traceId``/``name`` lists, the ``subject`` field
group), and ``GET /api/public/v2/prompts/{name}?label=`` for the version a label holds. Every request
goes through :meth:`LangfuseStore.read` (retries decided by ``llm/retry.py``); the SDK's own
retries are off so attempts do not multiply.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sync.store import LangfuseStore

#: Field groups of the v2 observations API a pull reads (``core`` is always returned).
FIELDS = "core,basic,io,metadata,prompt,metrics,usage"
#: Metadata keys the SDK and the gateway record on a generation (see ``Client.trace_generation``);
#: asked for in full (the API truncates other metadata values to 200 characters).
VARIABLES_KEY = "prompt_variables"
LABEL_KEY = "prompt_label"
#: The v3 scores API answers at most 100 scores a page; 50 trace ids keep a request line short.
SCORE_PAGE = 100
TRACES_PER_SCORE_REQUEST = 50
_NO_RETRIES = {"max_retries": 0}


@dataclass(frozen=True)
class Generation:
    """One traced generation of a prompt, as read (values are Langfuse's, not yet PII-guarded).

    ``input``/``output``: decoded from the raw strings the v2 API returns; ``metadata``: each value
    decoded when it is JSON. ``latency`` in seconds, ``cost`` in USD (None when not recorded).
    """

    id: str
    trace_id: str
    start_time: str
    prompt_version: int | None
    input: Any
    output: Any
    metadata: dict[str, Any]
    latency: float | None
    cost: float | None
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def variables(self) -> dict[str, Any] | None:
        found = self.metadata.get(VARIABLES_KEY)
        return found if isinstance(found, dict) else None

    @property
    def label(self) -> str | None:
        found = self.metadata.get(LABEL_KEY)
        return found if isinstance(found, str) else None

    @property
    def metrics(self) -> dict[str, float | None]:
        return {
            "latency": self.latency,
            "cost": self.cost,
            "input_tokens": _number(self.usage.get("input")),
            "output_tokens": _number(self.usage.get("output")),
        }


@dataclass
class Scores:
    """Score values by subject: ``by_observation[id][name]`` and ``by_trace[trace_id][name]``."""

    by_observation: dict[str, dict[str, list[float | str]]] = field(default_factory=dict)
    by_trace: dict[str, dict[str, list[float | str]]] = field(default_factory=dict)

    def of(self, generation: Generation) -> dict[str, list[float | str]]:
        """The scores that apply to ``generation``: its own and its trace's."""
        merged: dict[str, list[float | str]] = {}
        for source in (self.by_trace.get(generation.trace_id, {}), self.by_observation.get(generation.id, {})):
            for name, values in source.items():
                merged.setdefault(name, []).extend(values)
        return merged


def decoded(value: Any) -> Any:
    """A value the API returned as a string, decoded when it is JSON (objects, arrays, quoted strings)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def output_text(value: Any) -> Any:
    """A generation's output as a candidate ``expected``: the answer text when the output is a string or
    an assistant message (``{"role": ..., "content": "..."}``), else the decoded value as it is."""
    value = decoded(value)
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _json_object(raw: Any) -> dict[str, Any]:
    """An SDK model as the API's JSON object (camelCase keys, times as ISO text)."""
    dumped: dict[str, Any] = raw.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _generation(raw: Any) -> Generation:
    metadata = raw.metadata if isinstance(raw.metadata, dict) else decoded(raw.metadata)
    start = raw.start_time
    return Generation(
        id=raw.id,
        trace_id=raw.trace_id or "",
        start_time=_iso(start) if isinstance(start, dt.datetime) else str(start),
        prompt_version=raw.prompt_version,
        input=decoded(raw.input),
        output=output_text(raw.output),
        metadata={str(k): decoded(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
        latency=_number(raw.latency),
        cost=_number(raw.total_cost),
        usage={str(k): int(v) for k, v in (raw.usage_details or {}).items() if isinstance(v, int | float)},
    )


class TraceReader:
    """Reads one prompt's generations page by page, and the scores of their traces."""

    def __init__(self, store: LangfuseStore, *, page_size: int = 100) -> None:
        self.store = store
        self.page_size = page_size
        self.requests = 0

    def label_version(self, prompt: str, label: str) -> int | None:
        """The version of ``prompt`` holding ``label`` now; None when no version holds it."""
        self.requests += 1
        data = self.store.read(
            f"get {prompt} {label}",
            lambda: self.store.client.api.prompts.get(
                LangfuseStore._quoted(prompt), label=label, request_options=_NO_RETRIES
            ),
        )
        return None if data is None else int(data.version)

    def generations(
        self, prompt: str, *, version: int | None, since: dt.datetime | None, until: dt.datetime | None
    ) -> Iterator[list[Generation]]:
        """Pages of the generations linked to ``prompt`` (and ``version``), started in
        [``since``, ``until``), in the API's order. The structured ``filter`` carries every condition
        (it takes precedence over the single-value query parameters)."""
        conditions: list[dict[str, Any]] = [
            {"type": "string", "column": "type", "operator": "=", "value": "GENERATION"},
            {"type": "string", "column": "promptName", "operator": "=", "value": prompt},
        ]
        if version is not None:
            conditions.append({"type": "number", "column": "promptVersion", "operator": "=", "value": version})
        if since is not None:
            conditions.append({"type": "datetime", "column": "startTime", "operator": ">=", "value": _iso(since)})
        if until is not None:
            conditions.append({"type": "datetime", "column": "startTime", "operator": "<", "value": _iso(until)})
        cursor: str | None = None
        while True:
            self.requests += 1
            page = self.store.read(
                f"list generations of {prompt}",
                lambda cursor=cursor: self.store.client.api.observations.get_many(  # type: ignore[misc]
                    fields=FIELDS,
                    expand_metadata=f"{VARIABLES_KEY},{LABEL_KEY}",
                    limit=self.page_size,
                    cursor=cursor,
                    filter=json.dumps(conditions),
                    request_options=_NO_RETRIES,
                ),
            )
            if page is None:
                return
            yield [_generation(raw) for raw in page.data]
            cursor = page.meta.cursor if page.meta is not None else None
            if not cursor or not page.data:
                return

    def observations(
        self,
        types: Sequence[str],
        *,
        fields: str,
        since: dt.datetime | None,
        until: dt.datetime | None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of every observation of ``types`` (``GENERATION``…) started in [``since``, ``until``),
        type by type, each observation a JSON object as the API answers it (camelCase keys), with the
        ``fields`` groups; the usage report reads these (``ops/langfuse_usage.py``)."""
        for kind in types:
            cursor: str | None = None
            while True:
                self.requests += 1
                page = self.store.read(
                    f"list {kind} observations",
                    lambda kind=kind, cursor=cursor: self.store.client.api.observations.get_many(  # type: ignore[misc]
                        type=kind,
                        fields=fields,
                        limit=page_size or self.page_size,
                        cursor=cursor,
                        from_start_time=since,
                        to_start_time=until,
                        request_options=_NO_RETRIES,
                    ),
                )
                if page is None:
                    break
                yield [_json_object(raw) for raw in page.data]
                cursor = page.meta.cursor if page.meta is not None else None
                if not cursor or not page.data:
                    break

    def scores(self, trace_ids: Sequence[str], names: Sequence[str]) -> Scores:
        """Every score of ``trace_ids`` (trace- and observation-level), only ``names`` unless empty."""
        found = Scores()
        ids = sorted({t for t in trace_ids if t})
        for start in range(0, len(ids), TRACES_PER_SCORE_REQUEST):
            chunk = ",".join(ids[start : start + TRACES_PER_SCORE_REQUEST])
            cursor: str | None = None
            while True:
                self.requests += 1
                page = self.store.read(
                    "list scores",
                    lambda cursor=cursor, chunk=chunk: self.store.client.api.scores.get_many(  # type: ignore[misc]
                        limit=SCORE_PAGE,
                        cursor=cursor,
                        fields="subject",
                        trace_id=chunk,
                        name=",".join(names) or None,
                        request_options=_NO_RETRIES,
                    ),
                )
                if page is None:
                    break
                for score in page.data:
                    _record(found, score)
                cursor = page.meta.cursor if page.meta is not None else None
                if not cursor or not page.data:
                    break
        return found


def _record(found: Scores, score: Any) -> None:
    subject = getattr(score, "subject", None)
    value = score.value
    if isinstance(value, bool):
        value = 1.0 if value else 0.0
    if not isinstance(value, int | float | str):
        return
    kind = getattr(subject, "kind", None)
    if kind == "observation":
        found.by_observation.setdefault(subject.id, {}).setdefault(score.name, []).append(value)  # type: ignore[union-attr]
    elif kind == "trace":
        found.by_trace.setdefault(subject.id, {}).setdefault(score.name, []).append(value)  # type: ignore[union-attr]
