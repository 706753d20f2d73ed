"""Where repository files come from: the working tree, or any git ref read straight from git objects."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..errors import GitError

#: Top-level folders promptship reads.
ROOTS = ("prompts", "datasets", "evals", "policies")


class FileSource(Protocol):
    """Read-only view of the repository files under :data:`ROOTS` (paths are POSIX, repo-relative)."""

    #: The commit sha for a git source, ``None`` for the working tree.
    commit: str | None

    def paths(self) -> list[str]: ...

    def read(self, path: str) -> bytes: ...


class WorktreeSource:
    """Files as they are on disk under ``root``."""

    commit: str | None = None

    def __init__(self, root: Path) -> None:
        self.root = root

    def paths(self) -> list[str]:
        found: list[str] = []
        for top in ROOTS:
            base = self.root / top
            if base.is_dir():
                found.extend(
                    p.relative_to(self.root).as_posix()
                    for p in base.rglob("*")
                    if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(base).parts)
                    and "__pycache__" not in p.parts
                )
        return sorted(found)

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed", hint="install git and make sure it is on PATH") from None
    if done.returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed: {done.stderr.strip() or 'unknown error'}",
            hint="check that the directory is a git repository and the ref exists (try `git fetch`)",
        )
    return done.stdout


def resolve_commit(root: Path, ref: str) -> str:
    """The full sha of ``ref`` (branch, tag, sha, ``HEAD~1``, ...); :class:`GitError` if unknown."""
    if ref.startswith("-"):
        raise GitError(f"invalid git ref {ref!r}", hint="refs cannot start with '-'")
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError:
        raise GitError(
            f"unknown git ref {ref!r}",
            hint="use a branch, tag or commit that exists locally (in CI, fetch with fetch-depth: 0)",
        ) from None


def describe_worktree(root: Path) -> str | None:
    """The commit the working tree is at, with ``-dirty`` when the example folders have uncommitted
    changes; ``None`` outside a git repository (or one with no commit yet)."""
    head = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode != 0:
        return None
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", *ROOTS], cwd=root, capture_output=True, text=True, check=False
    )
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def merge_base(root: Path, a: str, b: str) -> str:
    return _git(root, "merge-base", a, b).strip()


def tracked_files(root: Path, paths: Sequence[Path]) -> list[str]:
    """Files under ``paths`` (inside ``root``) that git tracks in the index; paths outside ``root`` are skipped."""
    inside = []
    for path in paths:
        try:
            inside.append((root / path).resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            continue
    if not inside:
        return []
    return [name for name in _git(root, "ls-files", "-z", "--", *inside).split("\0") if name]


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    """True when ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor)."""
    done = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=root, capture_output=True)
    if done.returncode not in (0, 1):
        raise GitError(f"cannot compare commits {ancestor[:12]} and {descendant[:12]}")
    return done.returncode == 0


class GitSource:
    """Files at a commit, read with ``git ls-tree`` and one ``git cat-file --batch`` (no checkout)."""

    commit: str | None

    def __init__(self, root: Path, ref: str) -> None:
        self.root = root
        self.ref = ref
        self.commit = resolve_commit(root, ref)
        self._blobs: dict[str, str] = {}
        listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", self.commit, "--", *ROOTS)
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            _mode, kind, sha = meta.split()
            if kind == "blob" and not any(part.startswith(".") for part in path.split("/")[1:]):
                self._blobs[path] = sha
        self._cache: dict[str, bytes] | None = None

    def paths(self) -> list[str]:
        return sorted(self._blobs)

    def _read_all(self) -> dict[str, bytes]:
        if not self._blobs:
            return {}
        shas = list(self._blobs.items())
        done = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            input="".join(f"{sha}\n" for _, sha in shas).encode(),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise GitError(f"git cat-file failed: {done.stderr.decode(errors='replace').strip()}")
        out, pos, contents = done.stdout, 0, {}
        for path, _sha in shas:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            start = header_end + 1
            contents[path] = out[start : start + size]
            pos = start + size + 1
        return contents

    def read(self, path: str) -> bytes:
        if self._cache is None:
            self._cache = self._read_all()
        try:
            return self._cache[path]
        except KeyError:
            raise GitError(f"{path} does not exist at {self.ref}") from None
