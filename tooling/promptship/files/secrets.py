"""Find literal secrets in repository text. Pure: text in, (line, col, kind) out; values never returned.

The rules are detect-secrets' curated detectors (Yelp's maintained rule set: GitHub, GitLab, Slack
tokens and webhooks, Stripe, JWTs, basic-auth URLs, private keys, AWS, npm, PyPI, SendGrid,
Twilio, ...), used for their patterns and their own false-positive checks, plus a few rules it lacks:
LLM vendor keys (OpenAI/Anthropic ``sk-``, Google ``AIza``, Langfuse ``sk-lf-``), GitHub fine-grained
tokens (``github_pat_``), bare AWS secret access keys (40 random base64 characters), and
``api_key: <random value>`` fields. Its entropy and keyword detectors are left out: on prompts and
datasets they flag ordinary text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any

from .textpos import LineIndex

#: detect-secrets detectors used (module, class). Each knows its patterns and verifies its matches.
DETECTORS = (
    ("artifactory", "ArtifactoryDetector"),
    ("aws", "AWSKeyDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"),
    ("private_key", "PrivateKeyDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)

_OWN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_\-]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("Langfuse secret key", re.compile(r"\bsk-lf-[A-Za-z0-9\-]{8,}")),
]
#: A run of base64 characters; one of exactly 40 without padding has the shape of an AWS secret
#: access key (matching whole runs keeps the scan linear).
_BASE64_RUN = re.compile(r"[A-Za-z0-9/+=]{40,}")
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
    for pattern in [*(p for _, p in _OWN_PATTERNS), *(p for d in _detectors() for p in d.denylist)]:
        text = pattern.sub(REDACTED, text)
    return _QUERY_KEY.sub(lambda match: match.group(1) + REDACTED, text)


@dataclass(frozen=True, order=True)
class SecretFinding:
    line: int
    col: int
    kind: str


@lru_cache(maxsize=1)
def _detectors() -> list[Any]:
    """The detect-secrets plugins of :data:`DETECTORS`, imported on first use."""
    return [getattr(import_module(f"detect_secrets.plugins.{module}"), name)() for module, name in DETECTORS]


def _detector_hits(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, kind)`` of every match a detect-secrets detector confirms."""
    for detector in _detectors():
        for pattern in detector.denylist:
            for match in pattern.finditer(text):
                if any(True for _ in detector.analyze_string(match.group(0))):
                    yield match.start(), detector.secret_type


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(value: str) -> bool:
    """A key-like value: mixes character classes and is not an environment-variable name."""
    if _ENV_NAME.match(value):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and len(set(value)) >= 8


def _bare_aws_secret(value: str) -> bool:
    """40 characters of all three classes, with the entropy of random base64 (not a hex sha, not a word run)."""
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes == 3 and _entropy(value) > 4.3


def find_secrets(text: str) -> list[SecretFinding]:
    """Every literal secret in ``text`` (1-based line/col), at most one per line and kind.

    Each pattern scans the whole text once; line numbers are computed only for hits.
    """
    index = LineIndex(text)
    hits: dict[tuple[int, str], int] = {}

    def record(offset: int, kind: str) -> None:
        line, col = index.locate(offset)
        hits.setdefault((line, kind), col)

    for offset, kind in _detector_hits(text):
        record(offset, kind)
    for kind, pattern in _OWN_PATTERNS:
        for m in pattern.finditer(text):
            record(m.start(), kind)
    pattern_lines = {line for line, _ in hits}
    for m in _BASE64_RUN.finditer(text):
        if len(m.group(0)) != 40 or "=" in m.group(0):
            continue
        if _bare_aws_secret(m.group(0)) and index.locate(m.start())[0] not in pattern_lines:
            record(m.start(), "AWS secret access key")
    lowered = text.lower()
    if any(word in lowered for word in _KEY_WORDS):
        pattern_lines = {line for line, _ in hits}
        for m in _KEY_FIELD.finditer(text):
            if m.group(1).lower().endswith("_env") or not _looks_random(m.group(2)):
                continue
            line, _ = index.locate(m.start(2))
            if line not in pattern_lines:
                record(m.start(2), f"key-like value in `{m.group(1)}`")
    return sorted(SecretFinding(line, col, kind) for (line, kind), col in hits.items())
