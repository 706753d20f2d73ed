"""A single test: one prompt, filled variables (or a dataset item), one or more aliases, streamed.

The PII policy guards the rendered messages exactly as in ``eval``, the SDK and the gateway; nothing
is written (no run artifact, no response cache). :func:`stream_test` yields plain dict events that the
app sends as NDJSON lines:

- ``{"type": "request", "messages": [...], "params": {...}, "pii_masked": {TYPE: n}}``
- ``{"type": "piece", "alias": A, "text": "..."}`` as the answer arrives
- ``{"type": "done", "alias": A, "latency_ms", "prompt_tokens", "completion_tokens", "cost_usd",
  "deployment", "fallback_used"}``
- ``{"type": "error", "alias": A | None, "message": "...", "code": "E..."}``
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PromptshipError, UsageError
from ..files.render import coerce_value, render_prompt
from ..files.repo import Repository
from ..files.validate import load_valid_repo
from ..llm.routing import Completion, ModelRouter
from ..pii.policy import guard_messages
from ..runtime.sdk import attach_images

#: Call parameters a PM may change for one test (everything else comes from the prompt file).
TUNABLE_PARAMS = {"temperature": float, "max_tokens": int, "top_p": float}


@dataclass(frozen=True)
class TestRequest:
    prompt: str
    variables: Mapping[str, str] = field(default_factory=dict)  # raw text per variable, as typed
    item: str | None = None  # "DATASET:ID": the item's input, overridden by non-empty variables
    aliases: Sequence[str] = ()
    params: Mapping[str, str] = field(default_factory=dict)  # raw text per tunable param; "" = the prompt's
    images: Sequence[str] = ()  # image URLs or data: URLs, attached to the last user message


@dataclass(frozen=True)
class PreparedTest:
    aliases: list[str]
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    pii_masked: dict[str, int]


def _values(repo: Repository, request: TestRequest) -> dict[str, Any]:
    prompt = repo.prompts[request.prompt].prompt
    values: dict[str, Any] = {}
    if request.item:
        dataset_name, _, item_id = request.item.rpartition(":")
        dataset = repo.datasets.get(dataset_name)
        item = dataset.item(item_id) if dataset else None
        if item is None:
            raise UsageError(f"no dataset item {request.item!r}", hint="pick an item from the list")
        values.update(item.input)
    for name, raw in request.variables.items():
        if raw != "" or name not in values:
            if raw == "" and name in prompt.variables and not prompt.variables[name].required:
                continue
            values[name] = coerce_value(name, prompt.variables.get(name), raw)
    return values


def _params(base: Mapping[str, Any], raw: Mapping[str, str]) -> dict[str, Any]:
    params = dict(base)
    for name, text in raw.items():
        if name not in TUNABLE_PARAMS:
            raise UsageError(f"parameter {name!r} cannot be changed here", hint=f"tunable: {', '.join(TUNABLE_PARAMS)}")
        if text.strip() == "":
            continue
        try:
            params[name] = TUNABLE_PARAMS[name](text)
        except ValueError:
            raise UsageError(f"{name} {text!r} is not a number") from None
    return params


def prepare_test(repo: Repository, request: TestRequest) -> PreparedTest:
    """Render and guard the request. Raises :class:`UsageError`, ``RenderError`` or ``PiiBlockedError``."""
    entry = repo.prompts.get(request.prompt)
    if entry is None:
        raise UsageError(f"no prompt {request.prompt!r}", hint="the prompts page lists them")
    assert repo.policies.routing is not None
    aliases = list(dict.fromkeys(request.aliases)) or [entry.prompt.model]
    unknown = [a for a in aliases if a not in repo.policies.routing.aliases]
    if unknown:
        raise UsageError(f"unknown model alias(es): {', '.join(unknown)}")
    rendered = render_prompt(entry.prompt, _values(repo, request))
    messages = attach_images(rendered.messages, list(request.images))
    guarded = guard_messages(messages, repo.policies.pii)
    return PreparedTest(
        aliases, guarded.masked_messages, _params(rendered.params, request.params), dict(guarded.counts)
    )


def _error(alias: str | None, exc: PromptshipError) -> dict[str, Any]:
    return {"type": "error", "alias": alias, "message": exc.message, "code": exc.code, "hint": exc.hint}


async def stream_test(root: Path, request: TestRequest, profile: str | None = None) -> AsyncIterator[dict[str, Any]]:
    """Run the test on every alias concurrently and yield events as answers arrive (see module doc)."""
    try:
        repo = load_valid_repo(root, only=("prompts/", "policies/", "datasets/"))
        if repo.policies.routing is None:
            raise UsageError("no policies/routing.yaml", hint="create the routing policy")
        prepared = prepare_test(repo, request)
        router = ModelRouter(repo.policies.routing, profile=profile)
        router.check_credentials(prepared.aliases)
        await asyncio.to_thread(router.prepare, prepared.aliases)  # litellm's import must not block the loop
    except PromptshipError as exc:
        yield _error(None, exc)
        return
    yield {
        "type": "request",
        "messages": prepared.messages,
        "params": prepared.params,
        "pii_masked": prepared.pii_masked,
    }
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def one(alias: str) -> None:
        try:
            async for event in router.stream(alias, prepared.messages, prepared.params):
                if isinstance(event, Completion):
                    await queue.put(_done(alias, event))
                else:
                    await queue.put({"type": "piece", "alias": alias, "text": event})
        except PromptshipError as exc:
            await queue.put(_error(alias, exc))
        finally:
            await queue.put(None)

    tasks = [asyncio.create_task(one(alias)) for alias in prepared.aliases]
    try:
        finished = 0
        while finished < len(tasks):
            event = await queue.get()
            if event is None:
                finished += 1
            else:
                yield event
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
            await router.aclose()


def _done(alias: str, completion: Completion) -> dict[str, Any]:
    return {
        "type": "done",
        "alias": alias,
        "latency_ms": round(completion.usage.latency_ms, 1),
        "prompt_tokens": completion.usage.prompt_tokens,
        "completion_tokens": completion.usage.completion_tokens,
        "cost_usd": completion.usage.cost_usd,
        "deployment": completion.deployment,
        "fallback_used": completion.alias if completion.alias != alias else None,
    }
