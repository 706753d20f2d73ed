"""Edit → branch: validate edited files laid over HEAD, and commit them to a NEW branch.

The commit is made with git plumbing only — a temporary index (``GIT_INDEX_FILE``), ``hash-object``,
``update-index``, ``write-tree``, ``commit-tree`` and a create-only ``update-ref`` — so the current
branch, the real index and the working tree are never touched, and an existing branch is never
overwritten (even by a concurrent save). The branch starts at HEAD's commit, so ``promptship diff
--base <current branch> --head <new branch>`` and a PR compare exactly the edit.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import BranchRefused, Diagnostic, EditRejected, GitError, PushFailed
from ..files.repo import load_source
from ..files.sources import ROOTS, FileSource, GitSource
from ..files.validate import check

ZERO_SHA = "0" * 40
_CREDENTIALS = re.compile(r"://[^/@\s]+@")


@dataclass(frozen=True)
class SavedBranch:
    branch: str
    commit: str
    base: str  # the commit the branch starts from (HEAD when saved)
    files: list[str]
    pushed_to: str | None = None


class OverlaySource:
    """``base``'s files with ``changes`` (path → text) laid over them."""

    commit: str | None = None

    def __init__(self, base: FileSource, changes: Mapping[str, str]) -> None:
        self.base = base
        self.changes = dict(changes)

    def paths(self) -> list[str]:
        return sorted(set(self.base.paths()) | set(self.changes))

    def read(self, path: str) -> bytes:
        if path in self.changes:
            return self.changes[path].encode("utf-8")
        return self.base.read(path)


def _git(root: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``root`` (UTF-8 in and out); :class:`GitError` with its message (credentials in URLs
    scrubbed) on failure."""
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        input=stdin.encode("utf-8") if stdin is not None else None,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        error = _CREDENTIALS.sub(r"://***@", done.stderr.decode("utf-8", errors="replace").strip())
        raise GitError(f"git {args[0]} failed: {error or 'unknown error'}")
    return done.stdout.decode("utf-8", errors="replace")


def check_path(path: str) -> str:
    """A repository-relative file path under prompts/, datasets/, evals/ or policies/ (no ``..``)."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0] not in ROOTS or len(pure.parts) < 2:
        raise EditRejected(
            f"{path!r} cannot be edited here", hint=f"paths start with {', '.join(r + '/' for r in ROOTS)}"
        )
    if any(part.startswith(".") for part in pure.parts):
        raise EditRejected(f"{path!r} is a hidden file")
    return pure.as_posix()


def normalise(text: str) -> str:
    """Browser text as a file: LF line endings, a final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def head_text(root: Path, path: str) -> str | None:
    """The file at HEAD (what an edit starts from), or None when HEAD has no such file."""
    done = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=root, capture_output=True, check=False)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def validate_edit(root: Path, changes: Mapping[str, str]) -> list[Diagnostic]:
    """Every ``validate`` diagnostic of HEAD's tree with ``changes`` applied (nothing is written)."""
    normalised = {check_path(p): normalise(t) for p, t in changes.items()}
    return check(load_source(root, OverlaySource(GitSource(root, "HEAD"), normalised)))


def check_branch_name(root: Path, branch: str) -> str:
    if not branch or branch.startswith("-"):
        raise BranchRefused(f"{branch!r} is not a branch name", hint="e.g. labs/shorter-sentiment-prompt")
    done = subprocess.run(["git", "check-ref-format", "--branch", branch], cwd=root, capture_output=True, check=False)
    if done.returncode != 0:
        raise BranchRefused(f"{branch!r} is not a valid branch name", hint="letters, digits, '-', '_', '/' and '.'")
    exists = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root, capture_output=True, check=False
    )
    if exists.returncode == 0:
        raise BranchRefused(f"branch {branch!r} exists already", hint="pick a new name; Labs never changes a branch")
    return branch


def _identity(root: Path) -> dict[str, str]:
    """Author/committer for the commit: the user's git identity, else a Labs one (never fails for lack of it)."""
    env: dict[str, str] = {}
    for key, fallback in (("user.name", "promptship labs"), ("user.email", "labs@promptship.invalid")):
        done = subprocess.run(["git", "config", key], cwd=root, capture_output=True, text=True, check=False)
        if not done.stdout.strip():
            what = "NAME" if key == "user.name" else "EMAIL"
            env[f"GIT_AUTHOR_{what}"] = env[f"GIT_COMMITTER_{what}"] = fallback
    return env


def save_to_branch(
    root: Path, changes: Mapping[str, str], branch: str, message: str, *, push_remote: str | None = None
) -> SavedBranch:
    """Commit ``changes`` (path → full text) on HEAD's commit to the new branch ``branch``.

    Raises :class:`EditRejected` (invalid result — with the diagnostics —, nothing changed, bad
    path), :class:`BranchRefused` (bad or existing name) and :class:`PushFailed` (the branch is
    then committed locally). Never touches HEAD, the index or the working tree.
    """
    files = {check_path(p): normalise(t) for p, t in changes.items()}
    check_branch_name(root, branch)
    message = message.strip() or f"Labs: edit {', '.join(sorted(files))}"
    base = _git(root, "rev-parse", "--verify", "HEAD^{commit}").strip()
    changed = {p: t for p, t in files.items() if head_text(root, p) != t}
    if not changed:
        raise EditRejected("nothing changed", hint="edit the file before saving")
    errors = [d for d in validate_edit(root, files) if d.severity == "error"]
    if errors:
        raise EditRejected(f"the edit has {len(errors)} validate error(s)", diagnostics=errors, hint="fix them first")
    with tempfile.TemporaryDirectory(prefix="promptship-labs-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), **_identity(root)}
        _git(root, "read-tree", base, env=env)
        for path, text in sorted(changed.items()):
            blob = _git(root, "hash-object", "-w", "--no-filters", "--stdin", stdin=text).strip()
            listed = _git(root, "ls-tree", base, "--", path).split()
            mode = listed[0] if listed else "100644"
            _git(root, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        tree = _git(root, "write-tree", env=env).strip()
        commit = _git(root, "commit-tree", tree, "-p", base, "-F", "-", stdin=message + "\n", env=env).strip()
        try:
            _git(root, "update-ref", "-m", "promptship labs: save", f"refs/heads/{branch}", commit, ZERO_SHA)
        except GitError:
            raise BranchRefused(f"branch {branch!r} exists already", hint="pick a new name") from None
    saved = SavedBranch(branch, commit, base, sorted(changed))
    if push_remote:
        try:
            _git(root, "push", "--quiet", push_remote, f"refs/heads/{branch}:refs/heads/{branch}")
        except GitError as exc:
            raise PushFailed(
                f"push to {push_remote!r} failed: {exc.message}",
                hint="the branch is committed locally; push it yourself: git push",
            ) from None
        saved = SavedBranch(branch, commit, base, sorted(changed), pushed_to=push_remote)
    return saved
