"""The evaluator registry: ``@evaluator("name", Params)`` registers a scorer with its parameter model.

``validate`` checks suite parameters against the model without running anything; the runner calls
the function once per (item, model, repeat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from ...llm.usage import Usage


class Params(BaseModel):
    """Base of every evaluator's parameters: unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Sample:
    """One model answer to score."""

    item_id: str
    input: dict[str, Any]
    expected: Any
    output: str
    metadata: dict[str, Any] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Score:
    """``value`` in 0..1; ``passed`` is the evaluator's verdict; ``detail`` goes into the run artifact."""

    value: float
    passed: bool
    detail: dict[str, Any] = field(default_factory=dict)


ScoreFn = Callable[[Any, Sample], Score]

#: What an evaluator may read besides the output: ``expected`` (the item's expected value), ``cost``
#: (the call's cost, so prices change its score), ``latency`` and ``usage`` (token counts).
Input = str
Reads = tuple[Input, ...] | Callable[[Any], tuple[Input, ...]]


@dataclass(frozen=True)
class EvaluatorDef:
    name: str
    params: type[Params]
    score: ScoreFn
    description: str
    #: Needs a model call (llm_judge) or repository code (python): scored by the runner, not here.
    kind: str = "builtin"
    #: What the evaluator reads, or a function of its params saying so (see :data:`Reads`).
    reads: Reads = ()

    def reads_of(self, params: Params) -> frozenset[Input]:
        """What this evaluator reads with ``params``: ``validate`` and fingerprints ask, never guess."""
        return frozenset(self.reads(params) if callable(self.reads) else self.reads)


_REGISTRY: dict[str, EvaluatorDef] = {}


def evaluator(
    name: str, params: type[Params] = Params, *, kind: str = "builtin", reads: Reads = ()
) -> Callable[[ScoreFn], ScoreFn]:
    """Register ``fn(params, sample) -> Score`` under ``name``; its docstring documents it and ``reads``
    declares what it reads besides the output."""

    def register(fn: ScoreFn) -> ScoreFn:
        if name in _REGISTRY:
            raise ValueError(f"evaluator {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = EvaluatorDef(name, params, fn, doc[0] if doc else "", kind, reads)
        return fn

    return register


def registry() -> dict[str, EvaluatorDef]:
    """Every registered evaluator (importing the built-ins on first use)."""
    from . import builtins  # noqa: F401  (registers on import)

    return dict(_REGISTRY)


def get(name: str) -> EvaluatorDef | None:
    return registry().get(name)
