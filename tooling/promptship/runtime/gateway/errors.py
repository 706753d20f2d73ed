"""Every gateway error in OpenAI's error format: ``{"error": {"message", "type", "param", "code"}}``.

The official clients turn these into their usual exceptions (``BadRequestError``, ``RateLimitError``…).
Library errors are mapped once here; an unexpected exception becomes a generic 500 whose details go
only to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from ...errors import PromptshipError
from ...llm.routing import ModelCallFailed
from ...pii.policy import MalformedMessageError, PiiBlockedError

logger = logging.getLogger("promptship.runtime.gateway")

#: ModelCallFailed kinds that are the request's fault: the same answer on every vendor.
CLIENT_FAILURES = ("content_filter", "bad_request")


class GatewayError(Exception):
    """An error answer: HTTP status plus OpenAI's ``type``, ``code`` and ``param``."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def from_library(exc: PromptshipError, alias: str | None = None) -> GatewayError:
    """The answer for an error raised by the SDK, the PII guard or the router."""
    if isinstance(exc, PiiBlockedError):
        return GatewayError(400, exc.message, code="pii_blocked", param="messages")
    if isinstance(exc, MalformedMessageError):
        return GatewayError(400, exc.message, code="invalid_message", param="messages")
    if isinstance(exc, ModelCallFailed):
        status = 400 if exc.kind in CLIENT_FAILURES else 502
        kind = "invalid_request_error" if status == 400 else "api_error"
        return GatewayError(status, f"all deployments of '{alias or '?'}' failed: {exc.kind}", kind, exc.kind)
    if exc.code == "E830":
        return GatewayError(404, exc.message, code="prompt_not_found")
    return GatewayError(400, exc.message, code=exc.code)


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
