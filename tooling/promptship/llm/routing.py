"""``ModelRouter``: one call of an alias, with promptship's retries and fallbacks.

A :class:`~promptship.llm.backends.Backend` sends each request (direct HTTP, the local model or the
LiteLLM Router: chosen per alias by ``backends.Backends.choose``); every failure is classified
(``failures.classify``) and the pure decision ``retry.decide`` says retry, fall back or stop. Retries
and fallbacks are driven here, with the Router's own off, because (see shared/PITFALLS.md) LiteLLM
honours Retry-After without a cap, adds a backoff sleep after the last failure, reroutes a malformed
request (plain 400) to another vendor, and does not recognise an OpenAI-compatible content-policy
400 for ``content_policy_fallbacks``. Driving the loop ourselves also gives an exact record of every
attempt for the run artifact.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..errors import ConfigurationError, ModelCallFailed, UsageError
from ..files.schema import AliasPolicy, RoutingPolicy
from ..files.schema.run import Attempt
from .backends import Backends, RawCompletion, RawEmbedding, StreamEvent
from .credentials import check_credentials
from .failures import Failure, classify, elapsed_ms
from .policy import alias_identity, apply_profile, deployment_prices, reachable
from .retry import Action, RetryPolicy, decide
from .usage import Usage

__all__ = [
    "Completion",
    "Delta",
    "Embeddings",
    "ModelRouter",
    "RetrySettings",
]

_Opened = TypeVar("_Opened")

#: Called before every attempt but the first, with the failure that made it necessary; it may raise
#: to stop (the gateway charges a timed-out attempt, which the vendor may bill, and re-reserves).
BeforeRetry = Callable[[Failure], Awaitable[None]]


@dataclass
class Completion:
    """One answer of an alias: ``alias`` is the one that answered (a fallback, maybe), ``attempts``
    records every attempt (``usage.attempts`` counts them)."""

    text: str
    finish_reason: str | None
    deployment: str | None
    alias: str
    usage: Usage
    attempts: list[Attempt] = field(default_factory=list)
    #: OpenAI ``message.tool_calls`` (the vendor's), when the model called tools.
    tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None
    #: OpenAI ``choice.logprobs`` when they were asked for (``logprobs: true``).
    logprobs: dict[str, Any] | None = None
    #: Time the answering call waited for the serialized local model before it ran (0 otherwise).
    queued_ms: float = 0.0


@dataclass(frozen=True)
class Delta:
    """A streamed piece other than text: OpenAI delta fields (``tool_calls`` pieces, ``refusal``)
    and the chunk's ``logprobs``, as the vendor sent them."""

    fields: dict[str, Any]


@dataclass
class Embeddings:
    """Vectors in input order, with usage, cost and the attempts that produced them."""

    vectors: list[list[float]]
    deployment: str | None
    alias: str
    usage: Usage
    attempts: list[Attempt] = field(default_factory=list)


def merge_tool_call_pieces(calls: list[dict[str, Any]], pieces: list[dict[str, Any]]) -> None:
    """Fold streamed ``tool_calls`` deltas into whole calls (by ``index``; arguments concatenate)."""
    for piece in pieces:
        index = int(piece.get("index", len(calls)))
        while len(calls) <= index:
            calls.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        call = calls[index]
        if piece.get("id"):
            call["id"] = piece["id"]
        if piece.get("type"):
            call["type"] = piece["type"]
        function = piece.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""


@dataclass
class _OpenStream:
    alias: str
    deployment: str | None
    first: StreamEvent
    events: AsyncIterator[StreamEvent]
    started: float
    attempts: list[Attempt]


@dataclass(frozen=True)
class RetrySettings:
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    #: Longest Retry-After honoured; a longer one moves on to the fallback instead of stalling.
    max_retry_after_s: float = 30.0
    #: The per-call retry budget: upstream attempts of one call, retries and fallbacks together
    #: (a policy's retries × fallbacks could otherwise multiply one call into a dozen).
    max_attempts: int = 8

    def policy(self, alias: AliasPolicy) -> RetryPolicy:
        """The retry policy of one alias (its ``retries`` plus the first attempt)."""
        return RetryPolicy(
            attempts=alias.retries + 1,
            backoff_base_s=self.backoff_base_s,
            backoff_cap_s=self.backoff_cap_s,
            max_retry_after_s=self.max_retry_after_s,
        )


