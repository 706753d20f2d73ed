"""The LiteLLM backend: one ``litellm.Router`` per routing policy, for aliases the other backends do
not serve (several deployments to balance, or vendors other than OpenAI/Azure).

The Router picks a deployment inside an alias (strategy, weights, cooldowns) with its own retries
and fallbacks off (``num_retries=0``): see ``llm.routing`` and shared/PITFALLS.md for why.
litellm is imported only inside :func:`litellm_module`, on the first call that needs it (never by
validate/render/--help, nor by a fully cached rerun).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ...files.schema import AliasPolicy, Deployment, RoutingPolicy
from .base import RawCompletion, RawEmbedding, StreamEvent, choice_extras
from .local import LITELLM_MODEL, POLICY_MODEL, PROVIDER, make_litellm_handler

#: Environment that keeps LiteLLM offline and quiet; set before it is imported.
OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "HF_HUB_OFFLINE": "1",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
    "LITELLM_TELEMETRY": "False",
}


def litellm_module() -> Any:
    """Import LiteLLM with offline settings and the local model registered; idempotent."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.drop_params = True
    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": PROVIDER, "custom_handler": make_litellm_handler()},
        ]
    return litellm


#: Providers whose API is OpenAI's: a parameter LiteLLM does not know can be sent as it is.
OPENAI_COMPATIBLE = frozenset({"openai", "azure"})


def supported_params(policy: AliasPolicy) -> frozenset[str] | None:
    """Chat parameters LiteLLM sends to every deployment of an OpenAI-compatible alias (None for an
    alias with another vendor, whose parameters LiteLLM translates)."""
    if not all(d.provider in OPENAI_COMPATIBLE and "/" in d.model for d in policy.deployments):
        return None
    litellm = litellm_module()
    names = [
        set(litellm.get_supported_openai_params(model=d.model.split("/", 1)[1], custom_llm_provider=d.provider) or [])
        for d in policy.deployments
    ]
    return frozenset(set.intersection(*names))


def plain(value: Any) -> dict[str, Any]:
    """A LiteLLM response object (pydantic, or dict-like) as plain JSON-able data, without None fields."""
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    dump = getattr(value, "model_dump", None)
    data: dict[str, Any] = dump(exclude_none=True) if dump is not None else dict(vars(value))
    return data


class LiteLLMBackend:
    """The :class:`~promptship.llm.backends.base.Backend` over one LiteLLM Router for the whole policy."""

    def __init__(self, policy: RoutingPolicy, env: Mapping[str, str]) -> None:
        self.policy = policy
        self.env = env
        self._built: Any = None
        self._supported: dict[str, frozenset[str] | None] = {}

    def vendor_params(self, alias: str, policy: AliasPolicy, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` as LiteLLM must get them so none is dropped silently: for OpenAI-compatible
        deployments, those LiteLLM does not know for the model (it drops them, even with
        ``drop_params`` off, and keeps ``metadata`` for itself) travel in ``extra_body``, which it
        sends as they are. Other vendors get LiteLLM's own translation."""
        if alias not in self._supported:
            self._supported[alias] = supported_params(policy)
        supported = self._supported[alias]
        if supported is None or not params:
            return dict(params)
        kept = {k: v for k, v in params.items() if k in supported}
        extra = {k: v for k, v in params.items() if k not in supported}
        if extra:
            kept["extra_body"] = {**kept.get("extra_body", {}), **extra}
        return kept

    @property
    def router(self) -> Any:
        """The LiteLLM Router, built (and litellm imported) on first use."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def prepare(self) -> None:
        _ = self.router

    def _litellm_params(self, deployment: Deployment, timeout_s: float) -> dict[str, Any]:
        params: dict[str, Any] = dict(deployment.params)
        params["model"] = LITELLM_MODEL if deployment.model == POLICY_MODEL else deployment.model
        if deployment.api_base_env:
            params["api_base"] = self.env.get(deployment.api_base_env)
        if deployment.api_key_env:
            params["api_key"] = self.env.get(deployment.api_key_env)
        for param, variable in deployment.env.items():
            params[param] = self.env.get(variable)
        if deployment.pricing is not None:
            # Registered with LiteLLM too, so its own cost tracking agrees with ours.
            params["input_cost_per_token"] = deployment.pricing.input_per_million / 1e6
            params["output_cost_per_token"] = deployment.pricing.output_per_million / 1e6
        params["timeout"] = timeout_s
        params["max_retries"] = 0  # the OpenAI client's own retries are off too
        return params

    def _build(self) -> Any:
        litellm = litellm_module()
        model_list = []
        for alias, policy in self.policy.aliases.items():
            for deployment in policy.deployments:
                model_list.append(
                    {
                        "model_name": alias,
                        "litellm_params": self._litellm_params(deployment, policy.timeout_s),
                        "model_info": {"id": deployment.id, "weight": deployment.weight},
                    }
                )
        strategies = {p.strategy for p in self.policy.aliases.values()}
        strategy = "simple-shuffle" if len(strategies) != 1 else strategies.pop()
        return litellm.Router(
            model_list=model_list, num_retries=0, routing_strategy=strategy, allowed_fails=3, cooldown_time=5
        )

    async def complete(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str | None, RawCompletion]:
        response = await self.router.acompletion(
            model=alias, messages=messages, **self.vendor_params(alias, policy, params)
        )
        hidden = getattr(response, "_hidden_params", {}) or {}
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        return hidden.get("model_id"), RawCompletion(
            text=getattr(choice.message, "content", None) or "",
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            hidden=hidden,
            **choice_extras(plain(choice.message), plain(choice)),
        )

    async def embed(
        self, alias: str, policy: AliasPolicy, inputs: list[str], params: Mapping[str, Any]
    ) -> tuple[str | None, RawEmbedding]:
        extra = {"extra_body": dict(params)} if params and supported_params(policy) is not None else dict(params)
        response = await self.router.aembedding(model=alias, input=inputs, encoding_format="float", **extra)
        hidden = getattr(response, "_hidden_params", {}) or {}
        items = sorted((plain(item) for item in response.data), key=lambda item: int(item["index"]))
        usage = getattr(response, "usage", None)
        vectors = [list(item["embedding"]) for item in items]
        return hidden.get("model_id"), RawEmbedding(vectors, int(getattr(usage, "prompt_tokens", 0) or 0))

    async def stream(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[StreamEvent]:
        response = await self.router.acompletion(
            model=alias,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **self.vendor_params(alias, policy, params),
        )
        hidden = getattr(response, "_hidden_params", {}) or {}
        yield ("deployment", hidden.get("model_id"))
        prompt_tokens = completion_tokens = 0
        finish = None
        async for chunk in response:
            usage = getattr(chunk, "usage", None)
            if usage:
                prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
                completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            for choice in getattr(chunk, "choices", None) or []:
                finish = getattr(choice, "finish_reason", None) or finish
                piece = getattr(choice.delta, "content", None)
                if piece:
                    yield ("text", piece)
                extras = choice_extras(plain(choice.delta), plain(choice))
                if extras:
                    yield ("delta", extras)
        yield ("done", RawCompletion("", finish, prompt_tokens, completion_tokens))

    def attempt_deadline_s(self, policy: AliasPolicy) -> float:
        """The alias's ``timeout_s`` plus a second: the request's own timeout fires first."""
        return policy.timeout_s + 1.0

    def deployment_of(self, policy: AliasPolicy, exc: BaseException) -> str | None:
        info = getattr(exc, "litellm_model_info", None) or getattr(exc, "model_info", None)
        if isinstance(info, dict):
            return info.get("id")
        return None

    async def aclose(self) -> None:
        return None
