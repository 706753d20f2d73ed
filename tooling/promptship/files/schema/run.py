"""The run artifact: one suite evaluation, versioned files that PR diffs compare.

Format 3 is two files (see ``docs/formats.md``): a *samples* file, JSON Lines with one
:class:`SampleResult` per line in job order, appended while the run goes; and a small *manifest*, the
:class:`Run` (suite, fingerprint, selection, per-model aggregates, and the name, count and sha256 of
its samples file), written atomically when the run ends. A samples file without a manifest is a run
that was killed; a manifest names exactly one samples file. ``--out`` writes both in one JSON document
with the samples inline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

RUN_FORMAT_VERSION = 3


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fingerprint(_Record):
    """Hashes of everything a suite's result depends on. Equal ``suite`` ⇒ reusable results."""

    suite: str = Field(description="Hash of the five answer parts together (not `pricing`).")
    prompt: str
    dataset: str
    evaluators: str
    scorers: str
    deployments: str
    pricing: str = Field(
        description="Prices of the deployments: a change re-prices stored answers (no model call) and "
        "makes `diff` report the suite with reason `pricing`."
    )


class Shard(_Record):
    """Which part of a whole selection a shard run (``eval --shard K/N``) holds.

    An item belongs to shard ``K`` of ``N`` by a hash of its id alone (see
    :func:`promptship.eval.shards.shard_of`), so every machine and branch puts it in the same shard.
    """

    index: int = Field(description="K: this shard's number, 1 ≤ K ≤ N.")
    count: int = Field(description="N: how many shards the whole selection is split into.")
    whole_items: int = Field(description="How many items the whole (unsharded) selection holds.")
    whole_key: str = Field(description="`key` of the whole selection: the key the merged run is stored under.")
    whole_full: bool = Field(description="`full` of the whole selection.")


class Selection(_Record):
    """Exactly what a run covers: a stored run is reused only for the same selection."""

    items: list[str] = Field(description="Ids of the items evaluated, sorted.")
    models: list[str] = Field(description="Aliases evaluated.")
    repeats: int = Field(description="Answers per item and model.")
    sample: int | None = Field(default=None, description="`--sample N`, if given.")
    requested_items: list[str] | None = Field(default=None, description="`--items`, if given.")
    full: bool = Field(
        description="True when this is every item and every model of the suite (never for a shard run)."
    )
    key: str = Field(
        description="Hash of `items`, `models`, `repeats` (and `shard` K/N for a shard run): part of the stored "
        "run's file name."
    )
    shard: Shard | None = Field(
        default=None,
        description="Set on a shard run (`eval --shard K/N`): it is never reused as a whole run, only merged "
        "(`promptship runs merge`) with the other N-1 shards into one.",
    )


class Attempt(_Record):
    """One request sent (or refused before sending) to one deployment."""

    alias: str
    deployment: str | None = None
    outcome: Literal[
        "ok",
        "rate_limited",
        "server_error",
        "timeout",
        "content_filter",
        "refusal",
        "auth",
        "bad_request",
        "connection",
        "unavailable",
        "error",
    ] = Field(
        description="`unavailable`: every deployment of the alias was cooling down, so nothing was sent. "
        "`refusal`: a 200 whose message is a refusal (`message.refusal`, or `finish_reason: refusal`)."
    )
    status: int | None = None
    latency_ms: float = 0.0
    retry_after_s: float | None = None
    error: str | None = Field(default=None, description="Short error text of a failed attempt.")


class ScoreResult(_Record):
    value: float | None = None
    passed: bool | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="Set when the evaluator itself failed (traceback).")


class SampleError(_Record):
    kind: Literal[
        "render",
        "pii_blocked",
        "credentials",
        "model",
        "content_filter",
        "refusal",
        "timeout",
        "interrupted",
        "cache_miss",
    ]
    message: str


class SampleResult(_Record):
    item_id: str
    model: str = Field(description="The alias evaluated.")
    repeat: int
    request_hash: str | None = None
    output: str | None = None
    finish_reason: str | None = None
    scores: dict[str, ScoreResult] = Field(default_factory=dict)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    judge_cost_usd: float = 0.0
    deployment: str | None = Field(default=None, description="model_info id of the deployment that answered.")
    fallback_used: str | None = Field(default=None, description="Alias that answered when not the primary.")
    attempts: list[Attempt] = Field(default_factory=list)
    cached: bool = False
    pii_masked: dict[str, int] = Field(default_factory=dict)
    error: SampleError | None = None


