"""The gateway's access log: one JSON object per request, written when its answer has been sent
(for a stream, after the last event), so tokens, cost and attempts of streamed calls are in it.

Fields: ``ts`` (UTC, ISO 8601), ``method``, ``path``, ``status``, ``latency_ms`` (until the last
byte), and what the handlers learnt (:data:`FIELDS`): project, key id (a one-way hash of the key),
alias, deployment, prompt name/version/label, fallback, tokens, cost, attempts, stream, replayed,
error code, outcome and the request's hash. Never message text, parameters, keys or headers.

The same record, for a request that named a model, is the gateway's usage row (:func:`usage_row`):
one place measures a request, whatever endpoint served it.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from ...ops.usage import BLOCKED, BUDGET, OK, UsageRow

#: What handlers may record about a request (``request.state.access[name] = value``).
FIELDS = (
    "project",
    "key_id",
    "alias",
    "prompt",
    "prompt_version",
    "prompt_label",
    "deployment",
    "fallback_used",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "attempts",
    "stream",
    "replayed",
    "error",
    "outcome",
    "request_hash",
)
#: Endpoints whose requests call a model (a usage row each); managed prompts are under ``/v1/prompts/``.
MODEL_PATHS = ("/v1/chat/completions", "/v1/embeddings")
#: Error codes of requests the project's budget refused.
BUDGET_CODES = ("budget_exceeded", "budget_missing")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


class AccessLog:
    """ASGI middleware calling ``write(record)`` once per HTTP request."""

    def __init__(self, app: Any, write: Callable[[dict[str, Any]], None]) -> None:
        self.app = app
        self.write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        access: dict[str, Any] = {}
        scope.setdefault("state", {})["access"] = access
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            record = {
                "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            record.update({name: access[name] for name in FIELDS if name in access})
            self.write(record)


class JsonLines:
    """Writes records as JSON lines to a text stream on its own thread, so a slow or full stream
    (a pipe nobody reads fast enough) never blocks the event loop. :meth:`close` drains it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="promptship-access-log", daemon=True)
        self._thread.start()

    def __call__(self, record: dict[str, Any]) -> None:
        self._queue.put(record)

    def _drain(self) -> None:
        while (record := self._queue.get()) is not None:
            self._stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            if self._queue.empty():
                self._stream.flush()
        self._stream.flush()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)


def outcome(record: dict[str, Any]) -> str:
    """How a request ended: the outcome a handler noted (a failed model call's last attempt, a
    refusal), ``budget``/``blocked`` for those refusals, else the error code, else ``ok``."""
    if record.get("outcome"):
        return str(record["outcome"])
    error = record.get("error")
    if error in BUDGET_CODES:
        return BUDGET
    if error == "pii_blocked":
        return BLOCKED
    if error:
        return str(error)
    return OK if int(record.get("status") or 500) < 400 else f"http_{record.get('status')}"


def usage_row(record: dict[str, Any], ts: float) -> UsageRow | None:
    """The usage row of a finished request (ending at ``ts``, epoch seconds), or ``None`` for one that
    named no model of a known project (a wrong key, a malformed body, ``/v1/models``, probes).

    ``attempts`` is 0 when nothing was sent upstream (a refusal, an idempotent replay).
    """
    path = str(record.get("path") or "")
    if not record.get("project") or not record.get("alias"):
        return None
    if path not in MODEL_PATHS and not path.startswith("/v1/prompts/"):
        return None
    version = record.get("prompt_version")
    return UsageRow(
        ts=ts,
        source="gateway",
        project=str(record["project"]),
        key_id=record.get("key_id"),
        alias=str(record["alias"]),
        deployment=record.get("deployment"),
        prompt=record.get("prompt"),
        prompt_version=int(version) if version is not None else None,
        prompt_label=record.get("prompt_label"),
        input_tokens=int(record.get("prompt_tokens") or 0),
        output_tokens=int(record.get("completion_tokens") or 0),
        cost_usd=float(record.get("cost_usd") or 0.0),
        latency_ms=float(record.get("latency_ms") or 0.0),
        attempts=int(record.get("attempts") or 0),
        outcome=outcome(record),
        request_hash=record.get("request_hash"),
    )
