"""Edit → branch with git plumbing: only a new branch appears; HEAD, index and working tree stay as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.errors import BranchRefused, EditRejected
from promptship.labs.branch import head_text, save_to_branch

from ..conftest import git
from .conftest import make_scratch_repo

PROMPT = "prompts/classify.yaml"


def state(root: Path) -> tuple[str, str, str, str, str]:
    """Everything a save must leave alone: HEAD, its branch, the index, the working tree's changes, the file."""
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "symbolic-ref", "HEAD"),
        git(root, "diff", "--cached"),
        git(root, "status", "--porcelain"),
        (root / PROMPT).read_text(),
    )


def test_save_commits_only_to_a_new_branch_and_leaves_staged_and_unstaged_work_alone(tmp_path: Path) -> None:
    root = make_scratch_repo(tmp_path / "repo")
    (root / "datasets/reviews.yaml").write_text("kind: golden\nsynthetic: true\nprompt: classify\n# staged\n")
    git(root, "add", "datasets/reviews.yaml")
    (root / PROMPT).write_text(head_text(root, PROMPT) + "# my unsaved local work\n")
    before = state(root)
    edited = head_text(root, PROMPT).replace("One word.", "One lowercase word.")
    saved = save_to_branch(root, {PROMPT: edited.replace("\n", "\r\n")}, "labs/lowercase", "Lowercase labels")
    assert state(root) == before
    assert saved.files == [PROMPT] and saved.base == before[0].strip()
    assert git(root, "rev-parse", "labs/lowercase^").strip() == saved.base
    assert git(root, "show", f"labs/lowercase:{PROMPT}") == edited  # LF endings, as in the repository
    assert git(root, "log", "-1", "--format=%s", "labs/lowercase").strip() == "Lowercase labels"
    assert git(root, "diff", "--name-only", saved.base, "labs/lowercase").split() == [PROMPT]


def test_invalid_edits_names_and_paths_are_refused_with_located_messages(tmp_path: Path) -> None:
    root = make_scratch_repo(tmp_path / "repo")
    text = head_text(root, PROMPT)
    assert text is not None
    before = state(root)
    with pytest.raises(EditRejected) as invalid:
        save_to_branch(root, {PROMPT: text.replace("{{ review }}", "{{ reviw }}")}, "labs/typo", "")
    assert invalid.value.code == "E952"
    assert any(d.path == PROMPT and d.line == 13 and d.code == "E101" for d in invalid.value.diagnostics)
    with pytest.raises(EditRejected, match="nothing changed"):
        save_to_branch(root, {PROMPT: text}, "labs/same", "")
    for path in ("../outside.yaml", "/etc/passwd", "README.md", "prompts/.hidden.yaml"):
        with pytest.raises(EditRejected):
            save_to_branch(root, {path: "x"}, "labs/path", "")
    for name in ("main", "-x", "bad..name", "has space", ""):
        with pytest.raises(BranchRefused) as refused:
            save_to_branch(root, {PROMPT: text + "# edit\n"}, name, "")
        assert refused.value.code == "E951"
    assert state(root) == before
    assert git(root, "branch", "--list").split() == ["*", "main"]


def test_save_can_push_the_new_branch(tmp_path: Path) -> None:
    root = make_scratch_repo(tmp_path / "repo")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(root, "remote", "add", "origin", str(remote))
    text = head_text(root, PROMPT)
    assert text is not None
    saved = save_to_branch(root, {PROMPT: text + "# pushed\n"}, "labs/pushed", "", push_remote="origin")
    assert saved.pushed_to == "origin"
    assert git(remote, "rev-parse", "refs/heads/labs/pushed").strip() == saved.commit


def test_word_diff_segments_rebuild_both_texts() -> None:
    from promptship.labs.textdiff import word_diff

    base, head = "The food was cold and late.", "The food was warm and  on time."
    segments = word_diff(base, head)
    assert "".join(s.text for s in segments if s.kind != "added") == base
    assert "".join(s.text for s in segments if s.kind != "removed") == head
    assert [s.text for s in segments if s.kind == "removed"] == ["cold", "late."]
