"""The pre-commit hook runs on every commit, deletions included (issue #13): checked with the real
``pre-commit`` in a real git repository, using this repository's own hook definitions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT, commit_all, git
from .files.test_validate_corpus import write_repo

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def _our_hook(file: str) -> dict:
    """The promptship-validate hook as written in ``file`` (``.pre-commit-config.yaml`` or ``-hooks``)."""
    data = yaml.safe_load((PROJECT / file).read_text())
    hooks = data if isinstance(data, list) else [h for repo in data["repos"] for h in repo["hooks"]]
    return next(h for h in hooks if h["id"] == "promptship-validate")


def test_both_hook_definitions_run_on_every_commit() -> None:
    for file in (".pre-commit-hooks.yaml", ".pre-commit-config.yaml"):
        hook = _our_hook(file)
        # pre-commit never passes deleted files to hooks, so a `files:` filter alone skips a commit
        # that only deletes a prompt: the hook must run whatever the commit touches.
        assert hook.get("always_run") is True, file
        assert hook.get("pass_filenames") is False, file
        assert hook["entry"] == "promptship validate", file


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is installed with the dev extra")
def test_a_commit_that_only_deletes_a_referenced_prompt_is_rejected(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_repo(repo, {})
    hook = {**_our_hook(".pre-commit-config.yaml"), "language": "system"}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "content")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run([str(PRE_COMMIT), "install"], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "rm", "-q", "prompts/p.yaml")  # the dataset and the suite still name it
    done = subprocess.run(["git", "commit", "-m", "delete p"], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode != 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "E206" in output and "E301" in output, output
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    # Deleting what references it too is a valid commit.
    git(repo, "rm", "-q", "-r", "datasets", "evals")
    done = subprocess.run(
        ["git", "commit", "-m", "delete p and its users"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(tmp_path / "pre-commit-home", ignore_errors=True)
