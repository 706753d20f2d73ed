"""A corpus of bad inputs: each names the exact file:line:col and error code `validate` must report."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.files.validate import validate_repo

ROUTING = """\
aliases:
  fast:
    deployments:
      - id: fast-1
        model: gpt-4o-mini
    fallbacks: []
"""
PROMPT = """\
type: chat
model: fast
variables:
  dish:
    type: string
messages:
  - role: system
    content: You describe dishes.
  - role: user
    content: "Describe {{ dish }}"
"""
SIDECAR = """\
kind: golden
synthetic: true
prompt: p
"""
ITEMS = '{"id": "a", "input": {"dish": "bibimbap"}}\n{"id": "b", "input": {"dish": "japchae"}}\n'
SUITE = """\
prompt: p
dataset: d
models: [fast]
evaluators:
  - type: contains
    params: {values: [dish]}
"""
BASE = {
    "policies/routing.yaml": ROUTING,
    "prompts/p.yaml": PROMPT,
    "datasets/d.yaml": SIDECAR,
    "datasets/d.jsonl": ITEMS,
    "evals/s.yaml": SUITE,
}


def write_repo(root: Path, files: dict[str, str | bytes | None]) -> None:
    for path, content in {**BASE, **files}.items():
        target = root / path
        if content is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


# (case id, files overriding BASE (None deletes), expected "path:line:col", expected code)
CASES: list[tuple[str, dict[str, str | bytes | None], str, str]] = [
    (
        "yaml-unclosed-flow",
        {"prompts/p.yaml": "type: chat\nmodel: [fast\nmessages: []\n"},
        "prompts/p.yaml:3:9",
        "E001",
    ),
    (
        "yaml-duplicate-key",
        {"prompts/p.yaml": PROMPT.replace("model: fast\n", "model: fast\nmodel: fast\n")},
        "prompts/p.yaml:3:1",
        "E001",
    ),
    ("missing-model", {"prompts/p.yaml": PROMPT.replace("model: fast\n", "")}, "prompts/p.yaml:1:1", "E002"),
    (
        "typo-in-params",
        {"prompts/p.yaml": PROMPT.replace("model: fast\n", "model: fast\nparams:\n  temprature: 0\n")},
        "prompts/p.yaml:4:3",
        "E003",
    ),
    (
        "bad-prompt-type",
        {"prompts/p.yaml": PROMPT.replace("type: chat", "type: completion")},
        "prompts/p.yaml:1:1",
        "E004",
    ),
    (
        "temperature-out-of-range",
        {"prompts/p.yaml": PROMPT.replace("model: fast\n", "model: fast\nparams:\n  temperature: 5\n")},
        "prompts/p.yaml:4:3",
        "E004",
    ),
    ("chat-without-messages", {"prompts/p.yaml": "type: chat\nmodel: fast\n"}, "prompts/p.yaml:1:1", "E004"),
    (
        "variable-field-typo",
        {"prompts/p.yaml": PROMPT.replace("    type: string\n", "    type: string\n    requred: false\n")},
        "prompts/p.yaml:6:5",
        "E003",
    ),
    (
        "default-on-required-variable",
        {"prompts/p.yaml": PROMPT.replace("    type: string\n", "    type: string\n    default: soup\n")},
        "prompts/p.yaml:4:3",
        "E004",
    ),
    (
        "json-schema-format-without-schema",
        {
            "prompts/p.yaml": PROMPT.replace(
                "model: fast\n", "model: fast\nparams:\n  response_format:\n    type: json_schema\n"
            )
        },
        "prompts/p.yaml:4:3",
        "E004",
    ),
    (
        "undeclared-variable-inline",
        {"prompts/p.yaml": PROMPT.replace("{{ dish }}", "{{ dish }} for {{ guest }}")},
        "prompts/p.yaml:10:14",
        "E101",
    ),
    (
        "undeclared-variable-in-block-scalar",
        {
            "prompts/p.yaml": PROMPT.replace(
                '    content: "Describe {{ dish }}"\n',
                "    content: |\n      Describe {{ dish }}\n      Mood: {{ mood }}\n",
            )
        },
        "prompts/p.yaml:12:7",
        "E101",
    ),
    (
        "required-variable-unused",
        {
            "prompts/p.yaml": PROMPT.replace("    type: string\n", "    type: string\n  spice:\n    type: integer\n"),
            "datasets/d.jsonl": '{"id": "a", "input": {"dish": "x", "spice": 2}}\n',
        },
        "prompts/p.yaml:6:3",
        "E102",
    ),
    (
        "template-syntax-error-in-block",
        {
            "prompts/p.yaml": PROMPT.replace(
                '    content: "Describe {{ dish }}"\n', "    content: |\n      Describe\n      {{ dish }\n"
            )
        },
        "prompts/p.yaml:12:7",
        "E103",
    ),
    (
        "unknown-model-alias",
        {"prompts/p.yaml": PROMPT.replace("model: fast", "model: fastest")},
        "prompts/p.yaml:2:1",
        "E104",
    ),
    (
        "invalid-jsonl",
        {"datasets/d.jsonl": ITEMS + '{"id": "c", "input": {"dish": "x"}\n'},
        "datasets/d.jsonl:3:35",
        "E205",
    ),
    (
        "duplicate-item-id",
        {"datasets/d.jsonl": ITEMS + '{"id": "a", "input": {"dish": "x"}}\n'},
        "datasets/d.jsonl:3:1",
        "E202",
    ),
    (
        "item-missing-variable",
        {"datasets/d.jsonl": ITEMS + '{"id": "c", "input": {}}\n'},
        "datasets/d.jsonl:3:1",
        "E203",
    ),
    (
        "item-unknown-variable",
        {"datasets/d.jsonl": '{"id": "a", "input": {"dish": "x", "side": "rice"}}\n'},
        "datasets/d.jsonl:1:1",
        "E204",
    ),
    (
        "item-bad-id",
        {"datasets/d.jsonl": ITEMS + '{"id": "has space", "input": {"dish": "x"}}\n'},
        "datasets/d.jsonl:3:1",
        "E004",
    ),
    ("items-without-sidecar", {"datasets/extra.jsonl": ITEMS}, "datasets/extra.jsonl:1:1", "E201"),
    (
        "dataset-unknown-prompt",
        {"datasets/d.yaml": SIDECAR.replace("prompt: p", "prompt: q")},
        "datasets/d.yaml:3:1",
        "E206",
    ),
    (
        "csv-column-missing",
        {
            "datasets/d.jsonl": None,
            "datasets/d.csv": "key,dish_name\na,bibimbap\n",
            "datasets/d.yaml": SIDECAR + "csv:\n  id: key\n  input: {dish: dish}\n",
        },
        "datasets/d.yaml:4:1",
        "E207",
    ),
    (
        "item-value-of-the-wrong-type",
        {
            "prompts/p.yaml": PROMPT.replace(
                "    type: string\n", "    type: string\n  sides:\n    type: list\n    required: false\n"
            ).replace("{{ dish }}", "{{ dish }} with {{ sides | join(', ') }}"),
            "datasets/d.jsonl": ITEMS + '{"id": "c", "input": {"dish": "naengmyeon", "sides": "kimchi"}}\n',
        },
        "datasets/d.jsonl:3:1",
        "E208",
    ),
    (
        "undeclared-variable-located-by-its-use-not-by-substring",
        {
            "prompts/p.yaml": PROMPT.replace(
                'content: "Describe {{ dish }}"', "content: |\n      Describe {{ dish }}\n      {{ dis }}"
            )
        },
        "prompts/p.yaml:12:7",
        "E101",
    ),
    (
        "undeclared-variable-in-a-folded-block",
        {
            "prompts/p.yaml": PROMPT.replace(
                'content: "Describe {{ dish }}"', "content: >\n      Describe {{ dish }}\n\n      and {{ dsh }}"
            )
        },
        "prompts/p.yaml:11:7",
        "E101",
    ),
    (
        "response-format-schema-is-not-a-json-schema",
        {
            "prompts/p.yaml": PROMPT.replace(
                "model: fast\n",
                "model: fast\nparams:\n  response_format:\n    type: json_schema\n"
                "    json_schema:\n      name: dish\n      schema: {type: strng}\n",
            )
        },
        "prompts/p.yaml:8:7",
        "E004",
    ),
    (
        "evaluator-schema-is-not-a-json-schema",
        {"evals/s.yaml": SUITE + "  - type: json_schema\n    params: {schema: {type: object, properties: 3}}\n"},
        "evals/s.yaml:8:14",
        "E305",
    ),
    (
        "csv-row-short-of-cells-located-at-its-first-line",
        {
            "datasets/d.jsonl": None,
            "datasets/d.csv": 'key,dish\na,"bibim\nbap"\nb\nc,japchae\n',
            "datasets/d.yaml": SIDECAR + "csv:\n  id: key\n  input: {dish: dish}\n",
        },
        "datasets/d.csv:4:1",
        "E207",
    ),
    ("empty-dataset", {"datasets/d.jsonl": "\n"}, "datasets/d.jsonl:1:1", "E209"),
    (
        "policy-as-both-yaml-and-yml",
        {"policies/routing.yml": ROUTING},
        "policies/routing.yml:1:1",
        "E005",
    ),
    (
        "unknown-jinja-filter",
        {"prompts/p.yaml": PROMPT.replace('content: "Describe {{ dish }}"', 'content: "Describe {{ dish | uppr }}"')},
        "prompts/p.yaml:10:14",
        "E103",
    ),
    (
        "sidecar-missing-kind",
        {"datasets/d.yaml": SIDECAR.replace("kind: golden\n", "")},
        "datasets/d.yaml:1:1",
        "E002",
    ),
    (
        "suite-unknown-prompt",
        {"evals/s.yaml": SUITE.replace("prompt: p", "prompt: nope")},
        "evals/s.yaml:1:1",
        "E301",
    ),
    (
        "suite-unknown-dataset",
        {"evals/s.yaml": SUITE.replace("dataset: d", "dataset: dd")},
        "evals/s.yaml:2:1",
        "E302",
    ),
    (
        "suite-unknown-alias",
        {"evals/s.yaml": SUITE.replace("models: [fast]", "models: [fast, slow]")},
        "evals/s.yaml:3:16",
        "E303",
    ),
    (
        "unknown-evaluator",
        {"evals/s.yaml": SUITE.replace("type: contains", "type: contain")},
        "evals/s.yaml:5:5",
        "E304",
    ),
    (
        "bad-evaluator-params",
        {
            "evals/s.yaml": SUITE.replace(
                "type: contains\n    params: {values: [dish]}",
                "type: regex\n    params: {pattern: '(unclosed'}",
            )
        },
        "evals/s.yaml:6:14",
        "E305",
    ),
    (
        "missing-python-scorer",
        {
            "evals/s.yaml": SUITE.replace(
                "type: contains\n    params: {values: [dish]}",
                "type: python\n    params: {function: 'evals/scorers.py:nope'}",
            )
        },
        "evals/s.yaml:6:14",
        "E305",
    ),
    (
        "gate-unknown-metric",
        {"evals/s.yaml": SUITE + "gates:\n  min: {accuracy: 0.9}\n"},
        "evals/s.yaml:8:9",
        "E306",
    ),
    (
        "fallback-cycle",
        {
            "policies/routing.yaml": ROUTING.replace("fallbacks: []", "fallbacks: [slow]")
            + "  slow:\n    deployments:\n      - id: slow-1\n        model: gpt-4o\n    fallbacks: [fast]\n"
        },
        "policies/routing.yaml:6:5",
        "E401",
    ),
    (
        "unknown-fallback",
        {"policies/routing.yaml": ROUTING.replace("fallbacks: []", "fallbacks: [slow]")},
        "policies/routing.yaml:6:17",
        "E402",
    ),
    (
        "prompt-on-embedding-alias",
        {"policies/routing.yaml": ROUTING.replace("  fast:\n", "  fast:\n    kind: embedding\n")},
        "prompts/p.yaml:2:1",
        "E407",
    ),
    (
        "literal-api-key-param",
        {
            "policies/routing.yaml": ROUTING.replace(
                "model: gpt-4o-mini", "model: gpt-4o-mini\n        params: {api_key: abc}"
            )
        },
        "policies/routing.yaml:6:9",
        "E004",
    ),
    (
        "unpriced-model",
        {"policies/routing.yaml": ROUTING.replace("gpt-4o-mini", "openai/our-finetune-v3")},
        "policies/routing.yaml:5:9",
        "E403",
    ),
    (
        "profile-unknown-alias",
        {
            "policies/routing.yaml": ROUTING
            + "profiles:\n  offline:\n    aliases:\n      fastt: [{id: l, model: local/smollm2}]\n"
        },
        "policies/routing.yaml:10:7",
        "E404",
    ),
    (
        "openai-key-in-prompt",
        {
            "prompts/p.yaml": PROMPT.replace(
                "type: chat\n", "type: chat\ndescription: uses sk-proj-Abc123def456GHI789jkl012mno\n"
            )
        },
        "prompts/p.yaml:2:19",
        "E501",
    ),
    (
        "aws-key-in-dataset",
        {"datasets/d.jsonl": '{"id": "a", "input": {"dish": "x"}, "metadata": {"k": "AKIAIOSFODNN7EXAMPLE"}}\n'},
        "datasets/d.jsonl:1:56",
        "E501",
    ),
    (
        # exact_match compares with `expected`: item b has none, so it would silently score 0 on every run.
        "evaluator-needs-expected",
        {
            "datasets/d.jsonl": '{"id": "a", "input": {"dish": "x"}, "expected": "x"}\n{"id": "b", "input": {"dish": "y"}}\n',
            "evals/s.yaml": SUITE.replace("type: contains\n    params: {values: [dish]}", "type: exact_match"),
        },
        "datasets/d.jsonl:2:1",
        "E308",
    ),
    ("unexpected-file", {"prompts/notes.txt": "todo"}, "prompts/notes.txt:1:1", "E005"),
    (
        "not-utf8",
        {"prompts/p.yaml": PROMPT.encode("utf-8").replace(b"You describe", b"You \xff describe")},
        "prompts/p.yaml:1:1",
        "E006",
    ),
]


@pytest.mark.parametrize(("files", "where", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_reports_exact_location_and_code(tmp_path: Path, files: dict, where: str, code: str) -> None:
    write_repo(tmp_path, files)
    errors = [d for d in validate_repo(tmp_path) if d.severity == "error"]
    located = {f"{d.path}:{d.line}:{d.col} {d.code}" for d in errors}
    assert f"{where} {code}" in located, "\n".join(d.format() for d in errors)
    assert {d.code for d in errors} == {code}, "\n".join(d.format() for d in errors)
    assert all(d.hint for d in errors), "every error has a hint"


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len({c[3] for c in CASES}) >= 25


def test_base_repository_of_the_corpus_is_valid(tmp_path: Path) -> None:
    write_repo(tmp_path, {})
    assert validate_repo(tmp_path) == []


def test_secrets_are_found_in_stray_and_orphaned_files_too(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "policies/notes.txt": 'api_key: "Xy7kPq93LmZt82RfVb61NsQe40WdHj5A"\n',
            "datasets/orphan.jsonl": '{"id": "a", "input": {"k": "AKIAIOSFODNN7EXAMPLE"}}\n',
        },
    )
    found = {f"{d.path}:{d.line}:{d.col} {d.code}" for d in validate_repo(tmp_path)}
    assert {"policies/notes.txt:1:1 E005", "policies/notes.txt:1:11 E501"} <= found
    assert {"datasets/orphan.jsonl:1:1 E201", "datasets/orphan.jsonl:1:29 E501"} <= found


def test_a_gateway_key_without_a_budget_is_a_warning(tmp_path: Path) -> None:
    credentials = "mode: poc\nshared:\n  gateway_key_sha256_env: SHARED_SHA\nprojects:\n  menu:\n    gateway_key_sha256_env: MENU_SHA\n"
    write_repo(
        tmp_path,
        {"policies/credentials.yaml": credentials, "policies/budgets.yaml": "projects:\n  menu: {monthly_usd: 10}\n"},
    )
    found = [(f"{d.path}:{d.line}:{d.col}", d.code, d.severity) for d in validate_repo(tmp_path)]
    assert found == [("policies/credentials.yaml:2:1", "E406", "warning")], "menu has a budget, shared has none"
    write_repo(
        tmp_path, {"policies/credentials.yaml": credentials, "policies/budgets.yaml": "default: {monthly_usd: 5}\n"}
    )
    assert validate_repo(tmp_path) == []


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("from difflib import SequenceMatcher as score\n", None),
        ("def other(item, output, expected):\n    return True\n\nscore = other\n", None),
        ("async def score(item, output, expected):\n    return True\n", "defines no function 'score'"),
        ("# def score(item, output, expected):\n", "defines no function 'score'"),
        ("def score(item, output, expected)\n    return True\n", "has a syntax error at line 1"),
    ],
)
def test_python_scorer_references_are_checked_by_what_the_module_binds(
    tmp_path: Path, module: str, problem: str | None
) -> None:
    suite = SUITE.replace(
        "type: contains\n    params: {values: [dish]}", "type: python\n    params: {function: 'evals/scorers.py:score'}"
    )
    write_repo(tmp_path, {"evals/s.yaml": suite, "evals/scorers.py": module})
    found = [d for d in validate_repo(tmp_path) if d.code == "E305"]
    assert [problem in d.message for d in found] == ([] if problem is None else [True]), found
    assert all(d.hint and "{" not in d.hint.replace("`def score(item, output, expected):`", "") for d in found)


def test_contains_with_its_own_values_needs_no_expected(tmp_path: Path) -> None:
    """Only an evaluator that reads `expected` needs it: `contains` with `values` does not, without them it does."""
    write_repo(tmp_path, {})  # BASE: contains with values, items without expected
    assert validate_repo(tmp_path) == []
    write_repo(tmp_path, {"evals/s.yaml": SUITE.replace("params: {values: [dish]}", "name: has_expected")})
    found = [d for d in validate_repo(tmp_path) if d.code == "E308"]
    assert [(d.path, d.line) for d in found] == [("datasets/d.jsonl", 1), ("datasets/d.jsonl", 2)]
    assert "has_expected" in found[0].message and "evals/s.yaml" in found[0].message
