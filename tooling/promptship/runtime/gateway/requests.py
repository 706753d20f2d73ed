"""Request bodies of the gateway's endpoints, validated before anything else happens.

A body that is not JSON, not an object, or has a field of the wrong type is a 400 naming the field
(``param``), never a crash. Message contents are checked further by the PII guard, which fails
closed on anything it cannot read.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import GatewayError

#: OpenAI chat parameters forwarded to the model (both routing paths accept them). ``user`` is not
#: among them: an end-user identifier is personal data the PII guard does not read.
PASSTHROUGH_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
)
#: OpenAI parameters whose answers this gateway cannot return (it returns one text choice).
UNSUPPORTED_PARAMS = ("tools", "tool_choice", "functions", "function_call", "logprobs", "audio", "modalities")

M = TypeVar("M", bound=BaseModel)
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; unknown OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1, description="one choice per request")

    def params(self) -> dict[str, Any]:
        extra = self.model_extra or {}
        unsupported = [name for name in UNSUPPORTED_PARAMS if extra.get(name) is not None]
        if unsupported:
            raise GatewayError(
                400,
                f"'{unsupported[0]}' is not supported by this gateway (it returns one text answer)",
                code="unsupported_parameter",
                param=unsupported[0],
            )
        return {name: extra[name] for name in PASSTHROUGH_PARAMS if extra.get(name) is not None}

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_unset=True) for m in self.messages]


class ManagedRequest(BaseModel):
    """``POST /v1/prompts/{name}/completions``."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict)
    label: str = "production"


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise GatewayError(400, "the request body must be a JSON object", code="invalid_json")
    return payload


def validated(payload: dict[str, Any], model: type[M]) -> M:
    """``payload`` as ``model``, or a 400 naming the first wrong field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        param = ".".join(str(part) for part in error["loc"]) or None
        problem = "is required" if error["type"] == "missing" else error["msg"][:1].lower() + error["msg"][1:]
        raise GatewayError(400, f"'{param}' {problem}", code="invalid_request", param=param) from None
