"""A real HTTP, OpenAI-compatible fake LLM server on loopback, for tests and benches.

- ``POST /v1/chat/completions`` (also ``stream: true`` as SSE), the Azure OpenAI path
  ``/openai/deployments/{deployment}/chat/completions``, and ``GET /v1/models``.
- Deterministic replies from a rule table keyed on the prompt text (first matching rule wins), so a
  test can make one prompt version measurably better than another.
- ``POST /v1/embeddings`` (and the Azure path): deterministic unit vectors (``fake_embedding``), floats
  or base64, with usage.
- Fault injection per model: latency and jitter, 500s, 429s with ``Retry-After``, hangs past the
  client's timeout, and content-filter refusals in each vendor's error shape:
  Azure OpenAI ``content_filter`` (HTTP 400, the body Azure documents for prompt filtering, and a 200
  whose ``finish_reason`` is ``content_filter``), OpenAI ``content_policy_violation`` (400
  ``invalid_request_error``), and Gemini's ``PROHIBITED_CONTENT`` block as its OpenAI-compatible
  endpoint reports it (400 whose message names the block reason).
- Streams cut mid-way (``cut_stream_after``): the connection is closed, or the body ends, before
  ``finish_reason`` and ``[DONE]``.
- An echoing upstream: ``echo_key`` answers 401 with a body quoting the key it received, and
  ``echo_key_in_reply`` answers 200 with the key inside the reply (a proxy or model that repeats it).
- A request counter per model and outcome, and a journal of what was received (Authorization is
  recorded only as present/absent).

Runs an aiohttp server on its own event loop in a background thread:

    with FakeLLM([Rule("positive", "positive")]) as llm:
        llm.faults("m", error_500=0.2, seed=1)
        ... openai/m with api_base=llm.base_url ...
        assert llm.count(model="m") == ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .server import BackgroundServer


@dataclass(frozen=True)
class ToolCall:
    """A function call the fake model answers with (``arguments`` are sent JSON-encoded)."""

    name: str
    arguments: dict[str, Any]


#: What a rule answers: text, or tool calls (several = parallel tool calls).
Reply = str | list[ToolCall]


@dataclass(frozen=True)
class Rule:
    """Reply ``reply`` when ``pattern`` (a regex) is found in the request's message text.

    A tool-call reply is given only when the request offers ``tools`` and its ``tool_choice`` is not
    ``"none"`` (else the default reply); ``parallel_tool_calls: false`` keeps the first call only.
    """

    pattern: str
    reply: Reply | Callable[[dict[str, Any]], Reply]
    model: str | None = None


def tool_call_dicts(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """OpenAI ``message.tool_calls`` for ``calls`` (ids are deterministic: ``call_<n>_<name>``)."""
    return [
        {
            "id": f"call_{index}_{call.name}",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
        }
        for index, call in enumerate(calls)
    ]


def token_logprobs(text: str) -> dict[str, Any]:
    """OpenAI ``choice.logprobs`` for ``text``: one entry per whitespace-separated piece."""
    return {
        "content": [
            {"token": piece, "logprob": -0.25, "bytes": list(piece.encode()), "top_logprobs": []}
            for piece in re.findall(r"\S+\s*", text)
        ],
        "refusal": None,
    }


@dataclass
class Faults:
    latency_s: float = 0.0
    jitter_s: float = 0.0
    error_500: float = 0.0
    error_429: float = 0.0
    retry_after_s: float = 0.0
    hang: float = 0.0
    hang_s: float = 30.0
    content_filter: float = 0.0
    #: "azure" | "azure_finish" | "openai" | "gemini" | "openai_refusal" (200, ``message.refusal`` set,
    #: content null) | "finish_refusal" (200, ``finish_reason: refusal``, content null)
    content_filter_kind: str = "azure"
    #: Requests whose prompt matches this regex are always refused by the content filter.
    content_filter_pattern: str | None = None
    #: Probability of a 401 whose body repeats the key the request carried (as some proxies do).
    echo_key: float = 0.0
    #: Every successful reply carries the request's key.
    echo_key_in_reply: bool = False
    #: Requests whose prompt matches this regex always fail with 500 (an outage for those requests).
    fail_pattern: str | None = None
    #: The first N requests fail with 500, whatever the probabilities say.
    fail_first_n: int = 0
    #: The first N requests are rate limited (429 with ``Retry-After: retry_after_s``).
    rate_limit_first_n: int = 0
    #: The first N requests hang (past the client's timeout), whatever the probabilities say.
    hang_first_n: int = 0
    #: Requests whose prompt matches this regex get OpenAI's 400 ``context_length_exceeded``.
    context_length_pattern: str | None = None
    #: Every request is refused with OpenAI's 401 ``invalid_api_key``, echoing the key it got.
    bad_key: bool = False
    #: Streamed answers stop after this many content pieces: no finish_reason, no ``[DONE]``.
    cut_stream_after: int | None = None
    #: How a cut stream ends: "reset" (the connection is closed) or "end" (the body ends cleanly).
    cut_stream_how: str = "reset"
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    seen: int = 0


@dataclass(frozen=True)
class Received:
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    path: str
    authorization: bool
    outcome: str
    #: time.monotonic() when the request arrived.
    at: float = field(default_factory=time.monotonic)


def prompt_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


def fake_embedding(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic unit vector for ``text`` (from its sha256), so tests can compare answers."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimensions)]
    norm = sum(v * v for v in raw) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in raw]


def count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: words plus one per 4 non-space characters of long words."""
    return sum(1 + len(word) // 8 for word in text.split())


AZURE_FILTER_BODY = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "high"},
            },
        },
    }
}
OPENAI_FILTER_BODY = {
    "error": {
        "message": "Your request was rejected as a result of our safety system.",
        "type": "invalid_request_error",
        "param": None,
        "code": "content_policy_violation",
    }
}
CONTEXT_LENGTH_BODY = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "131072 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
INVALID_KEY_ERROR = {"type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
GEMINI_FILTER_BODY = [
    {
        "error": {
            "code": 400,
            "message": "The request was blocked. Block reason: PROHIBITED_CONTENT",
            "status": "INVALID_ARGUMENT",
        }
    }
]


class FakeLLM:
    def __init__(
        self, rules: Sequence[Rule] = (), *, default_reply: Callable[[dict[str, Any]], str] | None = None, port: int = 0
    ) -> None:
        self.rules = list(rules)
        self.default_reply = default_reply or (lambda body: "OK")
        self._faults: dict[str, Faults] = {}
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        #: Tokens the fake reported in its answers' ``usage`` (what a vendor bills), per (model, kind):
        #: kind ``prompt_tokens`` or ``completion_tokens``.
        self.billed: Counter[tuple[str, str]] = Counter()
        self.journal: list[Received] = []
        self._server = BackgroundServer(self._routes, port)
        self.port = 0

    # -- configuration ----------------------------------------------------------------------------
    def set_rules(self, rules: Sequence[Rule]) -> None:
        with self._lock:
            self.rules = list(rules)

    def faults(self, model: str = "*", **knobs: Any) -> None:
        """Set fault knobs for ``model`` ("*" = every model without its own settings)."""
        with self._lock:
            faults = Faults(**knobs)
            faults.rng = random.Random(faults.seed)
            self._faults[model] = faults

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.billed.clear()
            self.journal.clear()
            self._faults.clear()

    def count(self, model: str | None = None, outcome: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, o), n in self.counts.items()
                if (model is None or m == model) and (outcome is None or o == outcome)
            )

    def tokens(self, kind: str, model: str | None = None) -> int:
        """Tokens of ``kind`` (``prompt_tokens``/``completion_tokens``) reported in answers' usage."""
        with self._lock:
            return sum(n for (m, k), n in self.billed.items() if k == kind and (model is None or m == model))

    def _bill(self, model: str, usage: dict[str, int]) -> dict[str, int]:
        with self._lock:
            for kind in ("prompt_tokens", "completion_tokens"):
                self.billed[(model, kind)] += usage.get(kind, 0)
        return usage

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ----------------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/embeddings", self._embeddings)
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._embeddings)

    def start(self) -> FakeLLM:
        self._server.start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------------------
    def _faults_for(self, model: str) -> Faults | None:
        return self._faults.get(model) or self._faults.get("*")

    def _decide(self, model: str, text: str) -> tuple[str, float]:
        """(outcome, latency) for one request, drawn under the lock so seeded runs are reproducible."""
        with self._lock:
            faults = self._faults_for(model)
            if faults is None:
                return "ok", 0.0
            faults.seen += 1
            latency = faults.latency_s + (faults.rng.random() * faults.jitter_s if faults.jitter_s else 0.0)
            if faults.content_filter_pattern and re.search(faults.content_filter_pattern, text):
                return "content_filter", latency
            if faults.context_length_pattern and re.search(faults.context_length_pattern, text):
                return "context_length", latency
            if faults.bad_key:
                return "401", latency
            if faults.seen <= faults.hang_first_n:
                return "hang", latency
            if faults.fail_pattern and re.search(faults.fail_pattern, text):
                return "500", latency
            if faults.seen <= faults.fail_first_n:
                return "500", latency
            if faults.seen <= faults.rate_limit_first_n:
                return "429", latency
            draw = faults.rng.random()
            for outcome, probability in (
                ("500", faults.error_500),
                ("429", faults.error_429),
                ("hang", faults.hang),
                ("content_filter", faults.content_filter),
                ("echo_key", faults.echo_key),
            ):
                if draw < probability:
                    return outcome, latency
                draw -= probability
            return "ok", latency

    def _reply(self, model: str, body: dict[str, Any]) -> Reply:
        text = prompt_text(body)
        with self._lock:
            rules = list(self.rules)
        for rule in rules:
            if (rule.model is None or rule.model == model) and re.search(rule.pattern, text):
                reply = rule.reply(body) if callable(rule.reply) else rule.reply
                if isinstance(reply, str):
                    return reply
                if not body.get("tools") or body.get("tool_choice") == "none":
                    break
                return reply[:1] if body.get("parallel_tool_calls") is False else reply
        return self.default_reply(body)

    async def _models(self, request: web.Request) -> web.Response:
        with self._lock:
            names = sorted({m for m, _ in self.counts} | {r.model for r in self.rules if r.model})
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names],
            }
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        """``POST /v1/embeddings``: a deterministic unit vector per input (``dimensions``, default 8),
        as floats or base64 float32 (``encoding_format``); the same fault knobs as chat."""
        body = await request.json()
        model = request.match_info.get("deployment") or str(body.get("model", ""))
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        texts = [text if isinstance(text, str) else json.dumps(text) for text in inputs]
        outcome, latency = self._decide(model, "\n".join(texts))
        with self._lock:
            self.counts[(model, outcome)] += 1
            self.journal.append(
                Received(
                    model,
                    [{"role": "user", "content": text} for text in texts],
                    {k: v for k, v in body.items() if k not in ("input", "model")},
                    request.path,
                    "Authorization" in request.headers or "api-key" in request.headers,
                    outcome,
                )
            )
        if latency:
            await asyncio.sleep(latency)
        if outcome != "ok":
            status = 429 if outcome == "429" else 500
            return web.json_response(
                {"error": {"message": f"injected {outcome}", "type": "server_error"}}, status=status
            )
        dimensions = int(body.get("dimensions") or 8)
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dimensions)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(count_tokens(text) for text in texts)
        self._bill(model, {"prompt_tokens": tokens})
        return web.json_response(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = request.match_info.get("deployment") or str(body.get("model", ""))
        text = prompt_text(body)
        outcome, latency = self._decide(model, text)
        faults = self._faults_for(model)
        with self._lock:
            self.counts[(model, outcome)] += 1
            self.journal.append(
                Received(
                    model,
                    body.get("messages", []),
                    {k: v for k, v in body.items() if k not in ("messages", "model")},
                    request.path,
                    "Authorization" in request.headers or "api-key" in request.headers,
                    outcome,
                )
            )
        if latency:
            await asyncio.sleep(latency)
        if outcome == "hang":
            assert self._server.stopping is not None and faults is not None
            try:
                await asyncio.wait_for(self._server.stopping.wait(), timeout=faults.hang_s)
            except TimeoutError:
                pass
            return web.json_response({"error": {"message": "hung"}}, status=504)
        if outcome == "500":
            return web.json_response(
                {
                    "error": {
                        "message": "The server had an error while processing your request.",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                },
                status=500,
            )
        if outcome == "429":
            retry_after = faults.retry_after_s if faults else 0
            return web.json_response(
                {
                    "error": {
                        "message": "Rate limit reached for requests",
                        "type": "requests",
                        "param": None,
                        "code": "rate_limit_exceeded",
                    }
                },
                status=429,
                headers={"Retry-After": f"{retry_after:g}", "x-ratelimit-remaining-requests": "0"},
            )
        if outcome == "context_length":
            return web.json_response(CONTEXT_LENGTH_BODY, status=400)
        if outcome == "401":
            key = request.headers.get("Authorization", "").removeprefix("Bearer ")
            body = {"error": {**INVALID_KEY_ERROR, "message": f"Incorrect API key provided: {key}."}}
            return web.json_response(body, status=401)
        if outcome == "content_filter":
            kind = faults.content_filter_kind if faults else "azure"
            if kind == "openai":
                return web.json_response(OPENAI_FILTER_BODY, status=400)
            if kind == "gemini":
                return web.json_response(GEMINI_FILTER_BODY, status=400)
            if kind == "azure_finish":
                return web.json_response(self._completion(model, body, None, "content_filter"))
            if kind == "finish_refusal":
                return web.json_response(self._completion(model, body, None, "refusal"))
            if kind == "openai_refusal":
                answer = self._completion(model, body, None, "stop")
                answer["choices"][0]["message"]["refusal"] = "I'm sorry, I can't help with that request."
                return web.json_response(answer)
            return web.json_response(AZURE_FILTER_BODY, status=400)
        key = request.headers.get("api-key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        if outcome == "echo_key":
            return web.json_response(
                {
                    "error": {
                        "message": f"Incorrect API key provided: {key}. Header was 'Authorization: Bearer {key}'",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
                status=401,
            )
        reply = self._reply(model, body)
        if faults is not None and faults.echo_key_in_reply:
            reply = f"{reply} (you sent me {key})"
        if body.get("stream"):
            return await self._stream(request, model, body, reply, faults)
        return web.json_response(self._completion(model, body, reply, "stop"))

    def _usage(self, body: dict[str, Any], reply: Reply | None) -> dict[str, int]:
        prompt_tokens = count_tokens(prompt_text(body)) + 3 * len(body.get("messages", []))
        written = reply if isinstance(reply, str) or reply is None else json.dumps(tool_call_dicts(reply))
        completion_tokens = count_tokens(written or "")
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def _completion(self, model: str, body: dict[str, Any], reply: Reply | None, finish: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply, "refusal": None}
        logprobs = token_logprobs(reply) if body.get("logprobs") and isinstance(reply, str) else None
        if isinstance(reply, list):
            message.update(content=None, tool_calls=tool_call_dicts(reply))
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-fake-{int(time.time() * 1000)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}],
            "usage": self._bill(model, self._usage(body, reply)),
        }

    async def _stream(
        self, request: web.Request, model: str, body: dict[str, Any], reply: Reply, faults: Faults | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            if body.get("logprobs") and delta.get("content"):
                choice["logprobs"] = token_logprobs(delta["content"])
            data = {
                "id": "chatcmpl-fake-stream",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice] if delta or finish else [],
            }
            if usage is not None:
                data["usage"] = usage
            return f"data: {json.dumps(data)}\n\n".encode()

        if isinstance(reply, list):
            # As OpenAI streams tool calls: id, type and name first, then the arguments in pieces.
            await response.write(chunk({"role": "assistant", "content": None}))
            for index, call in enumerate(tool_call_dicts(reply)):
                head = {"index": index, "id": call["id"], "type": "function"}
                await response.write(
                    chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]})
                )
                arguments = call["function"]["arguments"]
                for start in range(0, len(arguments), 7):
                    piece = {"index": index, "function": {"arguments": arguments[start : start + 7]}}
                    await response.write(chunk({"tool_calls": [piece]}))
            await response.write(chunk({}, "tool_calls"))
        else:
            if not await self._stream_text(request, response, chunk, reply, faults):
                return response
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(chunk({}, None, self._bill(model, self._usage(body, reply))))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _stream_text(
        self,
        request: web.Request,
        response: web.StreamResponse,
        chunk: Callable[..., bytes],
        reply: str,
        faults: Faults | None,
    ) -> bool:
        """Write a text answer as content deltas and its finish; False when the stream was cut."""
        await response.write(chunk({"role": "assistant", "content": ""}))
        cut = faults.cut_stream_after if faults else None
        for number, piece in enumerate(re.findall(r"\S+\s*", reply) or [reply]):
            if cut is not None and number >= cut:
                assert faults is not None
                if faults.cut_stream_how == "reset" and request.transport is not None:
                    request.transport.close()
                else:
                    await response.write_eof()
                return False
            await response.write(chunk({"content": piece}))
        await response.write(chunk({}, "stop"))
        return True


def main() -> None:
    """Run standalone (for benches): prints the port, serves until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeLLM(port=args.port).start()
    if args.latency:
        server.faults("*", latency_s=args.latency)
    print(server.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
