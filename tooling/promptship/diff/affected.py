"""Which suites a change affects: compare suite fingerprints at base and head (pure).

A suite is affected exactly when its fingerprint changed — what it answers (``suite``) or what its
answers cost (``pricing``); reformatting a file changes no hash and so affects nothing. Suites only at
head are ``added``; only at base, ``removed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..files.repo import Repository
from ..files.schema import RoutingPolicy
from ..files.schema.run import Fingerprint
from .fingerprint import suite_fingerprint

Status = Literal["changed", "unchanged", "added", "removed"]
PARTS = ("prompt", "dataset", "evaluators", "scorers", "deployments", "pricing")


@dataclass(frozen=True)
class SuiteChange:
    suite: str
    status: Status
    base: Fingerprint | None
    head: Fingerprint | None
    #: Which fingerprint parts differ (empty unless ``changed``).
    reasons: tuple[str, ...] = field(default=())

    @property
    def affected(self) -> bool:
        return self.status in ("changed", "added")

    @property
    def price_only(self) -> bool:
        """Only prices changed: the answers are the same, so both sides are one stored run, re-priced."""
        return self.reasons == ("pricing",)


def affected_suites(
    base: Repository,
    base_routing: RoutingPolicy,
    head: Repository,
    head_routing: RoutingPolicy,
    env: Mapping[str, str] | None = None,
) -> list[SuiteChange]:
    """Every suite at base or head with its status, sorted by name (``env``: see :func:`suite_fingerprint`)."""
    changes = []
    for name in sorted(set(base.suites) | set(head.suites)):
        base_fp = suite_fingerprint(base, base.suites[name], base_routing, env) if name in base.suites else None
        head_fp = suite_fingerprint(head, head.suites[name], head_routing, env) if name in head.suites else None
        if base_fp is None:
            changes.append(SuiteChange(name, "added", None, head_fp))
        elif head_fp is None:
            changes.append(SuiteChange(name, "removed", base_fp, None))
        elif base_fp.suite == head_fp.suite and base_fp.pricing == head_fp.pricing:
            changes.append(SuiteChange(name, "unchanged", base_fp, head_fp))
        else:
            reasons = tuple(p for p in PARTS if getattr(base_fp, p) != getattr(head_fp, p))
            changes.append(SuiteChange(name, "changed", base_fp, head_fp, reasons))
    return changes
