"""The one interface every model backend implements, and what a backend returns.

A backend sends one request for one alias (no retries: ``llm.routing`` drives those through
``llm.retry.decide``) and raises the vendor's error unchanged, for ``llm.failures.classify``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...files.schema import AliasPolicy


@dataclass(frozen=True)
class RawCompletion:
    """One answer as the backend got it: text, finish reason, token counts; ``hidden`` carries
    backend extras (``local_latency_ms``: the local model's service time, without queueing).
    ``tool_calls`` (OpenAI ``message.tool_calls``), ``refusal`` and ``logprobs`` (OpenAI
    ``choice.logprobs``) are passed on as the vendor sent them."""

    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    hidden: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None
    logprobs: dict[str, Any] | None = None


@dataclass(frozen=True)
class RawEmbedding:
    """Vectors in input order, and the input tokens the vendor counted."""

    vectors: list[list[float]]
    prompt_tokens: int


#: A streamed answer: ``("deployment", id)`` first, then ``("text", piece)`` and ``("delta", fields)``
#: (anything else a chunk's delta carries: ``tool_calls`` pieces, ``refusal``, the chunk's
#: ``logprobs``), then ``("done", RawCompletion)``.
StreamEvent = tuple[str, Any]


def choice_extras(message: Mapping[str, Any], choice: Mapping[str, Any]) -> dict[str, Any]:
    """``tool_calls``, ``refusal`` and ``logprobs`` of an OpenAI choice (as plain JSON), when present."""
    extras: dict[str, Any] = {}
    if message.get("tool_calls"):
        extras["tool_calls"] = [dict(call) for call in message["tool_calls"]]
    if message.get("refusal"):
        extras["refusal"] = message["refusal"]
    if choice.get("logprobs"):
        extras["logprobs"] = choice["logprobs"]
    return extras


class Backend(Protocol):
    """Sends requests for the aliases it was chosen for (see ``backends.choose``)."""

    async def complete(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str | None, RawCompletion]:
        """One request; the id of the deployment that answered, and the answer."""
        ...

    def stream(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[StreamEvent]:
        """One streamed request as :data:`StreamEvent` values."""
        ...

    async def embed(
        self, alias: str, policy: AliasPolicy, inputs: list[str], params: Mapping[str, Any]
    ) -> tuple[str | None, RawEmbedding]:
        """One embeddings request; the id of the deployment that answered, and the vectors."""
        ...

    def deployment_of(self, policy: AliasPolicy, exc: BaseException) -> str | None:
        """The deployment a failed request went to, when known."""
        ...

    def attempt_deadline_s(self, policy: AliasPolicy) -> float:
        """Wall-clock bound (s) the router puts on one :meth:`complete` attempt of ``policy``'s alias."""
        ...

    def prepare(self) -> None:
        """Do slow one-time set-up now (imports, loading), outside any call's deadline."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections of the running event loop."""
        ...
