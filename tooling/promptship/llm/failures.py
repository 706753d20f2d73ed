"""What a failed model call says (pure): a vendor's exception → :class:`Failure` (the outcome the run
artifact records) and its :class:`~promptship.llm.retry.ErrorClass` for the retry decision.

Content-filter refusals are recognised from each vendor's error body, whatever exception class
LiteLLM chose for them (an OpenAI-compatible 400 ``content_policy_violation`` is a BadRequestError).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from ..files.schema.run import Attempt
from .retry import ErrorClass

#: Substrings by which vendors' content-filter refusals are recognised in error bodies.
CONTENT_FILTER_MARKERS = (
    "content_filter",  # Azure OpenAI (error code and finish_reason)
    "responsibleaipolicyviolation",  # Azure OpenAI inner error
    "content_policy_violation",  # OpenAI
    "prohibited_content",  # Gemini block reason
    "blocked due to safety",  # Gemini finish reason SAFETY, as LiteLLM words it
    "finishreason.safety",
    '"finish_reason": "safety"',
)

#: How vendors word a request longer than the model's context window (OpenAI sends the code
#: ``context_length_exceeded``; Anthropic, Gemini and others only say it in the message).
CONTEXT_LENGTH_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "input is too long",
    "too many tokens",
)

#: The retry decision's view of each attempt outcome; anything else is transient.
ERROR_CLASSES = {
    "content_filter": ErrorClass.REFUSED,
    "refusal": ErrorClass.REFUSED,
    "auth": ErrorClass.DENIED,
    "bad_request": ErrorClass.INVALID,
}


@dataclass(frozen=True)
class Failure:
    """A failed attempt: ``outcome`` as the run artifact records it, HTTP ``status``, Retry-After (s)."""

    outcome: str
    status: int | None
    retry_after_s: float | None
    message: str
    #: The vendor's error code (``context_length_exceeded``, ``rate_limit_exceeded`` ...), when it gave one.
    code: str | None = None
    #: The vendor's own error message, unshortened (may hold secrets: scrub before showing it).
    detail: str | None = None
    #: For ``refusal``: the refused answer itself (a 200 with ``message.refusal``), returned to the caller
    #: when no content-policy fallback answers instead.
    refused: Any = None

    @property
    def error_class(self) -> ErrorClass:
        return ERROR_CLASSES.get(self.outcome, ErrorClass.TRANSIENT)

    def attempt(self, alias: str, deployment: str | None, started: float) -> Attempt:
        """The failed attempt as the run artifact records it (``started``: a perf_counter value)."""
        return Attempt(
            alias=alias,
            deployment=deployment,
            outcome=self.outcome,  # type: ignore[arg-type]
            status=self.status,
            latency_ms=elapsed_ms(started),
            retry_after_s=self.retry_after_s,
            error=self.message[:200],
        )


def classify(exc: BaseException) -> Failure:
    """Map a LiteLLM/OpenAI/direct-HTTP exception to an attempt outcome."""
    status = getattr(exc, "status_code", None)
    message = str(exc)
    lowered = " ".join([message, str(getattr(exc, "body", "") or ""), _response_text(exc)]).lower()
    retry_after = _retry_after(exc)
    name = type(exc).__name__
    code, detail = vendor_error(exc)
    if code is None and any(marker in lowered for marker in CONTEXT_LENGTH_MARKERS):
        code = "context_length_exceeded"
    if any(marker in lowered for marker in CONTENT_FILTER_MARKERS) or name == "ContentPolicyViolationError":
        return Failure("content_filter", status, None, _short(message))
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or name in ("Timeout", "APITimeoutError"):
        return Failure("timeout", status or 408, None, "timed out")
    if name == "RouterRateLimitError" or "no deployments available" in lowered:
        return Failure("unavailable", None, retry_after, _short(message))
    if status == 429 or name == "RateLimitError":
        return Failure("rate_limited", status or 429, retry_after, _short(message), code, detail)
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return Failure("auth", status, None, _short(message), code, detail)
    if name in ("APIConnectionError",) and status in (None, 500):
        return Failure("connection", status, None, _short(message))
    if status is not None and status >= 500:
        return Failure("server_error", status, retry_after, _short(message), code, detail)
    if status is not None and 400 <= status < 500:
        return Failure("bad_request", status, None, _short(message), code, detail)
    return Failure("error", status, None, _short(message), code, detail)


def vendor_error(exc: BaseException) -> tuple[str | None, str | None]:
    """The vendor's own error ``code`` and ``message`` from an OpenAI-style body (``{"error": {...}}``),
    read from the exception's parsed body or its raw response text; (None, None) when absent."""
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        try:
            body = json.loads(_response_text(exc) or "null")
        except ValueError:
            body = None
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (str(code) if isinstance(code, str) and code else None), (message if isinstance(message, str) else None)


def _response_text(exc: BaseException) -> str:
    """The raw error body: vendors put the content-filter code there, not always in the message."""
    response = getattr(exc, "response", None)
    try:
        return str(getattr(response, "text", "") or "")[:4000]
    except Exception:  # noqa: BLE001 - an unread streaming body, for instance
        return ""


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "headers", None) or {}
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a perf_counter value), rounded to 0.01."""
    return round((time.perf_counter() - started) * 1000, 2)
