"""Shared fixtures: real git repositories built in tmp dirs, and the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_DIRS = ("prompts", "datasets", "evals", "policies")

# No test may reach a hosted service or load a .env file.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_MODE", "PRODUCTION")


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def commit_all(repo: Path, message: str) -> str:
    """Commit everything but promptship's own working folder (real repositories ignore .promptship/)."""
    ignore = repo / ".gitignore"
    if not ignore.exists():
        ignore.write_text(".promptship/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A real git repository (branch main, one commit) holding a copy of the example content."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in EXAMPLE_DIRS:
        shutil.copytree(PROJECT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "example content")
    return repo


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``promptship ARGS`` in-process through the real entry point (error rendering included)."""
    from promptship.cli.main import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def fake_llm():
    """A fresh fake OpenAI-compatible server on loopback (see tests/doubles/fake_llm.py)."""
    from .doubles.fake_llm import FakeLLM

    with FakeLLM() as server:
        yield server


@pytest.fixture
def github_double():
    """A GitHub REST double on loopback (see tests/doubles/github_api.py)."""
    from .doubles.github_api import running_github_double

    with running_github_double() as double:
        yield double


@pytest.fixture
def langfuse_double(monkeypatch: pytest.MonkeyPatch):
    """A Langfuse public-API double on loopback, with the environment variables pointing at it."""
    from .doubles.langfuse_api import running_langfuse_double

    with running_langfuse_double() as double:
        monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", double.public_key)
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", double.secret_key)
        monkeypatch.setenv("LANGFUSE_HOST", double.host)
        yield double
