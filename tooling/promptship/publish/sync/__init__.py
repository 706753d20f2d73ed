"""Publish prompts and datasets from Git to Langfuse: ``plan = make_plan(desired, actual)``, then apply.

- **Content-addressed.** Every version promptship creates records, in its ``config.promptship``, the
  hash of what Langfuse serves (type, prompt, config) and the git sha. Identical content is never
  pushed twice: a label moves to the existing version with that hash (this is how ``git revert``
  rolls back without a new version). A second apply makes zero writes.
- **Newest commit wins, by git ancestry, per branch.** Each branch has its own ledger prompt
  (:func:`~promptship.publish.sync.ledger.ledger_name`, e.g. ``_promptship/sync-ledgers/main``), one version
  per commit synced from it; only that branch's entries count, so a ``release/*`` sync never steers
  ``main``. A sync targets the newest commit it knows of — its own or one in the ledger — *records
  it in the ledger before writing anything* (also when there is nothing to write), applies its plan,
  and re-reads both Langfuse and the ledger until nothing is left to do. Two syncs running at once
  or out of order therefore both end on the newest commit's state, a stale run changes nothing, and
  labels only ever move forward by ancestry, whatever step a crash interrupts.
- **Diverged ledgers** (the branch was force-pushed): ancestry cannot order two lines of history, so
  among the commits that no other known commit descends from, the one recorded in the ledger most
  recently wins (a commit not recorded yet counts as the most recent), with a warning. Nothing
  refuses to sync; a re-run of a commit the branch has since abandoned is the one case this
  cannot tell apart from a new push.
- **Crash-safe.** Each step is idempotent and the plan is computed from what Langfuse holds, so
  rerunning an interrupted apply converges. Labels are set on creation or moved to versions that
  exist. A create whose response is lost is retried only after checking that no version with its
  content hash exists yet (creating a prompt version is not idempotent in Langfuse).
- **Drift.** ``check`` reports labelled versions whose content differs from Git (an edit in the
  Langfuse UI makes a version without promptship's hash, or with content that no longer matches it).

The Langfuse client is the official SDK; 5xx, 429 and timeouts are retried with backoff (by
promptship only: the SDK's own retries are turned off so every retry can be checked first).

Modules: ``desired`` (what Git wants, pure), ``plan`` (Langfuse's state → plan, pure), ``ledger``
(per-branch sync ledgers, ordering by ancestry), ``store`` (Langfuse I/O), ``run`` (orchestration).
"""

from __future__ import annotations

from ...errors import SyncError
from .desired import DesiredItem, DesiredPrompt, desired_datasets, desired_prompts, langfuse_item_id, served_hash
from .ledger import ledger_entry, ledger_name, newest_commit
from .plan import Action, Plan, make_plan
from .run import Drift, SyncOutcome, branch_of, check_drift, sync
from .store import LangfuseSettings, LangfuseStore, apply_plan

__all__ = [
    "Action",
    "DesiredItem",
    "DesiredPrompt",
    "Drift",
    "LangfuseSettings",
    "LangfuseStore",
    "Plan",
    "SyncError",
    "SyncOutcome",
    "apply_plan",
    "branch_of",
    "check_drift",
    "desired_datasets",
    "desired_prompts",
    "langfuse_item_id",
    "ledger_entry",
    "ledger_name",
    "make_plan",
    "newest_commit",
    "served_hash",
    "sync",
]
