"""A Langfuse public-API double on loopback that the real ``langfuse`` SDK talks to.

Semantics follow Langfuse's server (see shared/PITFALLS.md): creating a prompt always makes a new
version (latest + 1) even with identical content; a label is held by one version at a time and
setting it elsewhere moves it; ``latest`` is always the newest version and cannot be set; a GET with
no label or version returns ``production``; a prompt's type cannot change; tags are per prompt.
Dataset items are upserted by ``id`` (project-wide unique); status ACTIVE or ARCHIVED.

Traced generations and scores (``/api/public/v2/observations``, ``/api/public/v3/scores``) live in
:mod:`.langfuse_traces`. Every JSON body it returns for a modelled route is validated against the real OpenAPI spec in
the vendored spec in tests/doubles/reference/ (``strict`` mode, on in tests): a mismatch answers 599 with
the validation error, so the SDK call fails loudly instead of the double drifting from Langfuse.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .langfuse_traces import TraceStore
from .openapi_check import OpenApiValidator
from .server import BackgroundServer

LABEL = re.compile(r"^[a-z0-9_\-.]{1,36}$")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Version:
    data: dict[str, Any]


@dataclass
class LangfuseDouble:
    #: Unique per double: the SDK keeps one client per public key for the whole process.
    public_key: str = field(default_factory=lambda: f"pk-lf-test-{uuid.uuid4().hex[:12]}")
    secret_key: str = "sk-lf-test-secret-000000000000"
    strict: bool = True
    prompts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    journal: list[tuple[str, str]] = field(default_factory=list)
    #: Status codes to answer the next write requests with (fault injection), consumed in order.
    fail_writes: list[int] = field(default_factory=list)
    #: Spans received on the OpenTelemetry endpoint: {"name", "trace_id", "attributes"}.
    spans: list[dict[str, Any]] = field(default_factory=list)
    #: Scores received (``POST /api/public/scores``, single or batched).
    scores: list[dict[str, Any]] = field(default_factory=list)
    #: Every write from this 1-based index on fails with 500 (an outage in the middle of an apply).
    fail_from_write: int | None = None
    #: The next create of a version of this prompt takes effect, then the connection drops before any
    #: response (a timeout or a proxy failure after the server committed): the client cannot tell it landed.
    lose_create_response_of: str | None = None
    #: Every label assignment, in the order the server made them: (prompt, label, version).
    label_moves: list[tuple[str, str, int]] = field(default_factory=list)
    #: Seconds every request on the prompts API waits before it is handled (slow servers widen races).
    prompt_latency_s: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server = BackgroundServer(self._routes)
        self._validator = OpenApiValidator()
        self.writes = 0
        #: Generations and scores, read through the v2 observations and v3 scores APIs (see langfuse_traces).
        self.traces = TraceStore(self._respond, self._lock)

    # -- lifecycle and inspection ------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._server.url

    def start(self) -> LangfuseDouble:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def labels(self, name: str) -> dict[str, int]:
        """label → version for one prompt."""
        with self._lock:
            return {label: v["version"] for v in self.prompts.get(name, []) for label in v["labels"]}

    def versions(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self.prompts.get(name, [])]

    def edit_prompt(self, name: str, prompt: Any, label: str = "production") -> int:
        """An out-of-band edit, as in the Langfuse UI: a new version holding ``label``."""
        with self._lock:
            return self.add_version(name, prompt, self.prompts[name][-1]["type"], [label], "edited in the UI")

    def add_version(
        self,
        name: str,
        prompt: Any,
        kind: str = "text",
        labels: list[str] | None = None,
        message: str | None = None,
        config: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> int:
        """A version created by someone else (UI, another tool), as Langfuse would store it."""
        with self._lock:
            body = {
                "name": name,
                "prompt": prompt,
                "type": kind,
                "labels": labels or [],
                "config": config or {},
                "commitMessage": message,
            }
            return self._create(body | ({"tags": tags} if tags is not None else {}))["version"]

    def add_dataset(self, name: str, items: list[dict[str, Any]], description: str | None = None) -> None:
        """A dataset made in Langfuse (UI or another tool): items ``{id, input, expectedOutput?, metadata?, status?}``."""
        with self._lock:
            dataset = {
                "id": f"ds-{len(self.datasets) + 1}",
                "name": name,
                "projectId": "project-1",
                "description": description,
                "metadata": None,
                "createdAt": _now(),
                "updatedAt": _now(),
                "inputSchema": None,
                "expectedOutputSchema": None,
            }
            self.datasets[name] = dataset
            for item in items:
                self.items[item["id"]] = {
                    "createdAt": _now(),
                    "sourceTraceId": None,
                    "sourceObservationId": None,
                    "mediaReferences": [],
                    "status": "ACTIVE",
                    "expectedOutput": None,
                    "metadata": None,
                    **item,
                    "datasetId": dataset["id"],
                    "datasetName": name,
                    "updatedAt": _now(),
                }

    def remove_label(self, name: str, label: str) -> None:
        """Take ``label`` off whichever version holds it, as the Langfuse UI can (the API cannot)."""
        with self._lock:
            for version in self.prompts.get(name, []):
                version["labels"] = [held for held in version["labels"] if held != label]

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, message: str, kind: str) -> web.Response:
        return web.json_response({"message": message, "error": kind}, status=status)

    def _respond(self, schema: str, body: Any, status: int = 200) -> web.Response:
        if self.strict:
            problem = self._validator.problem(schema, body)
            if problem:
                return web.json_response(
                    {"message": f"double violates the OpenAPI spec ({schema}): {problem}", "error": "SpecViolation"},
                    status=599,
                )
        return web.json_response(body, status=status)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        with self._lock:
            self.journal.append((request.method, request.path_qs))
        if not self._authorized(request):
            return self._error(
                401, "Invalid credentials. Confirm that you've configured the correct host.", "UnauthorizedError"
            )
        if request.method in ("POST", "PATCH", "PUT", "DELETE") and not request.path.startswith(
            ("/api/public/ingestion", "/api/public/otel", "/api/public/scores")
        ):
            with self._lock:
                self.writes += 1
                if self.fail_writes:
                    return self._error(self.fail_writes.pop(0), "injected failure", "InternalServerError")
                if self.fail_from_write is not None and self.writes >= self.fail_from_write:
                    return self._error(500, "injected outage", "InternalServerError")
        if self.prompt_latency_s and request.path.startswith("/api/public/v2/prompts"):
            await asyncio.sleep(self.prompt_latency_s)
        return await handler(request)

    def _routes(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        app.router.add_get("/api/public/health", self._health)
        app.router.add_post("/api/public/v2/prompts", self._create_prompt)
        app.router.add_get("/api/public/v2/prompts", self._list_prompts)
        app.router.add_patch(r"/api/public/v2/prompts/{name:.+}/versions/{version:\d+}", self._update_labels)
        app.router.add_get("/api/public/v2/prompts/{name:.+}", self._get_prompt)
        app.router.add_post("/api/public/v2/datasets", self._create_dataset)
        app.router.add_get("/api/public/v2/datasets", self._list_datasets)
        app.router.add_get("/api/public/v2/datasets/{name:.+}", self._get_dataset)
        app.router.add_post("/api/public/dataset-items", self._upsert_item)
        app.router.add_get("/api/public/dataset-items", self._list_items)
        app.router.add_post("/api/public/ingestion", self._ingestion)
        app.router.add_post("/api/public/otel/v1/traces", self._otel)
        app.router.add_post("/api/public/scores", self._scores)
        app.router.add_get("/api/public/projects", self._projects)
        self.traces.routes(app)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "OK", "version": "3.0.0"})

    async def _ingestion(self, request: web.Request) -> web.Response:
        batch = (await request.json()).get("batch", [])
        return web.json_response(
            {"successes": [{"id": e.get("id"), "status": 201} for e in batch], "errors": []}, status=207
        )

    async def _otel(self, request: web.Request) -> web.Response:
        """OTLP/HTTP protobuf, as the v5 SDK exports traces; spans are decoded and kept for tests."""
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        with self._lock:
            for resource in message.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        attributes = {a.key: next(iter(MessageToDict(a.value).values()), None) for a in span.attributes}
                        self.spans.append(
                            {"name": span.name, "trace_id": span.trace_id.hex(), "attributes": attributes}
                        )
                        self.traces.from_span(span, attributes)
        return web.json_response({})

    async def _scores(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            received = body if isinstance(body, list) else [body]
            self.scores.extend(received)
            for score in received:
                self.traces.from_score_body(score)
            return self._respond("CreateScoreResponse", {"id": str(received[-1].get("id") or len(self.scores))})

    async def _projects(self, request: web.Request) -> web.Response:
        return self._respond(
            "Projects",
            {
                "data": [
                    {
                        "id": "project-1",
                        "name": "promptship-tests",
                        "organization": {"id": "org-1", "name": "tests"},
                        "metadata": {},
                    }
                ]
            },
        )

    # -- prompts -------------------------------------------------------------------------------------
    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["name"]
        versions = self.prompts.setdefault(name, [])
        labels = [label for label in dict.fromkeys(body.get("labels") or []) if label != "latest"]
        for version in versions:
            version["labels"] = [label for label in version["labels"] if label not in labels and label != "latest"]
        tags = body.get("tags")
        if tags is not None:
            for version in versions:
                version["tags"] = list(tags)
        new = {
            "name": name,
            "version": len(versions) + 1,
            "type": body.get("type") or "text",
            "prompt": body["prompt"],
            "config": body.get("config") or {},
            "labels": [*labels, "latest"],
            "tags": list(tags) if tags is not None else (versions[-1]["tags"] if versions else []),
            "commitMessage": body.get("commitMessage"),
            "createdAt": _now(),
        }
        versions.append(new)
        self.label_moves.extend((name, label, new["version"]) for label in labels)
        return new

    @staticmethod
    def _public(version: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in version.items() if k != "createdAt"}

    async def _create_prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            name = str(body.get("name", ""))
            if not name or "|" in name:
                return self._error(400, "Prompt name cannot contain '|'", "InvalidRequestError")
            labels = body.get("labels") or []
            bad = [label for label in labels if not LABEL.match(label)]
            if bad or "latest" in labels:
                return self._error(400, f"Invalid label(s): {bad or ['latest']}", "InvalidRequestError")
            if len(body.get("commitMessage") or "") > 500:
                return self._error(400, "Commit message is too long", "InvalidRequestError")
            kind = body.get("type") or "text"
            existing = self.prompts.get(name)
            if existing and existing[-1]["type"] != kind:
                return self._error(
                    400,
                    f"Previous versions have different prompt type. Create a new prompt with a "
                    f"different name. Previous type: {existing[-1]['type']}, new type: {kind}",
                    "InvalidRequestError",
                )
            created = self._create(body)
            lose = self.lose_create_response_of == name
            if lose:
                self.lose_create_response_of = None
        if lose and request.transport is not None:
            request.transport.abort()
            raise ConnectionResetError("injected: the response was lost after the version was created")
        return self._respond("Prompt", self._public(created), status=201)

    async def _get_prompt(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        version_arg, label = request.query.get("version"), request.query.get("label")
        with self._lock:
            versions = self.prompts.get(name, [])
            if version_arg is not None:
                found = next((v for v in versions if v["version"] == int(version_arg)), None)
                missing = f"Prompt not found: '{name}' with version {version_arg}"
            else:
                label = label or "production"
                found = next((v for v in versions if label in v["labels"]), None)
                missing = f"Prompt not found: '{name}' with label '{label}'"
            if found is None:
                return self._error(404, missing, "LangfuseNotFoundError")
            return self._respond("Prompt", self._public(found))

    async def _list_prompts(self, request: web.Request) -> web.Response:
        name = request.query.get("name")
        page, limit = int(request.query.get("page", 1)), int(request.query.get("limit", 50))
        with self._lock:
            metas = [
                {
                    "name": n,
                    "type": vs[-1]["type"],
                    "versions": [v["version"] for v in vs],
                    "labels": sorted({label for v in vs for label in v["labels"]}),
                    "tags": vs[-1]["tags"],
                    "lastUpdatedAt": vs[-1]["createdAt"],
                    "lastConfig": vs[-1]["config"],
                }
                for n, vs in sorted(self.prompts.items())
                if vs and (name is None or n == name)
            ]
        chunk = metas[(page - 1) * limit : page * limit]
        meta = {"page": page, "limit": limit, "totalItems": len(metas), "totalPages": -(-len(metas) // limit)}
        return self._respond("PromptMetaListResponse", {"data": chunk, "meta": meta})

    async def _update_labels(self, request: web.Request) -> web.Response:
        name, number = request.match_info["name"], int(request.match_info["version"])
        labels = (await request.json()).get("newLabels") or []
        with self._lock:
            versions = self.prompts.get(name, [])
            target = next((v for v in versions if v["version"] == number), None)
            if target is None:
                return self._error(404, f"Prompt not found: '{name}' with version {number}", "LangfuseNotFoundError")
            if "latest" in labels or any(not LABEL.match(label) for label in labels):
                return self._error(400, "Invalid labels", "InvalidRequestError")
            for version in versions:
                if version is not target:
                    version["labels"] = [label for label in version["labels"] if label not in labels]
            target["labels"] = list(dict.fromkeys([*target["labels"], *labels]))
            self.label_moves.extend((name, label, number) for label in labels)
            return self._respond("Prompt", self._public(target))

    # -- datasets --------------------------------------------------------------------------------------
    async def _create_dataset(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            dataset = self.datasets.get(body["name"]) or {
                "id": f"ds-{len(self.datasets) + 1}",
                "name": body["name"],
                "projectId": "project-1",
                "createdAt": _now(),
                "inputSchema": None,
                "expectedOutputSchema": None,
            }
            dataset.update(
                {"description": body.get("description"), "metadata": body.get("metadata"), "updatedAt": _now()}
            )
            self.datasets[body["name"]] = dataset
            return self._respond("Dataset", dataset)

    async def _list_datasets(self, request: web.Request) -> web.Response:
        page, limit = int(request.query.get("page", 1)), int(request.query.get("limit", 50))
        with self._lock:
            everything = [self.datasets[n] for n in sorted(self.datasets)]
        chunk = everything[(page - 1) * limit : page * limit]
        meta = {"page": page, "limit": limit, "totalItems": len(everything), "totalPages": -(-len(everything) // limit)}
        return self._respond("PaginatedDatasets", {"data": chunk, "meta": meta})

    async def _get_dataset(self, request: web.Request) -> web.Response:
        with self._lock:
            dataset = self.datasets.get(request.match_info["name"])
            if dataset is None:
                return self._error(404, "Dataset not found", "LangfuseNotFoundError")
            return self._respond("Dataset", dataset)

    async def _upsert_item(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            dataset = self.datasets.get(body.get("datasetName", ""))
            if dataset is None:
                return self._error(404, "Dataset not found", "LangfuseNotFoundError")
            item_id = body.get("id") or f"item-{len(self.items) + 1}"
            existing = self.items.get(item_id)
            if existing and existing["datasetId"] != dataset["id"]:
                return self._error(409, "Dataset item id already exists in another dataset", "ConflictError")
            item = existing or {
                "id": item_id,
                "createdAt": _now(),
                "sourceTraceId": None,
                "sourceObservationId": None,
                "mediaReferences": [],
            }
            item.update(
                {
                    "status": body.get("status") or "ACTIVE",
                    "input": body.get("input"),
                    "expectedOutput": body.get("expectedOutput"),
                    "metadata": body.get("metadata"),
                    "datasetId": dataset["id"],
                    "datasetName": dataset["name"],
                    "updatedAt": _now(),
                }
            )
            self.items[item_id] = item
            return self._respond("DatasetItem", item)

    async def _list_items(self, request: web.Request) -> web.Response:
        name = request.query.get("datasetName")
        page, limit = int(request.query.get("page", 1)), int(request.query.get("limit", 50))
        with self._lock:
            matching = [i for i in self.items.values() if name is None or i["datasetName"] == name]
        chunk = matching[(page - 1) * limit : page * limit]
        meta = {"page": page, "limit": limit, "totalItems": len(matching), "totalPages": -(-len(matching) // limit)}
        return self._respond("PaginatedDatasetItems", {"data": chunk, "meta": meta})


@contextmanager
def running_langfuse_double() -> Iterator[LangfuseDouble]:
    double = LangfuseDouble().start()
    try:
        yield double
    finally:
        double.stop()
