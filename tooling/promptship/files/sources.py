"""Where repository files come from: the working tree, or any git ref read straight from git objects."""

from __future__ import annotations

import posixpath
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


def _hidden(path: str) -> bool:
    """A dotfile or a file in a dot-folder below a top folder (``prompts/.env``, ``evals/.x/y``)."""
    return any(part.startswith(".") for part in path.split("/")[1:])


class WorktreeSource:
    """Files as they are on disk under ``root``."""

    commit: str | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        #: Symbolic links whose target lies outside the repository: never read (see :func:`_files`).
        self.outside: list[str] = []

    def _files(self) -> list[str]:
        found: list[str] = []
        self.outside = []
        inside = self.root.resolve()
        for top in ROOTS:
            base = self.root / top
            if base.is_dir():
                for p in base.rglob("*"):
                    if not p.is_file() or "__pycache__" in p.parts or ".git" in p.relative_to(base).parts:
                        continue
                    path = p.relative_to(self.root).as_posix()
                    if p.is_symlink() and not p.resolve().is_relative_to(inside):
                        self.outside.append(path)
                    else:
                        found.append(path)
        return sorted(found)

    def paths(self) -> list[str]:
        return [path for path in self._files() if not _hidden(path)]

    def hidden_paths(self) -> list[str]:
        """Dotfiles under the top folders (``prompts/.env``): not formats, but scanned for secrets."""
        return [path for path in self._files() if _hidden(path)]

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


#: The fix for every "history not fetched" failure, in CI and locally.
FULL_HISTORY_HINT = (
    "fetch the full history: in GitHub Actions use actions/checkout with `fetch-depth: 0`; "
    "locally run `git fetch --unshallow`"
)


def is_shallow(root: Path) -> bool:
    """True in a shallow clone (``git clone --depth``, actions/checkout's default), whose history is cut."""
    done = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=root, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "true"


def merge_base(root: Path, a: str, b: str) -> str:
    """The best common ancestor of commits ``a`` and ``b``; :class:`GitError` naming why there is none
    (a shallow clone that lacks the history, or two unrelated histories)."""
    done = subprocess.run(["git", "merge-base", a, b], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return done.stdout.strip()
    if is_shallow(root):
        raise GitError(
            f"cannot find where {a[:12]} and {b[:12]} diverged: this clone is shallow and lacks their common history",
            hint=FULL_HISTORY_HINT,
        )
    if done.stderr.strip():
        raise GitError(f"git merge-base {a[:12]} {b[:12]} failed: {done.stderr.strip()}")
    raise GitError(
        f"{a[:12]} and {b[:12]} have no common history",
        hint="compare with a base on the same history as head, e.g. --base origin/main",
    )


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
    if done.returncode == 1 and is_shallow(root):
        # A cut history cannot tell "not an ancestor" from "not fetched": never guess.
        raise GitError(
            f"cannot tell whether {ancestor[:12]} precedes {descendant[:12]}: this clone is shallow",
            hint=FULL_HISTORY_HINT,
        )
    if done.returncode not in (0, 1):
        raise GitError(f"cannot compare commits {ancestor[:12]} and {descendant[:12]}", hint=FULL_HISTORY_HINT)
    return done.returncode == 0


class GitSource:
    """Files at a commit, read with ``git ls-tree`` and one ``git cat-file --batch`` per repository
    (no checkout). A git submodule under the folders promptship reads is read at the commit the
    superproject records, from the submodule's checkout; one that is not checked out, or lacks that
    commit, is a :class:`GitError` saying how to fetch it (files are never silently left out)."""

    commit: str | None

    def __init__(self, root: Path, ref: str) -> None:
        self.root = root
        self.ref = ref
        self.commit = resolve_commit(root, ref)
        #: path → (repository holding the blob, blob sha)
        self._blobs: dict[str, tuple[Path, str]] = {}
        self._links: dict[str, tuple[Path, str]] = {}
        self._list(root, self.commit, "", ROOTS)
        #: Symbolic links whose target lies outside the repository (or is missing): never read.
        self.outside: list[str] = self._resolve_links()
        self._cache: dict[str, bytes] | None = None

    def _list(self, repository: Path, commit: str, prefix: str, roots: Sequence[str]) -> None:
        listing = _git(repository, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *roots)
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, inner = entry.split("\t", 1)
            mode, kind, sha = meta.split()
            path = prefix + inner
            if kind == "blob" and mode == "120000":
                self._links[path] = (repository, sha)
            elif kind == "blob":
                self._blobs[path] = (repository, sha)
            elif kind == "commit":
                self._list(self._submodule(path, sha), sha, path + "/", ())

    def _resolve_links(self) -> list[str]:
        """Read a link to a file of this commit as that file; list every other link (outside the
        repository, absolute, dangling) as refused."""
        if not self._links:
            return []
        targets = self._cat_text(self._links)
        refused = []
        for path, target in targets.items():
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or joined.startswith("../") or joined not in self._blobs:
                refused.append(path)
            else:
                self._blobs[path] = self._blobs[joined]
        return sorted(refused)

    def _cat_text(self, entries: dict[str, tuple[Path, str]]) -> dict[str, str]:
        by_repository: dict[Path, list[tuple[str, str]]] = {}
        for path, (repository, sha) in entries.items():
            by_repository.setdefault(repository, []).append((path, sha))
        texts: dict[str, str] = {}
        for repository, shas in by_repository.items():
            texts.update({p: data.decode("utf-8", "replace") for p, data in self._cat(repository, shas).items()})
        return texts

    def _submodule(self, path: str, sha: str) -> Path:
        """The checkout of submodule ``path``, which must hold commit ``sha``."""
        checkout = self.root / path
        fix = (
            "run `git submodule update --init --recursive` "
            "(in GitHub Actions: actions/checkout with `submodules: recursive`)"
        )
        if not (checkout / ".git").exists():
            raise GitError(f"{path} is a git submodule that is not checked out: its files cannot be read", hint=fix)
        present = subprocess.run(
            ["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=checkout, capture_output=True, check=False
        )
        if present.returncode != 0:
            raise GitError(
                f"{path} is a git submodule whose commit {sha[:12]} (recorded at {self.ref}) is not fetched",
                hint=fix + ", or `git -C " + path + " fetch`",
            )
        return checkout

    def paths(self) -> list[str]:
        return sorted(path for path in self._blobs if not _hidden(path))

    def hidden_paths(self) -> list[str]:
        """Dotfiles under the top folders (``prompts/.env``): not formats, but scanned for secrets."""
        return sorted(path for path in self._blobs if _hidden(path))

    def _read_all(self) -> dict[str, bytes]:
        by_repository: dict[Path, list[tuple[str, str]]] = {}
        for path, (repository, sha) in self._blobs.items():
            by_repository.setdefault(repository, []).append((path, sha))
        contents: dict[str, bytes] = {}
        for repository, shas in by_repository.items():
            contents.update(self._cat(repository, shas))
        return contents

    @staticmethod
    def _cat(repository: Path, shas: list[tuple[str, str]]) -> dict[str, bytes]:
        """path → content of each (path, blob sha), with one ``git cat-file --batch`` in ``repository``."""
        done = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=repository,
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
