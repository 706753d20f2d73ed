"""Prompty ``.prompty`` files ⇄ promptship prompts.

The format (microsoft/prompty): YAML frontmatter between ``---`` lines — ``name``, ``description``,
``authors``, ``tags``, ``model`` (``api`` chat/completion, ``configuration`` with ``type`` and
``azure_deployment``/``name``, ``parameters``, ``response``), ``inputs`` (name → ``{type,
description, default, sample}`` or name → sample value), ``sample``, ``outputs``, ``template`` — then
a Jinja2 body split into messages by role lines (``system:``, ``user:``, ``assistant:``, optionally
``# user:``); text before the first role line is the system message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ...errors import UsageError
from ..repo import Repository
from ..schema import Message
from . import Conversion, alias_for, dump_yaml, litellm_model, schema_header, slug, template_variables
from .aliases import resolve_aliases

ROLE_LINE = re.compile(r"^\s*#?\s*(system|user|assistant|developer|function|tool)(\[[^\]]*\])?\s*:\s*$", re.I)
FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
KNOWN_FIELDS = {"name", "description", "authors", "tags", "version", "model", "inputs", "sample", "metadata"}
PARAMS = {"temperature", "max_tokens", "top_p", "stop", "seed", "response_format"}
TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}
TYPES |= {"array": "list", "list": "list", "object": "object"}


def split_frontmatter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    match = FRONTMATTER.match(text)
    if match is None:
        return {}, text
    try:
        front = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UsageError(
            f"the frontmatter is not valid YAML: {getattr(exc, 'problem', exc)}",
            code="E944",
            path=str(path),
            line=mark.line + 2 if mark else None,
        ) from None
    if not isinstance(front, dict):
        raise UsageError("the frontmatter is not a mapping", code="E944", path=str(path), line=2)
    return front, match.group(2)


def split_messages(body: str, lossy: list[str]) -> list[dict[str, str]]:
    """Role lines split ``body`` into messages; text before the first one is the system message."""
    messages: list[dict[str, str]] = []
    role, lines = "system", list[str]()

    def flush() -> None:
        content = "\n".join(lines).strip("\n")
        if content.strip():
            messages.append({"role": role, "content": content})

    for line in body.splitlines():
        found = ROLE_LINE.match(line)
        if found:
            flush()
            role, lines = found.group(1).lower(), []
            if found.group(2):
                lossy.append(f"role arguments {found.group(2)} on a {role} line are not imported")
            if role in ("function", "tool"):
                lossy.append(f"a {role} message is imported as a user message (promptship prompts have no {role} role)")
                role = "user"
        else:
            lines.append(line)
    flush()
    if any(re.search(r"\{\{[^}]*\.role[^}]*\}\}\s*:", m["content"]) for m in messages):
        lossy.append(
            "messages built in a template loop (e.g. chat history) stay text inside one message; "
            "promptship does not create messages from a variable"
        )
    return messages


def _variables(inputs: Any, sample: dict[str, Any], lossy: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(variables, sample values) from Prompty ``inputs``."""
    variables: dict[str, Any] = {}
    samples = dict(sample)
    for name, spec in (inputs or {}).items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(name)):
            lossy.append(f"input {name!r} is not an identifier: not imported")
            continue
        if not isinstance(spec, dict):  # shorthand: name → sample value
            spec = {"sample": spec}
        kind = TYPES.get(str(spec.get("type", "")).lower())
        if kind is None:
            value = spec.get("sample", spec.get("default", samples.get(name)))
            kind = {bool: "boolean", int: "integer", float: "number", list: "list", dict: "object"}.get(
                type(value), "string"
            )
        variable: dict[str, Any] = {"type": kind}
        if "default" in spec:
            variable |= {"required": False, "default": spec["default"]}
        if spec.get("description"):
            variable["description"] = str(spec["description"])
        for extra in sorted(set(spec) - {"type", "description", "default", "sample"}):
            lossy.append(f"inputs.{name}.{extra} is not imported")
        if "sample" in spec:
            samples.setdefault(name, spec["sample"])
        variables[str(name)] = variable
    return variables, samples


