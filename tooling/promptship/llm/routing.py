"""Routing policy → LiteLLM Router, plus promptship's own retry and fallback loop.

LiteLLM picks a deployment inside an alias (load-balancing strategy, cooldowns). Retries and
fallbacks are driven here, with the Router's own retries and fallbacks off, because (see
shared/PITFALLS.md) LiteLLM honours Retry-After without a cap, adds a backoff sleep after the last
failure, reroutes a malformed request (plain 400) to another vendor, and does not recognise an
OpenAI-compatible content-policy 400 for ``content_policy_fallbacks``. Driving the loop ourselves
also gives an exact record of every attempt for the run artifact.

litellm is imported only inside :func:`litellm_module` (never by validate/render/--help).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CredentialError, ModelCallFailed, UsageError
from ..files.repo import content_hash
from ..files.schema import AliasPolicy, Deployment, RoutingPolicy
from ..files.schema.run import Attempt
from .direct import DirectClients, RawCompletion, is_direct
from .local import LITELLM_MODEL, POLICY_MODEL, PROVIDER, make_litellm_handler
from .pricing import model_prices

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


# -- pure policy helpers ---------------------------------------------------------------------------


def apply_profile(policy: RoutingPolicy, profile: str | None) -> RoutingPolicy:
    """The policy with ``profile``'s remapping applied (pure). ``None`` returns it unchanged."""
    if profile is None:
        return policy
    if profile not in policy.profiles:
        raise UsageError(
            f"unknown routing profile {profile!r}",
            hint=f"profiles in policies/routing.yaml: {', '.join(policy.profiles) or '(none)'}",
        )
    remap = policy.profiles[profile]
    aliases: dict[str, AliasPolicy] = {}
    for name, alias in policy.aliases.items():
        if name in remap.aliases:
            aliases[name] = alias.model_copy(update={"deployments": _per_alias(remap.aliases[name], name)})
        elif remap.all is not None:
            # Everything on the same deployments: fallbacks could only repeat them.
            aliases[name] = alias.model_copy(
                update={
                    "deployments": _per_alias(remap.all, name),
                    "fallbacks": [],
                    "content_policy_fallbacks": [],
                }
            )
        else:
            aliases[name] = alias
    return policy.model_copy(update={"aliases": aliases, "profiles": {}})


def _per_alias(deployments: Sequence[Deployment], alias: str) -> list[Deployment]:
    # Deployment ids must be unique across Router groups; keep them stable per alias.
    return [d.model_copy(update={"id": f"{d.id}@{alias}"}) for d in deployments]


def _deployment_identity(deployment: Deployment) -> dict[str, Any]:
    return deployment.model_dump(mode="json", exclude={"id", "weight", "pricing"}, exclude_none=True)


def alias_identity(policy: RoutingPolicy, alias: str) -> str:
    """Hash of everything that decides which model answers ``alias``: its deployments and those of
    its fallbacks (names of credential variables included, values never)."""
    chain: dict[str, Any] = {}
    for name in [alias, *policy.aliases[alias].fallbacks, *policy.aliases[alias].content_policy_fallbacks]:
        if name in policy.aliases and name not in chain:
            chain[name] = sorted(
                (_deployment_identity(d) for d in policy.aliases[name].deployments),
                key=lambda d: content_hash(d),
            )
    return content_hash({"primary": alias, "chain": chain})


def required_env(policy: RoutingPolicy, aliases: Sequence[str]) -> list[str]:
    """Names of environment variables the aliases (and their fallbacks) need, in a stable order."""
    names: list[str] = []
    for alias in _reachable(policy, aliases):
        for deployment in policy.aliases[alias].deployments:
            for name in (deployment.api_base_env, deployment.api_key_env, *deployment.env.values()):
                if name and name not in names:
                    names.append(name)
    return names


