"""The gateway's access log: one JSON object per request, written when its answer has been sent
(for a stream, after the last event), so tokens, cost and attempts of streamed calls are in it.

Fields: ``ts`` (UTC, ISO 8601), ``method``, ``path``, ``status``, ``latency_ms`` (until the last
byte), and what the handlers learnt (:data:`FIELDS`): project, alias, the served prompt's name, version and
label, deployment, fallback, tokens,
cost, attempts, stream, replayed, error code. Never message text, parameters, keys or headers.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

#: What handlers may record about a request (``request.state.access[name] = value``).
FIELDS = (
    "project",
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
)

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
