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
    backend extras (``local_latency_ms``: the local model's service time, without queueing)."""

    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    hidden: dict[str, Any] = field(default_factory=dict)


#: A streamed answer: ``("deployment", id)`` first, then ``("text", piece)``…, then ``("done", RawCompletion)``.
StreamEvent = tuple[str, Any]


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

    def deployment_of(self, policy: AliasPolicy, exc: BaseException) -> str | None:
        """The deployment a failed request went to, when known."""
        ...

    def prepare(self) -> None:
        """Do slow one-time set-up now (imports, loading), outside any call's deadline."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections of the running event loop."""
        ...
