"""What changed in a prompt, semantically: template text as unified diffs, and the model alias,
params and variables as field-level changes (deepdiff). Not a raw YAML diff (pure)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from deepdiff import DeepDiff

from ..files.schema import Message, Prompt


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class PromptDiff:
    name: str
    status: str  # changed | added | removed | unchanged
    template_diffs: list[tuple[str, str]] = field(default_factory=list)  # (location, unified diff)
    field_changes: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.template_diffs and not self.field_changes


def _templates(prompt: Prompt) -> dict[str, str]:
    if prompt.messages is not None:
        return {
            f"messages[{i}] ({m.role})" if isinstance(m, Message) else f"messages[{i}] (placeholder)": (
                m.content if isinstance(m, Message) else f"{{{{ placeholder: {m.name} }}}}"
            )
            for i, m in enumerate(prompt.messages)
        }
    return {"template": prompt.template or ""}


def _semantic_fields(prompt: Prompt) -> dict[str, Any]:
    return prompt.model_dump(mode="json", include={"type", "model", "params", "variables"}, exclude_none=True)


def _path(deepdiff_path: str) -> str:
    # root['params']['temperature'] → params.temperature
    return deepdiff_path.removeprefix("root").replace("']['", ".").strip("[]'").replace("'][", ".[")


def diff_prompts(name: str, base: Prompt | None, head: Prompt | None) -> PromptDiff:
    if base is None or head is None:
        return PromptDiff(name, "added" if base is None else "removed")
    templates_before, templates_after = _templates(base), _templates(head)
    template_diffs = []
    for location in list(dict.fromkeys([*templates_before, *templates_after])):
        before, after = templates_before.get(location, ""), templates_after.get(location, "")
        if before != after:
            lines = difflib.unified_diff(before.splitlines(), after.splitlines(), "base", "head", lineterm="", n=1)
            template_diffs.append((location, "\n".join(lines)))
    changes = []
    delta = DeepDiff(_semantic_fields(base), _semantic_fields(head), verbose_level=2)
    for kind in ("values_changed", "type_changes"):
        for path, change in delta.get(kind, {}).items():
            changes.append(FieldChange(_path(path), change.get("old_value"), change.get("new_value")))
    for path, value in delta.get("dictionary_item_added", {}).items():
        changes.append(FieldChange(_path(path), None, value))
    for path, value in delta.get("dictionary_item_removed", {}).items():
        changes.append(FieldChange(_path(path), value, None))
    for kind, (old, new) in (
        ("iterable_item_added", (False, True)),
        ("iterable_item_removed", (True, False)),
    ):
        for path, value in delta.get(kind, {}).items():
            changes.append(FieldChange(_path(path), value if old else None, value if new else None))
    changes.sort(key=lambda c: c.path)
    status = "changed" if template_diffs or changes else "unchanged"
    return PromptDiff(name, status, template_diffs, changes)
