"""What the prompt pages show: prompts of the working tree, a file's git history, dataset items of a run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CredentialError, GitError, SyncError
from ..files.repo import ItemsById, LoadResult, PromptEntry, Repository, load_repo
from ..files.schema.run import Run
from .runstore import NotFound


@dataclass(frozen=True)
class LabelHolder:
    label: str
    version: int
    commit: str | None  # the git sha ``sync`` recorded on the version


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # ISO 8601, committer date
    author: str
    subject: str


def load_tree(root: Path) -> LoadResult:
    """The working tree as ``validate`` reads it (diagnostics included; never raises for a file mistake)."""
    return load_repo(root)


def prompt_entry(repo: Repository, name: str) -> PromptEntry:
    entry = repo.prompts.get(name)
    if entry is None:
        raise NotFound(f"no prompt {name!r}", hint="the prompts page lists them")
    return entry


def suites_of(repo: Repository, prompt: str) -> list[str]:
    return sorted(name for name, entry in repo.suites.items() if entry.suite.prompt == prompt)


def datasets_of(repo: Repository, prompt: str) -> list[str]:
    """Datasets that feed ``prompt`` (by their sidecar's ``prompt`` or a suite using both)."""
    names = {name for name, d in repo.datasets.items() if d.meta.prompt == prompt}
    names |= {
        e.suite.dataset for e in repo.suites.values() if e.suite.prompt == prompt and e.suite.dataset in repo.datasets
    }
    return sorted(names)


def file_history(root: Path, path: str, limit: int = 30) -> list[Commit]:
    """Commits that changed ``path`` (newest first, following renames); [] outside a git repository."""
    done = subprocess.run(
        ["git", "log", f"-n{limit}", "--follow", "--format=%H%x1f%cI%x1f%an%x1f%s", "--", path],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return []
    commits = []
    for line in done.stdout.splitlines():
        parts = line.split("\x1f")
        if len(parts) == 4:
            commits.append(Commit(*parts))
    return commits


def run_items(root: Path, run: Run) -> Mapping[str, tuple[Any, Any]]:
    """item id → (input, expected) of the run's dataset: at the run's commit when it is a clean one,
    else in the working tree; {} when the dataset cannot be read."""
    sha = run.git_sha
    repo: Repository | None = None
    if sha and not sha.endswith("-dirty"):
        try:
            repo = load_repo(root, sha).repo
        except GitError:
            repo = None
    if repo is None or run.dataset not in repo.datasets:
        repo = load_repo(root).repo
    dataset = repo.datasets.get(run.dataset)
    if dataset is None:
        return {}
    return _InputAndExpected(ItemsById(dataset.items))


class _InputAndExpected(Mapping[str, tuple[Any, Any]]):
    """item id → (input, expected), each item read only when looked up (a dataset may be large)."""

    def __init__(self, items: ItemsById) -> None:
        self._items = items

    def __getitem__(self, item_id: str) -> tuple[Any, Any]:
        item = self._items[item_id]
        return item.input, item.expected

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def langfuse_labels(repo: Repository, name: str, env: Mapping[str, str]) -> tuple[list[LabelHolder], str]:
    """Which Langfuse version (and so which commit) serves each release label of prompt ``name``,
    and a note for the page; ([], why) when Langfuse is not configured or cannot be read."""
    from ..publish.sync.store import LangfuseSettings, LangfuseStore

    entry = prompt_entry(repo, name)
    try:
        settings = LangfuseSettings.from_policy(repo, env)
    except CredentialError as exc:
        return [], f"Langfuse is not configured ({exc.message})."
    release = entry.prompt.release
    if release is not None and not release.publish:
        return [], "This prompt is not published to Langfuse (release: publish: false)."
    rules = release.rules if release is not None and release.rules is not None else repo.policies.release.rules
    labels = list(dict.fromkeys(label for rule in rules for label in rule.labels))
    try:
        holders = LangfuseStore(settings, attempts=1).label_holders(name, labels)
    except SyncError as exc:
        return [], f"Langfuse could not be read: {exc.message}"
    found = [
        LabelHolder(label, version.version, version.git_sha)
        for version in sorted(holders, key=lambda v: -v.version)
        for label in version.labels
        if label in labels
    ]
    return found, "" if found else f"No version of {name} holds {', '.join(labels)} in Langfuse yet."
