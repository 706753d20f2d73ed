"""Git layouts that CI meets: prompts in a submodule, shallow clones (issue #13). Real git, real CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from promptship.errors import GitError
from promptship.files.repo import load_repo
from promptship.files.sources import is_ancestor, merge_base

from ..conftest import commit_all, git
from .test_validate_corpus import write_repo


def _submodule_repo(tmp_path: Path) -> Path:
    """A repository whose prompts/shared/ folder is a git submodule holding prompt `shared/p`."""
    shared = tmp_path / "shared-prompts"
    shared.mkdir()
    write_repo(tmp_path / "scratch", {})
    shutil.copy(tmp_path / "scratch/prompts/p.yaml", shared / "p.yaml")
    git(shared, "init", "-q", "-b", "main")
    commit_all(shared, "shared prompts")
    repo = tmp_path / "repo"
    write_repo(repo, {"prompts/p.yaml": None})
    for path, old, new in [
        ("datasets/d.yaml", "prompt: p", "prompt: shared/p"),
        ("evals/s.yaml", "prompt: p", "prompt: shared/p"),
    ]:
        target = repo / path
        target.write_text(target.read_text().replace(old, new))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(shared), "prompts/shared")
    commit_all(repo, "content with a prompts submodule")
    return repo


def test_prompts_in_a_submodule_are_read_at_a_git_ref_as_in_the_working_tree(tmp_path: Path) -> None:
    repo = _submodule_repo(tmp_path)
    worktree, at_head = load_repo(repo), load_repo(repo, "HEAD")
    assert worktree.ok and at_head.ok, [d.format() for d in at_head.diagnostics]
    assert list(at_head.repo.prompts) == ["shared/p"]
    assert at_head.repo.prompts["shared/p"].hash == worktree.repo.prompts["shared/p"].hash


def test_a_submodule_that_is_not_checked_out_is_a_clear_error(tmp_path: Path) -> None:
    repo = _submodule_repo(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))  # no --recurse-submodules
    with pytest.raises(GitError) as info:
        load_repo(clone, "HEAD")
    assert "prompts/shared is a git submodule that is not checked out" in info.value.message
    assert "git submodule update --init" in (info.value.hint or "") and "submodules:" in (info.value.hint or "")


def test_sync_plans_prompts_from_a_submodule(tmp_path: Path, run_cli, langfuse_double) -> None:
    repo = _submodule_repo(tmp_path)
    result = run_cli("--root", str(repo), "sync", "--ref", "main", "--branch", "main")
    assert result.code == 0, result.err
    assert "create_version  shared/p" in result.out


def _shallow_pr_clone(tmp_path: Path) -> Path:
    """A PR checkout as actions/checkout makes it by default: head and base fetched with depth 1."""
    origin = tmp_path / "origin"
    write_repo(origin, {})
    git(origin, "init", "-q", "-b", "main")
    commit_all(origin, "content")
    git(origin, "checkout", "-q", "-b", "feature")
    (origin / "prompts/p.yaml").write_text((origin / "prompts/p.yaml").read_text().replace("Describe", "Describe well"))
    commit_all(origin, "feature")
    git(origin, "checkout", "-q", "main")
    (origin / "evals/s.yaml").write_text((origin / "evals/s.yaml").read_text() + "repeats: 2\n")
    commit_all(origin, "main moves on")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{origin}", str(clone))
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    return clone


def test_a_shallow_clone_names_the_fix_instead_of_an_unknown_merge_base_error(tmp_path: Path, run_cli) -> None:
    clone = _shallow_pr_clone(tmp_path)
    with pytest.raises(GitError) as info:
        merge_base(clone, "origin/main", "HEAD")
    assert "shallow" in info.value.message and "fetch-depth: 0" in (info.value.hint or "")
    with pytest.raises(GitError, match="shallow"):
        is_ancestor(clone, git(clone, "rev-parse", "origin/main").strip(), "HEAD")
    result = run_cli("--root", str(clone), "diff", "--base", "origin/main", "--quiet")
    assert result.code == 2 and "shallow" in result.err and "fetch-depth: 0" in result.err, result.err
    assert "unknown error" not in result.err and "Traceback" not in result.err
    # With the full history it works.
    git(clone, "fetch", "-q", "--unshallow", "origin", "+refs/heads/main:refs/remotes/origin/main")
    assert merge_base(clone, "origin/main", "HEAD") == git(clone, "rev-parse", "HEAD~1").strip()
