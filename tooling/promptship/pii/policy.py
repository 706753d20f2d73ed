"""The PII policy (``policies/pii.yaml``) and its application to requests: block, mask or allow.

Blocking raises :class:`PiiBlockedError`, whose message lists types and positions, never values.
Masking replaces each value with a typed placeholder (``[PHONE_1]``), the same placeholder for the
same value across all messages of one request; the map back to values lives only in memory on the
:class:`GuardResult`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import PromptshipError
from .detectors import TYPES, Finding, detect

Action = Literal["block", "mask", "allow"]


class PiiPolicy(BaseModel):
    """What to do with each type of personal data before a request leaves the machine."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    default: Action = Field(default="block", description="Action for types not listed in `types`.")
    min_confidence: float = Field(default=0.5, ge=0, le=1, description="Findings below this are ignored.")
    types: dict[str, Action] = Field(default_factory=dict, description="Action per type.")

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: dict[str, Action]) -> dict[str, Action]:
        unknown = sorted(set(types) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown PII type(s) {', '.join(unknown)}; known: {', '.join(TYPES)}")
        return types

    def action(self, pii_type: str) -> Action:
        return self.types.get(pii_type, self.default)


class PiiBlockedError(PromptshipError):
    """A request carried personal data that the policy blocks. Never contains the values."""

    def __init__(self, located: list[tuple[int, Finding]]) -> None:
        self.findings = [f for _, f in located]
        self.types = sorted({f.type for f in self.findings})
        where = ", ".join(f"{f.type} at message {i + 1} chars {f.start}-{f.end}" for i, f in located[:10])
        more = f" and {len(located) - 10} more" if len(located) > 10 else ""
        super().__init__(
            f"blocked by the PII policy: {where}{more}",
            code="E602",
            hint="remove the personal data, or change policies/pii.yaml if this type may be sent (mask or allow)",
        )


@dataclass
class GuardResult:
    masked_messages: list[dict[str, Any]]
    findings: list[tuple[int, Finding]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _values: dict[str, str] = field(default_factory=dict, repr=False)

    def unmask(self, text: str) -> str:
        """Put the original values back into a reply that repeats placeholders (in memory only)."""
        for placeholder, value in self._values.items():
            text = text.replace(placeholder, value)
        return text


def _texts(message: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """(part key, text) pairs of a chat message: its string content or its text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return [(None, content)]
    if isinstance(content, list):
        return [(i, p["text"]) for i, p in enumerate(content) if isinstance(p, dict) and p.get("type") == "text"]
    return []


def guard_messages(messages: list[dict[str, Any]], policy: PiiPolicy) -> GuardResult:
    """Apply ``policy`` to chat messages; raise :class:`PiiBlockedError` if anything is blocked."""
    result = GuardResult(masked_messages=[])
    blocked: list[tuple[int, Finding]] = []
    placeholders: dict[tuple[str, str], str] = {}
    numbering: Counter[str] = Counter()
    for index, message in enumerate(messages):
        new_message = dict(message)
        if isinstance(message.get("content"), list):
            new_message["content"] = [dict(p) if isinstance(p, dict) else p for p in message["content"]]
        for key, text in _texts(message):
            findings = [f for f in detect(text) if f.confidence >= policy.min_confidence]
            pieces, cursor = [], 0
            for finding in findings:
                action = policy.action(finding.type)
                if action == "allow":
                    continue
                result.findings.append((index, finding))
                if action == "block":
                    blocked.append((index, finding))
                    continue
                value = text[finding.start : finding.end]
                placeholder = placeholders.get((finding.type, value))
                if placeholder is None:
                    numbering[finding.type] += 1
                    placeholder = f"[{finding.type.upper()}_{numbering[finding.type]}]"
                    placeholders[(finding.type, value)] = placeholder
                    result._values[placeholder] = value
                result.counts[finding.type] += 1
                pieces += [text[cursor : finding.start], placeholder]
                cursor = finding.end
            masked = "".join(pieces) + text[cursor:]
            if key is None:
                new_message["content"] = masked
            else:
                new_message["content"][key] = {**new_message["content"][key], "text": masked}
        result.masked_messages.append(new_message)
    if blocked:
        raise PiiBlockedError(blocked)
    return result


def guard_text(text: str, policy: PiiPolicy) -> GuardResult:
    return guard_messages([{"role": "user", "content": text}], policy)
