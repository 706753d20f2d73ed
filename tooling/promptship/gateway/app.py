"""The gateway's HTTP API (FastAPI): OpenAI's chat-completions and models endpoints, plus managed
prompts by name and label. Vendor keys stay on the server; clients hold a per-project gateway key.

Errors use OpenAI's error format (``{"error": {"message", "type", "param", "code"}}``) so the official
clients raise their usual exceptions. ``Idempotency-Key`` makes a client's timeout-and-retry return
the first answer without calling the model or billing twice.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..errors import PromptshipError
from ..pii.policy import PiiBlockedError
from ..routing import ModelCallFailed
from ..sdk import Client
from .state import Counters, KeyStore, budget_left

IDEMPOTENCY_TTL_S = 24 * 3600
PASSTHROUGH_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "seed", "response_format")


def openai_error(status: int, message: str, kind: str, code: str | None = None) -> Any:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


def completion_body(alias: str, text: str, prompt_tokens: int, completion_tokens: int, extra: dict[str, Any]) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "promptship": extra,
    }


async def sse(body: dict[str, Any]) -> AsyncIterator[str]:
    """The finished completion as OpenAI stream chunks (role, content, finish, usage, [DONE])."""
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"]}
    text = body["choices"][0]["message"]["content"]
    opening = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    yield f"data: {json.dumps({**base, 'choices': [opening]})}\n\n"
    for start in range(0, len(text), 24):
        delta = {"index": 0, "delta": {"content": text[start : start + 24]}, "finish_reason": None}
        yield f"data: {json.dumps({**base, 'choices': [delta]}, ensure_ascii=False)}\n\n"
    yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
    yield f"data: {json.dumps({**base, 'choices': [], 'usage': body['usage']})}\n\n"
    yield "data: [DONE]\n\n"


def create_app(client: Client, keys: KeyStore, counters: Counters) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.router.aclose()
        client.close()

    app = FastAPI(title="promptship gateway", docs_url=None, redoc_url=None, lifespan=lifespan)
    repo = client.repo

    def authenticate(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return keys.project_of(header[7:]) if header.lower().startswith("bearer ") else None

    async def run(request: Request, project: str, alias: str, produce: Any) -> Any:
        idempotency = request.headers.get("idempotency-key")
        cache_key = f"{project}:{idempotency}" if idempotency else None
        if cache_key and (previous := counters.recall(cache_key)) is not None:
            return previous
        left = budget_left(repo.policies.budgets, counters, project)
        if left is not None and left <= 0:
            return openai_error(
                429,
                f"monthly budget of project '{project}' is spent; it resets next month or "
                "when the budget in policies/budgets.yaml is raised",
                "insufficient_quota",
                "budget_exceeded",
            )
        try:
            body, cost = await produce()
        except PiiBlockedError as exc:
            return openai_error(400, exc.message, "invalid_request_error", "pii_blocked")
        except ModelCallFailed as exc:
            status = 400 if exc.kind in ("content_filter", "bad_request") else 502
            return openai_error(status, f"all deployments of '{alias}' failed: {exc.kind}", "api_error", exc.kind)
        except PromptshipError as exc:
            return openai_error(400, exc.message, "invalid_request_error", exc.code)
        counters.add_spend(project, cost)
        if cache_key:
            counters.remember(cache_key, body, IDEMPOTENCY_TTL_S)
        return body

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        if authenticate(request) is None:
            return openai_error(401, "invalid gateway key", "invalid_request_error", "invalid_api_key")
        return {
            "object": "list",
            "data": [
                {"id": alias, "object": "model", "created": 0, "owned_by": "promptship"}
                for alias in client.router.aliases()
            ],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        project = authenticate(request)
        if project is None:
            return openai_error(401, "invalid gateway key", "invalid_request_error", "invalid_api_key")
        payload = await request.json()
        alias = str(payload.get("model", ""))
        if alias not in client.router.aliases():
            return openai_error(
                404,
                f"model '{alias}' is not an alias of the routing policy",
                "invalid_request_error",
                "model_not_found",
            )

        async def produce() -> tuple[dict[str, Any], float]:
            params = {k: payload[k] for k in PASSTHROUGH_PARAMS if payload.get(k) is not None}
            call = client.guard(f"{project}/{alias}", payload.get("messages") or [], params, alias=alias)
            done = await client.router.complete(alias, call.messages, call.params)
            call.finish(done)
            extra = {
                "deployment": done.deployment,
                "cost_usd": done.cost_usd,
                "pii_masked": call.pii_masked,
                "fallback_used": done.alias if done.alias != alias else None,
            }
            return completion_body(alias, done.text, done.prompt_tokens, done.completion_tokens, extra), done.cost_usd

        if payload.get("stream"):
            return await stream(request, project, alias, payload)
        return await run(request, project, alias, produce)

    async def stream(request: Request, project: str, alias: str, payload: dict[str, Any]) -> Any:
        """True streaming: pieces are forwarded as they arrive; spend is charged when the stream ends."""
        idempotency = request.headers.get("idempotency-key")
        cache_key = f"{project}:{idempotency}" if idempotency else None
        if cache_key and (previous := counters.recall(cache_key)) is not None:
            return StreamingResponse(sse(previous), media_type="text/event-stream")
        left = budget_left(repo.policies.budgets, counters, project)
        if left is not None and left <= 0:
            return openai_error(
                429, f"monthly budget of project '{project}' is spent", "insufficient_quota", "budget_exceeded"
            )
        params = {k: payload[k] for k in PASSTHROUGH_PARAMS if payload.get(k) is not None}
        try:
            call = client.guard(f"{project}/{alias}", payload.get("messages") or [], params, alias=alias)
        except PiiBlockedError as exc:
            return openai_error(400, exc.message, "invalid_request_error", "pii_blocked")
        events = client.router.stream(alias, call.messages, call.params)
        try:
            first = await anext(events)
        except ModelCallFailed as exc:
            return openai_error(502, f"all deployments of '{alias}' failed: {exc.kind}", "api_error", exc.kind)
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": alias,
        }

        async def body() -> AsyncIterator[str]:
            opening = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            yield f"data: {json.dumps({**head, 'choices': [opening]})}\n\n"
            event: Any = first
            while True:
                if isinstance(event, str):
                    piece = {"index": 0, "delta": {"content": event}, "finish_reason": None}
                    yield f"data: {json.dumps({**head, 'choices': [piece]}, ensure_ascii=False)}\n\n"
                else:
                    done = event
                    counters.add_spend(project, done.cost_usd)
                    call.finish(done)
                    final = completion_body(alias, done.text, done.prompt_tokens, done.completion_tokens, {})
                    if cache_key:
                        counters.remember(cache_key, {**final, "id": head["id"]}, IDEMPOTENCY_TTL_S)
                    end = {"index": 0, "delta": {}, "finish_reason": "stop"}
                    yield f"data: {json.dumps({**head, 'choices': [end]})}\n\n"
                    yield f"data: {json.dumps({**head, 'choices': [], 'usage': final['usage']})}\n\n"
                    yield "data: [DONE]\n\n"
                    return
                event = await anext(events)

        return StreamingResponse(body(), media_type="text/event-stream")

    @app.post("/v1/prompts/{name:path}/completions")
    async def managed(name: str, request: Request) -> Any:
        project = authenticate(request)
        if project is None:
            return openai_error(401, "invalid gateway key", "invalid_request_error", "invalid_api_key")
        payload = await request.json()

        async def produce() -> tuple[dict[str, Any], float]:
            done = await client.acomplete(
                name, payload.get("variables") or {}, label=payload.get("label") or "production"
            )
            extra = {
                "deployment": done.deployment,
                "cost_usd": done.cost_usd,
                "prompt_version": done.prompt_version,
                "prompt_source": done.prompt_source,
                "pii_masked": done.pii_masked,
                "fallback_used": done.fallback_used,
            }
            return (
                completion_body(done.model_alias, done.text, done.prompt_tokens, done.completion_tokens, extra),
                done.cost_usd,
            )

        return await run(request, project, name, produce)

    return app
