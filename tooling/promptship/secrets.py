"""Find literal secrets in repository text. Pure: text in, (line, col, kind) out; values never returned."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_\-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Langfuse secret key", re.compile(r"\bsk-lf-[A-Za-z0-9\-]{8,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]
# `api_key: "..."`, "secret": "...", token=... with a long key-like value.
_KEY_FIELD = re.compile(
    r"""(?ix)["']?\b([a-z0-9_\-]*(?:api[_\-]?key|secret|token|password|passwd|access[_\-]?key)[a-z0-9_\-]*)["']?
        \s*[:=]\s*["']?([A-Za-z0-9+/_\-.=]{16,})["']?"""
)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class SecretFinding:
    line: int
    col: int
    kind: str


def _looks_random(value: str) -> bool:
    """A key-like value: mixes character classes and is not an environment-variable name."""
    if _ENV_NAME.match(value):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and len(set(value)) >= 8


def find_secrets(text: str) -> list[SecretFinding]:
    """Every literal secret in ``text`` (1-based line/col), one finding per line at most per kind."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > 10_000:
            line = line[:10_000]
        hits = {kind: m.start() for kind, pattern in _PATTERNS if (m := pattern.search(line))}
        for m in _KEY_FIELD.finditer(line):
            if m.group(1).lower().endswith("_env"):
                continue
            if _looks_random(m.group(2)) and not hits:
                hits[f"key-like value in `{m.group(1)}`"] = m.start(2)
        findings.extend(SecretFinding(number, col + 1, kind) for kind, col in hits.items())
    return findings
