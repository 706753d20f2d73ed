"""Orchestration: ``sync`` (plan, record, apply, re-read until converged) and the drift ``check``."""

from __future__ import annotations

import subprocess
import time
import uuid
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
from .ledger import CLAIM_LEASE_S, LedgerEntry, active_claims, ledger_entries, ledger_name, newest_commit
from .plan import Plan, make_plan, split_gaps
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


class Superseded(Exception):
    """A newer commit appeared in the ledger: stop writing for the current target."""


class _Claim:
    """This sync's view of the branch's ledger, re-read before every write (compare-and-set).

    Langfuse has no conditional write, so the ledger serialises syncs instead: a sync claims its
    target before its first write, writes only while its target is the newest commit in the ledger,
    and waits for every other sync still writing for another commit to see the newer claim and stop.
    """

    def __init__(
        self,
        root: Path,
        store: LangfuseStore,
        ledger: str,
        branch: str,
        warn: Callable[[str], None],
        sleep: Callable[[float], None],
        lease_s: float,
    ) -> None:
        self.root, self.store, self.ledger, self.branch, self.warn = root, store, ledger, branch, warn
        self.sleep, self.lease_s = sleep, lease_s
        self.id = uuid.uuid4().hex
        self.claimed: str | None = None
        self._present: set[str] = set()
        self._ancestry: dict[tuple[str, str], bool] = {}

    def entries(self) -> list[LedgerEntry]:
        entries = ledger_entries(self.store.ledger(self.ledger), self.branch, self.warn)
        for commit in dict.fromkeys(e.commit for e in entries):
            if commit not in self._present:
                _ensure_present(self.root, commit)
                self._present.add(commit)
        return entries

    def _is_ancestor(self, ancestor: str, descendant: str) -> bool:
        key = (ancestor, descendant)
        if key not in self._ancestry:
            self._ancestry[key] = is_ancestor(self.root, ancestor, descendant)
        return self._ancestry[key]

    def newest(self, own: str, entries: list[LedgerEntry]) -> str:
        return newest_commit(own, [e.commit for e in entries], self._is_ancestor, self.warn)

    def claim(self, target: str) -> None:
        """Record that this sync is about to write for ``target`` (before its first write)."""
        if self.claimed != target:
            self.release()
            self.store.record(self.ledger, self.branch, target, self.id, "claim")
            self.claimed = target

    def check(self) -> None:
        """:class:`Superseded` unless the claimed commit is still the newest in the ledger."""
        assert self.claimed is not None
        if self.newest(self.claimed, self.entries()) != self.claimed:
            raise Superseded

    def wait_for_others(self) -> bool:
        """Wait until no other sync holds a live claim on another commit (they stop at their next
        check, seeing this newer claim); :class:`Superseded` if a newer commit appears. True if it waited."""
        waited = False
        while True:
            entries = self.entries()
            if self.newest(self.claimed or "", entries) != self.claimed:
                raise Superseded
            live = active_claims(entries, time.time(), self.lease_s)
            others = [e for e in live if e.sync != self.id and e.commit != self.claimed]
            if not others:
                return waited
            waited = True
            self.sleep(0.2)

    def release(self, *, best_effort: bool = False) -> None:
        """Mark this sync's claim done (so no newer sync waits for it)."""
        if self.claimed is None:
            return
        try:
            self.store.record(self.ledger, self.branch, self.claimed, self.id, "done")
            self.claimed = None
        except PromptshipError:
            if not best_effort:
                raise


def sync(
    root: Path,
    store: LangfuseStore,
    *,
    ref: str,
    branch: str,
    apply: bool,
    log: Callable[[str], None] = lambda line: None,
    warn: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    lease_s: float = CLAIM_LEASE_S,
) -> SyncOutcome:
    """Plan (and with ``apply``, execute) publishing ``ref`` under ``branch``'s release labels.

    ``log`` receives progress lines, ``warn`` (default: ``log``) each distinct warning once.

    Invariant: a label only ever moves forward along ``branch``'s history, not even for a moment
    backwards, however syncs race or crash: a sync claims its target in the branch's ledger before
    its first write, re-reads the ledger before every write and stops as soon as a newer commit is
    there, and a newer sync starts writing only once every sync writing for an older commit has
    stopped (or its claim is older than ``lease_s``: it crashed). Applying a commit that is already
    recorded and already served makes zero writes.
    """
    own = resolve_commit(root, ref)
    ledger = ledger_name(branch)
    warn = _once(warn or log)
    claim = _Claim(root, store, ledger, branch, warn, sleep, lease_s)
    outcome: SyncOutcome | None = None
    try:
        for round_number in range(1, MAX_ROUNDS + 1):
            entries = claim.entries()
            recorded = [e.commit for e in entries]
            target = claim.newest(own, entries)
            plan = _plan(root, store, target, branch)
            if round_number == 1:
                for line in plan.warnings:
                    warn(f"warning: {line}")
            superseded = target if target != own else None
            if not apply:
                return SyncOutcome(plan, False, 0, superseded)
            if outcome is None:
                outcome = SyncOutcome(plan, True, 0, superseded)
            outcome.rounds = round_number
            if plan.empty:
                if claim.claimed is None and target not in recorded:
                    store.record(ledger, branch, target)  # a commit with nothing to write is still the newest
                claim.release()
                outcome.writes = store.writes
                return outcome
            if superseded:
                log(f"newer commit {target[:12]} is in the sync ledger: applying its state instead of {own[:12]}")
            try:
                claim.claim(target)  # intent first: every later sync targets this commit or a newer one
                if claim.wait_for_others():
                    plan = _plan(root, store, target, branch)  # the others' writes changed Langfuse
                apply_plan(store, plan, log, before_write=claim.check)
            except Superseded:
                claim.release()
        raise SyncError(
            f"Langfuse did not converge after {MAX_ROUNDS} rounds",
            code="E823",
            hint="another sync may be running in a loop; rerun when it finished",
        )
    finally:
        claim.release(best_effort=True)


def _plan(root: Path, store: LangfuseStore, target: str, branch: str) -> Plan:
    repo = load_valid_repo(root, target)
    prompts = desired_prompts(repo, branch)
    datasets = desired_datasets(repo)
    actual, items = read_actual(store, prompts, datasets)
    plan = make_plan(target, prompts, actual, datasets, items)
    splits = repo.policies.release.splits
    wanted = {prompt.name: prompt.labels for prompt in prompts}
    held = {
        name: {
            label
            for version in store.label_holders(
                name, [asked for asked in split if asked not in wanted.get(name, ()) and asked != "latest"]
            )
            for label in version.labels
        }
        for name, split in splits.items()
    }
    plan.warnings = split_gaps(splits, prompts, held)
    return plan


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
