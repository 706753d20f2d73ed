"""Find literal secrets in repository text. Pure: text in, (line, col, kind) out; values never returned."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .textpos import LineIndex

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
_KEY_WORDS = ("key", "secret", "token", "passw")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


_QUERY_KEY = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|sig|code)=)[^&\s\"']+")
REDACTED = "[REDACTED]"


def scrub(text: str, known: tuple[str, ...] = ()) -> str:
    """``text`` with every literal secret replaced by ``[REDACTED]``: the patterns above, ``key=``
    query parameters (Gemini puts the key in the URL), and each of ``known`` (the values of the
    credential variables in use) of 8 characters or more. For vendor messages shown to clients."""
    for value in sorted((v for v in known if v and len(v) >= 8), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    for _, pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return _QUERY_KEY.sub(lambda match: match.group(1) + REDACTED, text)


@dataclass(frozen=True, order=True)
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
    """Every literal secret in ``text`` (1-based line/col), at most one per line and kind.

    Each pattern scans the whole text once; line numbers are computed only for hits.
    """
    index = LineIndex(text)
    hits: dict[tuple[int, str], int] = {}

    def record(offset: int, kind: str) -> None:
        line, col = index.locate(offset)
        hits.setdefault((line, kind), col)

    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            record(m.start(), kind)
    pattern_lines = {line for line, _ in hits}
    lowered = text.lower()
    if not any(word in lowered for word in _KEY_WORDS):
        return sorted(SecretFinding(line, col, kind) for (line, kind), col in hits.items())
    for m in _KEY_FIELD.finditer(text):
        if m.group(1).lower().endswith("_env") or not _looks_random(m.group(2)):
            continue
        line, _ = index.locate(m.start(2))
        if line not in pattern_lines:
            record(m.start(2), f"key-like value in `{m.group(1)}`")
    return sorted(SecretFinding(line, col, kind) for (line, kind), col in hits.items())
