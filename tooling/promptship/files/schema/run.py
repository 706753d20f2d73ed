"""The run artifact: one suite evaluation, versioned JSON that PR diffs compare.

Stored under ``.promptship/runs/`` (and ``--out``). Everything needed to compare two runs is here:
the suite fingerprint, every sample with its scores, usage, cost, attempts and error, and
per-model aggregates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RUN_FORMAT_VERSION = 2


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


class Selection(_Record):
    """Exactly what a run covers: a stored run is reused only for the same selection."""

    items: list[str] = Field(description="Ids of the items evaluated, sorted.")
    models: list[str] = Field(description="Aliases evaluated.")
    repeats: int = Field(description="Answers per item and model.")
    sample: int | None = Field(default=None, description="`--sample N`, if given.")
    requested_items: list[str] | None = Field(default=None, description="`--items`, if given.")
    full: bool = Field(description="True when this is every item and every model of the suite.")
    key: str = Field(description="Hash of `items`, `models` and `repeats`: part of the stored run's file name.")


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


class Run(_Record):
    format_version: Literal[2] = 2
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
    samples: list[SampleResult]
    aggregates: dict[str, Aggregate]
    cache_hits: int = 0
    cache_misses: int = 0
