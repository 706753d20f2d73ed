"""The direct HTTP backend for OpenAI-compatible deployments (``openai/…``, ``azure/…``).

An alias with a single OpenAI or Azure OpenAI deployment needs none of the LiteLLM Router's choices
(no load balancing, no cooldowns), so its requests go straight to the documented REST endpoint over
one pooled aiohttp session per event loop. Measured on this project's bench (2 cores), LiteLLM costs
~7–9 ms of CPU per call and the official ``openai`` client ~3.5 ms (request-model transforms and its
connection pool), which cap one process at 110–280 calls/s; this path costs well under 1 ms.
Retries, fallbacks, content-filter routing, pricing and attempt records are the same for every
backend (``llm.routing.ModelRouter``); see ``backends.choose`` for which alias uses which.

Errors are raised as :class:`APIStatusError` / :class:`APIConnectionError` / ``TimeoutError``
carrying the status, headers and body that ``llm.failures.classify`` reads.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from ...files.schema import AliasPolicy, Deployment
from .base import RawCompletion, RawEmbedding, StreamEvent, choice_extras

DIRECT_PROVIDERS = frozenset({"openai", "azure"})
DEFAULT_OPENAI_BASE = "https://api.openai.com/v1"
DEFAULT_AZURE_API_VERSION = "2024-10-21"


def serves(policy: AliasPolicy) -> bool:
    """True for an alias with exactly one OpenAI-compatible deployment."""
    deployment = policy.deployments[0]
    return len(policy.deployments) == 1 and "/" in deployment.model and deployment.provider in DIRECT_PROVIDERS


class APIStatusError(Exception):
    """A non-2xx answer. ``body`` is the parsed JSON (or text); ``headers`` keep Retry-After."""

    def __init__(self, status_code: int, body: Any, headers: Mapping[str, str]) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status_code}: {message or str(body)[:300]}")
        self.status_code = status_code
        self.body = body
        self.headers = {k.lower(): v for k, v in headers.items()}


class APIConnectionError(Exception):
    """The endpoint could not be reached or closed the connection."""


def endpoint(
    deployment: Deployment, env: Mapping[str, str], operation: str = "chat/completions"
) -> tuple[str, dict[str, str]]:
    """URL and auth headers for a deployment's ``operation`` (``chat/completions`` or ``embeddings``;
    credentials read from the named variables)."""
    api_base = (env.get(deployment.api_base_env or "") or "").rstrip("/")
    api_key = env.get(deployment.api_key_env or "", "")
    name = deployment.model.split("/", 1)[1]
    if deployment.provider == "azure":
        version = str(deployment.params.get("api_version", DEFAULT_AZURE_API_VERSION))
        return (f"{api_base}/openai/deployments/{name}/{operation}?api-version={version}", {"api-key": api_key})
    return f"{api_base or DEFAULT_OPENAI_BASE}/{operation}", {"Authorization": f"Bearer {api_key}"}


async def _closed_at_loop_shutdown(session: Any) -> AsyncGenerator[None, None]:
    """Suspended until its loop shuts down its async generators, then closes ``session``."""
    try:
        yield
    finally:
        await session.close()


class DirectClients:
    """Pooled HTTP sessions, one per event loop (connection pools cannot cross loops).

    A loop's session is closed when that loop shuts down its async generators (``asyncio.run`` does
    at its end), or by :meth:`aclose`; a worker calling ``asyncio.run`` per request therefore leaves
    no session or socket behind.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        import aiohttp  # noqa: F401  (imported here so the first request's latency does not include it)

        self.env = env
        self._lock = threading.Lock()
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[Any, AsyncGenerator[None, None]]] = {}

    async def _current_session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._sessions.get(loop)
        if entry is not None and not entry[0].closed:
            return entry[0]
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
        keeper = _closed_at_loop_shutdown(session)
        await anext(keeper)  # the loop now tracks it, and closes it in shutdown_asyncgens()
        with self._lock:
            for old in [other for other, (held, _) in self._sessions.items() if held.closed or other.is_closed()]:
                del self._sessions[old]
            self._sessions[loop] = (session, keeper)
        return session

    async def aclose(self) -> None:
        """Close the session of the running loop (other loops keep theirs)."""
        with self._lock:
            entry = self._sessions.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    async def _post(
        self, deployment: Deployment, operation: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        """POST ``payload`` to the deployment's ``operation``; the JSON answer, or the error raised."""
        import aiohttp

        url, headers = endpoint(deployment, self.env, operation)
        payload = {**{k: v for k, v in deployment.params.items() if k != "api_version"}, **payload}
        if deployment.provider == "openai":
            payload["model"] = deployment.model.split("/", 1)[1]
        try:
            async with (await self._current_session()).post(
                url, json=payload, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                raw = await response.read()
                if response.status >= 300:
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = raw.decode(errors="replace")
                    raise APIStatusError(response.status, body, response.headers)
                data: dict[str, Any] = json.loads(raw)
                return data
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"{type(exc).__name__}: {exc}") from None

    async def complete(
        self, deployment: Deployment, messages: list[dict[str, Any]], params: Mapping[str, Any], timeout_s: float
    ) -> RawCompletion:
        data = await self._post(deployment, "chat/completions", {**params, "messages": messages}, timeout_s)
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        return RawCompletion(
            text=message.get("content") or "",
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            **choice_extras(message, choice),
        )

    async def embed(
        self, deployment: Deployment, inputs: list[str], params: Mapping[str, Any], timeout_s: float
    ) -> RawEmbedding:
        """Vectors as floats (whatever encoding the caller will answer with)."""
        payload = {**params, "input": inputs, "encoding_format": "float"}
        data = await self._post(deployment, "embeddings", payload, timeout_s)
        ordered = sorted(data["data"], key=lambda item: int(item["index"]))
        usage = data.get("usage") or {}
        return RawEmbedding([list(item["embedding"]) for item in ordered], int(usage.get("prompt_tokens") or 0))

    async def stream(
        self, deployment: Deployment, messages: list[dict[str, Any]], params: Mapping[str, Any], timeout_s: float
    ) -> AsyncIterator[tuple[str, Any]]:
        """``("text", piece)`` events as the SSE stream arrives, then ``("done", RawCompletion)``."""
        import aiohttp

        url, headers = endpoint(deployment, self.env)
        payload = {k: v for k, v in deployment.params.items() if k != "api_version"}
        payload.update(params)
        payload.update({"messages": messages, "stream": True, "stream_options": {"include_usage": True}})
        if deployment.provider == "openai":
            payload["model"] = deployment.model.split("/", 1)[1]
        usage: dict[str, Any] = {}
        finish = None
        try:
            async with (await self._current_session()).post(
                url,
                json=payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s),
            ) as response:
                if response.status >= 300:
                    raw = await response.read()
                    try:
                        body: Any = json.loads(raw)
                    except ValueError:
                        body = raw.decode(errors="replace")
                    raise APIStatusError(response.status, body, response.headers)
                async for line in response.content:
                    text = line.decode().strip()
                    if not text.startswith("data:"):
                        continue
                    data = text[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        finish = choice.get("finish_reason") or finish
                        delta = choice.get("delta") or {}
                        piece = delta.get("content")
                        if piece:
                            yield ("text", piece)
                        extras = choice_extras(delta, choice)
                        if extras:
                            yield ("delta", extras)
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"{type(exc).__name__}: {exc}") from None
        yield (
            "done",
            RawCompletion("", finish, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
        )


class DirectBackend:
    """The :class:`~promptship.llm.backends.base.Backend` for an alias with one OpenAI-compatible deployment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.clients = DirectClients(env)

    async def complete(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str | None, RawCompletion]:
        deployment = policy.deployments[0]
        return deployment.id, await self.clients.complete(deployment, messages, params, policy.timeout_s)

    async def stream(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[StreamEvent]:
        deployment = policy.deployments[0]
        yield ("deployment", deployment.id)
        async for event in self.clients.stream(deployment, messages, params, policy.timeout_s):
            yield event

    async def embed(
        self, alias: str, policy: AliasPolicy, inputs: list[str], params: Mapping[str, Any]
    ) -> tuple[str | None, RawEmbedding]:
        deployment = policy.deployments[0]
        return deployment.id, await self.clients.embed(deployment, inputs, params, policy.timeout_s)

    def attempt_deadline_s(self, policy: AliasPolicy) -> float:
        """The alias's ``timeout_s`` plus a second: the request's own timeout fires first."""
        return policy.timeout_s + 1.0

    def deployment_of(self, policy: AliasPolicy, exc: BaseException) -> str | None:
        return policy.deployments[0].id

    def prepare(self) -> None:
        return None

    async def aclose(self) -> None:
        await self.clients.aclose()
