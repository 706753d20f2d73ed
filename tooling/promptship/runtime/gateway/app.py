"""The gateway's HTTP API (FastAPI): OpenAI's chat-completions and models endpoints, plus managed
prompts by name and label. Vendor keys stay on the server; clients hold a per-project gateway key.

Every error uses OpenAI's error format (``gateway/errors.py``), unknown routes and crashes included,
so the official clients raise their usual exceptions. ``Idempotency-Key`` makes a client's
timeout-and-retry return the first answer without calling the model or billing twice, even while
the first call is still running (``gateway/idempotency.py``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from ...errors import PromptshipError
from ...files.schema import nfc
from ...llm.credentials import required_env
from ...llm.failures import Failure
from ...llm.routing import BeforeRetry, Completion, Delta
from ...llm.usage import Usage
from ...ops.recording import UsageRecorder
from ...ops.usage import REFUSED, key_id, outcome_of
from ..sdk import Client, GuardedCall
from ..split import header_text
from .access_log import AccessLog, usage_row
from .errors import GatewayError, from_library, interrupted, logger, unexpected
from .idempotency import Settlement, claim_or_wait, request_fingerprint
from .requests import ChatRequest, EmbeddingRequest, ManagedRequest, parse_json, validated
from .reservations import OutputEstimates
from .state import SHARED_PROJECT, Counters, KeyStore

Answer = Callable[[Settlement], Awaitable[tuple[dict[str, Any], float]]]
#: Failed attempts the vendor may have processed, and billed, without answering.
BILLABLE_FAILURES = ("timeout", "connection")
OpenStream = Callable[[Settlement], Awaitable[Response]]
#: The header carrying a managed-prompt call's split key (a user or session id; hashed, never kept).
SPLIT_KEY_HEADER = "x-promptship-split-key"


class AlertHooks(Protocol):
    """What the gateway tells the alerting side (``ops.alerts.GatewayAlerts``). Every hook returns
    at once (the work runs in background tasks) and never raises into a request."""

    def spent(self, project: str, period: str, total_usd: float) -> None:
        """``project``'s settled spend in ``period`` is now ``total_usd``."""

    def refused(self, project: str, period: str, spent_usd: float) -> None:
        """A call of ``project`` was refused because its budget has no room left."""

    def request(self, project: str, request_hash: str) -> None:
        """A model request of ``project`` arrived (``request_hash``: sha256 of path and body)."""

    def call_finished(self, project: str, attempts: int) -> None:
        """A model call of ``project`` ended after ``attempts`` upstream attempts."""

    async def aclose(self) -> None:
        """Finish background work (at shutdown)."""


class NoAlerts:
    """No alerting (tests and embedders that do not want any)."""

    def spent(self, project: str, period: str, total_usd: float) -> None:
        return None

    def refused(self, project: str, period: str, spent_usd: float) -> None:
        return None

    def request(self, project: str, request_hash: str) -> None:
        return None

    def call_finished(self, project: str, attempts: int) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Finished(Protocol):
    """What a chat.completion reports of a finished call (a Completion or a CompletionResult)."""

    @property
    def text(self) -> str: ...

    @property
    def usage(self) -> Usage: ...

    @property
    def finish_reason(self) -> str | None: ...

    @property
    def tool_calls(self) -> list[dict[str, Any]] | None: ...

    @property
    def refusal(self) -> str | None: ...

    @property
    def logprobs(self) -> dict[str, Any] | None: ...


