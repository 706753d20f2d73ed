"""Usage rows from Langfuse: the model calls traced there (also by applications that bypassed the
gateway and promptship's store), read through the public observations API (``GET
/api/public/v2/observations``, cursor pagination, field groups), so ``promptship usage --source
langfuse`` builds the same report as from the store.

Each ``GENERATION`` and ``EMBEDDING`` observation is one row (``source`` ``langfuse``): tokens from
``usageDetails`` (``input``/``output``, or ``prompt_tokens``/``completion_tokens``), cost
``totalCost``, latency from promptship's metadata (``latency_ms``, end to end) or else Langfuse's
``latency``, attempts from the metadata (else 1), the project from the metadata (else the
observation's ``environment``), the served label from the metadata's ``prompt_label`` (promptship's SDK
records it), outcome ``error`` for level ``ERROR``. Pure: the pages are read by the one Langfuse
reader (``TraceReader.observations`` over ``LangfuseStore.read``), whose transient failures are
retried as ``llm/retry.py`` decides; persistent ones are :class:`~promptship.errors.SyncError` (E820).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .usage import OK, UsageRow

#: The observation types that are model calls.
TYPES = ("GENERATION", "EMBEDDING")
FIELD_GROUPS = "core,basic,usage,model,prompt,metrics,metadata"
#: Observations asked for a page.
PAGE = 500


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


def langfuse_rows(pages: Iterable[Sequence[Mapping[str, Any]]], *, project: str | None = None) -> Iterator[UsageRow]:
    """The usage rows of ``pages`` of observations (each a JSON object as the API answers it, camelCase
    keys), only ``project``'s when given. An observation without a readable time or version is skipped:
    it is not a call this report can place. The pages come from the one Langfuse reader
    (``publish.pull.reader.TraceReader.observations``, retries as ``llm/retry.py`` decides); this
    module does no I/O."""
    for page in pages:
        for observation in page:
            try:
                row = row_of(observation)
            except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
                continue
            if project is None or row.project == project:
                yield row
