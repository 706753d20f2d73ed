"""Built-in evaluators on literal samples, and the LLM judge through the fake LLM server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptship.eval.evaluators import Sample, registry
from promptship.eval.scoring import parse_judge_score
from promptship.llm.usage import Usage

from ..doubles.fake_llm import FakeLLM, Rule
from .test_eval import make_repo, run_json


def score(name: str, output: str, expected: object = None, **params: object):
    definition = registry()[name]
    return definition.score(
        definition.params.model_validate(params),
        Sample(
            item_id="i",
            input={},
            expected=expected,
            output=output,
            usage=Usage(completion_tokens=7, cost_usd=0.002, latency_ms=1200),
        ),
    )


def test_match_family() -> None:
    assert score("exact_match", " Positive ", "positive").passed
    assert not score("exact_match", "positive", "Positive", case_sensitive=True).passed
    assert score("contains", "Kimchi stew with tofu", ["tofu", "pork"]).value == 0.5
    assert not score("contains", "Kimchi stew with tofu", ["tofu", "pork"], mode="all").passed
    assert score("not_contains", "a polite reply", values=["010-", "@"]).passed
    assert score("regex", "Order #123", pattern=r"#\d+").passed
    assert score("similarity", "hello world", "hello wrld", threshold=0.9).passed


def test_structured_family() -> None:
    assert score("json_valid", '```json\n{"a": 1}\n```').passed
    assert not score("json_valid", "{a: 1}").passed
    schema = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}}, "required": ["label"]}
    assert score("json_schema", '{"label": "a"}', schema=schema).passed
    result = score("json_schema", '{"label": "c"}', schema=schema)
    assert not result.passed and "'c' is not one of" in result.detail["error"]
    assert score("numeric_close", "about 3,010 won", 3000, abs_tol=20).passed
    assert not score("numeric_close", "no number", 3).passed


def test_labels_and_bounds() -> None:
    result = score("label_accuracy", "I think it is Negative.", "negative", labels=["positive", "negative"])
    assert result.passed and result.detail == {"predicted": "negative", "expected": "negative"}
    assert score("length", "four words right here", unit="words", max=4).passed
    assert not score("length", "x", unit="tokens", max=5).passed, "7 completion tokens"
    assert not score("max_cost", "x", usd=0.001).passed and score("max_latency", "x", ms=1500).passed
    with pytest.raises(ValueError, match="min"):
        registry()["length"].params.model_validate({"unit": "chars"})


@pytest.mark.parametrize(("text", "value"), [("0.8", 0.8), ("Score: 7", 0.7), ("85", 0.85), ("none", None)])
def test_judge_scores_are_normalised(text: str, value: float | None) -> None:
    assert parse_judge_score(text) == value


def test_llm_judge_calls_the_judge_alias_and_counts_its_cost(
    tmp_path: Path, fake_llm: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, items=4)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    routing = (repo / "policies/routing.yaml").read_text()
    (repo / "policies/routing.yaml").write_text(
        routing.replace(
            "aliases:\n",
            (
                "aliases:\n  judge:\n    deployments:\n      - {id: judge-1, model: openai/m-judge, api_base_env: FAKE_LLM_BASE,"
                " api_key_env: FAKE_LLM_KEY, pricing: {input_per_million: 10, output_per_million: 30}}\n"
            ),
            1,
        )
    )
    (repo / "evals/classify.yaml").write_text(
        "prompt: classify\ndataset: reviews\nmodels: [primary]\nevaluators:\n  - type: llm_judge\n    name: helpful\n"
        "    params: {judge: judge, rubric: The answer names the sentiment in one word.}\n"
    )
    fake_llm.set_rules([Rule("strict grader", "0.9", model="m-judge"), Rule("Review:", "positive")])
    code, data = run_json(run_cli, repo)
    run = data["runs"][0]
    assert code == 0 and run["aggregates"]["primary"]["scores"]["helpful"] == pytest.approx(0.9)
    assert run["aggregates"]["primary"]["judge_cost_usd"] > 0 and fake_llm.count(model="m-judge") == 4
    judged = [r for r in fake_llm.journal if r.model == "m-judge"]
    assert "one word" in json.dumps(judged[0].messages)


def test_a_backtracking_regex_stops_at_its_time_limit_with_a_clear_error() -> None:
    with pytest.raises(TimeoutError, match=r"regex '\(a\|aa\)\+\$' took longer than 1 s .*catastrophic backtracking"):
        score("regex", "a" * 5000 + "b", pattern=r"(a|aa)+$")
    assert score("regex", "Order #123", pattern=r"#\d+", full_match=False).passed