def completion_body(alias: str, done: Finished, extra: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` for a finished call (tool calls, refusal and logprobs as the
    vendor sent them)."""
    prompt_tokens, completion_tokens = done.usage.prompt_tokens, done.usage.completion_tokens
    message: dict[str, Any] = {"role": "assistant", "content": done.text, "refusal": done.refusal}
    if done.tool_calls:
        message["tool_calls"] = done.tool_calls
        message["content"] = done.text or None
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": done.logprobs,
                "finish_reason": done.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "promptship": extra,
    }


def embedding_body(alias: str, vectors: list[list[float]], prompt_tokens: int, encoding: str | None) -> dict[str, Any]:
    """An OpenAI embeddings list; ``encoding`` ``base64`` packs each vector as little-endian float32."""

    def encoded(vector: list[float]) -> Any:
        if encoding == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encoded(v)} for i, v in enumerate(vectors)],
        "model": alias,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def chunk(head: dict[str, Any], choices: list[dict[str, Any]], **extra: Any) -> str:
    return f"data: {json.dumps({**head, 'choices': choices, **extra}, ensure_ascii=False)}\n\n"


def wants_usage(payload: dict[str, Any]) -> bool:
    """OpenAI sends a final usage-only chunk (``choices: []``) only when the request asks for it."""
    options = payload.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


async def replay(body: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    """A stored completion as OpenAI stream chunks (role, content, finish, [usage], [DONE])."""
    head = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"]}
    choice = body["choices"][0]
    message = choice["message"]
    text = message["content"] or ""
    yield chunk(head, [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    for start in range(0, len(text), 24):
        yield chunk(head, [{"index": 0, "delta": {"content": text[start : start + 24]}, "finish_reason": None}])
    calls = [{"index": i, **call} for i, call in enumerate(message.get("tool_calls") or [])]
    extras = {"tool_calls": calls} if calls else {}
    if message.get("refusal"):
        extras["refusal"] = message["refusal"]
    if extras or choice.get("logprobs"):
        yield chunk(head, [{"index": 0, "delta": extras, "logprobs": choice.get("logprobs"), "finish_reason": None}])
    yield chunk(head, [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}])
    if include_usage:
        yield chunk(head, [], usage=body["usage"])
    yield "data: [DONE]\n\n"


def note(request: Request, **fields: Any) -> None:
    """Record ``fields`` of this request for the access log (no-op without one)."""
    access = getattr(request.state, "access", None)
    if access is not None:
        access.update(fields)


def note_completion(request: Request, done: Completion, alias: str) -> None:
    request.state.attempts = len(done.attempts)
    if done.refusal is not None and not done.text:
        note(request, outcome=REFUSED)
    note(
        request,
        deployment=done.deployment,
        fallback_used=done.alias if done.alias != alias else None,
        prompt_tokens=done.usage.prompt_tokens,
        completion_tokens=done.usage.completion_tokens,
        cost_usd=done.usage.cost_usd,
        attempts=done.usage.attempts,
    )


def delta_choice(delta: Delta) -> dict[str, Any]:
    """A stream chunk's choice for a non-text piece (tool-call pieces, refusal, logprobs)."""
    fields = {k: v for k, v in delta.fields.items() if k != "logprobs"}
    choice: dict[str, Any] = {"index": 0, "delta": fields, "finish_reason": None}
    if delta.fields.get("logprobs") is not None:
        choice["logprobs"] = delta.fields["logprobs"]
    return choice


def install_error_handlers(app: FastAPI, secrets: tuple[str, ...] = ()) -> None:
    """OpenAI-format answers for every error: ours, the library's, routing (404/405) and crashes."""

    def answer(error: GatewayError, request: Request | None = None) -> JSONResponse:
        if request is not None:
            note(request, error=error.code or error.kind)
            if error.headers.get("x-promptship-attempts"):  # upstream attempts made before the error
                note(request, attempts=int(error.headers["x-promptship-attempts"]))
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers or None)

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return answer(exc, request)

    @app.exception_handler(PromptshipError)
    async def library_error(request: Request, exc: PromptshipError) -> JSONResponse:
        attempts = getattr(exc, "attempts", None)
        if attempts is not None:
            note(request, attempts=len(attempts))
        note(request, outcome=outcome_of(exc))
        return answer(from_library(exc, getattr(request.state, "alias", None), secrets), request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        error = GatewayError(exc.status_code, message, code="not_found" if exc.status_code == 404 else None)
        return answer(error, request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(GatewayError(400, "the request is malformed", code="invalid_request"), request)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        return answer(unexpected(exc, request.method, request.url.path), request)


def create_app(
    client: Client,
    keys: KeyStore,
    counters: Counters,
    access_log: Callable[[dict[str, Any]], None] | None = None,
    usage: UsageRecorder | None = None,
    alerts: AlertHooks | None = None,
) -> FastAPI:
    """The gateway over ``client``; ``access_log`` receives one record per request (see ``access_log.py``),
    ``usage`` one usage row per request that named a model (closed when the app stops), ``alerts``
    hears of spend, refusals and each call's upstream attempts (budget thresholds, retry storms)."""
    notify: AlertHooks = alerts if alerts is not None else NoAlerts()
    warming: list[asyncio.Task[None]] = []
    if client.usage is not None:  # the gateway records each request itself, with its project and key
        client.usage.close()
        client.usage = None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # LiteLLM's import (~3 s) runs on a worker thread while the gateway already serves; a call
        # that needs it before it is ready waits for it without blocking the event loop.
        warming.append(asyncio.create_task(asyncio.to_thread(client.prepare, client.router.aliases())))
        yield
        warming[0].cancel()
        await client.router.aclose()
        client.close()
        await notify.aclose()
        closing = getattr(counters, "aclose", None)
        if closing is not None:
            await closing()
        if usage is not None:
            await asyncio.to_thread(usage.close)

    app = FastAPI(title="promptship gateway", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    # Vendor messages shown to clients are scrubbed of these (and of anything shaped like a key).
    policy = client.router.policy
    secrets = tuple(v for name in required_env(policy, list(policy.aliases)) if (v := client.env.get(name)))
    install_error_handlers(app, secrets)

    def storms(record: dict[str, Any]) -> None:
        """The upstream attempts of a finished model call, for the retry-storm alert."""
        if record.get("project") and record.get("attempts"):
            notify.call_finished(record["project"], int(record["attempts"]))

    # One record per request, after its last byte: the access log, usage, and the storm alert.
    writers = [w for w in (access_log, recording(usage) if usage is not None else None, storms) if w is not None]

    def write(record: dict[str, Any]) -> None:
        for writer in writers:
            writer(record)

    app.add_middleware(AccessLog, write=write)
    repo = client.repo

    def project_of(request: Request) -> str:
        header = request.headers.get("authorization", "")
        project = keys.project_of(header[7:]) if header.lower().startswith("bearer ") else None
        if project is None:
            raise GatewayError(401, "invalid gateway key", code="invalid_api_key")
        note(request, project=project, key_id=key_id(header[7:]))
        return project

    async def read_payload(request: Request, answer_headers: tuple[str, ...] = ()) -> Any:
        """The JSON body; the hash of path, body and the ``answer_headers`` that change the answer
        (the idempotency fingerprint) goes to the access log and usage and is kept for :func:`serve`."""
        payload = parse_json(await request.body())
        headers = {name: request.headers.get(name) for name in answer_headers}
        request.state.fingerprint = request_fingerprint(request.url.path, payload, headers)
        note(request, request_hash=request.state.fingerprint)
        return payload

    estimates = OutputEstimates()

    def reservation(alias: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> float:
        """The cost ceiling held while a call runs: its request, and a realistic answer length."""
        limit = params.get("max_completion_tokens") or params.get("max_tokens")
        output = estimates.reserve(alias, int(limit) if limit else None)
        return client.router.cost_ceiling(alias, messages, {"max_tokens": output})

    def observed(request: Request, done: Completion, alias: str) -> None:
        estimates.observe(alias, done.usage.completion_tokens)
        note_completion(request, done, alias)

    def budget_check(project: str) -> float | None:
        """The hard limit of ``project``'s monthly budget in USD, or None when it is not limited;
        403 for the PoC shared key without a budget."""
        if project == SHARED_PROJECT and repo.policies.budgets.budget_of(project) is None:
            raise GatewayError(
                403,
                "the PoC shared gateway key has no budget; add `projects.shared` or `default` to "
                "policies/budgets.yaml, or use a per-project key",
                "insufficient_quota",
                "budget_missing",
            )
        budget = repo.policies.budgets.budget_of(project)
        return budget.monthly_usd if budget is not None and budget.hard_limit else None

    async def reserve_or_refuse(project: str, settlement: Settlement, ceiling_usd: float) -> None:
        """Hold this call's cost ceiling until it is settled, or refuse the call (429) when the
        month's spend, the calls in flight on every worker and this one would pass the budget."""
        reservation = await settlement.reserve(ceiling_usd)
        if reservation.granted:
            return
        limit = settlement.limit_usd
        if limit is not None and reservation.spent_usd + ceiling_usd <= limit:
            # what is spent leaves room: calls in flight hold the rest, and their ends free it
            raise GatewayError(
                429,
                f"the rest of project '{project}''s monthly budget is held by calls in flight; retry in a moment",
                "insufficient_quota",
                "budget_in_use",
                headers={"retry-after": "1", "x-should-retry": "true"},
            )
        notify.refused(project, settlement.period, reservation.spent_usd)
        raise budget_exceeded(project)

    def budget_exceeded(project: str) -> GatewayError:
        return GatewayError(
            429,
            f"monthly budget of project '{project}' is spent; it resets next month or "
            "when the budget in policies/budgets.yaml is raised",
            "insufficient_quota",
            "budget_exceeded",
            headers={"x-should-retry": "false"},
        )

    def billing_retries(project: str, settlement: Settlement, ceiling_usd: float) -> BeforeRetry:
        """Before a retry: an attempt that timed out or lost its connection may have been billed by
        the vendor, so its reservation is kept as spent, and the retry needs a new one within the
        budget (else 429 ``budget_exceeded``, saying how many upstream attempts were made)."""
        failed = 0

        async def before_retry(failure: Failure) -> None:
            nonlocal failed
            failed += 1
            if failure.outcome not in BILLABLE_FAILURES:
                return  # refused requests (429, 5xx, 4xx) are not billed: the reservation still holds
            await settlement.keep()
            try:
                await reserve_or_refuse(project, settlement, ceiling_usd)
            except GatewayError as refused:
                refused.headers["x-promptship-attempts"] = str(failed)
                raise

        return before_retry

    async def serve(
        request: Request,
        project: str,
        payload: dict[str, Any],
        answer: Answer,
        ceiling_usd: float,
        open_stream: OpenStream | None = None,
    ) -> Response:
        """Idempotency, budget, then the call; the project is charged once, when the answer is complete."""
        idempotency = request.headers.get("idempotency-key")
        key = claim_token = None
        # set by read_payload, with the answer-changing headers: the idempotency fingerprint and the
        # usage rows' request hash, so a retry-storm alert's hash prefix finds the rows
        fingerprint: str = request.state.fingerprint
        notify.request(project, fingerprint)
        limit_usd = budget_check(project)
        if idempotency:
            key = f"{project}:{idempotency}"
            claim = await claim_or_wait(counters, key, fingerprint)
            claim_token = claim.token
            if claim.state == "mismatch":
                raise GatewayError(
                    422,
                    "this Idempotency-Key was already used for a different request; use a new key",
                    code="idempotency_key_reused",
                )
            if claim.state == "pending":
                raise GatewayError(
                    409,
                    "a request with this Idempotency-Key is still in progress; retry later",
                    code="idempotency_key_in_use",
                )
            if claim.state == "done" and claim.response is not None:
                note(request, replayed=True)
                if open_stream is not None:
                    return StreamingResponse(
                        replay(claim.response, wants_usage(payload)), media_type="text/event-stream"
                    )
                return JSONResponse(claim.response)
        settlement = Settlement(
            counters, project, key, fingerprint, claim_token=claim_token, limit_usd=limit_usd, on_spend=notify.spent
        )
        try:
            await reserve_or_refuse(project, settlement, ceiling_usd)
            if open_stream is not None:
                return await open_stream(settlement)
            body, cost = await answer(settlement)
            await settlement.settle(body, cost)
            attempts = getattr(request.state, "attempts", None)
            return JSONResponse(body, headers={"x-promptship-attempts": str(attempts)} if attempts else None)
        except BaseException:
            await settlement.abandon()
            raise

    def model_object(alias: str) -> dict[str, Any]:
        return {"id": alias, "object": "model", "created": 0, "owned_by": "promptship"}

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        project_of(request)
        return {"object": "list", "data": [model_object(alias) for alias in client.router.aliases()]}

    @app.get("/v1/models/{model:path}")
    async def model(model: str, request: Request) -> Any:
        project_of(request)
        if model not in client.router.aliases():
            raise GatewayError(
                404, f"model '{model}' is not an alias of the routing policy", code="model_not_found", param="model"
            )
        return model_object(model)

    @app.get("/livez")
    async def live() -> Any:
        """Liveness: the process serves requests (no dependency is checked)."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def ready() -> Response:
        """Readiness: the shared counters (Redis, when configured) answer; else 503."""
        if warming and not warming[0].done():
            return JSONResponse({"status": "starting", "waiting_for": "litellm"}, status_code=503)
        if warming and not warming[0].cancelled() and warming[0].exception() is not None:
            logger.error("warming the model router failed", exc_info=warming[0].exception())
            return JSONResponse({"status": "unavailable", "failed": "router"}, status_code=503)
        try:
            await asyncio.wait_for(counters.spent(SHARED_PROJECT), timeout=2.0)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the cause goes to the log
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "failed": "counters"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        project = project_of(request)
        payload = await read_payload(request)
        chat_request = validated(payload, ChatRequest)
        alias = chat_request.model
        alias_of_kind(alias, "chat")
        request.state.alias = alias
        note(request, alias=alias, stream=chat_request.streamed)
        params = chat_request.params(project)
        messages = chat_request.message_dicts()

        def guard() -> GuardedCall:
            return client.guard(f"{project}/{alias}", messages, params, alias=alias)

        async def answer(settlement: Settlement) -> tuple[dict[str, Any], float]:
            call = guard()
            before_retry = billing_retries(project, settlement, ceiling)
            done = await client.router.complete(alias, call.messages, call.params, before_retry=before_retry)
            call.finish(done)
            extra = {
                "deployment": done.deployment,
                "cost_usd": done.usage.cost_usd,
                "pii_masked": call.pii_masked,
                "fallback_used": done.alias if done.alias != alias else None,
            }
            observed(request, done, alias)
            return completion_body(alias, done, extra), done.usage.cost_usd

        async def open_stream(settlement: Settlement) -> Response:
            call = guard()
            before_retry = billing_retries(project, settlement, ceiling)
            return await stream(request, call, settlement, chat_request.include_usage, before_retry)

        await client.aprepare(alias)  # never imports LiteLLM on the event loop
        ceiling = reservation(alias, messages, params)
        return await serve(request, project, payload, answer, ceiling, open_stream if chat_request.streamed else None)

    async def stream(
        request: Request, call: GuardedCall, settlement: Settlement, include_usage: bool, before_retry: BeforeRetry
    ) -> Response:
        """True streaming: pieces are forwarded as they arrive; a failure before the first piece is
        an ordinary error answer, one after it an ``error`` event (its reservation is kept as spent:
        the vendor bills what it streamed); spend is charged at the end."""
        events = client.router.stream(call.alias, call.messages, call.params, before_retry=before_retry)
        first = await anext(events)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time())}
        head["model"] = call.alias

        async def body() -> AsyncIterator[str]:
            try:
                yield chunk(head, [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
                event: str | Delta | Completion = first
                while not isinstance(event, Completion):
                    if isinstance(event, Delta):
                        yield chunk(head, [delta_choice(event)])
                    else:
                        yield chunk(head, [{"index": 0, "delta": {"content": event}, "finish_reason": None}])
                    event = await anext(events)
                call.finish(event)
                observed(request, event, call.alias)
                final = {**completion_body(call.alias, event, {}), "id": head["id"]}
                final["created"] = head["created"]
                await settlement.settle(final, event.usage.cost_usd)
                yield chunk(head, [{"index": 0, "delta": {}, "finish_reason": final["choices"][0]["finish_reason"]}])
                if include_usage:
                    yield chunk(head, [], usage=final["usage"])
                yield "data: [DONE]\n\n"
            except PromptshipError as exc:
                await settlement.keep()
                error = interrupted(exc, call.alias)
                note(request, error=error.code, outcome=outcome_of(exc), attempts=len(getattr(exc, "attempts", ())))
                yield f"data: {json.dumps(error.body())}\n\n"
            finally:
                await settlement.abandon()
                closing = getattr(events, "aclose", None)
                if closing is not None:
                    await closing()  # a client that went away also closes the vendor's stream

        return StreamingResponse(body(), media_type="text/event-stream")

    def alias_of_kind(alias: str, kind: str) -> None:
        """404 for an unknown alias, 400 for one that answers the other kind of request."""
        policy = client.router.policy.aliases.get(alias)
        if policy is None:
            raise GatewayError(
                404, f"model '{alias}' is not an alias of the routing policy", code="model_not_found", param="model"
            )
        if policy.kind != kind:
            endpoint = "/v1/embeddings" if policy.kind == "embedding" else "/v1/chat/completions"
            raise GatewayError(
                400,
                f"model '{alias}' is a {policy.kind} alias; call it on {endpoint}",
                code="model_not_supported",
                param="model",
            )

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        project = project_of(request)
        payload = await read_payload(request)
        embedding_request = validated(payload, EmbeddingRequest)
        alias = embedding_request.model
        alias_of_kind(alias, "embedding")
        request.state.alias = alias
        note(request, alias=alias, stream=False)
        texts = embedding_request.texts()
        params = embedding_request.params(project)
        client.router.check_credentials([alias])
        sent, masked = client.guard_texts(f"{project}/{alias}", texts)

        async def answer(settlement: Settlement) -> tuple[dict[str, Any], float]:
            before_retry = billing_retries(project, settlement, ceiling)
            done = await client.router.embed(alias, sent, params, before_retry=before_retry)
            note(
                request,
                deployment=done.deployment,
                fallback_used=done.alias if done.alias != alias else None,
                prompt_tokens=done.usage.prompt_tokens,
                cost_usd=done.usage.cost_usd,
                attempts=done.usage.attempts,
            )
            body = embedding_body(alias, done.vectors, done.usage.prompt_tokens, embedding_request.encoding_format)
            body["promptship"] = {"deployment": done.deployment, "cost_usd": done.usage.cost_usd, "pii_masked": masked}
            return body, done.usage.cost_usd

        await client.aprepare(alias)
        ceiling = client.router.cost_ceiling(alias, [{"role": "user", "content": t} for t in texts], {"max_tokens": 1})
        return await serve(request, project, payload, answer, ceiling)

    @app.post("/v1/prompts/{name:path}/completions")
    async def managed(name: str, request: Request) -> Response:
        project = project_of(request)
        payload = await read_payload(request, answer_headers=(SPLIT_KEY_HEADER,))
        managed_request = validated(payload, ManagedRequest)
        note(request, stream=False)  # the prompt is noted once it is found: a path is the client's text

        async def answer(settlement: Settlement) -> tuple[dict[str, Any], float]:
            before_retry = billing_retries(project, settlement, ceiling)
            done = await client.acomplete(
                name, managed_request.variables, label=managed_request.label, split_key=key, before_retry=before_retry
            )
            estimates.observe(done.model_alias, done.usage.completion_tokens)
            if done.refusal is not None and not done.text:
                note(request, outcome=REFUSED)
            note(
                request,
                alias=done.model_alias,
                deployment=done.deployment,
                fallback_used=done.fallback_used,
                prompt_tokens=done.usage.prompt_tokens,
                completion_tokens=done.usage.completion_tokens,
                cost_usd=done.usage.cost_usd,
                attempts=done.usage.attempts,
                prompt=done.prompt_name,
                prompt_version=done.prompt_version,
                prompt_label=done.prompt_label,
            )
            extra = {
                "deployment": done.deployment,
                "cost_usd": done.usage.cost_usd,
                "prompt_version": done.prompt_version,
                "prompt_label": done.prompt_label,
                "prompt_source": done.prompt_source,
                "pii_masked": done.pii_masked,
                "fallback_used": done.fallback_used,
            }
            return completion_body(done.model_alias, done, extra), done.usage.cost_usd

        # The split key: the header, else the OpenAI-style `user` of the body (see runtime/split.py).
        header = request.headers.get(SPLIT_KEY_HEADER)
        key = (header_text(header) if header else None) or managed_request.user
        served = await client.aprompt(name, managed_request.label, split_key=key)
        prompt = served.prompt
        note(request, alias=prompt.model, prompt=nfc(name), prompt_version=served.version, prompt_label=served.label)
        variables = json.dumps(managed_request.variables, ensure_ascii=False)
        rough = "".join(source for _, source in prompt.templates()) + variables
        params = prompt.params.model_dump(exclude_none=True)
        ceiling = reservation(prompt.model, [{"role": "user", "content": rough}], params)
        return await serve(request, project, payload, answer, ceiling)

    return app


def recording(usage: UsageRecorder) -> Callable[[dict[str, Any]], None]:
    """The access-log writer that queues the usage row of a request that named a model."""

    def write(record: dict[str, Any]) -> None:
        row = usage_row(record, time.time())
        if row is not None:
            usage.record(row)

    return write
