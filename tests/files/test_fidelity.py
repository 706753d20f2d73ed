"""What the model receives is exactly what the author wrote: YAML scalars, optional variables,
template whitespace, Unicode names, CSV cells and YAML anchors (issue #13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.files.render import render_prompt
from promptship.files.repo import load_repo
from promptship.files.validate import validate_repo

from .test_validate_corpus import PROMPT, SUITE, write_repo


def _optional_string(written: str) -> str:
    """The corpus prompt with an optional string variable `mood` whose default is ``written``."""
    return PROMPT.replace(
        "    type: string\n",
        f"    type: string\n  mood:\n    type: string\n    required: false\n    default: {written}\n",
        1,
    ).replace('"Describe {{ dish }}"', '"Describe {{ dish }} ({{ mood }})"')


@pytest.mark.parametrize("written", ["no", "yes", "on", "off", "012", "1.50", "1e3", "1_000", "2024-01-01", "0x1F"])
def test_a_string_default_arrives_as_written(tmp_path: Path, written: str) -> None:
    write_repo(tmp_path, {"prompts/p.yaml": _optional_string(written)})
    assert validate_repo(tmp_path) == []
    prompt = load_repo(tmp_path).repo.prompts["p"].prompt
    assert render_prompt(prompt, {"dish": "soup"}).messages[1]["content"] == f"Describe soup ({written})"


def test_a_tilde_default_on_a_string_variable_says_how_to_quote_it(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/p.yaml": _optional_string("~")})
    [error] = validate_repo(tmp_path)
    assert (error.path, error.line, error.code) == ("prompts/p.yaml", 9, "E004")
    assert 'default: "~"' in (error.hint or "")


@pytest.mark.parametrize(
    ("field", "written"), [("description", "no"), ("description", "012"), ("tags", "[on, off]"), ("model", "yes")]
)
def test_a_yaml_1_1_scalar_in_a_text_field_is_located_with_the_quoted_fix(
    tmp_path: Path, field: str, written: str
) -> None:
    text = PROMPT.replace("model: fast\n", "" if field == "model" else "model: fast\n") + f"{field}: {written}\n"
    write_repo(tmp_path, {"prompts/p.yaml": text})
    errors = [d for d in validate_repo(tmp_path) if d.code == "E004"]
    assert errors and errors[0].line == text.count("\n"), [d.format() for d in errors]
    first = written.strip("[]").split(",")[0]
    assert f'"{first}"' in (errors[0].hint or ""), errors[0].hint


def test_a_yaml_1_1_scalar_in_evaluator_values_is_located_with_the_quoted_fix(tmp_path: Path) -> None:
    write_repo(tmp_path, {"evals/s.yaml": SUITE.replace("values: [dish]", "values: [dish, off]")})
    [error] = validate_repo(tmp_path)
    assert (error.path, error.line, error.code) == ("evals/s.yaml", 6, "E305")
    assert '"off"' in (error.hint or "")


def test_a_date_like_deployment_param_arrives_as_the_text_written(tmp_path: Path) -> None:
    routing = (
        "aliases:\n  fast:\n    deployments:\n      - id: fast-1\n        model: gpt-4o-mini\n"
        "        params: {api_version: 2024-06-01}\n"
    )
    write_repo(tmp_path, {"policies/routing.yaml": routing})
    repo = load_repo(tmp_path).repo
    assert repo.policies.routing.aliases["fast"].deployments[0].params == {"api_version": "2024-06-01"}


# -- optional variables ----------------------------------------------------------------------------------


def test_an_absent_optional_variable_renders_as_nothing_and_is_falsy(tmp_path: Path) -> None:
    text = PROMPT.replace(
        "    type: string\n", "    type: string\n  note:\n    type: string\n    required: false\n", 1
    ).replace('"Describe {{ dish }}"', '"Describe {{ dish }}.{{ note }}{% if note %} Note: yes{% endif %}"')
    write_repo(tmp_path, {"prompts/p.yaml": text})
    assert validate_repo(tmp_path) == []
    prompt = load_repo(tmp_path).repo.prompts["p"].prompt
    assert render_prompt(prompt, {"dish": "soup"}).messages[1]["content"] == "Describe soup."
    assert (
        render_prompt(prompt, {"dish": "soup", "note": "hot"}).messages[1]["content"] == "Describe soup.hot Note: yes"
    )


# -- x-* extension keys ----------------------------------------------------------------------------------

ANCHORED = {
    "prompts/p.yaml": "x-system: &system You describe dishes.\n"
    + PROMPT.replace("content: You describe dishes.", "content: *system"),
    "datasets/d.yaml": "x-owner: &owner catalog\n"
    + "description: *owner\n"
    + "kind: golden\nsynthetic: true\nprompt: p\n",
    "evals/s.yaml": "x-values: &values [dish]\n" + "prompt: p\ndataset: d\nmodels: [fast]\n"
    "evaluators:\n  - type: contains\n    params: {values: *values}\n",
    "policies/routing.yaml": "x-deployment: &deployment {id: fast-1, model: gpt-4o-mini}\n"
    "aliases:\n  fast:\n    deployments: [*deployment]\n",
    "policies/release.yaml": "x-labels: &labels [production]\nrules:\n  - ref: main\n    labels: *labels\n",
}


def test_x_extension_keys_hold_anchors_in_every_file_kind(tmp_path: Path) -> None:
    write_repo(tmp_path, ANCHORED)
    assert validate_repo(tmp_path) == []
    repo = load_repo(tmp_path).repo
    assert repo.prompts["p"].prompt.messages[0].content == "You describe dishes."
    assert repo.datasets["d"].meta.description == "catalog"
    assert repo.policies.release.rules[0].labels == ["production"]
    # The extension keys are not content: the prompt hashes as it would without them.
    plain = tmp_path / "plain"
    write_repo(plain, {})
    assert load_repo(plain).repo.prompts["p"].hash == repo.prompts["p"].hash


def test_the_exported_json_schemas_accept_x_extension_keys(tmp_path: Path) -> None:
    import json

    import jsonschema
    import yaml

    project = Path(__file__).resolve().parents[2]
    for path, schema_file in [("prompts/p.yaml", "prompt"), ("policies/routing.yaml", "routing-policy")]:
        schema = json.loads((project / "schemas" / f"{schema_file}.schema.json").read_text())
        jsonschema.validate(yaml.safe_load(ANCHORED[path]), schema)


def test_other_unknown_top_level_keys_are_still_errors(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/p.yaml": "y-system: a\n" + PROMPT})
    assert [d.code for d in validate_repo(tmp_path)] == ["E003"]
