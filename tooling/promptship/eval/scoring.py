"""Score one model answer with a suite's evaluators: built-ins, repository scorers and LLM judges.

An exception inside a custom scorer is recorded on that score with its traceback and never stops
the run.
"""

from __future__ import annotations

import re
import traceback
import types
from typing import TYPE_CHECKING, Any

from ..files.repo import Repository, SuiteEntry
from ..files.schema import EvaluatorSpec, Item
from ..files.schema.run import ScoreResult
from .evaluators import Sample, Score, registry

if TYPE_CHECKING:
    from ..llm.routing import Completion, ModelRouter

JUDGE_SYSTEM = (
    "You are a strict grader. Score how well the answer satisfies the rubric, from 0 (not at all) "
    "to 1 (fully). Reply with the number only."
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_judge_score(text: str) -> float | None:
    """The judge's score in 0..1: the first number, read as 0..1, 0..10 or 0..100."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group())
    for scale in (1, 10, 100):
        if value <= scale:
            return value / scale
    return None


class Scorer:
    def __init__(self, repo: Repository, entry: SuiteEntry, router: ModelRouter) -> None:
        self.repo = repo
        self.specs = entry.suite.evaluators
        self.router = router
        self._modules: dict[str, types.ModuleType | Exception] = {}
        self._registry = registry()

    async def score(self, item: Item, output: str, completion: Completion) -> tuple[dict[str, ScoreResult], float]:
        """Scores by evaluator name, and the judge cost spent."""
        sample = Sample(
            item_id=item.id,
            input=item.input,
            expected=item.expected,
            output=output,
            metadata=item.metadata,
            usage=completion.usage,
        )
        results: dict[str, ScoreResult] = {}
        judge_cost = 0.0
        for spec in self.specs:
            definition = self._registry[spec.type]
            params = definition.params.model_validate(spec.params)
            try:
                if definition.kind == "python":
                    score = self._python(params, item, output)
                elif definition.kind == "judge":
                    score, cost = await self._judge(params, item, output)
                    judge_cost += cost
                else:
                    score = definition.score(params, sample)
            except Exception:  # noqa: BLE001 - a broken scorer is recorded, not fatal
                results[spec.score_name] = ScoreResult(error=traceback.format_exc(limit=6))
                continue
            results[spec.score_name] = ScoreResult(
                value=round(score.value, 6), passed=score.passed, detail=score.detail
            )
        return results, judge_cost

    def _module(self, path: str) -> types.ModuleType:
        loaded = self._modules.get(path)
        if loaded is None:
            source = self.repo.scorer_source(path)
            try:
                if source is None:
                    raise FileNotFoundError(f"{path} is not in the repository")
                module = types.ModuleType(path.removesuffix(".py").replace("/", "."))
                module.__file__ = path
                exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - the repository's own scorer code
                loaded = module
            except Exception as exc:  # noqa: BLE001
                loaded = exc
            self._modules[path] = loaded
        if isinstance(loaded, Exception):
            raise loaded
        return loaded

    def _python(self, params: Any, item: Item, output: str) -> Score:
        function = getattr(self._module(params.module_path), params.function_name)
        value = function(item.model_dump(mode="json"), output, item.expected)
        if isinstance(value, bool):
            return Score(float(value), value)
        if isinstance(value, int | float):
            return Score(float(value), float(value) >= params.pass_threshold)
        if isinstance(value, dict) and value and all(isinstance(v, int | float) for v in value.values()):
            mean = sum(float(v) for v in value.values()) / len(value)
            return Score(mean, mean >= params.pass_threshold, {"scores": value})
        raise TypeError(f"{params.function} returned {type(value).__name__}; expected bool, float or dict of floats")

    async def _judge(self, params: Any, item: Item, output: str) -> tuple[Score, float]:
        messages = [
            {"role": "system", "content": JUDGE_SYSTEM},
            {
                "role": "user",
                "content": f"Rubric:\n{params.rubric}\n\nInput:\n{item.input}\n\nAnswer:\n{output}",
            },
        ]
        completion = await self.router.complete(params.judge, messages, {"temperature": 0, "max_tokens": 10})
        value = parse_judge_score(completion.text)
        if value is None:
            raise ValueError(f"the judge did not answer with a number: {completion.text[:80]!r}")
        return Score(value, value >= params.pass_threshold, {"judge": completion.text[:80]}), completion.usage.cost_usd


def spec_names(specs: list[EvaluatorSpec]) -> list[str]:
    return [s.score_name for s in specs]
