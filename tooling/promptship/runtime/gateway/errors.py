"""Every gateway error in OpenAI's error format: ``{"error": {"message", "type", "param", "code"}}``.

The official clients turn these into their usual exceptions (``BadRequestError``, ``RateLimitError``…).
Library errors are mapped once here; an unexpected exception becomes a generic 500 whose details go
only to the server log.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ...errors import Category, ModelCallFailed, PromptshipError
from ...files.secrets import scrub

logger = logging.getLogger("promptship.runtime.gateway")


class GatewayError(Exception):
    """An error answer: HTTP status plus OpenAI's ``type``, ``code`` and ``param``."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param
        #: Response headers (Retry-After, x-should-retry, x-promptship-attempts).
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


#: HTTP status of each error category (the only place that picks it). A configuration error (a
#: credential the operator did not set) is the gateway's fault, never the client's: 500.
STATUS: dict[Category, int] = {
    Category.USER_INPUT: 400,
    Category.CONFIGURATION: 500,
    Category.PROVIDER: 502,
    Category.PUBLISHING: 502,
    Category.INTERNAL: 500,
}

#: OpenAI ``type`` of an answer by status class.
_KINDS = {4: "invalid_request_error", 5: "api_error"}

#: Library codes with their own OpenAI code (and status, where it is not the category's).
_OPENAI_CODES: dict[str, tuple[str, int | None, str | None]] = {
    "E602": ("pii_blocked", None, "messages"),
    "E605": ("invalid_message", None, "messages"),
    "E830": ("prompt_not_found", 404, None),
}


#: HTTP status, OpenAI type and code of a failed model call, by the last attempt's outcome. A
#: timeout is the gateway's upstream timing out (504); an auth failure is the gateway's own
#: vendor credential (502), never the client's key.
_MODEL_FAILURES: dict[str, tuple[int, str, str]] = {
    "rate_limited": (429, "rate_limit_error", "rate_limit_exceeded"),
    "unavailable": (429, "rate_limit_error", "rate_limit_exceeded"),
    "timeout": (504, "api_error", "timeout"),
    "content_filter": (400, "invalid_request_error", "content_filter"),
    "bad_request": (400, "invalid_request_error", "bad_request"),
}


def model_call_failed(exc: ModelCallFailed, alias: str | None, secrets: tuple[str, ...] = ()) -> GatewayError:
    """The answer for a call whose every attempt failed, faithful to the last vendor answer: 429
    with Retry-After, 504 for a timeout, 400 ``context_length_exceeded`` (param ``messages``) or
    the vendor's own 400 code, else 502; the vendor's message kept with secrets scrubbed.

    The gateway has already applied the routing policy's retries and fallbacks, so the answer says
    ``x-should-retry: false`` (the openai SDKs honour it) and how many upstream attempts it made.
    """
    status, kind, code = _MODEL_FAILURES.get(exc.kind, (STATUS[exc.category], "api_error", exc.kind))
    param = None
    if exc.kind == "bad_request":
        code = exc.vendor_code or code
        param = "messages" if code == "context_length_exceeded" else None
    detail = scrub(exc.vendor_message, secrets) if exc.vendor_message else None
    message = f"all deployments of '{alias or '?'}' failed: {exc.kind}" + (f": {detail}" if detail else "")
    headers = {"x-should-retry": "false", "x-promptship-attempts": str(len(exc.attempts))}
    if status == 429:
        headers["retry-after"] = str(max(1, math.ceil(exc.retry_after_s or 1)))
    return GatewayError(status, message, kind, code, param, headers)


def from_library(exc: PromptshipError, alias: str | None = None, secrets: tuple[str, ...] = ()) -> GatewayError:
    """The answer for an error raised by the SDK, the PII guard or the router: status by category.

    A model call refused by every vendor for the request itself (content filter, malformed request)
    is the client's fault: 400 (see :func:`model_call_failed`). A configuration error's message
    (which names environment variables) goes only to the log.
    """
    if isinstance(exc, ModelCallFailed):
        return model_call_failed(exc, alias, secrets)
    code, override, param = _OPENAI_CODES.get(exc.code, (exc.code, None, None))
    status = override or STATUS[exc.category]
    if exc.category in (Category.CONFIGURATION, Category.INTERNAL):
        logger.error("gateway misconfigured: %s", exc.format())
        message = f"the gateway is not configured correctly ({exc.code}); the details are in its log"
        return GatewayError(status, message, "server_error", code)
    return GatewayError(status, exc.message, _KINDS[status // 100], code, param)


def interrupted(exc: PromptshipError, alias: str) -> GatewayError:
    """The ``error`` event of a stream that broke after its first piece: the answer is incomplete."""
    if isinstance(exc, ModelCallFailed):
        message = f"the stream from '{alias}' broke before the model finished ({exc.kind}); the answer is incomplete"
        return GatewayError(502, message, "api_error", "stream_interrupted")
    return from_library(exc, alias)


def unexpected(exc: BaseException, method: str, path: str) -> GatewayError:
    """A generic 500; the exception (type, message, traceback, no request data) goes to the log."""
    logger.error("unexpected error on %s %s", method, path, exc_info=exc)
    return GatewayError(
        500, "the gateway failed unexpectedly; the details are in its log", "server_error", "internal_error"
    )