def import_prompty(
    path: Path, text: str, root: Path, *, name: str | None = None, default_model: str | None = None
) -> Conversion:
    """One ``.prompty`` file → prompt ``name`` (default: the file name) and, when it has sample
    inputs, a one-item dataset, plus the alias its model needs."""
    front, body = split_frontmatter(path, text)
    conversion = Conversion()
    lossy = conversion.lossy
    name = name or slug(path.name.removesuffix(".prompty"))
    source = f"imported by `promptship import prompty` from {path.name}"
    for key in sorted(set(front) - KNOWN_FIELDS):
        lossy.append(f"frontmatter field {key!r} has no promptship equivalent: not imported")
    given = front.get("model")
    model: dict[str, Any] = given if isinstance(given, dict) else {"configuration": {"name": given}}
    configuration = model.get("configuration") or model.get("connection") or {}
    model_id = configuration.get("azure_deployment") or configuration.get("name") or configuration.get("model")
    model_id = model_id or default_model
    if not model_id:
        raise UsageError("the frontmatter names no model", code="E945", path=str(path), hint="pass --model MODEL_ID")
    for key in sorted(set(configuration) - {"type", "azure_deployment", "name", "model"}):
        lossy.append(f"model.configuration.{key} is not imported (endpoints and keys live in policies/routing.yaml)")
    if configuration.get("type") not in (None, "openai", "azure_openai", "azure"):
        lossy.append(f"model.configuration.type {configuration['type']!r}: routed as an OpenAI model")
    for key in sorted(set(model) - {"api", "configuration", "connection", "parameters"}):
        lossy.append(f"model.{key} is not imported")
    wanted = {alias_for(str(model_id)): litellm_model(str(model_id))}
    resolved = resolve_aliases(root, wanted)
    conversion.aliases = {resolved[a]: m for a, m in wanted.items()}
    params = {}
    for key, value in (model.get("parameters") or {}).items():
        if key in PARAMS:
            params[key] = {"type": value} if key == "response_format" and isinstance(value, str) else value
        else:
            lossy.append(f"model.parameters.{key} is not imported")
    sample = front.get("sample")
    if isinstance(sample, str):
        lossy.append(f"sample {sample!r} is a file reference: not imported")
        sample = {}
    variables, samples = _variables(front.get("inputs"), sample or {}, lossy)
    messages = split_messages(body, lossy)
    if not messages:
        raise UsageError("the body holds no message", code="E944", path=str(path))
    for used in template_variables(*(m["content"] for m in messages)):
        variables.setdefault(used, {"type": "string"})
    prompt: dict[str, Any] = {}
    if model.get("api") == "completion":
        prompt["type"] = "text"
        if len(messages) > 1:
            lossy.append("a completion prompt's role lines are kept as text")
    else:
        prompt["type"] = "chat"
    if front.get("description") or front.get("name"):
        prompt["description"] = str(front.get("description") or front.get("name"))
    authors = front.get("authors") or (front.get("metadata") or {}).get("authors")
    if authors:
        prompt["owners"] = [str(a) for a in authors]
    if front.get("tags"):
        prompt["tags"] = [str(t) for t in front["tags"]]
    prompt["model"] = resolved[alias_for(str(model_id))]
    if params:
        prompt["params"] = params
    if variables:
        prompt["variables"] = variables
    if prompt["type"] == "text":
        prompt["template"] = body.strip("\n")
    else:
        prompt["messages"] = messages
    depth = name.count("/") + 1
    conversion.files[f"prompts/{name}.yaml"] = dump_yaml(prompt, schema_header("prompt", depth, source))
    inputs = {k: v for k, v in samples.items() if k in variables}
    if inputs:
        dataset = f"{name}-sample"
        meta = {"description": f"sample of {path.name}", "kind": "golden", "synthetic": True, "prompt": name}
        conversion.files[f"datasets/{dataset}.yaml"] = dump_yaml(meta, schema_header("dataset", depth, source))
        item = {"id": "sample", "input": inputs}
        conversion.files[f"datasets/{dataset}.jsonl"] = json.dumps(item, ensure_ascii=False) + "\n"
    for key in sorted(set(samples) - set(inputs)):
        lossy.append(f"sample value {key!r} is not an input: not imported")
    return conversion


def export_prompty(repo: Repository, name: str) -> tuple[str, list[str]]:
    """Prompt ``name`` as a ``.prompty`` text (its dataset's first item as the sample), and what could
    not be exported."""
    lossy: list[str] = []
    prompt = repo.prompts[name].prompt
    routing = repo.policies.routing
    alias = routing.aliases.get(prompt.model) if routing else None
    deployment = alias.deployments[0].model if alias and alias.deployments else prompt.model
    vendor, _, model_name = deployment.partition("/")
    if alias and (len(alias.deployments) > 1 or alias.fallbacks):
        lossy.append(f"alias {prompt.model}: only its first deployment ({deployment}) is exported, not its routing")
    front: dict[str, Any] = {"name": name}
    if prompt.description:
        front["description"] = prompt.description
    if prompt.owners:
        front["authors"] = list(prompt.owners)
    if prompt.tags:
        front["tags"] = list(prompt.tags)
    kind = "azure_openai" if vendor == "azure" else "openai"
    key = "azure_deployment" if vendor == "azure" else "name"
    model: dict[str, Any] = {"api": "chat" if prompt.type == "chat" else "completion"}
    model["configuration"] = {"type": kind, key: model_name or deployment}
    parameters = prompt.params.model_dump(mode="json", by_alias=True, exclude_none=True)
    if parameters:
        model["parameters"] = parameters
    front["model"] = model
    if prompt.variables:
        inputs = {}
        for variable, spec in prompt.variables.items():
            entry: dict[str, Any] = {"type": {"list": "array"}.get(spec.type, spec.type)}
            if spec.description:
                entry["description"] = spec.description
            if spec.default is not None:
                entry["default"] = spec.default
            inputs[variable] = entry
        front["inputs"] = inputs
    dataset = next((d for _, d in sorted(repo.datasets.items()) if d.meta.prompt == name and d.items), None)
    if dataset is not None:
        front["sample"] = dict(dataset.items[0].input)
        if len(dataset.items) > 1:
            lossy.append(f"only the first item of dataset {dataset.name} is exported (as `sample`)")
    if prompt.traffic or prompt.release:
        lossy.append("traffic and release settings have no Prompty equivalent: not exported")
    if prompt.messages is not None:
        lossy += [
            f"chat placeholder '{p.name}' has no Prompty equivalent: not exported" for _, p in prompt.placeholders()
        ]
        body = "\n\n".join(f"{m.role}:\n{m.content.rstrip(chr(10))}" for m in prompt.messages if isinstance(m, Message))
    else:
        body = prompt.template or ""
    return "---\n" + dump_yaml(front) + "---\n" + body + "\n", lossy
