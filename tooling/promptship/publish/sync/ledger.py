"""Per-branch sync ledgers: which commits were synced, and which of them is newest by git ancestry."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

LEDGER_PREFIX = "_promptship/sync-ledgers/"
LEDGER_WINDOW = 20
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


def ledger_entry(branch: str, commit: str) -> str:
    """The text of the ledger version recording that ``branch`` published ``commit``."""
    return json.dumps({"commit": commit, "branch": branch}, sort_keys=True)


def ledger_commits(entries: Iterable[tuple[int, Any]], branch: str, warn: Callable[[str], None]) -> list[str]:
    """The commits of ``branch`` in ledger versions ``entries`` (``(version, text)``), oldest first.

    Only well-formed entries of ``branch`` with a full lowercase hex commit id count; anything else
    (edited by hand, another tool, another branch) is skipped with a warning, never executed or trusted.
    """
    commits = []
    for version, text in entries:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        commit = data.get("commit") if isinstance(data, dict) else None
        if not isinstance(commit, str) or not COMMIT_ID.match(commit):
            warn(f"warning: ignoring malformed sync ledger entry v{version} of branch {branch!r}")
        elif data.get("branch") != branch:  # type: ignore[union-attr]
            warn(f"warning: ignoring sync ledger entry v{version}: it records another branch")
        else:
            commits.append(commit)
    return commits


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
