"""Per-branch sync ledgers: which commits were synced, and which of them is newest by git ancestry."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

LEDGER_PREFIX = "_promptship/sync-ledgers/"
LEDGER_WINDOW = 20
#: A claim older than this (seconds, by the claimant's clock) no longer holds back newer syncs: its
#: sync crashed without releasing it. A live sync re-checks the ledger before every write anyway.
CLAIM_LEASE_S = 120.0
#: A full commit id as git prints it (SHA-1, or SHA-256 in repositories that use it).
COMMIT_ID = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
#: Branch names usable as they are in a Langfuse prompt name (folders separated by single slashes).
_PLAIN_BRANCH = re.compile(r"^[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")


# -- the ledger (pure) ----------------------------------------------------------------------------------


def ledger_name(branch: str) -> str:
    """The ledger prompt of ``branch``: a valid Langfuse prompt name, one per branch.

    A plain branch name (letters, digits, ``_ . -``, single slashes) is used as it is
    (``main`` → ``_promptship/sync-ledgers/main``); any other gets a readable slug plus a hash of the
    exact name. Entries also carry their branch, so a collision could never mix two branches.
    """
    if _PLAIN_BRANCH.match(branch) and len(branch) <= 200:
        return LEDGER_PREFIX + branch
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", branch).strip("-.")[:100] or "branch"
    return f"{LEDGER_PREFIX}{slug}-h{hashlib.sha256(branch.encode()).hexdigest()[:12]}"


State = Literal["claim", "done"]


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger version: ``sync`` (a random id per sync run) claims ``commit`` before writing for
    it, and marks it ``done`` when it stops writing. Entries written before claims existed have no
    ``sync`` and count as done."""

    version: int
    commit: str
    sync: str | None = None
    state: State = "done"
    at: float = 0.0


def ledger_entry(branch: str, commit: str, sync: str | None = None, state: State = "done", at: float = 0.0) -> str:
    """The text of the ledger version recording that ``branch``'s sync ``sync`` claimed (``claim``) or
    published (``done``) ``commit`` at ``at`` (Unix seconds)."""
    data: dict[str, Any] = {"commit": commit, "branch": branch}
    if sync is not None:
        data.update(sync=sync, state=state, at=round(at, 3))
    return json.dumps(data, sort_keys=True)


def ledger_entries(entries: Iterable[tuple[int, Any]], branch: str, warn: Callable[[str], None]) -> list[LedgerEntry]:
    """The entries of ``branch`` in ledger versions ``entries`` (``(version, text)``), oldest first.

    Only well-formed entries of ``branch`` with a full lowercase hex commit id count; anything else
    (edited by hand, another tool, another branch) is skipped with a warning, never executed or trusted.
    """
    found = []
    for version, text in entries:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        commit = data.get("commit") if isinstance(data, dict) else None
        if not isinstance(commit, str) or not COMMIT_ID.match(commit):
            warn(f"warning: ignoring malformed sync ledger entry v{version} of branch {branch!r}")
            continue
        assert isinstance(data, dict)
        if data.get("branch") != branch:
            warn(f"warning: ignoring sync ledger entry v{version}: it records another branch")
            continue
        sync, state, at = data.get("sync"), data.get("state"), data.get("at")
        if isinstance(sync, str) and state in ("claim", "done") and isinstance(at, int | float):
            found.append(LedgerEntry(version, commit, sync, state, float(at)))
        else:
            found.append(LedgerEntry(version, commit))
    return found


def ledger_commits(entries: Iterable[tuple[int, Any]], branch: str, warn: Callable[[str], None]) -> list[str]:
    """The commits of ``branch`` in ledger versions ``entries``, oldest first (see :func:`ledger_entries`)."""
    return [entry.commit for entry in ledger_entries(entries, branch, warn)]


def active_claims(entries: Sequence[LedgerEntry], now: float, lease_s: float = CLAIM_LEASE_S) -> list[LedgerEntry]:
    """Claims not yet marked done by their sync and younger than ``lease_s``: syncs that may still write."""
    done = {entry.sync for entry in entries if entry.state == "done" and entry.sync}
    return [
        entry for entry in entries if entry.state == "claim" and entry.sync not in done and now - entry.at < lease_s
    ]


def newest_commit(
    own: str,
    recorded: Sequence[str],
    ancestor: Callable[[str, str], bool],
    warn: Callable[[str], None],
) -> str:
    """The commit a sync of ``own`` publishes, given the branch's ledger ``recorded`` (oldest first).

    The newest by ancestry: the commit that descends from all others. When the branch was
    force-pushed, several commits may descend from no other (``ancestor(a, b)`` is false both ways);
    then the one recorded most recently wins (``own``, if not recorded yet, counts as the most recent)
    and ``warn`` names the ones set aside. Never refuses, so a rewritten branch cannot block syncs.
    """
    recency = {commit: index for index, commit in enumerate(recorded)}
    recency.setdefault(own, len(recorded))
    frontier: list[str] = []
    for commit in sorted(recency, key=recency.__getitem__):
        if any(ancestor(commit, other) for other in frontier):
            continue
        frontier = [other for other in frontier if not ancestor(other, commit)] + [commit]
    winner = max(frontier, key=recency.__getitem__)
    others = [commit[:12] for commit in frontier if commit != winner]
    if others:
        warn(
            f"warning: the sync ledger holds commits on diverged histories ({', '.join(others)} and "
            f"{winner[:12]}; was the branch force-pushed?): the most recently published, {winner[:12]}, wins"
        )
    return winner
