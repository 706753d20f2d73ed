"""Add model aliases to ``policies/routing.yaml`` without disturbing what is written there."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ...errors import UsageError
from . import dump_yaml

ROUTING = "policies/routing.yaml"

NEW_POLICY = """\
# yaml-language-server: $schema=../schemas/routing-policy.schema.json
# Model aliases used by prompts and suites → LiteLLM deployments (written by `promptship import`).
# Credentials are never written here: *_env fields name environment variables read at call time.
aliases:
{aliases}
profiles:
  offline:
    description: Every alias runs on the embedded SmolLM2-135M model. No key, no network.
    all:
      - id: local-smollm2
        model: local/smollm2
"""


def alias_block(alias: str, model: str) -> str:
    """The YAML of one alias (indented by two spaces) routed to ``model`` with its usual key variable."""
    vendor = model.split("/", 1)[0]
    key = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}.get(
        vendor, f"{re.sub(r'[^A-Z0-9]+', '_', vendor.upper())}_API_KEY"
    )
    deployment: dict[str, object] = {"id": f"{alias}-1", "model": model, "api_key_env": key}
    if vendor == "github":  # GitHub Models: the GitHub token, free within its rate limits
        deployment |= {"api_key_env": "GITHUB_TOKEN", "pricing": {"input_per_million": 0, "output_per_million": 0}}
    text = dump_yaml({alias: {"description": f"Imported: {model}.", "deployments": [deployment], "retries": 2}})
    return "".join(f"  {line}\n" for line in text.splitlines())


def existing_aliases(text: str) -> dict[str, list[str]]:
    """alias → its deployments' model strings, from routing policy ``text`` (empty when unreadable)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    aliases = data.get("aliases") if isinstance(data, dict) else None
    if not isinstance(aliases, dict):
        return {}
    return {
        str(name): [str(d.get("model")) for d in (spec or {}).get("deployments", []) if isinstance(d, dict)]
        for name, spec in aliases.items()
        if isinstance(spec, dict) or spec is None
    }


def resolve_aliases(root: Path, wanted: dict[str, str]) -> dict[str, str]:
    """For each wanted alias → model: the alias to use (an existing alias routed to that model, the
    alias itself when it exists, or the alias, to be created)."""
    path = root / ROUTING
    have = existing_aliases(path.read_text(encoding="utf-8")) if path.exists() else {}
    resolved = {}
    for alias, model in wanted.items():
        same_model = next((name for name, models in have.items() if model in models), None)
        resolved[alias] = alias if alias in have else same_model or alias
    return resolved


def add_aliases(root: Path, wanted: dict[str, str]) -> str | None:
    """Add the aliases of ``wanted`` that ``policies/routing.yaml`` lacks (creating the policy with an
    ``offline`` profile when there is none). Comments and layout of an existing policy are kept: the
    new aliases are inserted as text at the end of its ``aliases:`` block. Returns the policy's path
    when it changed."""
    path = root / ROUTING
    text = path.read_text(encoding="utf-8") if path.exists() else None
    have = existing_aliases(text) if text is not None else {}
    missing = {a: m for a, m in wanted.items() if a not in have}
    if not missing:
        return None
    blocks = "".join(alias_block(a, m) for a, m in sorted(missing.items()))
    if text is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(NEW_POLICY.format(aliases=blocks.rstrip("\n")), encoding="utf-8")
        return ROUTING
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^aliases:\s*(#.*)?$", line)), None)
    if start is None:
        raise UsageError(
            f"{ROUTING} has no block-style `aliases:` mapping to add {', '.join(sorted(missing))} to",
            code="E943",
            path=ROUTING,
            hint="add the aliases by hand, or write `aliases:` as a block mapping",
        )
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep blank lines before the next top-level key after the new aliases
    if end > 0 and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines.insert(end, blocks)
    path.write_text("".join(lines), encoding="utf-8")
    return ROUTING
