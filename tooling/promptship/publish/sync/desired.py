"""What Git wants Langfuse to serve (pure): prompts at a commit × release labels, dataset items."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...files.repo import Repository, content_hash
from ...files.schema import Item, Message, ReleaseRule

# -- desired state (pure) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredPrompt:
    name: str
    type: str
    prompt: Any
    config: dict[str, Any]
    labels: tuple[str, ...]
    tags: tuple[str, ...]
    hash: str


@dataclass(frozen=True)
class DesiredItem:
    id: str
    input: Any
    expected_output: Any
    metadata: Any

    @property
    def hash(self) -> str:
        return content_hash({"input": self.input, "expected": self.expected_output, "metadata": self.metadata})


def served_hash(kind: str, prompt: Any, config: Mapping[str, Any]) -> str:
    """Hash of what Langfuse serves for a version (promptship's own bookkeeping excluded)."""
    core = {k: v for k, v in config.items() if k != "promptship"}
    return content_hash({"type": kind, "prompt": prompt, "config": core})


def served_messages(body: list[Any]) -> list[dict[str, Any]]:
    """A chat prompt's messages as Langfuse serves them, reduced to what promptship publishes:
    ``{role, content}`` per message and ``{type: placeholder, name}`` per placeholder."""
    return [
        {"type": "placeholder", "name": m.get("name")}
        if m.get("type") == "placeholder"
        else {"role": m.get("role"), "content": m.get("content")}
        for m in body
    ]


def labels_for(rules: Sequence[ReleaseRule], branch: str) -> tuple[str, ...]:
    labels: list[str] = []
    for rule in rules:
        if fnmatch.fnmatchcase(branch, rule.ref):
            labels += [label for label in rule.labels if label not in labels]
    return tuple(labels)


def desired_prompts(repo: Repository, branch: str) -> list[DesiredPrompt]:
    wanted = []
    for name, entry in sorted(repo.prompts.items()):
        prompt = entry.prompt
        release = prompt.release
        if release is not None and not release.publish:
            continue
        rules = release.rules if release is not None and release.rules is not None else repo.policies.release.rules
        body: Any = (
            [
                {"role": m.role, "content": m.content} if isinstance(m, Message) else {"type": m.type, "name": m.name}
                for m in prompt.messages
            ]
            if prompt.messages is not None
            else prompt.template
        )
        config = (
            dict(prompt.langfuse_config)
            if prompt.langfuse_config is not None
            else {
                "model": prompt.model,
                "params": prompt.params.model_dump(mode="json", by_alias=True, exclude_none=True),
                "variables": {k: v.model_dump(mode="json", exclude_none=True) for k, v in prompt.variables.items()},
            }
        )
        wanted.append(
            DesiredPrompt(
                name,
                prompt.type,
                body,
                config,
                labels_for(rules, branch),
                tuple(prompt.tags),
                served_hash(prompt.type, body, config),
            )
        )
    return wanted


def langfuse_item_id(dataset: str, item_id: str) -> str:
    """Langfuse item ids are unique per project, so they are qualified by the dataset name."""
    return f"{dataset.replace('/', '__')}:{item_id}"


def desired_item(dataset: str, item: Item, langfuse_ids: bool) -> DesiredItem:
    """Item ``item`` of ``dataset`` as Langfuse should hold it: under a dataset-qualified id with its
    promptship id in the metadata, or (``langfuse_ids``: imported from Langfuse) exactly as it was."""
    if langfuse_ids:
        return DesiredItem(item.id, item.input, item.expected, item.metadata or None)
    return DesiredItem(
        langfuse_item_id(dataset, item.id), item.input, item.expected, {**item.metadata, "promptship_id": item.id}
    )


def desired_datasets(repo: Repository) -> dict[str, list[DesiredItem]]:
    return {
        name: [desired_item(name, i, entry.meta.langfuse_item_ids) for i in entry.items]
        for name, entry in sorted(repo.datasets.items())
    }
