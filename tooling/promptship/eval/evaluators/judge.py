"""llm_judge: a rubric scored 0..1 by a judge model alias (the runner makes the call)."""

from __future__ import annotations

from pydantic import Field

from .registry import Params, Sample, Score, evaluator


class JudgeParams(Params):
    rubric: str = Field(min_length=10, description="What a good answer does; the judge scores 0..1 against it.")
    judge: str = Field(description="Routing alias of the judge model.")
    pass_threshold: float = Field(default=0.5, ge=0, le=1)


@evaluator("llm_judge", JudgeParams, kind="judge")
def llm_judge(params: JudgeParams, sample: Sample) -> Score:
    """Scored by the runner, which calls the judge alias; this entry only declares the parameters."""
    raise RuntimeError("llm_judge is scored by the runner")  # pragma: no cover - never dispatched here
