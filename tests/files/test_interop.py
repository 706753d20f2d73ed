"""`promptship import/export github-models|prompty`: real files in, files that validate and evaluate out,
every lossy conversion listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ..doubles.fake_llm import Rule

FIXTURES = Path(__file__).parent / "interop"
DOCS_EXAMPLE = FIXTURES / "text-summarizer.prompt.yml"  # GitHub Docs' example, verbatim (see SOURCE.md)
FAKE_PROFILE = """
  fake:
    all:
      - id: fake
        model: openai/m-fake
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
"""


@pytest.fixture
def repo(tmp_path: Path, run_cli) -> Path:
    root = tmp_path / "repo"
    assert run_cli("init", str(root)).code == 0
    return root


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


def test_github_docs_example_imports_validates_evaluates_and_exports_back(
    repo: Path, run_cli, fake_llm, monkeypatch
) -> None:
    done = run_cli("--root", str(repo), "import", "github-models", str(DOCS_EXAMPLE))
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        "wrote prompts/text-summarizer.yaml",
        "wrote datasets/text-summarizer-testdata.yaml",
        "wrote datasets/text-summarizer-testdata.jsonl",
        "wrote evals/text-summarizer.yaml",
    ]
    assert any("is named 'output-should-start-with-summary'" in n for n in notes(done.err))
    prompt = yaml.safe_load((repo / "prompts/text-summarizer.yaml").read_text())
    assert prompt["model"] == "chat", "the starter's alias already routes to openai/gpt-4o-mini"
    assert prompt["params"] == {"temperature": 0.5} and prompt["variables"] == {"input": {"type": "string"}}
    assert run_cli("--root", str(repo), "validate").code == 0

    with (repo / "policies/routing.yaml").open("a") as routing:
        routing.write(FAKE_PROFILE)
    fake_llm.set_rules([Rule("The quick brown fox", "summary - A fox jumped over a tired dog.")])
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    evaluated = run_cli(
        "--root", str(repo), "eval", "text-summarizer", "--profile", "fake", "--format", "json", "--quiet"
    )
    assert evaluated.code == 0, evaluated.err
    (run,) = json.loads(evaluated.out)["runs"]
    assert run["aggregates"]["chat"]["scores"]["output-should-start-with-summary"] == 1.0  # case-insensitive, as GitHub
    sent = fake_llm.journal[-1].messages[1]["content"]
    assert "<text>\nThe quick brown fox jumped over the lazy dog.\nThe dog was too tired to react.\n\n</text>" in sent

    exported = run_cli("--root", str(repo), "export", "github-models", "text-summarizer", "--out", "-")
    assert exported.code == 0, exported.err
    original, back = yaml.safe_load(DOCS_EXAMPLE.read_text()), yaml.safe_load(exported.out)
    assert back["messages"] == original["messages"] and back["testData"] == original["testData"]
    assert back["modelParameters"] == original["modelParameters"] and back["description"] == original["description"]
    assert back["model"] == "openai/gpt-4o-mini"  # the publisher-qualified id of the same model
    assert back["evaluators"] == [{"name": "output-should-start-with-summary", "string": {"startsWith": "Summary -"}}]


def test_every_field_maps_or_is_listed_as_lossy(repo: Path, run_cli) -> None:
    done = run_cli("--root", str(repo), "import", "github-models", str(FIXTURES / "ticket-router.prompt.yml"))
    assert done.code == 0, done.err
    listed = "\n".join(notes(done.err))
    for expected in (
        "modelParameters.frequencyPenalty has no promptship equivalent",
        "field 'owner' is not part of the GitHub Models format",
        "string.endsWith is ignored by GitHub Models too (only contains counts)",
        "github/similarity is an LLM rating",
        "github/coherence (a 1-5 rating",
        "evaluator 'judge': the judge scores 0..1",
        "evaluator 'plugin': acme/custom-check is not supported: not imported",
        "`equals` becomes a full-match regex",
    ):
        assert expected in listed, expected
    prompt = yaml.safe_load((repo / "prompts/ticket-router.yaml").read_text())
    assert prompt["model"] == "gpt-4-1"
    assert prompt["params"]["max_tokens"] == 20 and prompt["params"]["top_p"] == 0.9
    assert prompt["params"]["response_format"]["json_schema"]["name"] == "route"
    assert list(prompt["variables"]) == ["channel", "ticket"]
    suite = yaml.safe_load((repo / "evals/ticket-router.yaml").read_text())
    by_name = {e["name"]: e for e in suite["evaluators"]}
    assert by_name["exact"] == {
        "type": "regex",
        "name": "exact",
        "params": {"pattern": '\\{"team": "billing"\\}', "full_match": True},
    }
    assert by_name["judge"]["params"] == {
        "rubric": "You grade ticket routing.\n\nIs {{completion}} the right team for {{ticket}}? Answer good or bad.",
        "judge": "gpt-4o",
        "pass_threshold": 1.0,
    }
    assert "plugin" not in by_name and by_name["similar"]["type"] == "similarity"
    routing = yaml.safe_load((repo / "policies/routing.yaml").read_text())
    assert routing["aliases"]["gpt-4-1"]["deployments"][0]["model"] == "openai/gpt-4.1"
    assert routing["aliases"]["gpt-4o"]["deployments"][0]["model"] == "openai/gpt-4o"
    assert "offline" in routing["profiles"], "the existing policy is kept"
    assert "# Model aliases used by prompts and suites" in (repo / "policies/routing.yaml").read_text()
    valid = run_cli("--root", str(repo), "validate")
    assert valid.code == 0, valid.out
    strict = run_cli(
        "--root",
        str(repo),
        "import",
        "github-models",
        "--strict",
        "--name",
        "again",
        str(FIXTURES / "ticket-router.prompt.yml"),
    )
    assert strict.code == 1 and not (repo / "prompts/again.yaml").exists()


def test_import_never_overwrites_and_reports_bad_files(repo: Path, run_cli, tmp_path: Path) -> None:
    assert run_cli("--root", str(repo), "import", "github-models", str(DOCS_EXAMPLE)).code == 0
    before = {p: p.read_text() for p in repo.rglob("*.y*ml")}
    again = run_cli("--root", str(repo), "import", "github-models", str(DOCS_EXAMPLE))
    assert again.code == 2 and "error[E942]" in again.err and "prompts/text-summarizer.yaml" in again.err
    assert {p: p.read_text() for p in repo.rglob("*.y*ml")} == before
    broken = tmp_path / "broken.prompt.yml"
    broken.write_text("name: x\nmessages:\n  - role: system\n    content: [unclosed\n")
    bad = run_cli("--root", str(repo), "import", "github-models", str(broken))
    assert bad.code == 2 and f"{broken}:5:1: error[E944] not valid YAML" in bad.err and "Traceback" not in bad.err
    no_messages = tmp_path / "empty.prompt.yml"
    no_messages.write_text("name: x\nmodel: gpt-4o\n")
    assert "needs a `messages` list" in run_cli("--root", str(repo), "import", "github-models", str(no_messages)).err
    assert {p: p.read_text() for p in repo.rglob("*.y*ml")} == before


def test_prompty_imports_renders_and_round_trips(repo: Path, run_cli, tmp_path: Path) -> None:
    done = run_cli("--root", str(repo), "import", "prompty", str(FIXTURES / "support.prompty"))
    assert done.code == 0, done.err
    listed = "\n".join(notes(done.err))
    for expected in (
        "frontmatter field 'outputs' has no promptship equivalent",
        "model.configuration.azure_endpoint is not imported",
        "model.parameters.presence_penalty is not imported",
        "sample value 'top_n' is not an input",
    ):
        assert expected in listed, expected
    prompt = yaml.safe_load((repo / "prompts/support.yaml").read_text())
    assert prompt["owners"] == ["support-team"] and prompt["params"] == {"max_tokens": 200, "temperature": 0.2}
    assert prompt["variables"]["tone"] == {"type": "string", "required": False, "default": "friendly"}
    assert [m["role"] for m in prompt["messages"]] == ["system", "user"]
    assert run_cli("--root", str(repo), "validate").code == 0
    rendered = run_cli("--root", str(repo), "render", "support", "--item", "support-sample:sample", "--format", "json")
    assert rendered.code == 0, rendered.err
    messages = json.loads(rendered.out)["messages"]
    assert (
        messages[0]["content"].startswith("You are a friendly support assistant") and "Jane" in messages[0]["content"]
    )
    assert messages[1] == {"role": "user", "content": "Where is my order?"}

    out = tmp_path / "out"
    exported = run_cli("--root", str(repo), "export", "prompty", "support", "--out", str(out))
    assert exported.code == 0 and (out / "support.prompty").exists()
    again = run_cli("--root", str(repo), "import", "prompty", "--name", "support-copy", str(out / "support.prompty"))
    assert again.code == 0, again.err
    copy = yaml.safe_load((repo / "prompts/support-copy.yaml").read_text())
    assert {k: v for k, v in copy.items() if k != "description"} == {
        k: v for k, v in prompt.items() if k != "description"
    }
    assert run_cli("--root", str(repo), "export", "prompty", "support", "--out", str(out)).code == 2  # never overwrites
