"""Model backends: one interface (:class:`Backend`), three implementations, and the one place that
chooses between them (:meth:`Backends.choose`).

- :class:`DirectBackend` (``direct.py``): an alias with one OpenAI-compatible deployment, straight
  to the REST endpoint over pooled aiohttp (well under 1 ms of CPU per call).
- :class:`LocalBackend` (``local.py``): an alias served only by the embedded ``local/smollm2``.
- :class:`LiteLLMBackend` (``litellm_router.py``): everything else, through one LiteLLM Router.

To add a backend: implement :class:`Backend` in a module here and give it a branch in :meth:`Backends.choose`
(see docs/howto-model-backend.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...files.schema import AliasPolicy, RoutingPolicy
from . import direct, local
from .base import Backend, RawCompletion, RawEmbedding, StreamEvent
from .direct import DirectBackend
from .litellm_router import LiteLLMBackend, litellm_module
from .local import LocalBackend

__all__ = [
    "Backend",
    "Backends",
    "DirectBackend",
    "LiteLLMBackend",
    "LocalBackend",
    "RawCompletion",
    "RawEmbedding",
    "StreamEvent",
    "litellm_module",
]


class Backends:
    """The backend of every alias of one routing policy (each backend built once per policy)."""

    def __init__(self, policy: RoutingPolicy, env: Mapping[str, str]) -> None:
        self.direct = DirectBackend(env)
        self.local = LocalBackend()
        self.litellm = LiteLLMBackend(policy, env)

    def choose(self, policy: AliasPolicy) -> Backend:
        """The backend for an alias: direct HTTP, the local model, else the LiteLLM Router."""
        if direct.serves(policy):
            return self.direct
        if local.serves(policy):
            return self.local
        return self.litellm

    async def aclose(self) -> None:
        await self.direct.aclose()
