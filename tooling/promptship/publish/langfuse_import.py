"""``promptship import langfuse``: a Langfuse project's prompts and datasets as repository files.

Reading goes through :class:`~promptship.publish.sync.store.LangfuseStore` (the SDK client with its
retries); converting is pure (:func:`plan_import`); writing is :func:`write_import`. The files are
chosen so that publishing them changes nothing: each prompt file serves exactly what the version
holding the release label serves (type, messages or text, placeholders, and the config verbatim in
``langfuse_config`` when it is not promptship's own), ``policies/release.yaml`` maps the branch to
that label, and datasets keep Langfuse's item ids (``langfuse_item_ids: true``). So ``sync --check``
right after reports no drift and ``sync --apply`` creates no version.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files.interop import Conversion, alias_for, dump_yaml, litellm_model, schema_header, template_variables
from ..files.interop.aliases import resolve_aliases
from .sync.store import LangfuseStore

ROLES = ("system", "user", "assistant", "developer")
PARAM_KEYS = ("temperature", "top_p", "max_tokens", "stop", "seed")
ITEM_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")
NAME = re.compile(r"^(?!/)(?!.*(^|/)\.\.?(/|$))[^\x00-\x1f\\]+$")


@dataclass(frozen=True)
class Version:
    """One Langfuse prompt version as read."""

    name: str
    number: int
    type: str
    prompt: Any
    config: dict[str, Any]
    labels: tuple[str, ...]
    tags: tuple[str, ...]
    commit_message: str | None = None


@dataclass(frozen=True)
class DatasetItem:
    id: str
    input: Any
    expected: Any
    metadata: Any
    status: str


@dataclass
class ImportPlan:
    """Files of the labelled state, optional history commits before it, aliases, and every note."""

    conversion: Conversion = field(default_factory=Conversion)
    history: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: str | None = None


# -- reading (I/O) ----------------------------------------------------------------------------------------


def _version(raw: Mapping[str, Any]) -> Version:
    return Version(
        str(raw["name"]),
        int(raw["version"]),
        str(raw.get("type") or "text"),
        raw["prompt"],
        dict(raw.get("config") or {}),
        tuple(raw.get("labels") or ()),
        tuple(raw.get("tags") or ()),
        raw.get("commit_message") or raw.get("commitMessage"),
    )


def _read_version(store: LangfuseStore, name: str, number: int) -> Version | None:
    raw = store._get(name, version=number)
    return None if raw is None else _version(raw)


def read_prompts(store: LangfuseStore, *, all_versions: bool) -> dict[str, list[Version]]:
    """Every prompt (promptship's own ledgers excluded) → its versions, oldest first: all of them, or
    only those holding a label (``latest`` counts only for a prompt without any other label)."""
    found: dict[str, list[Version]] = {}
    page = 1
    while True:
        chunk = store._call("list prompts", lambda page=page: store.client.api.prompts.list(page=page, limit=100))  # type: ignore[misc]
        for meta in chunk.data:
            if meta.name.startswith("_promptship/"):  # sync ledgers (LEDGER_PREFIX) and the former ledger
                continue
            versions = [v for n in sorted(meta.versions) if (v := _read_version(store, meta.name, n)) is not None]
            kept = versions if all_versions else [v for v in versions if set(v.labels) - {"latest"}]
            if versions:  # a prompt without any label other than `latest`: its newest version
                found[meta.name] = kept or versions[-1:]
        if page >= chunk.meta.total_pages:
            return found
        page += 1


def read_datasets(store: LangfuseStore) -> dict[str, tuple[str | None, Any, list[DatasetItem]]]:
    """Every dataset → (description, metadata, items of every status)."""
    found = {}
    page = 1
    while True:
        chunk = store._call("list datasets", lambda page=page: store.client.api.datasets.list(page=page, limit=100))  # type: ignore[misc]
        for dataset in chunk.data:
            items = []
            item_page = 1
            while True:
                listed = store._call(
                    f"list items of {dataset.name}",
                    lambda p=item_page, n=dataset.name: store.client.api.dataset_items.list(  # type: ignore[misc]
                        dataset_name=n, page=p, limit=100
                    ),
                )
                items += [
                    DatasetItem(
                        i.id,
                        i.input,
                        i.expected_output,
                        i.metadata,
                        str(getattr(i.status, "value", i.status)),
                    )
                    for i in listed.data
                ]
                if item_page >= listed.meta.total_pages:
                    break
                item_page += 1
            found[dataset.name] = (dataset.description, dataset.metadata, items)
        if page >= chunk.meta.total_pages:
            return found
        page += 1


# -- converting (pure) --------------------------------------------------------------------------------------


def _own_config(config: Mapping[str, Any]) -> bool:
    """Was this config written by promptship (model alias, params, variables)?"""
    core = {k: v for k, v in config.items() if k != "promptship"}
    return (
        set(core) == {"model", "params", "variables"}
        and isinstance(core["model"], str)
        and isinstance(core["params"], dict)
        and isinstance(core["variables"], dict)
    )


def _messages(version: Version, lossy: list[str]) -> list[dict[str, Any]] | None:
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(version.prompt if isinstance(version.prompt, list) else []):
        if isinstance(message, dict) and message.get("type") == "placeholder":
            messages.append({"type": "placeholder", "name": str(message.get("name"))})
        elif isinstance(message, dict) and message.get("role") in ROLES and isinstance(message.get("content"), str):
            messages.append({"role": message["role"], "content": message["content"]})
        else:
            role = message.get("role") if isinstance(message, dict) else None
            lossy.append(
                f"prompt {version.name} v{version.number}: message {index} (role {role!r}) cannot be represented "
                "(roles: system, user, assistant, developer); the prompt is not imported and sync leaves it alone"
            )
            return None
    return messages


def prompt_document(
    version: Version, model_alias: Callable[[str], str], default_model: str | None, lossy: list[str]
) -> dict[str, Any] | None:
    """The prompt file's data for ``version`` (None when it cannot be represented: see ``lossy``).

    ``model_alias`` maps a vendor model id to the routing alias to use (and records the alias as needed).
    """
    where = f"prompt {version.name} v{version.number}"
    document: dict[str, Any] = {"type": "chat" if version.type == "chat" else "text"}
    if version.tags:
        document["tags"] = list(version.tags)
    config = {k: v for k, v in version.config.items() if k != "promptship"}
    if _own_config(config):
        document["model"] = config["model"]
        if config["params"]:
            document["params"] = config["params"]
        variables: dict[str, Any] = dict(config["variables"])
    else:
        model = config.get("model")
        if isinstance(model, str) and model:
            document["model"] = model_alias(model)
        elif default_model:
            document["model"] = default_model
        else:
            raise UsageError(
                f"{where}: its config names no model",
                code="E945",
                hint="pass --model ALIAS (an alias of policies/routing.yaml) for prompts without one",
            )
        nested = config.get("params")
        source: dict[str, Any] = nested if isinstance(nested, dict) else config
        params = {k: source[k] for k in PARAM_KEYS if k in source}
        if params:
            document["params"] = params
        unused = sorted(set(config) - {"model", "params", *PARAM_KEYS})
        if unused:
            lossy.append(
                f"{where}: config {', '.join(unused)} is published unchanged (langfuse_config) but promptship's "
                "eval and SDK do not use it"
            )
        variables = {}
    if version.type == "chat":
        messages = _messages(version, lossy)
        if messages is None:
            return None
        templates = [m["content"] for m in messages if "content" in m]
        for placeholder in (m["name"] for m in messages if m.get("type") == "placeholder"):
            variables.setdefault(placeholder, {"type": "list"})
    else:
        templates = [str(version.prompt)]
    for name in template_variables(*templates):
        variables.setdefault(name, {"type": "string"})
    if any(re.search(r"\{%|\{#", t) for t in templates):
        lossy.append(f"{where}: `{{%` or `{{#` is literal text in Langfuse but Jinja2 syntax in promptship")
    if variables:
        document["variables"] = variables
    if version.type == "chat":
        document["messages"] = messages
    else:
        document["template"] = str(version.prompt)
    if not _own_config(config):
        document["langfuse_config"] = config
    return document


def _dataset_prompt(name: str, metadata: Any, keys: set[str], prompts: Mapping[str, dict[str, Any]]) -> str | None:
    """The prompt a dataset feeds: named in its metadata, of the same name, or the one prompt whose
    variables are exactly its items' input keys."""
    named = metadata.get("prompt") if isinstance(metadata, dict) else None
    if isinstance(named, str) and named in prompts:
        return named
    if name in prompts:
        return name
    fitting = [p for p, doc in prompts.items() if set(doc.get("variables", {})) == keys]
    return fitting[0] if len(fitting) == 1 else None


def dataset_files(
    name: str,
    description: str | None,
    metadata: Any,
    items: list[DatasetItem],
    prompts: Mapping[str, dict[str, Any]],
    lossy: list[str],
) -> dict[str, str]:
    """``datasets/NAME.yaml`` and ``.jsonl`` for the active items (none when no prompt fits)."""
    active = [i for i in items if i.status == "ACTIVE"]
    archived = len(items) - len(active)
    if archived:
        lossy.append(f"dataset {name}: {archived} archived item(s) not imported (they stay archived)")
    keys = {k for i in active if isinstance(i.input, dict) for k in i.input}
    prompt = _dataset_prompt(name, metadata, keys, prompts)
    if prompt is None:
        lossy.append(
            f"dataset {name}: no imported prompt takes its inputs ({', '.join(sorted(keys)) or 'none'}): not "
            "imported; sync leaves it alone (add `prompt: NAME` to its Langfuse metadata and import again)"
        )
        return {}
    lines = []
    for item in active:
        if not ITEM_ID.match(item.id):
            lossy.append(f"dataset {name}: item id {item.id!r} is not a valid promptship id: item not imported")
            continue
        entry: dict[str, Any] = {"id": item.id}
        if isinstance(item.input, dict):
            entry["input"] = item.input
        else:
            entry["input"] = {"input": item.input}
            lossy.append(f"dataset {name}: item {item.id}'s input is not an object: imported as {{input: ...}}")
        if item.expected is not None:
            entry["expected"] = item.expected
        if isinstance(item.metadata, dict) and item.metadata:
            entry["metadata"] = item.metadata
        elif item.metadata not in (None, {}):
            entry["metadata"] = {"value": item.metadata}
            lossy.append(f"dataset {name}: item {item.id}'s metadata is not an object: imported as {{value: ...}}")
        lines.append(json.dumps(entry, ensure_ascii=False))
    meta: dict[str, Any] = {}
    if description:
        meta["description"] = description
    meta |= {"kind": "evaluation", "synthetic": False, "prompt": prompt, "langfuse_item_ids": True}
    lossy.append(f"dataset {name}: `kind: evaluation, synthetic: false` assumed (Langfuse does not say); correct it")
    depth = name.count("/") + 1
    header = schema_header("dataset", depth, f"imported by `promptship import langfuse` from dataset {name}")
    return {f"datasets/{name}.yaml": dump_yaml(meta, header), f"datasets/{name}.jsonl": "\n".join(lines) + "\n"}


def plan_import(
    root: Path,
    prompts: Mapping[str, list[Version]],
    datasets: Mapping[str, tuple[str | None, Any, list[DatasetItem]]],
    *,
    label: str,
    branch: str,
    default_model: str | None,
    history: bool,
) -> ImportPlan:
    """What to write for ``prompts`` and ``datasets`` so that ``branch`` publishes exactly what
    ``label`` serves today. Pure apart from reading the routing policy under ``root``."""
    plan = ImportPlan()
    conversion, lossy = plan.conversion, plan.conversion.lossy
    wanted: dict[str, str] = {}

    def model_alias(model: str) -> str:
        alias = alias_for(model)
        wanted[alias] = litellm_model(model) if "/" in model else f"openai/{model}"
        return alias

    documents: dict[str, dict[str, Any]] = {}
    for name, versions in sorted(prompts.items()):
        if not NAME.match(name):
            lossy.append(f"prompt {name!r}: not a usable file path: not imported")
            continue
        holder = next((v for v in versions if label in v.labels), None)
        chosen = holder or versions[-1]
        document = prompt_document(chosen, model_alias, default_model, lossy)
        if document is None:
            continue
        if holder is None:
            document["release"] = {"rules": []}
            lossy.append(
                f"prompt {name}: no version has label {label!r}; the file holds v{chosen.number} and "
                "publishes no label (`release: {rules: []}`)"
            )
        else:
            extra = [x for x in holder.labels if x not in (label, "latest")]
            if extra:
                document["release"] = {"rules": [{"ref": branch, "labels": [label, *extra]}]}
        for other in versions:
            for other_label in other.labels:
                if other is not holder and other_label != "latest" and (holder or other is not chosen):
                    lossy.append(
                        f"prompt {name}: label {other_label!r} stays on v{other.number} (not what the file "
                        f"serves); {branch} does not manage it"
                    )
        documents[name] = document
        depth = name.count("/") + 1
        header = schema_header(
            "prompt",
            depth,
            f"imported by `promptship import langfuse` from {name} v{chosen.number}"
            + (f" (labels: {', '.join(chosen.labels)})" if chosen.labels else ""),
        )
        conversion.files[f"prompts/{name}.yaml"] = dump_yaml(document, header)
        if history:
            for version in versions:
                past = prompt_document(version, model_alias, default_model, [])
                if past is None:
                    continue
                message = f"Langfuse {name} v{version.number}" + (
                    f": {version.commit_message}" if version.commit_message else ""
                )
                plan.history.append((message[:200], {f"prompts/{name}.yaml": dump_yaml(past, header)}))
    for name, (description, metadata, items) in sorted(datasets.items()):
        if not NAME.match(name):
            lossy.append(f"dataset {name!r}: not a usable file path: not imported")
            continue
        conversion.files |= dataset_files(name, description, metadata, items, documents, lossy)
    resolved = resolve_aliases(root, wanted)
    conversion.aliases = {resolved[a]: m for a, m in wanted.items()}
    renamed = {a: r for a, r in resolved.items() if a != r}
    if renamed:  # an existing alias already routes to that model: use it in the files
        for path, text in list(conversion.files.items()):
            for old, new in renamed.items():
                text = re.sub(rf"^model: {re.escape(old)}$", f"model: {new}", text, flags=re.M)
            conversion.files[path] = text
    plan.release = (
        "# yaml-language-server: $schema=../schemas/release-policy.schema.json\n"
        "# Which git refs publish which Langfuse labels (written by `promptship import langfuse`).\n"
        + dump_yaml({"rules": [{"ref": branch, "labels": [label]}]})
    )
    return plan


# -- writing (I/O) -----------------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


def write_import(root: Path, plan: ImportPlan, *, commit: bool) -> list[str]:
    """Write the plan under ``root``; with ``plan.history``, commit each past version first (oldest
    first) and then the labelled state. All or nothing: E942 when a file exists (``release.yaml``
    may exist when it already says the same)."""
    from ..files.interop import write_conversion

    release = root / "policies" / "release.yaml"
    write_release = True
    if release.exists():
        import yaml

        same = yaml.safe_load(release.read_text(encoding="utf-8")) == yaml.safe_load(plan.release or "")
        if not same:
            raise UsageError(
                "policies/release.yaml exists with other rules; nothing was written",
                code="E942",
                hint="move it away (import writes the rule its label needs), or pass --label/--branch matching it",
            )
        write_release = False
    clashes = sorted(p for p in plan.conversion.files if (root / p).exists())
    if clashes:
        raise UsageError(
            f"{len(clashes)} file(s) already exist: {', '.join(clashes[:5])}; nothing was written",
            code="E942",
            hint="import never overwrites: import into a new repository or move them away",
        )
    if commit:
        for message, files in plan.history:
            for path, text in files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text, encoding="utf-8")
            _git(root, "add", "--", *files)
            _git(root, "commit", "-q", "-m", message, "--", *files)
        for path in {p for _, files in plan.history for p in files}:
            (root / path).unlink()
    written = write_conversion(root, plan.conversion)
    if write_release:
        release.parent.mkdir(parents=True, exist_ok=True)
        release.write_text(plan.release or "", encoding="utf-8")
        written.append("policies/release.yaml")
    if commit:
        _git(root, "add", "--", *written)
        _git(
            root,
            "commit",
            "-q",
            "-m",
            "Langfuse import: the labelled versions, datasets and release policy",
            "--",
            *written,
        )
    return written


def run_import(
    root: Path,
    store: LangfuseStore,
    *,
    label: str = "production",
    branch: str = "main",
    all_versions: bool = False,
    default_model: str | None = None,
) -> tuple[list[str], list[str]]:
    """Read the project, plan, self-check and write; returns (paths written, notes)."""
    prompts = read_prompts(store, all_versions=all_versions)
    datasets = read_datasets(store)
    plan = plan_import(
        root, prompts, datasets, label=label, branch=branch, default_model=default_model, history=all_versions
    )
    written = write_import(root, plan, commit=all_versions)
    return written, plan.conversion.lossy


__all__ = ["run_import", "plan_import", "read_prompts", "read_datasets", "write_import"]
