"""Usage rows from Langfuse: the model calls traced there (also by applications that bypassed the
gateway and promptship's store), read through the public observations API (``GET
/api/public/v2/observations``, cursor pagination, field groups), so ``promptship usage --source
langfuse`` builds the same report as from the store.

Each ``GENERATION`` and ``EMBEDDING`` observation is one row (``source`` ``langfuse``): tokens from
``usageDetails`` (``input``/``output``, or ``prompt_tokens``/``completion_tokens``), cost
``totalCost``, latency from promptship's metadata (``latency_ms``, end to end) or else Langfuse's
``latency``, attempts from the metadata (else 1), the project from the metadata (else the
observation's ``environment``), the served label from the metadata's ``prompt_label`` (promptship's SDK
records it), outcome ``error`` for level ``ERROR``. Transient failures are
retried as ``llm/retry.py`` decides; persistent ones are :class:`~promptship.errors.SyncError` (E820).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import SyncError
from ..llm.retry import Action, ErrorClass, RetryPolicy, decide
from .usage import OK, UsageRow

#: The observation types that are model calls.
TYPES = ("GENERATION", "EMBEDDING")
FIELD_GROUPS = "core,basic,usage,model,prompt,metrics,metadata"
PAGE = 500
RETRY = RetryPolicy(attempts=4, backoff_base_s=0.5, backoff_cap_s=8.0)

Settings = tuple[str, str, str]  # (host, public key, secret key)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _meta(metadata: Any, name: str) -> Any:
    """A metadata value (Langfuse may return OTel attribute values as JSON text)."""
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _number(value: Any, default: float = 0.0) -> float:
    """``value`` as a finite float, else ``default`` (metadata is free-form: "NaN", "Infinity", "n/a")."""
    try:
        number = float(value) if value is not None else default
    except (TypeError, ValueError, OverflowError):
        return default
    return number if math.isfinite(number) else default


def _text(value: Any) -> str | None:
    """A metadata value that should be a short name: ``None`` unless it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def row_of(observation: Mapping[str, Any]) -> UsageRow:
    """The usage row of one observation (pure)."""
    metadata = observation.get("metadata")
    usage = observation.get("usageDetails") or {}
    cost = observation.get("totalCost")
    if cost is None:
        cost = (observation.get("costDetails") or {}).get("total")
    latency_ms = _meta(metadata, "latency_ms")
    if latency_ms is None:
        latency_ms = _number(observation.get("latency")) * 1000
    model = observation.get("providedModelName")
    version = observation.get("promptVersion")
    ended = observation.get("endTime") or observation["startTime"]
    return UsageRow(
        ts=_epoch(ended),
        source="langfuse",
        project=str(_meta(metadata, "project") or observation.get("environment") or "default"),
        key_id=None,
        alias=str(_meta(metadata, "alias") or model or "(unknown)"),
        deployment=model,
        prompt=observation.get("promptName"),
        prompt_version=int(version) if version is not None else None,
        prompt_label=_text(_meta(metadata, "prompt_label")),
        input_tokens=int(_number(usage.get("input", usage.get("prompt_tokens")))),
        output_tokens=int(_number(usage.get("output", usage.get("completion_tokens")))),
        cost_usd=_number(cost),
        latency_ms=_number(latency_ms),
        attempts=int(_number(_meta(metadata, "attempts"), 1.0)),
        outcome="error" if observation.get("level") == "ERROR" else OK,
        request_hash=None,
    )


def langfuse_rows(
    settings: Settings,
    *,
    since: float | None,
    until: float | None,
    project: str | None = None,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[UsageRow]:
    """Every model call Langfuse traced between ``since`` and ``until`` (by start time), page by page."""
    import httpx

    host, public_key, secret_key = settings
    http = client or httpx.Client(base_url=host.rstrip("/"), auth=(public_key, secret_key), timeout=30)
    try:
        for kind in TYPES:
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"type": kind, "fields": FIELD_GROUPS, "limit": PAGE}
                if since is not None:
                    params["fromStartTime"] = _iso(since)
                if until is not None:
                    params["toStartTime"] = _iso(until)
                if cursor:
                    params["cursor"] = cursor
                page = _get(http, params, secret_key, sleep)
                for observation in page.get("data") or []:
                    try:
                        row = row_of(observation)
                    except (KeyError, TypeError, ValueError, OverflowError):
                        continue  # no readable time or version: not a call this report can place
                    if project is None or row.project == project:
                        yield row
                cursor = (page.get("meta") or {}).get("cursor")
                if not cursor or not page.get("data"):
                    break
    finally:
        if client is None:
            http.close()


def _get(http: Any, params: dict[str, Any], secret: str, sleep: Callable[[float], None]) -> dict[str, Any]:
    """One page, retried on 5xx, 429 and transport errors (Retry-After honoured)."""
    import httpx

    attempt = 0
    while True:
        attempt += 1
        status: int | None = None
        retry_after: float | None = None
        try:
            response = http.get("/api/public/v2/observations", params=params)
            status = response.status_code
            detail = response.text[:300]
            if status < 400:
                try:
                    body: dict[str, Any] = response.json()
                except ValueError:  # a proxy's HTML page: not Langfuse
                    status, detail = None, f"HTTP {status} that is not JSON: {detail[:80]!r}"
                else:
                    return body
            header = response.headers.get("retry-after")
            retry_after = _number(header, 0.0) if header else None
        except httpx.HTTPError as exc:
            detail = type(exc).__name__
        transient = status is None or status >= 500 or status == 429
        decision = decide(
            RETRY,
            attempt=attempt,
            error=ErrorClass.TRANSIENT if transient else ErrorClass.INVALID,
            retry_after_s=retry_after,
        )
        if decision.action is not Action.RETRY:
            raise SyncError(
                f"reading observations from Langfuse failed ({status or detail}): {detail.replace(secret, '***')}",
                code="E820",
                hint="check LANGFUSE_HOST and the keys (a project's public and secret key); rerun later",
            )
        sleep(decision.wait_s)
