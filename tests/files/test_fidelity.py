"""What the model receives is exactly what the author wrote: YAML scalars, optional variables,
template whitespace, Unicode names, CSV cells and YAML anchors (issue #13)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from promptship.files.render import render_prompt
from promptship.files.repo import load_repo
from promptship.files.validate import validate_repo

from .test_validate_corpus import PROMPT, SIDECAR, SUITE, write_repo


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


@pytest.mark.parametrize(("kind", "written"), [("integer", "ten"), ("boolean", "maybe"), ("list", "a")])
def test_a_default_that_does_not_fit_the_declared_type_is_located(tmp_path: Path, kind: str, written: str) -> None:
    text = _optional_string(written).replace("  mood:\n    type: string\n", f"  mood:\n    type: {kind}\n")
    write_repo(tmp_path, {"prompts/p.yaml": text})
    [error] = validate_repo(tmp_path)
    assert (error.path, error.line, error.code) == ("prompts/p.yaml", 9, "E004"), error.format()
    assert f"type: {kind}" in error.message


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


# -- template whitespace ---------------------------------------------------------------------------------

INDENTED = """\
Menu:
  {% for dish in dishes %}
  - {{ dish }}
  {% endfor %}
  {% if note %}
  Note: {{ note }}
  {% endif %}
