"""Other tools' prompt files in and out of a promptship repository (GitHub Models, Prompty).

Importers turn one foreign file into promptship files (prompt, dataset, suite) plus the model aliases
they need; exporters do the reverse. Neither drops anything silently: every field that promptship
cannot represent (or the other format cannot) is listed in ``lossy`` with what happened to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...errors import UsageError

#: ``{{ name }}`` placeholders (the only template syntax of GitHub Models and Prompty's mustache mode).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: Jinja2 constructs beyond plain ``{{ name }}`` substitution.
JINJA_BEYOND_NAMES = re.compile(r"\{%|\{#|\{\{(?!\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})")


@dataclass
class Conversion:
    """What an import produces: files to write (relative path → text), aliases to add to the routing
    policy (alias → LiteLLM model string), and every lossy conversion, as sentences."""

    files: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    lossy: list[str] = field(default_factory=list)


def slug(text: str, *, fallback: str = "imported") -> str:
    """``"Text Summarizer"`` → ``"text-summarizer"`` (lowercase, digits, ``-``; never empty)."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:64].strip("-") or fallback


def alias_for(model: str) -> str:
    """Routing alias for a vendor model id: ``openai/gpt-4o-mini`` → ``gpt-4o-mini``."""
    return slug(model.rsplit("/", 1)[-1], fallback="model")


def litellm_model(model: str) -> str:
    """LiteLLM model string for a GitHub Models model id: OpenAI's models (``openai/gpt-4o-mini``,
    or without a publisher) at OpenAI; other publishers' through GitHub Models (``github/NAME``)."""
    publisher, _, name = model.rpartition("/")
    return f"openai/{name}" if publisher in ("", "openai") else f"github/{name}"


def template_variables(*templates: str) -> list[str]:
    """Names used as ``{{ name }}`` in ``templates``, in first-use order."""
    return list(dict.fromkeys(m.group(1) for t in templates for m in PLACEHOLDER.finditer(t)))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any, header: str = "") -> str:
    """YAML text for ``data``: keys in the given order, multi-line strings as ``|`` blocks."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    return header + body


def schema_header(kind: str, depth: int, source: str) -> str:
    """The ``$schema`` comment for a file ``depth`` folders below the root, and where it came from."""
    return f"# yaml-language-server: $schema={'../' * depth}schemas/{kind}.schema.json\n# {source}\n"


def write_conversion(root: Path, conversion: Conversion) -> list[str]:
    """Write ``conversion``'s files under ``root`` and add its aliases to ``policies/routing.yaml``.

    All or nothing: when any file exists, :class:`UsageError` (E942) and nothing is written.
    Returns the paths written (and the routing policy, when it changed).
    """
    from .aliases import add_aliases

    clashes = sorted(p for p in conversion.files if (root / p).exists())
    if clashes:
        raise UsageError(
            f"{len(clashes)} file(s) already exist: {', '.join(clashes[:5])}; nothing was written",
            code="E942",
            hint="import never overwrites: move them away, or pass --name to import under another name",
        )
    routing = add_aliases(root, conversion.aliases)
    written = []
    for path, text in conversion.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(path)
    if routing:
        written.append(routing)
    return written
