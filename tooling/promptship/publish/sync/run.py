"""Orchestration: ``sync`` (plan, record, apply, re-read until converged) and the drift ``check``."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import PromptshipError, SyncError
from ...files.sources import is_ancestor, resolve_commit
from ...files.validate import load_valid_repo
from .desired import (
    desired_datasets,
    desired_prompts,
)
from .ledger import ledger_commits, ledger_name, newest_commit
from .plan import Plan, make_plan
from .store import LangfuseStore, apply_plan, read_actual

MAX_ROUNDS = 5


# -- orchestration ----------------------------------------------------------------------------------------


def _ensure_present(root: Path, commit: str) -> None:
    """Fetch ``commit`` (a validated full id, see :data:`COMMIT_ID`) if this clone lacks it."""
    try:
        resolve_commit(root, commit)
    except PromptshipError:
        subprocess.run(["git", "fetch", "--quiet", "origin", "--", commit], cwd=root, capture_output=True, check=False)
        try:
            resolve_commit(root, commit)
        except PromptshipError:
            raise SyncError(
                f"the sync ledger names commit {commit[:12]}, which this clone does not have",
                code="E822",
                hint="fetch the full history (actions/checkout fetch-depth: 0)",
            ) from None


def branch_of(root: Path, ref: str) -> str | None:
    """The branch ``ref`` names: the checked-out branch for ``HEAD``, ``ref`` itself when it is a local
    or ``origin`` branch, else None (a sha or tag says nothing about which branch it publishes for)."""
    if ref == "HEAD":
        done = subprocess.run(
            ["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=root, capture_output=True, text=True
        )
        return done.stdout.strip() or None
    for prefix in ("refs/heads/", "refs/remotes/origin/"):
        found = subprocess.run(["git", "show-ref", "--verify", "--quiet", "--", prefix + ref], cwd=root, check=False)
        if found.returncode == 0:
            return ref
    return None


def _once(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log``, saying each distinct line only once (sync re-reads the ledger every round)."""
    said: set[str] = set()

    def say(line: str) -> None:
        if line not in said:
            said.add(line)
            log(line)

    return say


@dataclass
class SyncOutcome:
    plan: Plan
    applied: bool
    writes: int
    superseded_by: str | None = None
    rounds: int = 0


def sync(
    root: Path,
    store: LangfuseStore,
    *,
    ref: str,
    branch: str,
    apply: bool,
    log: Callable[[str], None] = lambda line: None,
    warn: Callable[[str], None] | None = None,
) -> SyncOutcome:
    """Plan (and with ``apply``, execute) publishing ``ref`` under ``branch``'s release labels.

    ``log`` receives progress lines, ``warn`` (default: ``log``) each distinct warning once.

    Invariant: a label only ever moves forward along ``branch``'s history, even after a crash at any
    step, because the target commit is in the branch's ledger before any write is made for it.
    Applying a commit that is already recorded and already served makes zero writes.
    """
    own = resolve_commit(root, ref)
    ledger = ledger_name(branch)
    warn = _once(warn or log)
    outcome: SyncOutcome | None = None
    for round_number in range(1, MAX_ROUNDS + 1):
        recorded = ledger_commits(store.ledger(ledger), branch, warn)
        for commit in dict.fromkeys(recorded):
            _ensure_present(root, commit)
        target = newest_commit(own, recorded, lambda a, b: is_ancestor(root, a, b), warn)
        repo = load_valid_repo(root, target)
        prompts = desired_prompts(repo, branch)
        datasets = desired_datasets(repo)
        actual, items = read_actual(store, prompts, datasets)
        plan = make_plan(target, prompts, actual, datasets, items)
        superseded = target if target != own else None
        if not apply:
            return SyncOutcome(plan, False, 0, superseded)
        if outcome is None:
            outcome = SyncOutcome(plan, True, 0, superseded)
        outcome.rounds = round_number
        if target not in recorded:
            # Intent first: from here on every sync of this branch targets this commit or a newer one.
            store.record(ledger, branch, target)
        if plan.empty:
            outcome.writes = store.writes
            return outcome
        if superseded:
            log(f"newer commit {target[:12]} is in the sync ledger: applying its state instead of {own[:12]}")
        apply_plan(store, plan, log)
    raise SyncError(
        f"Langfuse did not converge after {MAX_ROUNDS} rounds",
        code="E823",
        hint="another sync may be running in a loop; rerun when it finished",
    )


@dataclass(frozen=True)
class Drift:
    prompt: str
    label: str
    version: int | None  # None when no version holds the label
    reason: str


def check_drift(root: Path, store: LangfuseStore, *, ref: str, branch: str) -> list[Drift]:
    """Labels whose version in Langfuse does not serve what Git says (e.g. edited in the UI)."""
    repo = load_valid_repo(root, resolve_commit(root, ref))
    drift = []
    for prompt in desired_prompts(repo, branch):
        versions = {v.version: v for v in store.prompt_versions(prompt.name, prompt.labels, prompt.hash)}
        holder = {label: number for number, v in versions.items() for label in v.labels}
        for label in prompt.labels:
            number = holder.get(label)
            if number is None:
                drift.append(Drift(prompt.name, label, None, "label missing in Langfuse"))
                continue
            version = versions[number]
            if version.served_hash != prompt.hash:
                reason = (
                    "edited outside promptship"
                    if version.recorded_hash != version.served_hash
                    else "published from another commit"
                )
                drift.append(Drift(prompt.name, label, number, reason))
    return drift
