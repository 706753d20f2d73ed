"""`promptship init`: a starter repository that validates and evaluates as written, never overwriting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptship.files.schema import schema_documents

from ..doubles.fake_llm import Rule

FAKE_PROFILE = """
  fake:
    description: The loopback fake LLM (tests).
    all:
      - id: fake
        model: openai/m-fake
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
"""


def test_init_writes_a_repository_that_validates(tmp_path: Path, run_cli) -> None:
    target = tmp_path / "prompts-repo"
    done = run_cli("init", str(target), "--action", "acme/promptship@v1.2.3")
    assert done.code == 0, done.err
    for path in (
        "prompts/feedback/sentiment.yaml",
        "datasets/feedback/sentiment-golden.yaml",
        "datasets/feedback/sentiment-golden.jsonl",
        "evals/feedback-sentiment.yaml",
        "policies/routing.yaml",
        "policies/release.yaml",
        ".pre-commit-config.yaml",
        ".gitignore",
        "README.md",
        ".github/workflows/pr.yml",
        ".github/workflows/comment.yml",
        ".github/workflows/main.yml",
    ):
        assert (target / path).is_file(), path
        assert f"wrote {target / path}" in done.out
    assert {p.name: p.read_text() for p in (target / "schemas").iterdir()} == schema_documents()
    assert "offline:" in (target / "policies/routing.yaml").read_text()
    workflows = "".join(p.read_text() for p in (target / ".github/workflows").iterdir())
    assert workflows.count("uses: acme/promptship@v1.2.3") == 4 and "@@" not in workflows
    assert (target / ".git").is_dir()
    valid = run_cli("--root", str(target), "validate")
    assert valid.code == 0 and "0 error(s), 0 warning(s)" in valid.err


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, run_cli) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "routing.yaml").write_text("aliases: {}\n")
    (tmp_path / "README.md").write_text("mine\n")
    done = run_cli("init", str(tmp_path))
    assert done.code == 2 and "error[E940]" in done.err and "Traceback" not in done.err
    assert "README.md" in done.err and "policies/routing.yaml" in done.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["README.md", "policies", "routing.yaml"]
    assert (tmp_path / "README.md").read_text() == "mine\n"
    bad_action = run_cli("init", str(tmp_path / "new"), "--action", "x; rm -rf /")
    assert bad_action.code == 2 and "error[E941]" in bad_action.err and not (tmp_path / "new").exists()


def test_starter_suite_runs_on_a_model_profile(tmp_path: Path, run_cli, fake_llm, monkeypatch) -> None:
    target = tmp_path / "repo"
    assert run_cli("init", str(target)).code == 0
    with (target / "policies/routing.yaml").open("a") as routing:
        routing.write(FAKE_PROFILE)
    lines = (target / "datasets/feedback/sentiment-golden.jsonl").read_text().splitlines()
    labels = {json.loads(line)["input"]["feedback"]: json.loads(line)["expected"] for line in lines}
    fake_llm.set_rules([Rule(f"Feedback: {text}", label) for text, label in labels.items()])
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    done = run_cli("--root", str(target), "eval", "--profile", "fake", "--format", "json", "--quiet")
    assert done.code == 0, done.err
    (run,) = json.loads(done.out)["runs"]
    assert run["suite"] == "feedback-sentiment" and len(run["samples"]) == len(labels)
    assert run["aggregates"]["chat"]["scores"]["accuracy"] == 1.0
    assert fake_llm.count(model="m-fake") == len(labels)


@pytest.mark.slow
def test_init_validate_and_offline_eval_from_a_shell(tmp_path: Path) -> None:
    """The issue's acceptance line, verbatim, through the installed CLI."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        [
            "bash",
            "-c",
            "promptship init x && cd x && promptship validate && promptship eval --profile offline --sample 3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "feedback-sentiment" in done.stdout and "0/3" in done.stdout  # three samples, no errors