def _reachable(policy: RoutingPolicy, aliases: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for alias in aliases:
        policy_of = policy.aliases.get(alias)
        if policy_of is None:
            raise UsageError(f"unknown model alias {alias!r}", hint=f"aliases: {', '.join(policy.aliases)}")
        for name in [alias, *policy_of.fallbacks, *policy_of.content_policy_fallbacks]:
            if name not in seen:
                seen.append(name)
    return seen


def check_credentials(policy: RoutingPolicy, aliases: Sequence[str], env: Mapping[str, str]) -> None:
    """Raise :class:`CredentialError` naming every missing variable (never printing a value)."""
    missing = [name for name in required_env(policy, aliases) if not env.get(name)]
    if missing:
        raise CredentialError(
            f"missing environment variable(s) {', '.join(missing)} for model alias(es) {', '.join(aliases)}",
            code="E801",
            hint="export them (in CI: repository secrets), or run offline with --profile offline",
        )


def deployment_prices(deployment: Deployment) -> tuple[float, float]:
    """USD per input and output token: the policy's override, LiteLLM's price map, or 0 for local."""
    if deployment.pricing is not None:
        return deployment.pricing.input_per_million / 1e6, deployment.pricing.output_per_million / 1e6
    if deployment.model == POLICY_MODEL:
        return 0.0, 0.0
    return model_prices(deployment.model)


# -- error classification (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    outcome: str
    status: int | None
    retry_after_s: float | None
    message: str

    def attempt(self, alias: str, deployment: str | None, started: float) -> Attempt:
        """The failed attempt as the run artifact records it (``started``: a perf_counter value)."""
        return Attempt(
            alias=alias,
            deployment=deployment,
            outcome=self.outcome,  # type: ignore[arg-type]
            status=self.status,
            latency_ms=_ms(started),
            retry_after_s=self.retry_after_s,
            error=self.message[:200],
        )


def classify(exc: BaseException) -> Failure:
    """Map a LiteLLM/OpenAI exception to an attempt outcome. Content filters are recognised from the
    error body, whatever class LiteLLM chose for them."""
    status = getattr(exc, "status_code", None)
    message = str(exc)
    lowered = " ".join([message, str(getattr(exc, "body", "") or ""), _response_text(exc)]).lower()
    retry_after = _retry_after(exc)
    name = type(exc).__name__
    if any(marker in lowered for marker in CONTENT_FILTER_MARKERS) or name == "ContentPolicyViolationError":
        return Failure("content_filter", status, None, _short(message))
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or name in ("Timeout", "APITimeoutError"):
        return Failure("timeout", status or 408, None, "timed out")
    if name == "RouterRateLimitError" or "no deployments available" in lowered:
        return Failure("unavailable", None, retry_after, _short(message))
    if status == 429 or name == "RateLimitError":
        return Failure("rate_limited", status or 429, retry_after, _short(message))
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return Failure("auth", status, None, _short(message))
    if name in ("APIConnectionError",) and status in (None, 500):
        return Failure("connection", status, None, _short(message))
    if status is not None and status >= 500:
        return Failure("server_error", status, retry_after, _short(message))
    if status is not None and 400 <= status < 500:
        return Failure("bad_request", status, None, _short(message))
    return Failure("error", status, None, _short(message))


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


# -- calling -----------------------------------------------------------------------------------------


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    deployment: str | None
    alias: str
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class _OpenStream:
    alias: str
    deployment: str | None
    first: tuple[str, Any]
    events: AsyncIterator[tuple[str, Any]]
    started: float
    attempts: list[Attempt]


@dataclass(frozen=True)
class RetrySettings:
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    #: Longest Retry-After honoured; a longer one moves on to the fallback instead of stalling.
    max_retry_after_s: float = 30.0


class ModelRouter:
    """One Router per routing policy (LiteLLM keeps process-global per-deployment state)."""

    def __init__(
        self,
        policy: RoutingPolicy,
        *,
        profile: str | None = None,
        env: Mapping[str, str] | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        self.policy = apply_profile(policy, profile)
        self.profile = profile
        self.env = os.environ if env is None else env
        self.retry = retry or RetrySettings()
        self._prices = {d.id: deployment_prices(d) for a in self.policy.aliases.values() for d in a.deployments}
        self._built: Any = None
        self._direct = DirectClients(self.env)
        self._identities: dict[str, str] = {}

    @property
    def _router(self) -> Any:
        """The LiteLLM Router, built (and litellm imported) on the first real call only, so a
        fully cached rerun never pays for importing litellm."""
        if self._built is None:
            self._built = self._build()
        return self._built

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

    def aliases(self) -> list[str]:
        return list(self.policy.aliases)

    def cost_ceiling(self, alias: str, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> float:
        """A generous upper bound of one call's cost, for budget reservations: every character of
        the request counted as an input token, ``max_tokens`` (else 1,024) output tokens, at the
        priciest deployment the alias or its fallbacks may answer from."""
        reachable = _reachable(self.policy, [alias])
        prices = [self._prices[d.id] for name in reachable for d in self.policy.aliases[name].deployments]
        request_chars = len(json.dumps(messages, ensure_ascii=False))
        output_tokens = int(params.get("max_tokens") or params.get("max_completion_tokens") or 1024)
        return max((request_chars * inp + output_tokens * out for inp, out in prices), default=0.0)

    def identity(self, alias: str) -> str:
        """:func:`alias_identity` of ``alias`` (memoized: the policy does not change)."""
        if alias not in self._identities:
            self._identities[alias] = alias_identity(self.policy, alias)
        return self._identities[alias]

    def check_credentials(self, aliases: Sequence[str]) -> None:
        check_credentials(self.policy, aliases, self.env)

    def prepare(self, aliases: Sequence[str]) -> None:
        """Import litellm and build the Router now if any of ``aliases`` (or their fallbacks) needs it,
        so the 2–3 s import never runs inside a call's deadline or blocks concurrent calls."""
        if any(not is_direct(self.policy.aliases[a]) for a in _reachable(self.policy, aliases)):
            _ = self._router

    async def complete(self, alias: str, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> Completion:
        """Call ``alias`` with retries, then its fallbacks; content-filter refusals go to its
        content-policy fallbacks. Raises :class:`ModelCallFailed` after the last attempt."""

        async def attempt(current: str, policy: AliasPolicy, attempts: list[Attempt]) -> Completion | Failure:
            return await self._attempt(current, policy, messages, params, attempts)

        result = await self._with_fallbacks(alias, attempt)
        assert isinstance(result, Completion)
        return result

    async def stream(
        self, alias: str, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Completion]:
        """Yield the answer's text pieces as they arrive, then the :class:`Completion`.

        Retries and fallbacks apply until the first piece arrives; a failure after that raises
        :class:`ModelCallFailed` (the caller has already seen part of the answer).
        """

        async def attempt(current: str, policy: AliasPolicy, attempts: list[Attempt]) -> _OpenStream | Failure:
            return await self._open_stream(current, policy, messages, params, attempts)

        opened = await self._with_fallbacks(alias, attempt)
        assert isinstance(opened, _OpenStream)
        pieces: list[str] = []
        event: tuple[str, Any] | None = opened.first
        raw: RawCompletion | None = None
        try:
            while event is not None:
                kind, value = event
                if kind == "text":
                    pieces.append(value)
                    yield value
                else:
                    raw = value
                event = await anext(opened.events, None)
        except Exception as exc:  # noqa: BLE001 - classified and re-raised as ModelCallFailed
            failure = classify(exc)
            opened.attempts.append(failure.attempt(opened.alias, opened.deployment, opened.started))
            raise ModelCallFailed(
                f"{alias}: stream broke: {failure.message}", failure.outcome, opened.attempts
            ) from None
        if raw is None or raw.finish_reason is None:
            # The body ended (or the connection closed cleanly) before the model said it finished:
            # the answer is incomplete, whatever the transport thought.
            opened.attempts.append(
                Failure("connection", None, None, "the stream ended before the model finished").attempt(
                    opened.alias, opened.deployment, opened.started
                )
            )
            raise ModelCallFailed(
                f"{alias}: stream broke: it ended before the model finished", "connection", opened.attempts
            )
        text = "".join(pieces)
        prompt_tokens = raw.prompt_tokens if raw else 0
        completion_tokens = raw.completion_tokens if raw else 0
        latency = _ms(opened.started)
        opened.attempts.append(
            Attempt(alias=opened.alias, deployment=opened.deployment, outcome="ok", status=200, latency_ms=latency)
        )
        price_in, price_out = self._prices.get(opened.deployment or "", (0.0, 0.0))
        yield Completion(
            text=text,
            finish_reason=raw.finish_reason if raw else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=prompt_tokens * price_in + completion_tokens * price_out,
            latency_ms=latency,
            deployment=opened.deployment,
            alias=opened.alias,
            attempts=opened.attempts,
        )

    async def _with_fallbacks(self, alias: str, attempt: Callable[[str, AliasPolicy, list[Attempt]], Any]) -> Any:
        """The retry and fallback policy around ``attempt`` (which returns a success or a Failure)."""
        primary = self.policy.aliases.get(alias)
        if primary is None:
            raise UsageError(f"unknown model alias {alias!r}", hint=f"aliases: {', '.join(self.policy.aliases)}")
        attempts: list[Attempt] = []
        queue = [alias, *primary.fallbacks]
        filtered_route = list(primary.content_policy_fallbacks)
        last = Failure("error", None, None, "no attempt made")
        while queue:
            current = queue.pop(0)
            policy = self.policy.aliases[current]
            for attempt_number in range(policy.retries + 1):
                result = await attempt(current, policy, attempts)
                if not isinstance(result, Failure):
                    return result
                last = result
                if result.outcome == "content_filter":
                    queue = [a for a in filtered_route if a != current]
                    filtered_route = []
                    break
                if result.outcome in ("bad_request", "auth"):
                    if result.outcome == "bad_request":
                        queue = []  # a malformed request would fail anywhere: never reroute it
                    break
                too_long = (result.retry_after_s or 0) > self.retry.max_retry_after_s
                if result.outcome in ("rate_limited", "unavailable") and too_long and queue:
                    break  # a fallback answers sooner than waiting out a long Retry-After
                if attempt_number < policy.retries:
                    await asyncio.sleep(self._wait(result, attempt_number))
        raise ModelCallFailed(f"{alias}: {last.outcome}: {last.message}", last.outcome, attempts)

    async def _open_stream(
        self,
        alias: str,
        policy: AliasPolicy,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        attempts: list[Attempt],
    ) -> _OpenStream | Failure:
        """Start a streamed request and wait for its first event (within the alias's deadline)."""
        started = time.perf_counter()
        direct = policy.deployments[0] if is_direct(policy) else None
        events = (
            self._direct.stream(direct, messages, params, policy.timeout_s)
            if direct is not None
            else self._router_events(alias, messages, params)
        )
        deployment = direct.id if direct is not None else None
        try:
            first = await asyncio.wait_for(anext(events), timeout=policy.timeout_s + 1.0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified like any failed attempt
            failure = classify(exc)
            attempts.append(failure.attempt(alias, deployment, started))
            return failure
        if first[0] == "deployment":
            deployment = first[1]
            first = await anext(events, ("done", None))
        return _OpenStream(alias, deployment, first, events, started, attempts)

    async def _router_events(
        self, alias: str, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[tuple[str, Any]]:
        response = await self._router.acompletion(
            model=alias, messages=messages, stream=True, stream_options={"include_usage": True}, **params
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
        yield ("done", RawCompletion("", finish, prompt_tokens, completion_tokens))

    def _wait(self, failure: Failure, attempt_number: int) -> float:
        if failure.retry_after_s is not None:
            return min(failure.retry_after_s, self.retry.max_retry_after_s)
        backoff = min(self.retry.backoff_cap_s, self.retry.backoff_base_s * 2**attempt_number)
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    async def _call(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str | None, RawCompletion]:
        """One request: the direct path for a single OpenAI-compatible deployment, else the Router."""
        if is_direct(policy):
            deployment = policy.deployments[0]
            return deployment.id, await self._direct.complete(deployment, messages, params, policy.timeout_s)
        response = await self._router.acompletion(model=alias, messages=messages, **params)
        hidden = getattr(response, "_hidden_params", {}) or {}
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        return hidden.get("model_id"), RawCompletion(
            text=getattr(choice.message, "content", None) or "",
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            hidden=hidden,
        )

    async def _attempt(
        self,
        alias: str,
        policy: AliasPolicy,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        attempts: list[Attempt],
    ) -> Completion | Failure:
        started = time.perf_counter()
        try:
            deployment, raw = await asyncio.wait_for(
                self._call(alias, policy, messages, params), timeout=policy.timeout_s + 1.0
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider error is classified, none escapes
            failure = classify(exc)
            deployment = policy.deployments[0].id if is_direct(policy) else _deployment_of_error(exc)
            attempts.append(failure.attempt(alias, deployment, started))
            return failure
        # The local model serializes calls; report its service time, not the time spent queued.
        latency = round(raw.hidden.get("local_latency_ms", _ms(started)), 2)
        if raw.finish_reason == "content_filter":
            attempts.append(
                Attempt(alias=alias, deployment=deployment, outcome="content_filter", status=200, latency_ms=latency)
            )
            return Failure("content_filter", 200, None, "the reply was withheld by the vendor's content filter")
        attempts.append(Attempt(alias=alias, deployment=deployment, outcome="ok", status=200, latency_ms=latency))
        price_in, price_out = self._prices.get(deployment or "", (0.0, 0.0))
        return Completion(
            text=raw.text,
            finish_reason=raw.finish_reason,
            prompt_tokens=raw.prompt_tokens,
            completion_tokens=raw.completion_tokens,
            cost_usd=raw.prompt_tokens * price_in + raw.completion_tokens * price_out,
            latency_ms=latency,
            deployment=deployment,
            alias=alias,
            attempts=attempts,
        )

    async def aclose(self) -> None:
        """Close pooled connections of the current event loop."""
        await self._direct.aclose()


def _deployment_of_error(exc: BaseException) -> str | None:
    info = getattr(exc, "litellm_model_info", None) or getattr(exc, "model_info", None)
    if isinstance(info, dict):
        return info.get("id")
    return None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
