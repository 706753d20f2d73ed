"""Traces in the Langfuse double: observations (v2 API) and scores (v3 API), read as Langfuse serves them.

What the double stores and how it answers follows Langfuse's public API document (vendored in
reference/) and its server: observations are kept as ClickHouse keeps them — ``input`` and ``output``
as raw strings, ``metadata`` as a string map (a non-string value is stored as its JSON text) — and
``GET /api/public/v2/observations`` returns them newest first, in cursor pages, with only the
requested field groups, metadata values over 200 characters truncated unless ``expandMetadata``
names them, and the structured ``filter`` taking precedence over the single-value parameters.
``GET /api/public/v3/scores`` answers cursor pages of at most 100 scores, filtered by comma lists.
A query parameter the document does not list for the route is refused (400).

Observations come from generation spans the SDK exports to the OTLP endpoint (so a call traced by
promptship's SDK can be read back), or are seeded with :meth:`TraceStore.add_generation`; scores
from ``POST /api/public/scores`` or :meth:`TraceStore.add_score`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .openapi_check import documented_parameters

#: Field groups of ``GET /api/public/v2/observations`` and the fields each adds (the API document).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "core": ("id", "traceId", "startTime", "endTime", "projectId", "parentObservationId", "type"),
    "basic": (
        "name",
        "level",
        "statusMessage",
        "version",
        "environment",
        "bookmarked",
        "public",
        "userId",
        "sessionId",
        "isRootObservation",
    ),
    "time": ("completionStartTime", "createdAt", "updatedAt"),
    "io": ("input", "output"),
    "metadata": ("metadata",),
    "model": ("providedModelName", "internalModelId", "modelParameters"),
    "usage": ("usageDetails", "costDetails", "totalCost", "usagePricingTierName"),
    "prompt": ("promptId", "promptName", "promptVersion"),
    "metrics": ("latency", "timeToFirstToken"),
    "trace_context": ("tags", "release", "traceName"),
}
#: Required by the ObservationV2 schema whatever the field groups (nullable).
ALWAYS = ("modelId", "inputPrice", "outputPrice", "totalPrice")
#: Filter columns the double evaluates → the stored field they read.
COLUMNS = {
    "id": "id",
    "type": "type",
    "name": "name",
    "traceId": "traceId",
    "startTime": "startTime",
    "environment": "environment",
    "level": "level",
    "promptName": "promptName",
    "promptVersion": "promptVersion",
    "latency": "latency",
    "totalCost": "totalCost",
    "metadata": "metadata",
}
METADATA_PREVIEW = 200
SCORE_FIELD_GROUPS = {"details", "subject", "annotation"}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def stored_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """Metadata as Langfuse stores it: a map of strings (other values as their JSON text)."""
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in metadata.items()}


def _raw(value: Any) -> str | None:
    """``input``/``output`` as the v2 API returns them: raw strings (JSON text for structured values)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        return None


class BadRequest(Exception):
    pass


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return False
    return {
        "=": left == right,
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
    }[op]


def _condition(condition: Any) -> Callable[[dict[str, Any]], bool]:
    """One condition of the structured ``filter`` → a predicate over a stored observation."""
    if not isinstance(condition, dict) or not {"type", "column", "operator"} <= condition.keys():
        raise BadRequest("each filter condition needs type, column and operator")
    kind, column, op, value = condition["type"], condition["column"], condition["operator"], condition.get("value")
    if column not in COLUMNS:
        raise BadRequest(f"Invalid filter column: {column}")
    field = COLUMNS[column]
    if kind == "string" and op == "=":
        return lambda o: o.get(field) == value
    if kind == "number" and op in ("=", ">", "<", ">=", "<="):
        return lambda o: _compare(op, o.get(field), value)
    if kind == "datetime" and op in (">", "<", ">=", "<="):
        bound = _parse_time(str(value))
        return lambda o: _compare(op, _parse_time(o[field]), bound)
    if kind == "stringObject" and column == "metadata" and op == "=":
        key = condition.get("key")
        return lambda o: (o.get("metadata") or {}).get(key) == value
    raise BadRequest(f"Unsupported filter: {kind} {column} {op}")


