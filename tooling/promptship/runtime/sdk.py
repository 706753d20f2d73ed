"""The runtime SDK: fetch a published prompt by label, render it, guard it, route it, trace it.

    from promptship import Client
    client = Client()                                   # policies and bundled prompts from the repository
    answer = client.complete("catalog/menu-description", {"dish_name": "비빔밥", "ingredients": ["밥"]})
    answer.text, answer.usage.cost_usd, answer.deployment, answer.prompt_version

Prompts come from Langfuse by label (``production`` by default) through a TTL cache. When Langfuse
cannot be reached, the last version fetched is served, and failing that the prompt file bundled from
Git — the last known good. The PII policy applies before anything leaves the process; routing,
retries, fallbacks and pricing are the eval engine's (:class:`~promptship.llm.routing.ModelRouter`).
Every call is traced to Langfuse as a generation linked to the prompt version; tracing never fails
or blocks the call (the SDK buffers and flushes in the background, and on :meth:`Client.close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ..errors import CredentialError, PiiBlockedError, PromptNotFound, UsageError
from ..files.redact import redact_otel_spans
from ..files.render import render_prompt
from ..files.repo import Repository
from ..files.schema import Prompt, nfc
from ..files.schema.run import Attempt
from ..files.validate import load_valid_repo
from ..llm.credentials import required_env
from ..llm.loop_thread import LoopThread
from ..llm.routing import BeforeRetry, Completion, Delta, ModelRouter
from ..llm.usage import Usage
from ..ops.recording import UsageRecorder, recorder_for
from ..ops.usage import UsageRow, outcome_of, request_hash
from ..pii.policy import guard_messages
from .prompt_store import ManagedPrompt, PromptStore, Source
from .split import UNSPLIT_LABEL, choose_label, default_label

logger = logging.getLogger("promptship.runtime.sdk")


@dataclass(frozen=True)
class CompletionResult:
    text: str
    prompt_name: str
    prompt_version: int | None
    prompt_source: Source
    model_alias: str
    deployment: str | None
    finish_reason: str | None
    fallback_used: str | None
    #: Tokens, cost, attempts; latency from the request to the answer (rendering and guard included).
    usage: Usage
    pii_masked: dict[str, int]
    tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None
    logprobs: dict[str, Any] | None = None
    #: The label that served the prompt (the split's choice when the prompt has a split).
    prompt_label: str | None = None

    @classmethod
    def of(
        cls,
        completion: Completion,
        *,
        name: str,
        alias: str,
        version: int | None,
        source: Source,
        started: float,
        pii_masked: dict[str, int],
        label: str | None = None,
    ) -> CompletionResult:
        """The result of a routed call; latency is measured from ``started`` (a perf_counter value)."""
        return cls(
            text=completion.text,
            prompt_name=name,
            prompt_version=version,
            prompt_source=source,
            model_alias=alias,
            deployment=completion.deployment,
            finish_reason=completion.finish_reason,
            fallback_used=completion.alias if completion.alias != alias else None,
            usage=replace(completion.usage, latency_ms=round((time.perf_counter() - started) * 1000, 2)),
            pii_masked=pii_masked,
            tool_calls=completion.tool_calls,
            refusal=completion.refusal,
            logprobs=completion.logprobs,
            prompt_label=label,
        )


@dataclass(frozen=True)
class EmbeddingResult:
    """Vectors for a list of texts, in the order given, with what they cost."""

    vectors: list[list[float]]
    model_alias: str
    deployment: str | None
    fallback_used: str | None
    #: Input tokens, cost, attempts; latency from the request to the answer (guard included).
    usage: Usage
    pii_masked: dict[str, int]


def prompt_from_langfuse(kind: str, body: Any, config: Mapping[str, Any], bundled: Prompt | None = None) -> Prompt:
    """Rebuild a promptship prompt from what ``promptship sync`` published (config holds the rest).

    A version whose config is the ``bundled`` file's ``langfuse_config`` (published verbatim, e.g. after
    ``promptship import langfuse``) takes model, params and variables from that file; any other config
    that is not promptship's leaves them missing, so the version is unusable (the caller serves the file).
    """
    verbatim = {k: v for k, v in config.items() if k != "promptship"}
    source: Mapping[str, Any] = config
    if bundled is not None and bundled.langfuse_config is not None and verbatim == bundled.langfuse_config:
        source = bundled.model_dump(
            mode="json", by_alias=True, exclude_none=True, include={"model", "params", "variables"}
        )
    data: dict[str, Any] = {
        "type": kind,
        "model": source.get("model"),
        "params": source.get("params") or {},
        "variables": source.get("variables") or {},
    }
    if kind == "chat":
        data["messages"] = [
            {"type": "placeholder", "name": m["name"]}
            if m.get("type") == "placeholder"
            else {"role": m["role"], "content": m["content"]}
            for m in body
        ]
        # A placeholder added in the Langfuse UI has no declared variable: it takes an optional list.
        for m in data["messages"]:
            if "name" in m and m["name"] not in data["variables"]:
                data["variables"] = {**data["variables"], m["name"]: {"type": "list", "required": False}}
    else:
        data["template"] = body
    return Prompt.model_validate(data)


@dataclass
class GuardedCall:
    """A PII-guarded request ready to route; :meth:`finish` turns its completion into a traced result."""

    client: Client
    trace_name: str
    prompt_name: str
    alias: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    pii_masked: dict[str, int]
    version: int | None = None
    source: Source = "request"
    langfuse_prompt: Any = None
    started: float = field(default_factory=time.perf_counter)
    label: str | None = None
    #: The prompt's split (label → percent) when the label was chosen by one; traced beside the label.
    split: Mapping[str, int] | None = None
    #: The prompt variables as they may be recorded (PII-masked, see :meth:`Client.trace_generation`).
    variables: dict[str, Any] | None = None

    def finish(self, completion: Completion) -> CompletionResult:
        result = CompletionResult.of(
            completion,
            name=self.prompt_name,
            alias=self.alias,
            version=self.version,
            source=self.source,
            started=self.started,
            pii_masked=self.pii_masked,
            label=self.label,
        )
        self.client.trace_generation(
            self.trace_name,
            self.messages,
            result,
            completion.attempts,
            self.langfuse_prompt,
            self.split,
            variables=self.variables,
        )
        return result


class Client:
    """Thread-safe; create one per process, reuse it, and :meth:`close` it at shutdown.

    ``cache_ttl_s``: how long a fetched prompt is fresh. ``fetch_timeout_s``: the longest a call waits
    for Langfuse when nothing is cached. ``langfuse_backoff_s``: after a failed or overdue fetch, how
    long prompts are served from the cache or the bundled files without trying Langfuse.
    The synchronous methods run on one event loop thread owned by the client.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        profile: str | None = None,
        cache_ttl_s: float = 60.0,
        fetch_timeout_s: float = 2.0,
        langfuse_backoff_s: float = 30.0,
        env: Mapping[str, str] | None = None,
        langfuse: bool = True,
        require_credentials: bool = False,
        project: str | None = None,
        usage: UsageRecorder | None | Literal["auto"] = "auto",
    ) -> None:
        self.env = os.environ if env is None else env
        # A service reads prompts and policies only: a lint error in a dataset or suite must not stop it.
        self.repo: Repository = load_valid_repo(
            Path(root or self.env.get("PROMPTSHIP_ROOT") or "."), only=("prompts/", "policies/")
        )
        if self.repo.policies.routing is None:
            raise UsageError("the bundled repository has no policies/routing.yaml")
        self.router = ModelRouter(self.repo.policies.routing, profile=profile, env=self.env)
        self._langfuse = self._connect() if langfuse else None
        self.prompts = PromptStore(
            self._fetch if self._langfuse is not None else None,
            self._bundled,
            ttl_s=cache_ttl_s,
            deadline_s=fetch_timeout_s,
            backoff_s=langfuse_backoff_s,
        )
        self._loop = LoopThread("promptship-client")
        self._prepared: set[str] = set()
        self._prepare_lock = threading.Lock()
        self._report_missing_credentials(require_credentials)
        #: The project usage rows are recorded under (``PROMPTSHIP_PROJECT``, else ``default``).
        self.project = project or self.env.get("PROMPTSHIP_PROJECT") or "default"
        #: Where each call is recorded (one :class:`~promptship.ops.usage.UsageRow`; ``None``: not
        #: recorded). ``auto``: the store :func:`~promptship.ops.usage.usage_store_url` picks, opened on
        #: the first call. The gateway sets it to ``None``: it records each request itself.
        self.usage: UsageRecorder | None = recorder_for(self.env, self.repo.root) if usage == "auto" else usage

    def _record(
        self,
        alias: str,
        started: float,
        *,
        usage: Usage | None = None,
        deployment: str | None = None,
        call: GuardedCall | None = None,
        prompt: str | None = None,
        version: int | None = None,
        label: str | None = None,
        outcome: str = "ok",
        attempts: int = 0,
        request: str | None = None,
    ) -> None:
        """One usage row for a call that ended now (never raises: recording only queues the row)."""
        if self.usage is None:
            return
        if call is not None and request is None:
            request = request_hash(f"sdk:{call.alias}", {"messages": call.messages, "params": call.params})
        self.usage.record(
            UsageRow(
                ts=time.time(),
                source="sdk",
                project=self.project,
                key_id=None,
                alias=alias,
                deployment=deployment,
                prompt=prompt,
                prompt_version=call.version if call is not None else version,
                prompt_label=label,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                cost_usd=usage.cost_usd if usage else 0.0,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                attempts=usage.attempts if usage else attempts,
                outcome=outcome,
                request_hash=request,
            )
        )

    def _record_result(self, result: CompletionResult, call: GuardedCall, started: float) -> None:
        outcome = "refused" if result.refusal is not None and not result.text else "ok"
        self._record(
            result.model_alias,
            started,
            usage=result.usage,
            deployment=result.deployment,
            call=call,
            prompt=result.prompt_name,
            label=result.prompt_label,
            outcome=outcome,
        )

    def _record_failure(
        self,
        error: BaseException,
        started: float,
        prompt: str,
        label: str | None,
        managed: ManagedPrompt | None,
        call: GuardedCall | None,
    ) -> None:
        """The row of a managed-prompt call that raised ``error`` (alias ``?`` when the prompt itself
        could not be had; the label served, else the one asked for)."""
        self._record(
            managed.prompt.model if managed is not None else "?",
            started,
            call=call,
            prompt=prompt,
            version=managed.version if managed is not None else None,
            label=managed.label if managed is not None else label,
            outcome=outcome_of(error),
            attempts=len(getattr(error, "attempts", None) or ()),
        )

    def missing_credentials(self) -> dict[str, list[str]]:
        """Environment variables (names) the routing policy needs but are not set → the aliases
        that need them (directly or through a fallback); empty when every alias can be called."""
        missing: dict[str, list[str]] = {}
        for alias in self.router.aliases():
            for name in required_env(self.router.policy, [alias]):
                if not self.env.get(name):
                    missing.setdefault(name, []).append(alias)
        return missing

    def _report_missing_credentials(self, require: bool) -> None:
        """At start-up, name every variable that is not set: a warning (calls to the aliases that
        need it fail with E801, nothing is sent to a default endpoint), or an error if ``require``."""
        missing = self.missing_credentials()
        if not missing:
            return
        described = "; ".join(f"{name} (for {', '.join(aliases)})" for name, aliases in missing.items())
        if require:
            raise CredentialError(
                f"environment variable(s) not set: {described}",
                code="E801",
                hint="export them, or use a routing profile whose deployments need none (e.g. offline)",
            )
        logger.warning("promptship: environment variable(s) not set: %s; calls to those aliases will fail", described)

    async def aprepare(self, alias: str) -> None:
        """Make ``alias`` callable without blocking the event loop: if it (or a fallback) needs
        LiteLLM, the import and Router build run once, on a worker thread."""
        if alias not in self._prepared:
            await asyncio.to_thread(self.prepare, [alias])

    def prepare(self, aliases: Sequence[str]) -> None:
        """Import LiteLLM and build the Router now if any of ``aliases`` needs it (thread-safe, once)."""
        with self._prepare_lock:
            self.router.prepare(aliases)
            self._prepared.update(aliases)

    def _connect(self) -> Any:
        credentials = self.repo.policies.credentials
        names = (
            credentials.shared.langfuse_public_key_env or "LANGFUSE_PUBLIC_KEY",
            credentials.shared.langfuse_secret_key_env or "LANGFUSE_SECRET_KEY",
            credentials.langfuse_host_env,
        )
        if not all(self.env.get(n) for n in names):
            missing = [n for n in names if not self.env.get(n)]
            if len(missing) < len(names):  # some set, some not: a mistake worth naming, not a choice
                logger.warning("promptship: Langfuse is off because %s is not set", ", ".join(missing))
            return None  # files-only mode: prompts from Git, no tracing
        from langfuse import Langfuse

        client = Langfuse(
            public_key=self.env[names[0]],
            secret_key=self.env[names[1]],
            host=self.env[names[2]],
            timeout=5,
            mask_otel_spans=redact_otel_spans,  # an upstream may echo a key into an answer or an error
        )
        # The SDK keeps one exporter per public key, configured by the first client built in the process.
        if getattr(getattr(client, "_resources", None), "mask_otel_spans", redact_otel_spans) is not redact_otel_spans:
            logger.warning(
                "promptship: a Langfuse client for this public key was created before promptship's, without its "
                "credential redactor; build promptship's Client first (or pass "
                "mask_otel_spans=promptship.files.redact.redact_otel_spans to yours)"
            )
        return client

    # -- prompts -------------------------------------------------------------------------------------
    def split_of(self, name: str) -> Mapping[str, int] | None:
        """The traffic split of prompt ``name`` in the bundled ``policies/release.yaml`` (label →
        percent), or None."""
        return self.repo.policies.release.splits.get(nfc(name))

    def label_for(self, name: str, label: str | None = None, split_key: str | None = None) -> str:
        """The label a call of ``name`` is served: ``label`` when the caller names one (a split never
        overrides an explicit label); else, for a prompt with a split, the label ``split_key`` hashes to
        (no key: the split's default label, see :mod:`promptship.runtime.split`); else ``production``.
        Without Langfuse (files only) a split serves its default label: every label would be the same
        bundled file, and recording it as the candidate would make the comparison compare nothing."""
        if label is not None:
            return label
        split = self.split_of(name)
        if not split:
            return UNSPLIT_LABEL
        return choose_label(split, nfc(name), split_key if self._langfuse is not None else None)

    def prompt(self, name: str, label: str | None = None, *, split_key: str | None = None) -> ManagedPrompt:
        """The prompt holding ``label`` in Langfuse, cached for ``cache_ttl_s``; never waits more than
        ``fetch_timeout_s`` (see :mod:`promptship.runtime.prompt_store` for what is served instead). A prompt
        whose file says ``release: {publish: false}`` is never in Langfuse: its bundled file is served.
        ``name`` is compared in Unicode NFC, as ``sync`` publishes it.

        Without ``label``, a prompt with a traffic split is served the label its ``split_key`` (a user or
        session id; never stored or traced) hashes to, else ``production`` (:meth:`label_for`). A split's
        label that Langfuse does not hold (yet) serves the split's default label instead, with a warning;
        the returned prompt's ``label`` is the one served."""
        name = nfc(name)
        chosen = self.label_for(name, label, split_key)
        try:
            return self.prompts.get(name, chosen)
        except PromptNotFound:
            fallback = self._split_fallback(name, label, chosen)
            if fallback is None:
                raise
            return self.prompts.get(name, fallback)

    async def aprompt(self, name: str, label: str | None = None, *, split_key: str | None = None) -> ManagedPrompt:
        """:meth:`prompt` without blocking the event loop."""
        name = nfc(name)
        chosen = self.label_for(name, label, split_key)
        try:
            return await self.prompts.aget(name, chosen)
        except PromptNotFound:
            fallback = self._split_fallback(name, label, chosen)
            if fallback is None:
                raise
            return await self.prompts.aget(name, fallback)

    def _split_fallback(self, name: str, asked: str | None, chosen: str) -> str | None:
        """The split's default label when ``chosen`` came from the split and is not it, else None."""
        split = self.split_of(name)
        if asked is not None or not split or chosen == default_label(split):
            return None
        logger.warning(
            "promptship: split label %r of prompt %r has no version in Langfuse; serving %r (sync the branch "
            "whose release rule publishes %r)",
            chosen,
            name,
            default_label(split),
            chosen,
        )
        return default_label(split)

    def _fetch(self, name: str, label: str) -> ManagedPrompt:
        from langfuse.api.core import ApiError

        assert self._langfuse is not None
        entry = self.repo.prompts.get(name)
        if entry is not None and entry.prompt.release is not None and not entry.prompt.release.publish:
            return self._bundled(name, label)  # never published, so Langfuse has nothing to serve
        try:
            data = self._langfuse.api.prompts.get(urllib.parse.quote(name, safe=""), label=label)
        except ApiError as exc:
            if exc.status_code == 404:
                raise PromptNotFound(
                    f"Langfuse has no prompt {name!r} with label {label!r}",
                    code="E830",
                    hint="publish it with `promptship sync --apply` or use another label",
                ) from None
            raise
        from langfuse.model import ChatPromptClient, TextPromptClient

        raw = data.dict()
        kind = raw.get("type") or "text"
        config = raw.get("config") or {}
        handle = ChatPromptClient(data) if kind == "chat" else TextPromptClient(data)  # links traces to the version
        return ManagedPrompt(
            name,
            label,
            prompt_from_langfuse(kind, raw["prompt"], config, entry.prompt if entry is not None else None),
            raw["version"],
            "langfuse",
            handle,
        )

    def _bundled(self, name: str, label: str) -> ManagedPrompt:
        entry = self.repo.prompts.get(name)
        if entry is None:
            raise PromptNotFound(
                f"no prompt {name!r} in Langfuse or in the bundled files",
                code="E830",
                hint=f"bundled prompts: {', '.join(sorted(self.repo.prompts))}",
            )
        return ManagedPrompt(name, label, entry.prompt, None, "bundled")

    # -- completions -----------------------------------------------------------------------------------
    async def acomplete(
        self,
        name: str,
        variables: Mapping[str, Any],
        *,
        label: str | None = None,
        split_key: str | None = None,
        images: list[str] | None = None,
        before_retry: BeforeRetry | None = None,
    ) -> CompletionResult:
        """Render ``name`` with ``variables``, apply the PII policy, route and trace the call.

        ``label`` and ``split_key`` choose the version as :meth:`prompt` does; the result's
        ``prompt_label`` and ``prompt_version`` say which one served, and so does the trace.

        ``images`` (URLs or data URLs) are attached to the last user message as image parts.
        ``before_retry`` is called before every attempt but the first (the gateway bills timed-out
        attempts there; see :data:`~promptship.llm.routing.BeforeRetry`).
        Raises :class:`~promptship.pii.PiiBlockedError` when the policy blocks personal data, and
        :class:`~promptship.llm.routing.ModelCallFailed` when every attempt failed.
        """
        started = time.perf_counter()
        managed: ManagedPrompt | None = None
        call: GuardedCall | None = None
        try:
            managed = await self.aprompt(name, label, split_key=split_key)
            call = self._guarded(managed, variables, images, label)
            await self.aprepare(call.alias)
            completion = await self.router.complete(call.alias, call.messages, call.params, before_retry=before_retry)
        except Exception as exc:
            self._record_failure(exc, started, nfc(name), label, managed, call)
            raise
        result = call.finish(completion)
        self._record_result(result, call, started)
        return result

    async def astream(
        self,
        name: str,
        variables: Mapping[str, Any],
        *,
        label: str | None = None,
        split_key: str | None = None,
        images: list[str] | None = None,
    ) -> StreamedCompletion:
        """Like :meth:`acomplete`, but the answer arrives piece by piece:

        streamed = await client.astream("support/reply", {...})
        async for piece in streamed:
            print(piece, end="")
        streamed.result  # the CompletionResult, once the stream is exhausted
        """
        started = time.perf_counter()
        prompt = nfc(name)
        managed: ManagedPrompt | None = None
        try:
            managed = await self.aprompt(prompt, label, split_key=split_key)
            call = self._guarded(managed, variables, images, label)
            await self.aprepare(call.alias)
        except Exception as exc:
            self._record_failure(exc, started, prompt, label, managed, None)
            raise
        events = self.router.stream(call.alias, call.messages, call.params)

        def finish(completion: Completion) -> CompletionResult:
            result = call.finish(completion)
            self._record_result(result, call, started)
            return result

        def failed(error: Exception) -> None:
            self._record_failure(error, started, prompt, label, managed, call)

        return StreamedCompletion(events, finish, failed)

    def _guarded(
        self, managed: ManagedPrompt, variables: Mapping[str, Any], images: list[str] | None, label: str | None
    ) -> GuardedCall:
        """Render and PII-guard a managed prompt (``label``: the one asked for; ``None`` = split or default)."""
        name = managed.name
        rendered = render_prompt(managed.prompt, variables)
        call = self.guard(
            name,
            attach_images(rendered.messages, images or []),
            rendered.params,
            alias=managed.prompt.model,
            prompt_name=name,
            version=managed.version,
            source=managed.source,
            langfuse_prompt=managed.langfuse_prompt,
            variables=variables,
        )
        call.label = managed.label
        call.split = self.split_of(name) if label is None else None
        return call

    def guard(
        self,
        trace_name: str,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        *,
        alias: str,
        prompt_name: str | None = None,
        version: int | None = None,
        source: Source = "request",
        langfuse_prompt: Any = None,
        variables: Mapping[str, Any] | None = None,
    ) -> GuardedCall:
        """Apply the PII policy to ``messages``; a block is traced under ``trace_name``, then raised.

        ``variables`` (a managed prompt's) are traced with the generation, masked by the same policy
        (see :meth:`trace_generation`).

        :class:`CredentialError` (E801) first when a variable the alias or its fallbacks need is not
        set: nothing is sent with an empty key.
        """
        self.router.check_credentials([alias])
        try:
            guarded = guard_messages(messages, self.repo.policies.pii, variables=variables)
        except PiiBlockedError as exc:
            self.trace_blocked(trace_name, exc)
            raise
        return GuardedCall(
            self,
            trace_name,
            prompt_name or alias,
            alias,
            guarded.masked_messages,
            dict(params),
            dict(guarded.counts),
            version,
            source,
            langfuse_prompt,
            variables=guarded.masked_variables,
        )

    def guard_texts(self, trace_name: str, texts: Sequence[str]) -> tuple[list[str], dict[str, int]]:
        """Apply the PII policy to plain texts (e.g. embedding inputs): the texts as they may be sent
        and the masked counts; a block is traced under ``trace_name``, then raised."""
        try:
            guarded = guard_messages([{"role": "user", "content": text} for text in texts], self.repo.policies.pii)
        except PiiBlockedError as exc:
            self.trace_blocked(trace_name, exc)
            raise
        return [str(message["content"]) for message in guarded.masked_messages], dict(guarded.counts)

    async def aembed(
        self, alias: str, texts: Sequence[str], *, dimensions: int | None = None, trace_name: str | None = None
    ) -> EmbeddingResult:
        """Embed ``texts`` with an embedding alias of the routing policy (``kind: embedding``), after
        the PII policy; retries and fallbacks as for completions. Raises
        :class:`~promptship.pii.PiiBlockedError`, :class:`~promptship.errors.UsageError` (not an
        embedding alias) and :class:`~promptship.errors.ModelCallFailed`."""
        started = time.perf_counter()
        params = {"dimensions": dimensions} if dimensions is not None else {}
        hashed: str | None = None
        try:
            self.router.check_credentials([alias])
            sent, masked = self.guard_texts(trace_name or alias, list(texts))
            hashed = request_hash(f"sdk:{alias}", {"input": sent, "params": params})
            await self.aprepare(alias)
            done = await self.router.embed(alias, sent, params)
        except Exception as exc:
            attempts = len(getattr(exc, "attempts", None) or ())
            self._record(alias, started, outcome=outcome_of(exc), attempts=attempts, request=hashed)
            raise
        result = EmbeddingResult(
            vectors=done.vectors,
            model_alias=alias,
            deployment=done.deployment,
            fallback_used=done.alias if done.alias != alias else None,
            usage=replace(done.usage, latency_ms=round((time.perf_counter() - started) * 1000, 2)),
            pii_masked=masked,
        )
        self.trace_embedding(trace_name or alias, len(sent), result)
        self._record(alias, started, usage=result.usage, deployment=result.deployment, request=hashed)
        return result

    def embed(self, alias: str, texts: Sequence[str], *, dimensions: int | None = None) -> list[list[float]]:
        """Synchronous :meth:`aembed`; returns the vectors only (``aembed`` has cost and usage)."""
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            raise UsageError(
                "Client.embed() was called inside a running event loop, which it would block",
                hint="use `await client.aembed(...)` in async code",
            )
        return self._loop.run(self.aembed(alias, texts, dimensions=dimensions)).vectors

    def trace_embedding(self, name: str, inputs: int, result: EmbeddingResult) -> None:
        """An embedding observation: counts, usage and cost; never the texts or the vectors."""
        if self._langfuse is None:
            return
        with (
            contextlib.suppress(Exception),
            self._langfuse.start_as_current_observation(
                as_type="embedding",
                name=name,
                model=result.deployment,
                usage_details={"input": result.usage.prompt_tokens},
                cost_details={"total": result.usage.cost_usd},
                metadata={
                    "alias": result.model_alias,
                    "inputs": inputs,
                    "fallback_used": result.fallback_used,
                    "attempts": result.usage.attempts,
                    "pii_masked": result.pii_masked,
                    "latency_ms": result.usage.latency_ms,
                },
            ),
        ):
            pass

    def complete(
        self,
        name: str,
        variables: Mapping[str, Any],
        *,
        label: str | None = None,
        split_key: str | None = None,
        images: list[str] | None = None,
    ) -> CompletionResult:
        """Synchronous :meth:`acomplete`, callable from any number of threads at once (each call runs
        on the client's event loop thread). Inside async code, ``await acomplete(...)`` instead."""
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            raise UsageError(
                "Client.complete() was called inside a running event loop, which it would block",
                hint="use `await client.acomplete(...)` in async code",
            )
        return self._loop.run(self.acomplete(name, variables, label=label, split_key=split_key, images=images))

    def trace_generation(
        self,
        name: str,
        messages: list[dict[str, Any]],
        result: CompletionResult,
        attempts: Sequence[Attempt] = (),
        langfuse_prompt: Any = None,
        split: Mapping[str, int] | None = None,
        *,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """A generation (linked to the prompt version when known) with every failed attempt as an event.
        Its metadata names the served ``prompt_label`` and ``prompt_version`` and, for a label chosen by a
        traffic split, the ``split`` (label → percent); never the split key.

        A managed prompt's call also records ``prompt_variables`` (the variables it was rendered from,
        masked by the PII policy like the messages: every value the policy does not allow, blocked types
        included, is its placeholder): with ``prompt_label``, what ``promptship dataset pull`` turns back
        into dataset items.
        Every span passes the credential redactor on export (:func:`~promptship.files.redact.redact_otel_spans`).

        Never raises and never blocks: the SDK buffers spans and exports them in the background.
        """
        if self._langfuse is None:
            return
        with (
            contextlib.suppress(Exception),
            self._langfuse.start_as_current_observation(
                as_type="generation",
                name=name,
                input=messages,
                model=result.deployment,
                prompt=langfuse_prompt,
                usage_details={"input": result.usage.prompt_tokens, "output": result.usage.completion_tokens},
                cost_details={"total": result.usage.cost_usd},
                metadata={
                    "alias": result.model_alias,
                    "fallback_used": result.fallback_used,
                    "attempts": result.usage.attempts,
                    "prompt_source": result.prompt_source,
                    "prompt_label": result.prompt_label,
                    "prompt_version": result.prompt_version,
                    **({"split": dict(split)} if split else {}),
                    "pii_masked": result.pii_masked,
                    "latency_ms": result.usage.latency_ms,
                    **({"prompt_variables": dict(variables)} if variables is not None else {}),
                },
            ) as generation,
        ):
            for attempt in attempts:
                if attempt.outcome != "ok":
                    kind = "fallback" if attempt.alias != result.model_alias else "retry"
                    generation.start_observation(
                        name=f"{kind}: {attempt.outcome}",
                        as_type="event",
                        metadata=attempt.model_dump(mode="json"),
                    ).end()
            generation.update(output=result.text)

    def trace_blocked(self, name: str, error: PiiBlockedError) -> None:
        """A guardrail observation for a request the PII policy blocked: types and positions, no values."""
        if self._langfuse is None:
            return
        with (
            contextlib.suppress(Exception),
            self._langfuse.start_as_current_observation(
                as_type="guardrail",
                name=f"pii blocked: {name}",
                level="WARNING",
                metadata={"types": error.types, "findings": [f.to_dict() for f in error.findings]},
            ),
        ):
            pass

    def close(self) -> None:
        """Close the client's event loop thread and its connections, flush buffered traces and write
        the usage rows still queued."""
        self._loop.close(self.router.aclose)
        self.prompts.close()
        if self.usage is not None:
            self.usage.close()
        if self._langfuse is not None:
            with contextlib.suppress(Exception):  # flushing is best effort, like tracing
                self._langfuse.flush()


class StreamedCompletion:
    """Async iterator of text pieces; ``result`` holds the :class:`CompletionResult` afterwards
    (tool calls, refusal and logprobs included)."""

    def __init__(
        self,
        events: AsyncIterator[str | Delta | Completion],
        finish: Callable[[Completion], CompletionResult],
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        self._events = events
        self._finish = finish
        self._failed = failed
        self.result: CompletionResult | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[str]:
        try:
            async for event in self._events:
                if isinstance(event, str):
                    yield event
                elif isinstance(event, Completion):
                    self.result = self._finish(event)
        except Exception as exc:
            if self._failed is not None:
                self._failed(exc)
            raise


def attach_images(messages: list[dict[str, Any]], images: list[str]) -> list[dict[str, Any]]:
    """OpenAI-style multimodal content: the last user message becomes text + image_url parts."""
    if not images:
        return messages
    result = [dict(m) for m in messages]
    for message in reversed(result):
        if message["role"] == "user":
            message["content"] = [
                {"type": "text", "text": message["content"]},
                *({"type": "image_url", "image_url": {"url": url}} for url in images),
            ]
            return result
    raise UsageError("images need a user message in the prompt")
