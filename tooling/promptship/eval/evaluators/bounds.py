"""Bounds on length, tokens, cost and latency."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .registry import Params, Sample, Score, evaluator


class LengthParams(Params):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    unit: Literal["chars", "words", "tokens"] = "chars"

    @model_validator(mode="after")
    def _some_bound(self) -> LengthParams:
        if self.min is None and self.max is None:
            raise ValueError("set `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` is greater than `max`")
        return self


@evaluator("length", LengthParams, reads=lambda p: ("usage",) if p.unit == "tokens" else ())
def length(params: LengthParams, sample: Sample) -> Score:
    """1 when the output length (chars, words or completion tokens) is within [min, max]."""
    size = {
        "chars": len(sample.output),
        "words": len(sample.output.split()),
        "tokens": sample.usage.completion_tokens,
    }[params.unit]
    ok = (params.min is None or size >= params.min) and (params.max is None or size <= params.max)
    return Score(float(ok), ok, {params.unit: size})


class MaxCostParams(Params):
    usd: float = Field(ge=0, description="Largest allowed cost of one call in USD.")


@evaluator("max_cost", MaxCostParams, reads=("cost",))
def max_cost(params: MaxCostParams, sample: Sample) -> Score:
    """1 when the call cost at most `usd`."""
    ok = sample.usage.cost_usd <= params.usd
    return Score(float(ok), ok, {"cost_usd": sample.usage.cost_usd})


class MaxLatencyParams(Params):
    ms: float = Field(gt=0, description="Largest allowed latency of one call in milliseconds.")


@evaluator("max_latency", MaxLatencyParams, reads=("latency",))
def max_latency(params: MaxLatencyParams, sample: Sample) -> Score:
    """1 when the call took at most `ms` milliseconds."""
    ok = sample.usage.latency_ms <= params.ms
    return Score(float(ok), ok, {"latency_ms": round(sample.usage.latency_ms, 1)})
