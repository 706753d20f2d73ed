"""Evaluate a suite: every (item × model alias × repeat) with bounded concurrency → a :class:`Run`.

Each sample is rendered, passed through the PII policy, looked up in the response cache, sent
through :class:`~promptship.llm.routing.ModelRouter` (retries, fallbacks), and scored. A failing sample
is recorded with its error and attempts; nothing crashes the run and nothing is dropped. Ctrl-C
stops cleanly: finished samples are kept, unfinished ones are recorded as ``interrupted``.

Memory is bounded by the concurrency, not the number of items: jobs are started from a lazy
iterator, at most ``window`` of them (4 × concurrency, at least 64) are started but not yet written,
and each finished sample is appended to the run's samples file in job order (sorted item id × model ×
repeat) by :class:`~promptship.eval.runs.RunWriter`, which aggregates it as it goes.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..diff.fingerprint import endpoint_hash, judge_aliases, suite_fingerprint, suite_models
from ..errors import ModelCallFailed, PiiBlockedError, PromptshipError, UsageError
from ..files.render import RenderedPrompt, render_prompt
from ..files.repo import ItemSubset, Repository, content_hash, item_ids
from ..files.schema import Item
from ..files.schema.run import Run, RunEnvironment, SampleError, SampleResult, Selection, Shard
from ..files.sources import describe_worktree
from ..llm.cache import ResponseCache, request_key
from ..llm.routing import Completion, ModelRouter
from ..llm.usage import Usage
from ..pii.policy import guard_messages
from .costs import PriceTable, price_table
from .runs import RunWriter, make_selection
from .scoring import Scorer
from .shards import ShardSpec, shard_record, take_shard

CacheMode = Literal["use", "off", "only"]
#: Rendered prompts kept for the next jobs of the same item (other models and repeats).
_RENDERED_KEPT = 1024


@dataclass(frozen=True)
class RunOptions:
    models: Sequence[str] | None = None
    sample: int | None = None
    items: Sequence[str] | None = None
    concurrency: int = 8
    cache_mode: CacheMode = "use"
    #: ``--shard K/N``: only the items of shard K (chosen by a hash of their ids), after ``items``/``sample``.
    shard: ShardSpec | None = None
    #: Called after every finished sample with (suite, done, total, errors): see :mod:`.progress`.
    on_progress: Callable[[str, int, int, int], None] | None = None


@dataclass(frozen=True)
class _Job:
    item: Item
    model: str
    repeat: int


@dataclass(frozen=True)
class Jobs:
    """The jobs of a run (item × model × repeat, items in id order), made one at a time when iterated."""

    items: Sequence[Item]
    models: Sequence[str]
    repeats: int

    def __iter__(self) -> Iterator[_Job]:
        return (_Job(i, m, r) for i in self.items for m in self.models for r in range(self.repeats))

    def __len__(self) -> int:
        return len(self.items) * len(self.models) * self.repeats


@dataclass
class _Context:
    repo: Repository
    router: ModelRouter
    cache: ResponseCache
    options: RunOptions
    scorer: Scorer
    prices: PriceTable
    rendered: dict[str, RenderedPrompt | PromptshipError] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)

    def identity(self, alias: str) -> str:
        """The response-cache identity of ``alias``: its deployments and the endpoints they point at."""
        if alias not in self.identities:
            endpoints = endpoint_hash(self.router.policy, [alias], self.router.env)
            self.identities[alias] = content_hash([self.router.identity(alias), endpoints])
        return self.identities[alias]


def select_items(items: Sequence[Item], *, ids: Sequence[str] | None, sample: int | None) -> Sequence[Item]:
    """The items a run evaluates, in id order: ``--items`` keeps the named ids (unknown ids are an
    error); ``--sample N`` keeps a stable pseudo-random N (by hash of id), so base and head runs sample
    the same items. Works on ids and positions only: a lazily read dataset stays unread."""
    all_ids = item_ids(items)
    chosen = range(len(all_ids))
    if ids:
        known = set(all_ids)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UsageError(f"unknown item id(s): {', '.join(unknown)}", hint="ids are listed in the dataset's .jsonl")
        wanted = set(ids)
        chosen = [p for p in chosen if all_ids[p] in wanted]  # type: ignore[assignment]
    if sample is not None and sample < len(chosen):
        chosen = sorted(chosen, key=lambda p: hashlib.sha256(all_ids[p].encode()).hexdigest())[:sample]  # type: ignore[assignment]
    return ItemSubset(items, sorted(chosen, key=all_ids.__getitem__))


def plan_jobs(repo: Repository, suite_name: str, options: RunOptions) -> tuple[list[str], Jobs, Selection]:
    """The aliases, the jobs (item × model × repeat) and the :class:`Selection` they cover."""
    entry = repo.suites[suite_name]
    available = suite_models(repo, entry)
    models = list(options.models) if options.models else available
    unknown = [m for m in models if m not in available]
    if unknown:
        raise UsageError(
            f"suite {suite_name!r} does not evaluate {', '.join(unknown)}",
            hint=f"its models: {', '.join(available)}",
        )
    dataset = repo.datasets[entry.suite.dataset].items
    items = select_items(dataset, ids=options.items, sample=options.sample)

    def selection_of(chosen: Sequence[Item], shard: Shard | None = None) -> Selection:
        return make_selection(
            item_ids(chosen),
            models,
            entry.suite.repeats,
            all_items=item_ids(dataset),
            all_models=available,
            sample=options.sample,
            requested_items=list(options.items) if options.items else None,
            shard=shard,
        )

    selection = selection_of(items)
    if options.shard is not None:
        ids = item_ids(items)  # by id and position only: a lazily read dataset stays unread
        items = ItemSubset(items, take_shard(range(len(ids)), options.shard, ids.__getitem__))
        selection = selection_of(items, shard_record(options.shard, selection))
    jobs = Jobs(items, models, entry.suite.repeats)
    return models, jobs, selection


async def run_suite_async(
    repo: Repository,
    suite_name: str,
    router: ModelRouter,
    options: RunOptions,
    cache: ResponseCache,
    directory: Path,
    stop: asyncio.Event | None = None,
) -> Run:
    """Evaluate one suite, streaming its samples to a run artifact under ``directory`` (the runs
    folder); returns the stored run. ``stop`` (set on Ctrl-C) cancels unfinished samples, which are
    recorded as ``interrupted`` and the run stored as interrupted."""
    if suite_name not in repo.suites:
        raise UsageError(f"unknown suite {suite_name!r}", hint=f"suites: {', '.join(sorted(repo.suites)) or '(none)'}")
    entry = repo.suites[suite_name]
    models, jobs, selection = plan_jobs(repo, suite_name, options)
    if options.cache_mode != "only":
        router.check_credentials([*models, *judge_aliases(entry)])
        router.prepare([*models, *judge_aliases(entry)])
    fingerprint = suite_fingerprint(repo, entry, router.policy, router.env)
    context = _Context(repo, router, cache, options, Scorer(repo, entry, router), price_table(router.policy))
    started = _now()
    writer = RunWriter(directory, suite_name, fingerprint.suite, selection.key, models)
    try:
        complete, cache_misses = await _run_jobs(context, suite_name, entry.suite.prompt, jobs, writer, stop)
    except BaseException:
        writer.discard()
        raise
    finally:
        await context.scorer.aclose()
    manifest = Run(
        suite=suite_name,
        prompt=entry.suite.prompt,
        dataset=entry.suite.dataset,
        models=models,
        repeats=entry.suite.repeats,
        profile=router.profile,
        git_sha=repo.commit or describe_worktree(repo.root),
        fingerprint=fingerprint,
        selection=selection,
        environment=run_environment(router, models, options.concurrency),
        started_at=started,
        finished_at=_now(),
        complete=complete,
        aggregates={},
        cache_hits=sum(b.cache_hits for b in writer.aggregates.builders.values()),
        cache_misses=cache_misses,
    )
    # Upstream texts (answers, error bodies, attempts) may echo a key: every line and the manifest
    # are redacted as they are written, so no run carries one.
    return writer.finish(manifest)[0]


def _interrupted(job: _Job) -> SampleResult:
    return SampleResult(
        item_id=job.item.id,
        model=job.model,
        repeat=job.repeat,
        error=SampleError(kind="interrupted", message="stopped before it finished"),
    )


async def _run_jobs(
    context: _Context,
    suite_name: str,
    prompt_name: str,
    jobs: Jobs,
    writer: RunWriter,
    stop: asyncio.Event | None,
) -> tuple[bool, int]:
    """Run ``jobs`` with at most ``concurrency`` calls at once and at most ``window`` jobs started but
    not yet written; write each sample in job order. Returns (every job finished, cache misses)."""
    options = context.options
    total = len(jobs)
    concurrency = max(1, options.concurrency)
    calls = asyncio.Semaphore(concurrency)
    slots = asyncio.Semaphore(max(4 * concurrency, 64))
    job_iter = enumerate(jobs)
    ready: dict[int, SampleResult] = {}
    in_flight: dict[int, tuple[_Job, asyncio.Task[None]]] = {}
    failures: list[BaseException] = []
    next_out = done = errors = misses = 0

    def emit(index: int, result: SampleResult) -> None:
        nonlocal next_out
        ready[index] = result
        while next_out in ready:
            writer.add(ready.pop(next_out))
            next_out += 1
            slots.release()

    async def one(index: int, job: _Job) -> None:
        nonlocal done, errors, misses
        async with calls:
            result = await _evaluate(context, prompt_name, job)
        done += 1
        errors += result.error is not None
        misses += bool(result.request_hash) and not result.cached
        emit(index, result)
        if options.on_progress:
            options.on_progress(suite_name, done, total, errors)

    def finished(index: int, task: asyncio.Task[None]) -> None:
        in_flight.pop(index, None)
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())  # type: ignore[arg-type]

    async def feed() -> None:
        while not failures:
            await slots.acquire()
            try:
                index, job = next(job_iter)
            except StopIteration:
                break
            task = asyncio.create_task(one(index, job))
            in_flight[index] = (job, task)
            task.add_done_callback(lambda t, i=index: finished(i, t))  # type: ignore[misc]
        while in_flight:
            await asyncio.gather(*(t for _, t in list(in_flight.values())), return_exceptions=True)

    feeder = asyncio.create_task(feed())
    waiters: set[asyncio.Future[Any]] = {feeder}
    stopper = asyncio.create_task(stop.wait()) if stop is not None else None
    if stopper is not None:
        waiters.add(stopper)
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if stopper is not None:
            stopper.cancel()
    complete = feeder.done()
    if not complete:
        feeder.cancel()
        unfinished = dict(in_flight)
        for _, task in unfinished.values():
            task.cancel()
        await asyncio.gather(feeder, *(t for _, t in unfinished.values()), return_exceptions=True)
        for index in sorted(unfinished):
            if index >= next_out and index not in ready:
                emit(index, _interrupted(unfinished[index][0]))
        for index, job in job_iter:
            emit(index, _interrupted(job))
    if failures:
        raise failures[0]
    assert next_out == total, f"{next_out} of {total} samples written"
    return complete, misses


async def _evaluate(context: _Context, prompt_name: str, job: _Job) -> SampleResult:
    base: dict[str, Any] = {"item_id": job.item.id, "model": job.model, "repeat": job.repeat}
    rendered = context.rendered.get(job.item.id)
    if rendered is None:
        try:
            rendered = render_prompt(context.repo.prompts[prompt_name].prompt, job.item.input)
        except PromptshipError as exc:
            rendered = exc
        if len(context.rendered) >= _RENDERED_KEPT:  # jobs come item by item: keep the latest few
            del context.rendered[next(iter(context.rendered))]
        context.rendered[job.item.id] = rendered
    if isinstance(rendered, PromptshipError):
        return SampleResult(**base, error=SampleError(kind="render", message=rendered.message))
    try:
        guarded = guard_messages(rendered.messages, context.repo.policies.pii)
    except PiiBlockedError as exc:
        return SampleResult(**base, error=SampleError(kind="pii_blocked", message=exc.message))
    messages = guarded.masked_messages
    key = request_key(context.identity(job.model), messages, rendered.params, job.repeat)
    pii_masked = dict(guarded.counts)
    cached = context.cache.get(key) if context.options.cache_mode != "off" else None
    if cached is not None:
        completion = _from_cache(cached)
    elif context.options.cache_mode == "only":
        return SampleResult(
            **base,
            request_hash=key,
            pii_masked=pii_masked,
            error=SampleError(kind="cache_miss", message="not in the response cache (--cache-only)"),
        )
    else:
        try:
            completion = await context.router.complete(job.model, messages, rendered.params)
        except ModelCallFailed as exc:
            kind: Literal["content_filter", "refusal", "timeout", "model"] = (
                exc.kind if exc.kind in ("content_filter", "refusal", "timeout") else "model"  # type: ignore[assignment]
            )
            return SampleResult(
                **base,
                request_hash=key,
                pii_masked=pii_masked,
                attempts=exc.attempts,
                error=SampleError(kind=kind, message=exc.message),
            )
        if completion.refusal and not completion.text:
            # The model declined and no content-policy fallback answered: a refusal, never an empty "ok".
            return SampleResult(
                **base,
                request_hash=key,
                pii_masked=pii_masked,
                attempts=completion.attempts,
                finish_reason=completion.finish_reason,
                latency_ms=completion.usage.latency_ms,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                deployment=completion.deployment,
                error=SampleError(kind="refusal", message=f"the model refused: {completion.refusal}"[:300]),
            )
        if context.options.cache_mode == "use":
            context.cache.put(key, _cacheable(completion))
    # Priced now, from usage: a replayed answer is priced like a new one (and is not money spent now).
    if completion.deployment is not None and completion.deployment in context.prices:
        price_in, price_out = context.prices[completion.deployment]
        used = completion.usage
        completion.usage = replace(used, cost_usd=used.prompt_tokens * price_in + used.completion_tokens * price_out)
    scores, judge_cost = await context.scorer.score(job.item, completion.text, completion)
    return SampleResult(
        **base,
        request_hash=key,
        output=completion.text,
        finish_reason=completion.finish_reason,
        scores=scores,
        **completion.usage.to_dict(),
        judge_cost_usd=judge_cost,
        deployment=completion.deployment,
        fallback_used=completion.alias if completion.alias != job.model else None,
        attempts=completion.attempts,
        cached=cached is not None,
        pii_masked=pii_masked,
    )


def _cacheable(completion: Completion) -> dict[str, Any]:
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        **completion.usage.to_dict(),
        "deployment": completion.deployment,
        "alias": completion.alias,
    }


def _from_cache(entry: dict[str, Any]) -> Completion:
    """A cached answer (no attempt was made for it)."""
    usage = Usage(**{k: entry[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd", "latency_ms")}, attempts=0)
    return Completion(entry["text"], entry["finish_reason"], entry["deployment"], entry["alias"], usage, [])


def run_environment(router: ModelRouter, models: Sequence[str], concurrency: int) -> RunEnvironment:
    """Concurrency, machine class and whether the embedded model may answer: what makes latencies comparable."""
    import os
    import platform

    from ..llm.pricing import LOCAL_MODELS

    local = any(
        deployment.model in LOCAL_MODELS
        for alias in models
        for name in [alias, *router.policy.aliases[alias].fallbacks]
        if name in router.policy.aliases
        for deployment in router.policy.aliases[name].deployments
    )
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    return RunEnvironment(concurrency=concurrency, machine=machine, local_model=local)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_suites(
    repo: Repository,
    suite_names: Sequence[str],
    router: ModelRouter,
    options: RunOptions,
    cache: ResponseCache,
    directory: Path,
) -> list[Run]:
    """Run suites one after another in a fresh event loop, each stored under ``directory`` (the runs
    folder) as it goes; Ctrl-C stops cleanly and returns what finished (the last run interrupted)."""

    async def main() -> list[Run]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = threading.current_thread() is threading.main_thread()
        if handled:
            loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            runs = []
            for name in suite_names:
                runs.append(await run_suite_async(repo, name, router, options, cache, directory, stop))
                if stop.is_set():
                    break
            return runs
        finally:
            await router.aclose()
            if handled:
                loop.remove_signal_handler(signal.SIGINT)

    return asyncio.run(main())
