"""Score one model answer with a suite's evaluators: built-ins, repository scorers and LLM judges.

Repository scorers run in their own process with a time limit (:mod:`.scorer_process`). Whatever goes
wrong in any evaluator — an exception, a timeout, ``sys.exit``, a value that is not a finite number in
0..1 — is recorded as an error on that item's score and never stops the run or reaches the output.
"""

from __future__ import annotations

import math
import re
import traceback
from typing import TYPE_CHECKING, Any

from ..files.repo import Repository, SuiteEntry
from ..files.schema import EvaluatorSpec, Item
from ..files.schema.run import ScoreResult
from .evaluators import Sample, Score, registry
from .scorer_process import ScorerFailed, ScorerProcess

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
        self._process = ScorerProcess()
        self._registry = registry()

    async def aclose(self) -> None:
        """Stop the scorer process, if one was started."""
        await self._process.aclose()

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
                    score = await self._python(params, item, output)
                elif definition.kind == "judge":
                    score, cost = await self._judge(params, item, output)
                    judge_cost += cost
                else:
                    score = definition.score(params, sample)
                check_score(score)
            except ScorerFailed as exc:
                results[spec.score_name] = ScoreResult(error=str(exc))
                continue
            except Exception:  # noqa: BLE001 - a broken scorer is recorded, not fatal
                results[spec.score_name] = ScoreResult(error=traceback.format_exc(limit=6))
                continue
            results[spec.score_name] = ScoreResult(
                value=round(score.value, 6), passed=score.passed, detail=score.detail
            )
        return results, judge_cost

    async def _python(self, params: Any, item: Item, output: str) -> Score:
        source = self.repo.scorer_source(params.module_path)
        if source is None:
            raise ScorerFailed(f"{params.module_path} is not in the repository")
        value = await self._process.call(
            params.module_path,
            source,
            params.function_name,
            item.model_dump(mode="json"),
            output,
            item.expected,
            params.timeout_s,
        )
        if isinstance(value, bool):
            return Score(float(value), value)
        if isinstance(value, float):
            return Score(value, value >= params.pass_threshold)
        check_values(value)
        mean = sum(value.values()) / len(value)
        return Score(mean, mean >= params.pass_threshold, {"scores": value})

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


def check_values(values: dict[str, float]) -> None:
    """:class:`ScorerFailed` unless every value is a finite number in 0..1."""
    for name, value in values.items():
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ScorerFailed(f"score {name!r} is {value!r}; a score must be a finite number from 0 to 1")


def check_score(score: Score) -> None:
    """:class:`ScorerFailed` unless ``score.value`` is a finite number in 0..1 (NaN would make a mean
    NaN and hide a drop; 1.5 or inf would pass any ``min`` gate)."""
    if not (isinstance(score.value, int | float) and math.isfinite(score.value) and 0.0 <= score.value <= 1.0):
        raise ScorerFailed(f"the score is {score.value!r}; a score must be a finite number from 0 to 1")


def spec_names(specs: list[EvaluatorSpec]) -> list[str]:
    return [s.score_name for s in specs]