Thanks.
"""


def test_indented_tag_lines_leave_no_indentation_or_blank_line_behind() -> None:
    from promptship.files.schema import Prompt

    prompt = Prompt.model_validate(
        {
            "type": "text",
            "model": "fast",
            "variables": {"dishes": {"type": "list"}, "note": {"type": "string", "required": False}},
            "template": INDENTED,
        }
    )
    assert render_prompt(prompt, {"dishes": ["soup", "rice"]}).text == "Menu:\n  - soup\n  - rice\nThanks.\n"
    with_note = render_prompt(prompt, {"dishes": ["soup"], "note": "hot"}).text
    assert with_note == "Menu:\n  - soup\n  Note: hot\nThanks.\n"


def test_show_whitespace_marks_line_ends_and_trailing_spaces() -> None:
    from promptship.files.render import show_whitespace

    assert show_whitespace("a  \nb\t\n") == "a··⏎\nb→⏎\n"
    assert show_whitespace("no end") == "no end"
    assert show_whitespace("x\u00a0y\r\n") == "x⍽y␍⏎\n"


def test_render_show_whitespace_prints_the_exact_text(tmp_path: Path, run_cli) -> None:
    text = PROMPT.replace(
        '    content: "Describe {{ dish }}"\n',
        "    content: |\n      {% if dish %}\n      Describe {{ dish }}  \n      {% endif %}\n",
    )
    write_repo(tmp_path, {"prompts/p.yaml": text})
    result = run_cli("--root", str(tmp_path), "render", "p", "--var", "dish=soup", "--show-whitespace")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        "--- system",
        "You describe dishes.",
        "--- user",
        "Describe soup··⏎",
        "",
        "--- end",
    ]


def test_the_example_prompts_render_as_before_lstrip_blocks(example_repo: Path) -> None:
    """The example content (and so its fingerprints, cached answers and report snapshots) is unchanged."""
    import jinja2

    before = jinja2.Environment(keep_trailing_newline=True, trim_blocks=True)
    repo = load_repo(example_repo).repo
    for dataset in repo.datasets.values():
        prompt = repo.prompts[dataset.meta.prompt].prompt
        for item in dataset.items[:3]:
            values = {name: item.input.get(name, variable.default) for name, variable in prompt.variables.items()}
            now = [m["content"] for m in render_prompt(prompt, item.input).messages]
            old = [before.from_string(source).render(values) for _, source in prompt.templates()]
            assert now == old


# -- Unicode normalisation -------------------------------------------------------------------------------

NFC_NAME = "메뉴"  # Hangul syllables (NFC); macOS file systems store the decomposed jamo (NFD)
NFD_NAME = unicodedata.normalize("NFD", NFC_NAME)


def test_a_prompt_path_in_nfd_is_the_nfc_prompt_everywhere(tmp_path: Path, run_cli) -> None:
    assert NFC_NAME != NFD_NAME
    write_repo(
        tmp_path,
        {
            "prompts/p.yaml": None,
            f"prompts/{NFD_NAME}.yaml": PROMPT,
            "datasets/d.yaml": SIDECAR.replace("prompt: p", f"prompt: {NFC_NAME}"),
            "evals/s.yaml": SUITE.replace("prompt: p", f"prompt: {NFD_NAME}"),
        },
    )
    assert validate_repo(tmp_path) == []
    repo = load_repo(tmp_path).repo
    assert list(repo.prompts) == [NFC_NAME]
    assert repo.suites["s"].suite.prompt == NFC_NAME
    for spelling in (NFC_NAME, NFD_NAME):
        result = run_cli("--root", str(tmp_path), "render", spelling, "--var", "dish=soup")
        assert result.code == 0, result.err
    from promptship import Client

    client = Client(tmp_path, langfuse=False)
    assert client.prompt(NFD_NAME).name == NFC_NAME and client.prompt(NFD_NAME).source == "bundled"
    client.close()


def test_nfc_and_nfd_twins_are_an_error(tmp_path: Path) -> None:
    write_repo(tmp_path, {f"prompts/{NFC_NAME}.yaml": PROMPT, f"prompts/{NFD_NAME}.yaml": PROMPT})
    if len({p.name for p in (tmp_path / "prompts").iterdir()}) < 3:
        pytest.skip("this file system normalises names itself")
    errors = [d for d in validate_repo(tmp_path) if d.code == "E005"]
    assert len(errors) == 1 and "Unicode" in errors[0].message, [d.format() for d in errors]
    assert "git rm" in (errors[0].hint or "")


# -- CSV ---------------------------------------------------------------------------------------------------

CSV_SIDECAR = SIDECAR + "csv:\n  id: id\n  input: {dish: dish, mood: mood}\n"


def _csv_prompt(default: str | None) -> str:
    declared = "    type: string\n    required: false\n" + (f"    default: {default}\n" if default else "")
    return PROMPT.replace("    type: string\n", f"    type: string\n  mood:\n{declared}", 1).replace(
        '"Describe {{ dish }}"', '"Describe {{ dish }} ({{ mood }})"'
    )


def test_a_malformed_quoted_csv_cell_is_a_located_error(tmp_path: Path) -> None:
    rows = 'id,dish,mood\na,soup,calm\nb,"rice" bowl,calm\nc,noodles,calm\n'
    write_repo(
        tmp_path,
        {
            "prompts/p.yaml": _csv_prompt(None),
            "datasets/d.yaml": CSV_SIDECAR,
            "datasets/d.jsonl": None,
            "datasets/d.csv": rows,
        },
    )
    errors = [d for d in validate_repo(tmp_path) if d.severity == "error"]
    assert [(d.path, d.line, d.code) for d in errors] == [("datasets/d.csv", 3, "E207")], [d.format() for d in errors]
    assert '""' in (errors[0].hint or "")
    # The rows before and after the malformed one are still read.
    assert [i.id for i in load_repo(tmp_path).repo.datasets["d"].items] == ["a", "c"]


def test_an_unclosed_quote_is_located_at_its_row(tmp_path: Path) -> None:
    rows = 'id,dish,mood\na,soup,calm\nb,"rice,calm\nc,noodles,calm\n'
    write_repo(
        tmp_path,
        {
            "prompts/p.yaml": _csv_prompt(None),
            "datasets/d.yaml": CSV_SIDECAR,
            "datasets/d.jsonl": None,
            "datasets/d.csv": rows,
        },
    )
    errors = [d for d in validate_repo(tmp_path) if d.severity == "error"]
    assert [(d.path, d.line, d.code) for d in errors] == [("datasets/d.csv", 3, "E207")], [d.format() for d in errors]


@pytest.mark.parametrize(("default", "sent"), [("calm", "calm"), (None, "")])
def test_an_empty_csv_cell_takes_the_variables_default(tmp_path: Path, default: str | None, sent: str) -> None:
    rows = "id,dish,mood\na,soup,\nb,rice,happy\n"
    write_repo(
        tmp_path,
        {
            "prompts/p.yaml": _csv_prompt(default),
            "datasets/d.yaml": CSV_SIDECAR,
            "datasets/d.jsonl": None,
            "datasets/d.csv": rows,
        },
    )
    assert validate_repo(tmp_path) == []
    repo = load_repo(tmp_path).repo
    dataset, prompt = repo.datasets["d"], repo.prompts["p"].prompt
    rendered = [render_prompt(prompt, item.input).messages[1]["content"] for item in dataset.items]
    assert rendered == [f"Describe soup ({sent})", "Describe rice (happy)"]


# -- chat-message placeholders (Langfuse's {"type": "placeholder", "name": ...}) ---------------------------

WITH_HISTORY = PROMPT.replace(
    "    type: string\n", "    type: string\n  history:\n    type: list\n    required: false\n", 1
).replace("  - role: user\n", "  - type: placeholder\n    name: history\n  - role: user\n")


def test_a_placeholder_inserts_the_callers_messages_as_data(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/p.yaml": WITH_HISTORY})
    assert validate_repo(tmp_path) == []
    prompt = load_repo(tmp_path).repo.prompts["p"].prompt
    history = [{"role": "user", "content": "hi {{ dish }}"}, {"role": "assistant", "content": "hello"}]
    rendered = render_prompt(prompt, {"dish": "soup", "history": history}).messages
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert rendered[1]["content"] == "hi {{ dish }}", "placeholder messages are data, never rendered"
    assert [m["role"] for m in render_prompt(prompt, {"dish": "soup"}).messages] == ["system", "user"]


def test_placeholder_mistakes_are_located(tmp_path: Path) -> None:
    undeclared = WITH_HISTORY.replace("name: history", "name: chat")
    write_repo(tmp_path, {"prompts/p.yaml": undeclared})
    assert [(d.line, d.code) for d in validate_repo(tmp_path)] == [(13, "E101")]
    write_repo(tmp_path, {"prompts/p.yaml": WITH_HISTORY.replace("type: list", "type: string")})
    assert [(d.line, d.code) for d in validate_repo(tmp_path)] == [(7, "E004")]
    write_repo(tmp_path, {"prompts/p.yaml": WITH_HISTORY.replace("    name: history\n", "")})
    [error] = validate_repo(tmp_path)
    assert (error.line, error.code, error.message) == (12, "E002", "missing required field `messages.1.name`")


def test_a_placeholder_value_that_is_not_messages_is_a_render_error(tmp_path: Path) -> None:
    from promptship.errors import RenderError

    write_repo(tmp_path, {"prompts/p.yaml": WITH_HISTORY})
    prompt = load_repo(tmp_path).repo.prompts["p"].prompt
    with pytest.raises(RenderError, match="fills a placeholder") as info:
        render_prompt(prompt, {"dish": "soup", "history": ["hi"]})
    assert info.value.code == "E208"


def test_an_absent_optional_variable_is_undefined_to_jinja_tests_and_filters() -> None:
    from promptship.files.schema import Prompt

    template = "[{{ note | default('none given') }}|{{ 'yes' if note is defined else 'no' }}|{{ tags | join(',') }}]"
    prompt = Prompt.model_validate(
        {
            "type": "text",
            "model": "fast",
            "variables": {"note": {"required": False}, "tags": {"type": "list", "required": False}},
            "template": template,
        }
    )
    assert render_prompt(prompt, {}).text == "[none given|no|]"
    assert render_prompt(prompt, {"note": None}).text == "[none given|no|]"
    assert render_prompt(prompt, {"note": "hot", "tags": ["a", "b"]}).text == "[hot|yes|a,b]"


def test_a_key_is_the_name_written_even_when_yaml_1_1_reads_it_as_a_boolean_or_number(tmp_path: Path) -> None:
    text = PROMPT.replace("  dish:\n", "  on:\n").replace("{{ dish }}", "{{ on }}")
    suite = SUITE.replace("models: [fast]\n", "models: [fast]\ngates:\n  min: {yes: 0.5}\n").replace(
        "  - type: contains\n", '  - type: contains\n    name: "yes"\n'
    )
    write_repo(
        tmp_path,
        {"prompts/p.yaml": text, "datasets/d.jsonl": '{"id": "a", "input": {"on": "x"}}\n', "evals/s.yaml": suite},
    )
    assert validate_repo(tmp_path) == []
    repo = load_repo(tmp_path).repo
    assert render_prompt(repo.prompts["p"].prompt, {"on": "soup"}).messages[1]["content"] == "Describe soup"
    assert repo.suites["s"].suite.gates.min == {"yes": 0.5}