class TraceStore:
    """Observations and scores of one double; ``respond(schema, body)`` validates against the spec."""

    def __init__(self, respond: Callable[..., web.Response], lock: threading.RLock) -> None:
        self._respond = respond
        self._lock = lock
        self.observations: list[dict[str, Any]] = []
        self.score_rows: list[dict[str, Any]] = []
        #: Status codes the next trace reads answer with (fault injection), consumed in order.
        self.fail_reads: list[int] = []

    # -- seeding -----------------------------------------------------------------------------------
    def add_generation(
        self,
        prompt: str | None,
        version: int | None,
        *,
        variables: dict[str, Any] | None = None,
        output: Any = None,
        input: Any = None,
        metadata: dict[str, Any] | None = None,
        label: str | None = None,
        start: dt.datetime | None = None,
        latency_s: float = 0.8,
        cost_usd: float | None = 0.0004,
        usage: dict[str, int] | None = None,
        trace_id: str | None = None,
        observation_id: str | None = None,
    ) -> dict[str, Any]:
        """A generation as another client (or an older SDK) traced it; ``variables`` and ``label`` go
        into metadata as promptship's SDK records them (``prompt_variables``, ``prompt_label``)."""
        start = start or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        recorded = dict(metadata or {})
        if variables is not None:
            recorded["prompt_variables"] = variables
        if label is not None:
            recorded["prompt_label"] = label
        return self._store(
            {
                "id": observation_id or uuid.uuid4().hex[:16],
                "traceId": trace_id or uuid.uuid4().hex,
                "startTime": iso(start),
                "endTime": iso(start + dt.timedelta(seconds=latency_s)),
                "type": "GENERATION",
                "name": prompt,
                "input": _raw(input if input is not None else [{"role": "user", "content": json.dumps(variables)}]),
                "output": _raw(output),
                "metadata": stored_metadata(recorded),
                "promptName": prompt,
                "promptVersion": version,
                "latency": latency_s,
                "totalCost": cost_usd,
                "usageDetails": usage or {"input": 120, "output": 40},
                "costDetails": {"total": cost_usd} if cost_usd is not None else None,
            }
        )

    def add_score(
        self,
        name: str,
        value: float | bool | str,
        *,
        trace_id: str,
        observation_id: str | None = None,
        data_type: str | None = None,
    ) -> dict[str, Any]:
        """A score on a trace, or on one of its observations."""
        kind = data_type or (
            "BOOLEAN" if isinstance(value, bool) else "NUMERIC" if isinstance(value, int | float) else "CATEGORICAL"
        )
        now = iso(dt.datetime.now(dt.UTC))
        row = {
            "id": uuid.uuid4().hex,
            "projectId": "project-1",
            "name": name,
            "value": value,
            "dataType": kind,
            "source": "API",
            "timestamp": now,
            "environment": "default",
            "createdAt": now,
            "updatedAt": now,
            "traceId": trace_id,
            "observationId": observation_id,
        }
        with self._lock:
            self.score_rows.append(row)
        return row

    def _store(self, observation: dict[str, Any]) -> dict[str, Any]:
        full: dict[str, Any] = {field: None for group in FIELD_GROUPS.values() for field in group}
        full.update({key: None for key in ALWAYS})
        full.update(
            {
                "projectId": "project-1",
                "level": "DEFAULT",
                "environment": "default",
                "bookmarked": False,
                "public": False,
                "isRootObservation": True,
                "tags": [],
            }
        )
        full.update(observation)
        with self._lock:
            self.observations.append(full)
        return full

    def from_span(self, span: Any, attributes: dict[str, Any]) -> None:
        """A generation span the SDK exported → an observation, as Langfuse's OTLP ingestion stores it."""
        if attributes.get("langfuse.observation.type") != "generation":
            return
        prefix = "langfuse.observation.metadata."
        metadata: dict[str, Any] = {}
        for key, value in attributes.items():
            if key.startswith(prefix):
                try:
                    metadata[key[len(prefix) :]] = json.loads(value)
                except (TypeError, ValueError):
                    metadata[key[len(prefix) :]] = value
        start = dt.datetime.fromtimestamp(span.start_time_unix_nano / 1e9, dt.UTC)
        end = dt.datetime.fromtimestamp(span.end_time_unix_nano / 1e9, dt.UTC)
        usage = json.loads(attributes.get("langfuse.observation.usage_details") or "null") or {}
        cost = json.loads(attributes.get("langfuse.observation.cost_details") or "null") or {}
        version = attributes.get("langfuse.observation.prompt.version")
        self._store(
            {
                "id": span.span_id.hex(),
                "traceId": span.trace_id.hex(),
                "parentObservationId": span.parent_span_id.hex() or None,
                "startTime": iso(start),
                "endTime": iso(end),
                "type": "GENERATION",
                "name": span.name,
                "input": attributes.get("langfuse.observation.input"),
                "output": attributes.get("langfuse.observation.output"),
                "metadata": stored_metadata(metadata),
                "promptName": attributes.get("langfuse.observation.prompt.name"),
                "promptVersion": int(version) if version is not None else None,
                "latency": (end - start).total_seconds(),
                "totalCost": cost.get("total"),
                "usageDetails": {k: int(v) for k, v in usage.items()},
                "costDetails": cost or None,
            }
        )

    def from_score_body(self, body: dict[str, Any]) -> None:
        """A score created through ``POST /api/public/scores`` (numeric, boolean or categorical)."""
        if body.get("traceId") and body.get("name") is not None and body.get("value") is not None:
            self.add_score(
                body["name"],
                body["value"],
                trace_id=body["traceId"],
                observation_id=body.get("observationId"),
                data_type=body.get("dataType"),
            )

    # -- reads -------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/public/v2/observations", self._observations)
        app.router.add_get("/api/public/v3/scores", self._scores)

    def _undocumented(self, request: web.Request, path: str) -> web.Response | None:
        """A 400 for a query parameter the API document does not list for ``path``: a client of the
        double uses only documented parameters (a misspelt one would be silently ignored by Langfuse)."""
        unknown = sorted(set(request.query) - documented_parameters(path))
        return self._bad(f"undocumented query parameter(s): {', '.join(unknown)}") if unknown else None

    def _injected(self) -> web.Response | None:
        with self._lock:
            if self.fail_reads:
                status = self.fail_reads.pop(0)
                return web.json_response({"message": "injected failure", "error": "Error"}, status=status)
        return None

    @staticmethod
    def _bad(message: str) -> web.Response:
        return web.json_response({"message": message, "error": "InvalidRequestError"}, status=400)

    def _select(self, query: Any) -> list[Callable[[dict[str, Any]], bool]]:
        if query.get("filter"):
            try:
                conditions = json.loads(query["filter"])
            except ValueError:
                raise BadRequest("filter is not valid JSON") from None
            if not isinstance(conditions, list):
                raise BadRequest("filter must be a JSON array")
            return [_condition(c) for c in conditions]
        predicates: list[Callable[[dict[str, Any]], bool]] = []
        for param, field in (("name", "name"), ("type", "type"), ("traceId", "traceId"), ("level", "level")):
            if query.get(param):
                predicates.append(lambda o, f=field, v=query[param]: o.get(f) == v)
        if query.get("fromStartTime"):
            since = _parse_time(query["fromStartTime"])
            predicates.append(lambda o: _parse_time(o["startTime"]) >= since)
        if query.get("toStartTime"):
            until = _parse_time(query["toStartTime"])
            predicates.append(lambda o: _parse_time(o["startTime"]) < until)
        return predicates

    async def _observations(self, request: web.Request) -> web.Response:
        if (refused := self._undocumented(request, "/api/public/v2/observations")) is not None:
            return refused
        if (injected := self._injected()) is not None:
            return injected
        query = request.query
        if query.get("parseIoAsJson") == "true":
            return self._bad("parseIoAsJson is deprecated: input/output are always returned as raw strings")
        groups = [g.strip() for g in (query.get("fields") or "core,basic").split(",") if g.strip()]
        unknown = [g for g in groups if g not in FIELD_GROUPS]
        if unknown:
            return self._bad(f"Invalid field group(s): {', '.join(unknown)}")
        limit = int(query.get("limit") or 50)
        if not 1 <= limit <= 1000:
            return self._bad("limit must be between 1 and 1000")
        offset = _offset(query.get("cursor"))
        if offset is None:
            return self._bad("Invalid cursor")
        expanded = {k.strip() for k in (query.get("expandMetadata") or "").split(",") if k.strip()}
        try:
            predicates = self._select(query)
        except BadRequest as exc:
            return self._bad(str(exc))
        with self._lock:
            matching = [o for o in self.observations if all(p(o) for p in predicates)]
        matching.sort(key=lambda o: (o["startTime"], o["id"]), reverse=True)
        chunk = matching[offset : offset + limit]
        fields = {f for group in ("core", *groups) for f in FIELD_GROUPS[group]} | set(ALWAYS)
        data = []
        for observation in chunk:
            shown = {k: v for k, v in observation.items() if k in fields}
            if "metadata" in shown and shown["metadata"] is not None:
                shown["metadata"] = {
                    k: v if k in expanded or len(v) <= METADATA_PREVIEW else v[:METADATA_PREVIEW] + "..."
                    for k, v in shown["metadata"].items()
                }
            data.append(shown)
        more = offset + limit < len(matching)
        return self._respond(
            "ObservationsV2Response", {"data": data, "meta": {"cursor": _cursor(offset + limit) if more else None}}
        )

    async def _scores(self, request: web.Request) -> web.Response:
        if (refused := self._undocumented(request, "/api/public/v3/scores")) is not None:
            return refused
        if (injected := self._injected()) is not None:
            return injected
        query = request.query
        limit = int(query.get("limit") or 50)
        if not 1 <= limit <= 100:
            return self._bad("limit must be between 1 and 100")
        groups = {g.strip() for g in (query.get("fields") or "").split(",") if g.strip()}
        if groups - SCORE_FIELD_GROUPS:
            return self._bad(f"Unknown field group(s): {', '.join(sorted(groups - SCORE_FIELD_GROUPS))}")
        if query.get("observationId") and not query.get("traceId"):
            return self._bad("observationId requires traceId")
        offset = _offset(query.get("cursor"))
        if offset is None:
            return self._bad("Invalid cursor")

        def listed(param: str) -> set[str] | None:
            return {v for v in query[param].split(",") if v} if query.get(param) else None

        names, traces, observations = listed("name"), listed("traceId"), listed("observationId")
        with self._lock:
            matching = [
                s
                for s in self.score_rows
                if (names is None or s["name"] in names)
                and (traces is None or s["traceId"] in traces)
                and (observations is None or s["observationId"] in observations)
            ]
        chunk = matching[offset : offset + limit]
        data = []
        for score in chunk:
            shown = {k: v for k, v in score.items() if k not in ("traceId", "observationId")}
            if "subject" in groups:
                shown["subject"] = (
                    {"kind": "observation", "id": score["observationId"], "traceId": score["traceId"]}
                    if score["observationId"]
                    else {"kind": "trace", "id": score["traceId"]}
                )
            if "details" in groups:
                shown.update({"comment": None, "configId": None, "metadata": None})
            data.append(shown)
        meta: dict[str, Any] = {"limit": limit}
        if offset + limit < len(matching):
            meta["cursor"] = _cursor(offset + limit)
        return self._respond("GetScoresV3Response", {"data": data, "meta": meta})
