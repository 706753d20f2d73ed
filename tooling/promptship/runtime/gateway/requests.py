"""Request bodies of the gateway's endpoints, validated before anything else happens.

A body that is not JSON, not an object, or has a field of the wrong type is a 400 naming the field
(``param``), never a crash. Message contents are checked further by the PII guard, which fails
closed on anything it cannot read.

No parameter is dropped silently: every parameter of OpenAI's ``CreateChatCompletionRequest``
(openai/openai-openapi at the commit named in ``tests/doubles/reference/README.md``) is either
forwarded to the model (:data:`FORWARDED_PARAMS`), handled by the gateway itself (``model``,
``messages``, ``stream``, ``stream_options``, ``n``), pseudonymised (``user``,
``safety_identifier``), or refused with a 400 naming it (:data:`REFUSED_PARAMS`); a name OpenAI
does not document is refused as OpenAI refuses it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError

from ...files.schema.prompt import LABEL
from .errors import GatewayError

Number = StrictInt | StrictFloat

#: OpenAI chat parameters forwarded to the model as they are (both routing paths send them).
FORWARDED_PARAMS = (
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
    "logprobs",
    "top_logprobs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "reasoning_effort",
    "service_tier",
    "metadata",
    "store",
    "prediction",
    "verbosity",
    "prompt_cache_key",
    "prompt_cache_retention",
    "prompt_cache_options",
    "web_search_options",
    "moderation",
)
#: Options that mean something only with a non-empty ``tools`` list.
TOOL_OPTIONS = ("tools", "tool_choice", "parallel_tool_calls")
#: End-user identifiers: personal data the vendor only needs to tell users apart, so they are
#: forwarded as a keyed pseudonym (sha256 of project and value), never as sent.
PSEUDONYMISED_PARAMS = ("user", "safety_identifier")
#: OpenAI parameters whose answers this gateway cannot return, with the reason given in the 400.
REFUSED_PARAMS = {
    "audio": "audio answers are not returned by this gateway",
    "modalities": "only the text modality is served by this gateway",
}

M = TypeVar("M", bound=BaseModel)
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool | None = None


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: OpenAI's documented parameters with their JSON types (a
    wrong type is a 400 naming the parameter); an undocumented name is refused."""

    model_config = ConfigDict(extra="forbid")

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    n: StrictInt | None = Field(default=1, ge=1, le=1, description="one choice per request")
    temperature: Number | None = Field(default=None, ge=0, le=2)
    top_p: Number | None = Field(default=None, ge=0, le=1)
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: StrictInt | None = None
    response_format: dict[str, Any] | None = None
    presence_penalty: Number | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: Number | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, StrictInt] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    reasoning_effort: str | None = None
    service_tier: str | None = None
    metadata: dict[str, str] | None = None
    store: StrictBool | None = None
    prediction: dict[str, Any] | None = None
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    moderation: dict[str, Any] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None

    @property
    def streamed(self) -> bool:
        return bool(self.stream)

    @property
    def include_usage(self) -> bool:
        """OpenAI sends a final usage-only chunk (``choices: []``) only when the request asks for it."""
        return bool(self.stream_options and self.stream_options.include_usage)

    def params(self, project: str) -> dict[str, Any]:
        """The parameters sent to the model; raises a 400 for one this gateway cannot honour."""
        for name, reason in REFUSED_PARAMS.items():
            value = getattr(self, name)
            if value is None or (name == "modalities" and value == ["text"]):
                continue
            raise GatewayError(400, f"'{name}' is not supported: {reason}", code="unsupported_parameter", param=name)
        params = {name: getattr(self, name) for name in FORWARDED_PARAMS if getattr(self, name) is not None}
        if not params.get("tools"):
            # No tools: `tools: []` and a tool_choice or parallel_tool_calls without tools change
            # nothing, and OpenAI refuses them (an empty list, a tool option without tools).
            for name in TOOL_OPTIONS:
                params.pop(name, None)
        for name in PSEUDONYMISED_PARAMS:
            value = getattr(self, name)
            if value is not None:
                params[name] = pseudonym(project, value)
        return params

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_unset=True) for m in self.messages]


def pseudonym(project: str, value: str) -> str:
    """A stable stand-in for an end-user identifier (64 characters at most, as OpenAI allows)."""
    return "ps-" + hashlib.sha256(f"{project}\0{value}".encode()).hexdigest()[:40]


class EmbeddingRequest(BaseModel):
    """``POST /v1/embeddings`` (OpenAI's ``CreateEmbeddingRequest``). Token-id inputs are refused:
    the PII guard reads text, and cannot tell what token ids say."""

    model_config = ConfigDict(extra="forbid")

    model: str
    input: str | list[str] | list[StrictInt] | list[list[StrictInt]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: StrictInt | None = Field(default=None, ge=1)
    user: str | None = None

    def texts(self) -> list[str]:
        """The inputs as texts, or a 400 (token ids, an empty list or an empty text)."""
        texts = [self.input] if isinstance(self.input, str) else self.input
        if not texts or not all(isinstance(text, str) for text in texts):
            problem = "must not be empty" if not texts else "as token ids is not supported (the PII guard reads text)"
            raise GatewayError(400, f"'input' {problem}", code="invalid_request", param="input")
        if any(not text for text in texts):
            raise GatewayError(400, "'input' must not contain an empty string", code="invalid_request", param="input")
        return [str(text) for text in texts]

    def params(self, project: str) -> dict[str, Any]:
        """Parameters sent to the model (vectors are always fetched as floats; base64 is ours)."""
        params: dict[str, Any] = {}
        if self.dimensions is not None:
            params["dimensions"] = self.dimensions
        if self.user is not None:
            params["user"] = pseudonym(project, self.user)
        return params


class ManagedRequest(BaseModel):
    """``POST /v1/prompts/{name}/completions``."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict)
    #: A label to serve; none: the prompt's traffic split chooses (else ``production``). Langfuse's label
    #: syntax, so a client's text never reaches the access log, the usage rows or a Langfuse query.
    label: Annotated[str, Field(pattern=LABEL)] | None = None
    #: The end user, as in OpenAI's requests: the split key when no ``x-promptship-split-key`` header is
    #: sent. Only hashed for the split; never sent to the model, logged or traced.
    user: str | None = None


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise GatewayError(400, "the request body must be a JSON object", code="invalid_json")
    return payload


def _param_name(loc: tuple[int | str, ...]) -> str | None:
    """``messages.0.role`` names the message; other fields are named alone (not pydantic's union tags)."""
    if not loc:
        return None
    return ".".join(str(part) for part in loc[:3]) if loc[0] == "messages" else str(loc[0])


def validated(payload: dict[str, Any], model: type[M]) -> M:
    """``payload`` as ``model``, or a 400 naming the first wrong field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error["loc"]
        param = _param_name(loc)
        if error["type"] == "extra_forbidden":
            raise GatewayError(
                400, f"unrecognized request argument supplied: '{param}'", code="unknown_parameter", param=param
            ) from None
        problem = "is required" if error["type"] == "missing" else error["msg"][:1].lower() + error["msg"][1:]
        raise GatewayError(400, f"'{param}' {problem}", code="invalid_request", param=param) from None
