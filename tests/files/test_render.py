"""Rendering: sandboxed Jinja2, strict variables, data never re-rendered as templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptship.errors import RenderError
from promptship.files.render import render_prompt
from promptship.files.repo import load_repo
from promptship.files.schema import Prompt


def chat(content: str, **variables: dict) -> Prompt:
    return Prompt.model_validate(
        {
            "type": "chat",
            "model": "fast",
            "variables": variables or {"x": {"type": "string"}},
            "messages": [{"role": "user", "content": content}],
        }
    )


def test_data_values_are_never_rendered_as_templates() -> None:
    rendered = render_prompt(chat("value: {{ x }}"), {"x": "{{ 7*7 }} {% for i in range(3) %}{{ i }}{% endfor %}"})
    assert rendered.messages[0]["content"] == "value: {{ 7*7 }} {% for i in range(3) %}{{ i }}{% endfor %}"


def test_sandbox_blocks_attribute_escapes() -> None:
    with pytest.raises(RenderError) as info:
        render_prompt(chat("{{ x.__class__.__mro__[1].__subclasses__() }}"), {"x": "s"})
    assert info.value.code == "E103"


def test_missing_and_unknown_variables_are_errors() -> None:
    with pytest.raises(RenderError, match="missing required variable 'x'"):
        render_prompt(chat("{{ x }}"), {})
    with pytest.raises(RenderError, match="unknown variable"):
        render_prompt(chat("{{ x }}"), {"x": "a", "y": "b"})


def test_defaults_apply_to_optional_variables() -> None:
    prompt = chat("{{ x }}/{{ y }}", x={"type": "string"}, y={"type": "string", "required": False, "default": "d"})
    assert render_prompt(prompt, {"x": "a"}).messages[0]["content"] == "a/d"


def test_text_prompt_becomes_one_user_message() -> None:
    prompt = Prompt.model_validate({"type": "text", "model": "fast", "variables": {"x": {}}, "template": "T {{ x }}"})
    rendered = render_prompt(prompt, {"x": "1"})
    assert rendered.messages == [{"role": "user", "content": "T 1"}] and rendered.text == "T 1"


def test_render_cli_prints_messages_from_a_dataset_item(example_repo: Path, run_cli) -> None:
    repo = load_repo(example_repo).repo
    item = repo.datasets["reviews/sentiment-golden"].items[0]
    result = run_cli(
        "--root",
        str(example_repo),
        "render",
        "reviews/sentiment",
        "--item",
        f"reviews/sentiment-golden:{item.id}",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["model"] == "chat-fast"
    assert data["messages"][-1]["content"] == f"Review: {item.input['review']}"
    assert data["params"] == {"temperature": 0.0, "max_tokens": 5}


def test_render_cli_vars_override_and_types(example_repo: Path, run_cli, tmp_path: Path) -> None:
    vars_file = tmp_path / "v.json"
    vars_file.write_text(json.dumps({"dish_name": "비빔밥", "ingredients": ["밥"]}))
    result = run_cli(
        "--root",
        str(example_repo),
        "render",
        "catalog/menu-description",
        "--vars-file",
        str(vars_file),
        "--var",
        'ingredients=["밥", "나물"]',
        "--var",
        "restaurant_style=premium",
    )
    assert result.code == 0, result.err
    assert "Ingredients: 밥, 나물" in result.out and "Restaurant style: premium" in result.out


def test_render_cli_reports_user_mistakes_without_traceback(example_repo: Path, run_cli) -> None:
    result = run_cli("--root", str(example_repo), "render", "nope/nope")
    assert result.code == 2
    assert "error[E000] unknown prompt 'nope/nope'" in result.err and "Traceback" not in result.err
    result = run_cli("--root", str(example_repo), "render", "reviews/sentiment")
    assert result.code == 2 and "missing required variable 'review'" in result.err
    result = run_cli("--root", str(example_repo), "render", "catalog/menu-description", "--var", "ingredients=[oops")
    assert result.code == 2 and "is not a valid list" in result.err


def test_values_must_have_their_declared_type() -> None:
    prompt = chat("{{ sides | join(', ') }} for {{ n }}", sides={"type": "list"}, n={"type": "integer"})
    assert render_prompt(prompt, {"sides": ["kimchi", "rice"], "n": 2}).messages[0]["content"] == "kimchi, rice for 2"
    with pytest.raises(RenderError, match="variable 'sides': expected list, got string") as info:
        render_prompt(prompt, {"sides": "kimchi", "n": 2})
    assert info.value.code == "E208"
    with pytest.raises(RenderError, match="variable 'n': expected integer, got boolean"):
        render_prompt(prompt, {"sides": [], "n": True})


def test_a_variable_reassigned_from_itself_is_still_a_used_input() -> None:
    from promptship.files.render import template_variables

    assert template_variables("{% set review = review | trim %}{{ review }}") == {"review"}
    assert template_variables("{% set greeting = 'hi' %}{{ greeting }} {{ name }}") == {"name"}


def test_render_item_mistakes_name_what_is_wrong(example_repo: Path, run_cli) -> None:
    no_dataset = run_cli(
        "--root", str(example_repo), "render", "reviews/sentiment", "--item", "reviews/nope:review-001"
    )
    assert no_dataset.code == 2 and "no dataset 'reviews/nope'" in no_dataset.err
    no_item = run_cli(
        "--root", str(example_repo), "render", "reviews/sentiment", "--item", "reviews/sentiment-golden:r1"
    )
    assert no_item.code == 2 and "has no item 'r1'" in no_item.err and "review-001" in no_item.err
    no_colon = run_cli("--root", str(example_repo), "render", "reviews/sentiment", "--item", "review-001")
    assert no_colon.code == 2 and "is not DATASET:ID" in no_colon.err


def test_render_needs_only_the_files_it_reads_to_be_valid(example_repo: Path, run_cli) -> None:
    sidecar = example_repo / "datasets/catalog/menu-golden.yaml"
    sidecar.write_text(sidecar.read_text().replace("kind: golden", "kind: goldn"))
    ok = run_cli("--root", str(example_repo), "render", "reviews/sentiment", "--var", "review=맛있어요")
    assert ok.code == 0 and "맛있어요" in ok.out
    broken = run_cli(
        "--root", str(example_repo), "render", "catalog/menu-description", "--item", "catalog/menu-golden:menu-001"
    )
    assert broken.code == 1 and "datasets/catalog/menu-golden.yaml:3:1: error[E004]" in broken.err


def test_a_template_failing_on_its_values_is_a_render_error_not_a_crash() -> None:
    prompt = chat("{{ 10 / n }} and {{ x + 1 }}", n={"type": "integer"}, x={"type": "string"})
    with pytest.raises(RenderError, match="ZeroDivisionError") as info:
        render_prompt(prompt, {"n": 0, "x": "a"})
    assert info.value.code == "E103"
    with pytest.raises(RenderError, match="TypeError"):
        render_prompt(prompt, {"n": 2, "x": "a"})


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{% for a in x %}{% for b in x %}{% for c in x %}.{% endfor %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{{ 'ab' * 100000000 }}", "would make a value"),
        ("{{ 2 ** 1000000 }}", "would make an integer"),
        ("{% for a in range(99999) %}{{ 'y' * 1000 }}{% endfor %}", "longer than"),
    ],
)
def test_a_template_stops_at_its_execution_budget_with_a_located_error(template: str, reason: str) -> None:
    prompt = Prompt.model_validate(
        {
            "type": "chat",
            "model": "fast",
            "variables": {"x": {"type": "list"}},
            "messages": [{"role": "system", "content": "fine"}, {"role": "user", "content": template}],
        }
    )
    with pytest.raises(RenderError) as info:
        render_prompt(prompt, {"x": list(range(1000))})
    assert info.value.code == "E103" and "messages[1] (user): rendering stopped" in str(info.value)
    assert reason in str(info.value)


def test_loops_within_the_budget_render_as_before() -> None:
    template = "{% for i in x %}{{ loop.index }}{{ ',' if not loop.last }}{% endfor %} {{ 'ab' * 3 }} {{ 2 ** 10 }}"
    assert render_prompt(chat(template, x={"type": "list"}), {"x": ["a", "b", "c"]}).messages[0]["content"] == (
        "1,2,3 ababab 1024"
    )


def test_render_cli_stops_nested_range_loops(example_repo: Path, run_cli) -> None:
    path = example_repo / "prompts/loops.yaml"
    path.write_text(
        "type: chat\nmodel: chat-fast\nmessages:\n  - role: user\n    content: "
        "'{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}'\n"
    )
    result = run_cli("--root", str(example_repo), "render", "loops")
    assert result.code != 0 and "error[E103]" in result.err and "loop iterations" in result.err
    assert "Traceback" not in result.err