class Aggregate(_Record):
    samples: int
    errors: int
    scores: dict[str, float] = Field(default_factory=dict, description="Mean score per evaluator.")
    pass_rates: dict[str, float] = Field(default_factory=dict, description="Fraction passed per evaluator.")
    pass_rate: float = Field(description="Fraction of samples passing every evaluator.")
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    cost_usd: float = Field(default=0.0, description="Cost of every answer at the prices in force when shown.")
    cost_per_call_usd: float = 0.0
    spent_usd: float = Field(
        default=0.0,
        description="Cost of the model calls this run made (cached answers cost nothing now), judges included.",
    )
    judge_cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    attempts: int = 0
    pii_blocked: int = 0
    pii_masked: int = 0
    not_evaluated: int = Field(
        default=0,
        description="Samples that could not be evaluated (timeouts, model or connection errors, interrupted, "
        "cache misses): not the prompt's fault; `diff` and `eval` exit 3 when they exceed `max_error_rate`.",
    )
    error_kinds: dict[str, int] = Field(default_factory=dict, description="Failed samples by error kind.")
    confusion: dict[str, dict[str, dict[str, int]]] = Field(
        default_factory=dict, description="evaluator → expected label → predicted label → count."
    )


class RunEnvironment(_Record):
    """Where and how a run was made: latencies of runs that differ here are not comparable."""

    concurrency: int | None = Field(default=None, description="`--concurrency` of the run.")
    machine: str | None = Field(default=None, description="Machine class: OS, architecture and CPU count.")
    local_model: bool = Field(
        default=False,
        description="Some answers came from the embedded local model (a smoke test: its latency "
        "measures this machine, its scores do not predict production quality).",
    )


class Samples:
    """A run's samples, read from its samples file each time they are iterated (never all held).

    Re-iterable; ``len`` is the manifest's count. ``transform`` is applied to each sample as it is
    read (e.g. re-pricing). ``Samples.of(list)`` holds samples in memory (tests, small in-memory runs).
    Either way they come in job order: item ids ascending (readers such as ``diff`` merge two runs by it).
    """

    def __init__(
        self,
        path: Path | None,
        count: int,
        *,
        held: list[SampleResult] | None = None,
        transform: Callable[[SampleResult], SampleResult] | None = None,
    ) -> None:
        self.path, self.count, self._held, self._transform = path, count, held, transform

    @classmethod
    def of(cls, samples: Iterable[SampleResult]) -> Samples:
        """``samples`` held in memory, put in item-id order (stable: models and repeats keep their
        order within an item), the order of a stored run that readers rely on."""
        held = sorted(samples, key=lambda s: s.item_id)
        return cls(None, len(held), held=held)

    def mapped(self, transform: Callable[[SampleResult], SampleResult]) -> Samples:
        """The same samples with ``transform`` applied (after any transform already set)."""
        inner = self._transform
        combined = transform if inner is None else (lambda s: transform(inner(s)))
        return Samples(self.path, self.count, held=self._held, transform=combined)

    def raw_lines(self) -> Iterator[str]:
        """Each sample as its JSON line (no transform applied)."""
        if self._held is not None:
            for sample in self._held:
                yield sample.model_dump_json()
            return
        if self.path is None:
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line.rstrip("\n")

    def __iter__(self) -> Iterator[SampleResult]:
        transform = self._transform
        if self._held is not None:
            source: Iterable[SampleResult] = self._held
        else:
            source = (SampleResult.model_validate_json(line) for line in self.raw_lines())
        for sample in source:
            yield transform(sample) if transform is not None else sample

    def __len__(self) -> int:
        return self.count


class Run(_Record):
    """The manifest of a run; its samples are :attr:`samples` (read from the samples file)."""

    format_version: Literal[3] = 3
    suite: str
    prompt: str
    dataset: str
    models: list[str]
    repeats: int
    profile: str | None = None
    git_sha: str | None = Field(
        default=None,
        description="The commit evaluated; for a working tree, the commit it is at (``-dirty`` when prompts, "
        "datasets, evals or policies have uncommitted changes).",
    )
    fingerprint: Fingerprint
    selection: Selection
    environment: RunEnvironment = Field(default_factory=RunEnvironment)
    started_at: str
    finished_at: str
    complete: bool = Field(description="False when the run was interrupted; completed samples are kept.")
    samples_file: str | None = Field(
        default=None, description="Name of the JSON Lines samples file beside this manifest (one sample a line)."
    )
    sample_count: int = Field(default=0, description="Lines in the samples file: one per item × model × repeat.")
    samples_sha256: str | None = Field(default=None, description="sha256 of the samples file's bytes.")
    aggregates: dict[str, Aggregate]
    cache_hits: int = 0
    cache_misses: int = 0
    _samples: Samples = PrivateAttr(default_factory=lambda: Samples(None, 0))

    @property
    def samples(self) -> Samples:
        """Every sample, streamed from the samples file in job order (item × model × repeat)."""
        return self._samples

    def with_samples(self, samples: Samples | Iterable[SampleResult]) -> Run:
        """A copy of this manifest whose :attr:`samples` are ``samples``."""
        copy = self.model_copy()
        copy._samples = samples if isinstance(samples, Samples) else Samples.of(samples)
        copy.sample_count = len(copy._samples)
        return copy
