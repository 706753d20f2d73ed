"""What Langfuse holds, and the plan that turns it into what Git wants (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .desired import (
    DesiredItem,
    DesiredPrompt,
)

# -- actual state ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualVersion:
    version: int
    labels: tuple[str, ...]
    recorded_hash: str | None
    served_hash: str
    git_sha: str | None


@dataclass(frozen=True)
class ActualItem:
    id: str
    status: str
    hash: str


# -- the plan (pure) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # create_version | move_label | create_dataset | upsert_item | archive_item
    target: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        return f"{self.kind:15} {self.target}: {self.detail}"


@dataclass
class Plan:
    commit: str
    actions: list[Action]
    unchanged: list[str]
    #: Things the plan cannot fix from this branch (e.g. a traffic split's label no version holds yet).
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions


def version_with_hash(versions: Sequence[ActualVersion], digest: str) -> ActualVersion | None:
    """The newest version serving ``digest``: one promptship created with that content, or one created
    elsewhere (no recorded hash, e.g. before `promptship import langfuse`) that serves exactly it."""
    matching = [v for v in versions if v.recorded_hash in (digest, None) and v.served_hash == digest]
    return max(matching, key=lambda v: v.version) if matching else None


def make_plan(
    commit: str,
    prompts: Sequence[DesiredPrompt],
    actual: Mapping[str, Sequence[ActualVersion]],
    datasets: Mapping[str, Sequence[DesiredItem]] | None = None,
    actual_items: Mapping[str, Mapping[str, ActualItem]] | None = None,
) -> Plan:
    """What to write so Langfuse matches Git at ``commit`` (pure; no I/O)."""
    actions: list[Action] = []
    unchanged: list[str] = []
    for prompt in prompts:
        versions = actual.get(prompt.name, [])
        holder = {label: v.version for v in versions for label in v.labels}
        existing = version_with_hash(versions, prompt.hash)
        if existing is None:
            actions.append(
                Action(
                    "create_version",
                    prompt.name,
                    f"new version with labels {', '.join(prompt.labels) or '(none)'}",
                    {"prompt": prompt},
                )
            )
            continue
        moves = [label for label in prompt.labels if holder.get(label) != existing.version]
        for label in moves:
            before = f"v{holder[label]}" if label in holder else "nowhere"
            actions.append(
                Action(
                    "move_label",
                    prompt.name,
                    f"{label}: {before} → v{existing.version}",
                    {"label": label, "version": existing.version},
                )
            )
        if not moves:
            unchanged.append(prompt.name)
    for name, items in (datasets or {}).items():
        current = (actual_items or {}).get(name)
        if current is None:
            actions.append(Action("create_dataset", name, f"{len(items)} item(s)", {}))
            current = {}
        wanted = {item.id: item for item in items}
        for item in items:
            have = current.get(item.id)
            if have is None or have.hash != item.hash or have.status != "ACTIVE":
                actions.append(
                    Action("upsert_item", name, f"{'update' if have else 'create'} {item.id}", {"item": item})
                )
        for item_id, have in sorted(current.items()):
            if item_id not in wanted and have.status == "ACTIVE":
                actions.append(Action("archive_item", name, f"archive {item_id}", {"id": item_id}))
    return Plan(commit, actions, unchanged)


def split_gaps(
    splits: Mapping[str, Mapping[str, int]],
    prompts: Sequence[DesiredPrompt],
    held: Mapping[str, Iterable[str]],
) -> list[str]:
    """A warning per label of a traffic split that no version will hold once this plan is applied:
    not held in Langfuse (``held``: prompt → labels some version holds) and not set by this branch's
    plan. Calls the split sends there get the split's default label until the branch whose release
    rule publishes it is synced. ``latest`` is always held once the prompt is published."""
    wanted = {prompt.name: prompt.labels for prompt in prompts}
    gaps = []
    for name, split in sorted(splits.items()):
        have = {*held.get(name, ()), *wanted.get(name, ()), "latest"}
        for label in sorted(set(split) - have):
            gaps.append(
                f"split of {name}: no version holds label '{label}' yet, so its {split[label]}% of keyed calls get "
                f"the default label; sync the branch whose release rule publishes '{label}'"
            )
    return gaps
