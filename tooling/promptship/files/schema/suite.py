"""``evals/*.yaml``: a suite is one prompt on one dataset across one or more model aliases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from ._base import Model, Name

NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"


class EvaluatorSpec(Model):
    """One evaluator: its registered ``type``, parameters, and the name its score is reported under."""

    type: str = Field(description="A registered evaluator (see Evaluators below).")
    name: Annotated[str, Field(pattern=NAME)] | None = Field(
        default=None, description="Defaults to the type; must be unique in the suite."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="The evaluator's parameters.")

    @property
    def score_name(self) -> str:
        return self.name or self.type


class Gates(Model):
    """Conditions that fail CI. Keys of the maps are evaluator score names (or ``pass_rate``)."""

    min: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="Absolute minimum mean score per model."
    )
    max_regression: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Largest allowed significant drop against the base run (absolute, 0..1).",
    )
    max_cost_increase_pct: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Largest allowed increase of cost per call against base, in percent."
    )
    max_latency_p95_ms: Annotated[float, Field(gt=0)] | None = None
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1,
        description=(
            "Largest share of samples per model whose call failed after retries and fallbacks "
            "(PII blocks excluded). Score means leave failed calls out, so this keeps a run where "
            "most calls failed from passing its minimums."
        ),
    )


class Suite(Model):
    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    description: str | None = None
    prompt: Name = Field(description="Name of the prompt to evaluate.")
    dataset: Name = Field(description="Name of the dataset to run it on.")
    models: list[str] = Field(
        default_factory=list, description="Aliases to compare; empty means the prompt's own model."
    )
    evaluators: Annotated[list[EvaluatorSpec], Field(min_length=1)] = Field(description="How answers are scored.")
    repeats: Annotated[int, Field(ge=1, le=100)] = Field(default=1, description="Samples per item and model.")
    gates: Gates = Field(default_factory=Gates, description="Conditions that fail CI.")

    @model_validator(mode="after")
    def _unique_score_names(self) -> Suite:
        names = [e.score_name for e in self.evaluators]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"evaluator names must be unique; give `name:` to: {', '.join(duplicates)}")
        return self
