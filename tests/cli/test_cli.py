"""The real CLI: exit codes, output formats, every error at once, and light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from promptship.files.schema import schema_documents

from ..conftest import PROJECT, git


def test_validate_passes_on_the_example_repository(example_repo: Path, run_cli) -> None:
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 0, result.out + result.err
    assert "0 error(s)" in result.err


def test_validate_reports_every_error_at_once_with_exit_1(example_repo: Path, run_cli) -> None:
    sentiment = example_repo / "prompts/reviews/sentiment.yaml"
    sentiment.write_text(sentiment.read_text().replace("{{ review }}", "{{ reveiw }}"))
    suite = example_repo / "evals/menu-description.yaml"
    suite.write_text(suite.read_text().replace("models: [chat-fast]", "models: [chat-fastest]"))
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1
    assert (
        "prompts/reviews/sentiment.yaml:" in result.out
        and "error[E101] variable 'reveiw' is not declared" in result.out
    )
    assert "error[E102] required variable 'review' is never used" in result.out
    assert (
        "evals/menu-description.yaml:5:10: error[E303]" in result.out
        and "error[E303] unknown model alias 'chat-fastest'" in result.out
    )
    assert "hint:" in result.out


def test_validate_json_output_and_path_filter(example_repo: Path, run_cli) -> None:
    sentiment = example_repo / "prompts/reviews/sentiment.yaml"
    sentiment.write_text(sentiment.read_text().replace("model: chat-fast", "model: nope"))
    result = run_cli("--root", str(example_repo), "validate", "--format", "json")
    data = json.loads(result.out)
    assert result.code == 1 and data["ok"] is False
    assert [(d["path"], d["code"]) for d in data["diagnostics"]] == [("prompts/reviews/sentiment.yaml", "E104")]
    only_evals = run_cli("--root", str(example_repo), "validate", "evals", "--format", "json")
    assert only_evals.code == 0 and json.loads(only_evals.out)["diagnostics"] == []


def test_a_mistyped_path_or_root_is_a_usage_error_not_a_silent_pass(example_repo: Path, run_cli, monkeypatch) -> None:
    monkeypatch.chdir(example_repo)
    typo = run_cli("validate", "prompts/revews")
    assert typo.code == 2 and "no such file or folder" in typo.err and "prompts/revews" in typo.err
    assert run_cli("validate", "prompts/reviews").code == 0
    assert run_cli("--root", str(example_repo / "nope"), "validate").code == 2
    outside = run_cli("validate", "/etc/hostname")
    assert outside.code == 2 and "not inside the repository" in outside.err


def test_validate_at_a_git_ref(example_repo: Path, run_cli) -> None:
    (example_repo / "prompts/reviews/sentiment.yaml").write_text("type: [broken\n")
    assert run_cli("--root", str(example_repo), "validate").code == 1
    assert run_cli("--root", str(example_repo), "validate", "--ref", "HEAD").code == 0


def test_console_script_version_help_and_light_imports(example_repo: Path) -> None:
    probe = (
        "import sys, runpy; sys.argv = ['promptship'] + sys.argv[1:];"
        "from promptship.cli.main import main; code = main(sys.argv[1:]);"
        "heavy = sorted(m for m in ('litellm', 'langfuse', 'llama_cpp', 'fastapi', 'pydantic') if m in sys.modules);"
        "print('HEAVY=' + ','.join(heavy)); sys.exit(code)"
    )
    help_run = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True)
    assert help_run.returncode == 0 and "validate" in help_run.stdout and "HEAVY=\n" in help_run.stdout
    validate_run = subprocess.run(
        [sys.executable, "-c", probe, "--root", str(example_repo), "validate"], capture_output=True, text=True
    )
    assert validate_run.returncode == 0, validate_run.stderr
    assert "litellm" not in validate_run.stdout.split("HEAVY=")[1] and "langfuse" not in validate_run.stdout
    version = subprocess.run([Path(sys.executable).parent / "promptship", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("promptship, version ")


def test_committed_json_schemas_are_current() -> None:
    stale = [
        name
        for name, text in schema_documents().items()
        if (PROJECT / "schemas" / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `promptship schema` to refresh: {stale}"


def test_example_files_reference_their_schema() -> None:
    for top, schema in (("prompts", "prompt"), ("evals", "suite")):
        for path in (PROJECT / top).rglob("*.yaml"):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith("# yaml-language-server: $schema=") and f"{schema}.schema.json" in first, path
            target = (path.parent / first.split("$schema=")[1]).resolve()
            assert target == PROJECT / "schemas" / f"{schema}.schema.json"


def test_pre_commit_hook_definitions() -> None:
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "promptship-validate")
    assert hook["entry"] == "promptship validate" and hook["pass_filenames"] is False
    config = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())
    ids = [h["id"] for repo in config["repos"] for h in repo["hooks"]]
    assert "promptship-validate" in ids


def test_pre_commit_runs_the_hook_in_a_real_repository(example_repo: Path) -> None:
    (example_repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n"
        "      - id: promptship-validate\n        name: promptship validate\n"
        f"        entry: {Path(sys.executable).parent / 'promptship'} validate\n"
        "        language: system\n        pass_filenames: false\n"
    )
    git(example_repo, "add", ".pre-commit-config.yaml")
    pre_commit = Path(sys.executable).parent / "pre-commit"
    ok = subprocess.run([pre_commit, "run", "--all-files"], cwd=example_repo, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (example_repo / "prompts/reviews/sentiment.yaml").write_text("type: chat\nmodel: chat-fast\n")
    bad = subprocess.run([pre_commit, "run", "--all-files"], cwd=example_repo, capture_output=True, text=True)
    assert bad.returncode == 1 and "E004" in bad.stdout


def test_generated_format_reference_is_current_and_complete() -> None:
    from promptship.eval.evaluators import registry
    from promptship.files.schema.reference import with_reference
    from promptship.files.validate import CODES

    document = (PROJECT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert with_reference(document) == document, "run `promptship schema` to refresh docs/formats.md"
    for code in CODES:
        assert f"`{code}`" in document, code
    for name, definition in registry().items():
        assert f"#### `{name}`" in document
        for field_name, field in definition.params.model_fields.items():
            assert f"`{field.alias or field_name}`" in document


def test_every_package_folder_is_a_regular_package() -> None:
    """A folder without __init__.py would be left out of a non-editable install (action.yml, pip)."""
    package = PROJECT / "tooling" / "promptship"
    for folder in [package, *(p for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        if any(folder.glob("*.py")):
            assert (folder / "__init__.py").exists(), folder


def test_public_api_is_lazy_and_complete() -> None:
    probe = (
        "import sys, promptship; assert 'pydantic' not in sys.modules; "
        "from promptship import Client, load_repo, evaluate, run_diff, validate_repo; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_promptship_workdir_is_never_committed_by_git_add_all(example_repo: Path, run_cli) -> None:
    (example_repo / ".gitignore").unlink()  # a repository that does not ignore .promptship/ itself
    git(example_repo, "commit", "-q", "-am", "no ignore file")
    from promptship.files.workdir import workdir

    (workdir(example_repo) / "runs").mkdir()
    (workdir(example_repo) / "runs/run.json").write_text("{}")
    git(example_repo, "add", "-A")
    assert ".promptship" not in git(example_repo, "status", "--porcelain")


def test_schema_writes_schemas_but_never_a_users_documentation(example_repo: Path, run_cli) -> None:
    result = run_cli("--root", str(example_repo), "schema")
    assert result.code == 0 and (example_repo / "schemas/prompt.schema.json").exists()
    assert not (example_repo / "docs").exists()
    (example_repo / "docs").mkdir()
    (example_repo / "docs/formats.md").write_text("# Our prompt conventions\n")
    assert run_cli("--root", str(example_repo), "schema", "--check").code == 0
    run_cli("--root", str(example_repo), "schema")
    assert (example_repo / "docs/formats.md").read_text() == "# Our prompt conventions\n"
