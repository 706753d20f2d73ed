"""python: a custom scorer function from the repository (``evals/scorers.py:function``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .registry import Params, Sample, Score, evaluator


class PythonParams(Params):
    function: str = Field(description="`evals/MODULE.py:function`, a path in this repository.")
    pass_threshold: float = Field(default=0.5, ge=0, le=1)
    timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Longest one call may take; a slower call is stopped and is an error on its item.",
    )

    @field_validator("function")
    @classmethod
    def _path_colon_name(cls, value: str) -> str:
        path, _, name = value.partition(":")
        if not (path.startswith("evals/") and path.endswith(".py") and name.isidentifier()):
            raise ValueError("expected `evals/MODULE.py:function_name`")
        return value

    @property
    def module_path(self) -> str:
        return self.function.partition(":")[0]

    @property
    def function_name(self) -> str:
        return self.function.partition(":")[2]


@evaluator("python", PythonParams, kind="python")
def python_scorer(params: PythonParams, sample: Sample) -> Score:
    """Scored by the runner, which loads the repository module; this entry declares the parameters."""
    raise RuntimeError("python scorers are loaded by the runner")  # pragma: no cover