class ModelRouter:
    """Calls of a routing policy's aliases (one set of backends, so one LiteLLM Router, per policy:
    LiteLLM keeps process-global per-deployment state)."""

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
        self.backends = Backends(self.policy, self.env)
        self._identities: dict[str, str] = {}

    def aliases(self) -> list[str]:
        return list(self.policy.aliases)

    def cost_ceiling(self, alias: str, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> float:
        """A generous upper bound of one call's cost, for budget reservations: every character of
        the request counted as an input token, ``max_tokens`` (else 1,024) output tokens, at the
        priciest deployment the alias or its fallbacks may answer from."""
        names = reachable(self.policy, [alias])
        prices = [self._prices[d.id] for name in names for d in self.policy.aliases[name].deployments]
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
        """Do each needed backend's slow set-up now (importing litellm and building the Router takes
        2–3 s), so it never runs inside a call's deadline or blocks concurrent calls."""
        for name in reachable(self.policy, aliases):
            self.backends.choose(self.policy.aliases[name]).prepare()

    async def complete(
        self,
        alias: str,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        *,
        before_retry: BeforeRetry | None = None,
    ) -> Completion:
        """Call ``alias`` with retries, then its fallbacks; content-filter refusals go to its
        content-policy fallbacks. Raises :class:`ModelCallFailed` after the last attempt."""

        async def attempt(current: str, policy: AliasPolicy, attempts: list[Attempt]) -> Completion | Failure:
            return await self._attempt(current, policy, messages, params, attempts)

        started = time.perf_counter()
        result = await self._with_fallbacks(alias, attempt, before_retry)
        assert isinstance(result, Completion)
        # End to end: every attempt, backoff and fallback the caller waited for (each attempt keeps its own
        # time in ``attempts``); only the answering local-model call's wait in its queue is left out.
        waited = round(max(result.usage.latency_ms, elapsed_ms(started) - result.queued_ms), 2)
        result.usage = replace(result.usage, latency_ms=waited)
        return result

    async def stream(
        self,
        alias: str,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        *,
        before_retry: BeforeRetry | None = None,
    ) -> AsyncIterator[str | Delta | Completion]:
        """Yield the answer's text pieces as they arrive (and a :class:`Delta` for any other piece:
        tool calls, refusal, logprobs), then the :class:`Completion`, which holds them all.

        Retries and fallbacks apply until the first piece arrives; a failure after that raises
        :class:`ModelCallFailed` (the caller has already seen part of the answer).
        """

        async def attempt(current: str, policy: AliasPolicy, attempts: list[Attempt]) -> _OpenStream | Failure:
            return await self._open_stream(current, policy, messages, params, attempts)

        opened = await self._with_fallbacks(alias, attempt, before_retry)
        pieces: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        refusal: list[str] = []
        logprobs: dict[str, list[Any]] = {}
        event: StreamEvent | None = opened.first
        raw: RawCompletion | None = None
        try:
            while event is not None:
                kind, value = event
                if kind == "text":
                    pieces.append(value)
                    yield value
                elif kind == "delta":
                    merge_tool_call_pieces(tool_calls, value.get("tool_calls") or [])
                    refusal.append(value.get("refusal") or "")
                    for name, entries in (value.get("logprobs") or {}).items():
                        logprobs.setdefault(name, []).extend(entries or [])
                    yield Delta(value)
                elif kind == "done":
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
        latency = elapsed_ms(opened.started)
        opened.attempts.append(
            Attempt(alias=opened.alias, deployment=opened.deployment, outcome="ok", status=200, latency_ms=latency)
        )
        yield Completion(
            text="".join(pieces),
            finish_reason=raw.finish_reason,
            deployment=opened.deployment,
            alias=opened.alias,
            usage=self._usage(opened.deployment, raw.prompt_tokens, raw.completion_tokens, latency, opened.attempts),
            attempts=opened.attempts,
            tool_calls=tool_calls or None,
            refusal="".join(refusal) or None,
            logprobs=logprobs or None,
        )

    async def embed(
        self, alias: str, inputs: list[str], params: Mapping[str, Any], *, before_retry: BeforeRetry | None = None
    ) -> Embeddings:
        """Embed ``inputs`` with an embedding alias (``kind: embedding``), with its retries and
        fallbacks. Raises :class:`UsageError` for a chat alias, :class:`ModelCallFailed` after the
        last attempt."""
        policy = self.policy.aliases.get(alias)
        if policy is not None and policy.kind != "embedding":
            raise UsageError(f"model alias {alias!r} is a chat alias, not an embedding alias (kind: embedding)")

        async def attempt(current: str, policy: AliasPolicy, attempts: list[Attempt]) -> Embeddings | Failure:
            started = time.perf_counter()
            backend = self.backends.choose(policy)
            try:
                deployment, raw = await asyncio.wait_for(
                    backend.embed(current, policy, inputs, params), timeout=policy.timeout_s + 1.0
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every provider error is classified, none escapes
                if isinstance(exc, ConfigurationError):
                    raise
                failure = classify(exc)
                attempts.append(failure.attempt(current, backend.deployment_of(policy, exc), started))
                return failure
            return self._embedded(current, deployment, raw, started, attempts)

        return await self._with_fallbacks(alias, attempt, before_retry)

    def _embedded(
        self, alias: str, deployment: str | None, raw: RawEmbedding, started: float, attempts: list[Attempt]
    ) -> Embeddings:
        latency = elapsed_ms(started)
        attempts.append(Attempt(alias=alias, deployment=deployment, outcome="ok", status=200, latency_ms=latency))
        return Embeddings(
            vectors=raw.vectors,
            deployment=deployment,
            alias=alias,
            usage=self._usage(deployment, raw.prompt_tokens, 0, latency, attempts),
            attempts=attempts,
        )

    async def _with_fallbacks(
        self,
        alias: str,
        attempt: Callable[[str, AliasPolicy, list[Attempt]], Awaitable[_Opened | Failure]],
        before_retry: BeforeRetry | None = None,
    ) -> _Opened:
        """Run ``attempt`` (which returns a success or a Failure) on ``alias``, then on its fallbacks,
        as :func:`~promptship.llm.retry.decide` says, within ``max_attempts`` attempts in all;
        :class:`ModelCallFailed` when it says stop or the budget is used."""
        primary = self.policy.aliases.get(alias)
        if primary is None:
            raise UsageError(f"unknown model alias {alias!r}", hint=f"aliases: {', '.join(self.policy.aliases)}")
        attempts: list[Attempt] = []
        queue = [alias, *primary.fallbacks]
        filtered_route = list(primary.content_policy_fallbacks)
        last = Failure("error", None, None, "no attempt made")
        refused: _Opened | None = None
        while queue:
            current = queue.pop(0)
            policy = self.policy.aliases[current]
            retry = self.retry.policy(policy)
            number = 0
            while True:
                number += 1
                if attempts:
                    if len(attempts) >= self.retry.max_attempts:
                        queue = []
                        break
                    if before_retry is not None:
                        await before_retry(last)
                result = await attempt(current, policy, attempts)
                if not isinstance(result, Failure):
                    return result
                last = result
                if result.outcome in ("content_filter", "refusal"):
                    # A refusal goes to the content-policy route (once), never to the plain fallbacks.
                    queue = [a for a in filtered_route if a != current]
                    filtered_route = []
                    refused = result.refused or refused
                decision = decide(
                    retry,
                    attempt=number,
                    error=result.error_class,
                    retry_after_s=result.retry_after_s,
                    can_fall_back=bool(queue),
                    jitter=0.5 + random.random() / 2,  # noqa: S311 - jitter, not security
                )
                if decision.action is Action.RETRY:
                    await asyncio.sleep(decision.wait_s)
                    continue
                if decision.action is Action.STOP:
                    queue = []
                break
        if refused is not None:
            return refused  # the model declined and no content-policy fallback answered: the refusal is the answer
        raise ModelCallFailed(
            f"{alias}: {last.outcome}: {last.message}",
            last.outcome,
            attempts,
            status=last.status,
            retry_after_s=last.retry_after_s,
            vendor_code=last.code,
            vendor_message=last.detail,
        )

    async def _open_stream(
        self,
        alias: str,
        policy: AliasPolicy,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        attempts: list[Attempt],
    ) -> _OpenStream | Failure:
        """Start a streamed request and wait for its first piece (within the alias's deadline)."""
        started = time.perf_counter()
        backend = self.backends.choose(policy)
        events = backend.stream(alias, policy, messages, params)
        deployment: str | None = None
        deadline = policy.timeout_s + 1.0
        try:
            first = await asyncio.wait_for(anext(events), timeout=deadline)
            if first[0] == "deployment":
                deployment = first[1]
                first = await asyncio.wait_for(anext(events, ("done", None)), timeout=deadline)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified like any failed attempt
            if isinstance(exc, ConfigurationError):
                raise
            failure = classify(exc)
            attempts.append(failure.attempt(alias, deployment or backend.deployment_of(policy, exc), started))
            return failure
        return _OpenStream(alias, deployment, first, events, started, attempts)

    async def _attempt(
        self,
        alias: str,
        policy: AliasPolicy,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        attempts: list[Attempt],
    ) -> Completion | Failure:
        started = time.perf_counter()
        backend = self.backends.choose(policy)
        try:
            deployment, raw = await asyncio.wait_for(
                backend.complete(alias, policy, messages, params),
                timeout=backend.attempt_deadline_s(policy),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider error is classified, none escapes
            if isinstance(exc, ConfigurationError):
                raise  # the embedded model is not installed (E802): retrying cannot help
            failure = classify(exc)
            attempts.append(failure.attempt(alias, backend.deployment_of(policy, exc), started))
            return failure
        # The local model serializes calls; report its service time, not the time spent queued.
        waited = elapsed_ms(started)
        latency = round(raw.hidden.get("local_latency_ms", waited), 2)
        if raw.finish_reason == "content_filter":
            attempts.append(
                Attempt(alias=alias, deployment=deployment, outcome="content_filter", status=200, latency_ms=latency)
            )
            return Failure("content_filter", 200, None, "the reply was withheld by the vendor's content filter")
        refused = bool(raw.refusal or raw.finish_reason == "refusal") and not raw.text
        attempts.append(
            Attempt(
                alias=alias,
                deployment=deployment,
                outcome="refusal" if refused else "ok",
                status=200,
                latency_ms=latency,
            )
        )
        completion = Completion(
            text=raw.text,
            finish_reason=raw.finish_reason,
            deployment=deployment,
            alias=alias,
            usage=self._usage(deployment, raw.prompt_tokens, raw.completion_tokens, latency, attempts),
            attempts=attempts,
            tool_calls=raw.tool_calls,
            refusal=raw.refusal or ("the model refused to answer" if refused else None),
            logprobs=raw.logprobs,
            queued_ms=round(max(0.0, waited - latency), 2),
        )
        if refused:
            # The model declined (a 200 without an answer): its own outcome, sent to the content-policy route.
            return Failure("refusal", 200, None, f"the model refused: {completion.refusal}", refused=completion)
        return completion

    def _usage(
        self,
        deployment: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        latency_ms: float,
        attempts: list[Attempt],
    ) -> Usage:
        """Tokens, cost from the deployment's prices, latency and the number of attempts."""
        price_in, price_out = self._prices.get(deployment or "", (0.0, 0.0))
        return Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=prompt_tokens * price_in + completion_tokens * price_out,
            latency_ms=latency_ms,
            attempts=len(attempts),
        )

    async def aclose(self) -> None:
        """Close pooled connections of the current event loop."""
        await self.backends.aclose()
