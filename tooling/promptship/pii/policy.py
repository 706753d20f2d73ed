"""The PII policy (``policies/pii.yaml``) and its application to requests: block, mask or allow.

Blocking raises :class:`PiiBlockedError`, whose message lists types and positions, never values.
Masking replaces each value with a typed placeholder (``[PHONE_1]``), the same placeholder for the
same value across all messages of one request; the map back to values lives only in memory on the
:class:`GuardResult`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import MalformedMessageError, PiiBlockedError
from .detectors import COMPANY_TYPES, TYPES, detect
from .finding import Finding

Action = Literal["block", "mask", "allow"]


class PiiPolicy(BaseModel):
    """What to do with each type of personal data before a request leaves the machine."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    default: Action = Field(
        default="block",
        description="Action for types not listed in `types` (company types — business_phone, "
        "corporate_registration_number — are allowed unless listed).",
    )
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
        """The policy's action for ``pii_type``: its entry under ``types``, else ``allow`` for a type that
        identifies a company (``COMPANY_TYPES``), else ``default``."""
        return self.types.get(pii_type, "allow" if pii_type in COMPANY_TYPES else self.default)


@dataclass
class GuardResult:
    masked_messages: list[dict[str, Any]]
    findings: list[tuple[int, Finding]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _values: dict[str, str] = field(default_factory=dict, repr=False)
    #: ``variables`` given to :func:`guard_messages`, every value the policy does not allow (blocked
    #: types too) replaced by its placeholder — what may be recorded about the request (traces).
    masked_variables: dict[str, Any] | None = None

    def unmask(self, text: str) -> str:
        """Put the original values back into a reply that repeats placeholders (in memory only)."""
        for placeholder, value in self._values.items():
            text = text.replace(placeholder, value)
        return text


#: Content-part types whose text sits under a known key; that key must hold a string.
TEXT_PARTS = {"text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal"}
#: Keys whose values are identifiers or enums a vendor does not read as text.
STRUCTURAL_KEYS = frozenset({"role", "type", "id", "tool_call_id", "detail", "format"})
#: Keys holding base64 payloads (audio, files): binary, not text.
BINARY_KEYS = frozenset({"data", "file_data"})
#: A placeholder the masker writes (``[PHONE_1]``, ``[PERSON_NAME_2]``): group 1 is the type.
PLACEHOLDER = re.compile(r"\[([A-Z][A-Z_]*)_[0-9]+\]")


def _check_shape(index: int, message: Any) -> None:
    """Raise :class:`MalformedMessageError` for a message whose text the guard could miss."""
    where = f"message {index + 1}"
    if not isinstance(message, Mapping):
        raise MalformedMessageError(f"{where} is not an object")
    content = message.get("content")
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise MalformedMessageError(f"{where}: content must be a string or a list of parts")
    for number, part in enumerate(content):
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise MalformedMessageError(f"{where}: content[{number}] is not a part with a 'type'")
        key = TEXT_PARTS.get(part["type"])
        if key is not None and not isinstance(part.get(key), str):
            raise MalformedMessageError(f"{where}: content[{number}] of type {part['type']!r} has no string {key!r}")


def _after_label(text: str, label: str) -> list[Finding]:
    """The findings in ``text`` read as the value of a field named ``label`` (``label: text``); a label
    that is not a short one-line name adds nothing."""
    if len(label) > 40 or "\n" in label or not label.strip():
        return detect(text)
    prefix = f"{label}: "
    shift = len(prefix)
    return [
        Finding(f.start - shift, f.end - shift, f.type, f.confidence) for f in detect(prefix + text) if f.start >= shift
    ]


@dataclass
class _Masker:
    """Applies the policy to every string of a request, numbering placeholders across messages."""

    policy: PiiPolicy
    result: GuardResult
    blocked: list[tuple[str, Finding]] = field(default_factory=list)
    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    numbering: Counter[str] = field(default_factory=Counter)
    #: Data mode (:func:`guard_data`, traced variables): every key is read, blocked values become
    #: placeholders too and are counted here instead of blocking.
    data: bool = False
    blocked_in_data: Counter[str] = field(default_factory=Counter)
    masked_in_data: Counter[str] = field(default_factory=Counter)
    #: Data mode: types masked although the policy allows them (``mask_allowed``).
    mask_allowed: bool = False

    def walk(self, value: Any, index: int, path: str, key: str | None = None) -> Any:
        """``value`` with every string a vendor would read masked (a copy; the input is not modified).

        Data mode: keys are masked like values, and a string is read after its key as a field label
        (``"customer_name": "김도현"`` is a name where a bare ``김도현`` has no cue)."""
        if isinstance(value, str):
            if value.startswith("data:") and not self.data:
                return value
            return self.text(value, index, path, label=key if self.data else None)
        if isinstance(value, Mapping) and self.data:
            return {
                (self.text(key, index, f"{path}.{key}") if isinstance(key, str) else key): self.walk(
                    item, index, f"{path}.{key}", key if isinstance(key, str) else None
                )
                for key, item in value.items()
            }
        if isinstance(value, Mapping):
            return {
                key: item
                if not self.data and (key in STRUCTURAL_KEYS or key in BINARY_KEYS)
                else self.walk(item, index, f"{path}.{key}")
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.walk(item, index, f"{path}[{number}]") for number, item in enumerate(value)]
        return value

    def text(self, text: str, index: int, path: str, label: str | None = None) -> str:
        place = f"message {index + 1}" + ("" if path == ".content" else f" {path.lstrip('.')}")
        if self.data:
            for match in PLACEHOLDER.finditer(text):  # masked earlier (a trace): a blocked type still blocks
                pii_type = match.group(1).lower()
                if pii_type in TYPES and self.policy.action(pii_type) == "block":
                    self.blocked_in_data[pii_type] += 1
        pieces, cursor = [], 0
        found = detect(text) if label is None else _after_label(text, label)
        for finding in (f for f in found if f.confidence >= self.policy.min_confidence):
            action = self.policy.action(finding.type)
            if action == "allow" and not self.mask_allowed:
                continue
            if self.data:
                (self.blocked_in_data if action == "block" else self.masked_in_data)[finding.type] += 1
            else:
                self.result.findings.append((index, finding))
                if action == "block":
                    self.blocked.append((place, finding))
                    continue
                self.result.counts[finding.type] += 1
            pieces += [text[cursor : finding.start], self.placeholder(finding.type, text[finding.start : finding.end])]
            cursor = finding.end
        return "".join(pieces) + text[cursor:] if pieces else text

    def placeholder(self, pii_type: str, value: str) -> str:
        placeholder = self.placeholders.get((pii_type, value))
        if placeholder is None:
            self.numbering[pii_type] += 1
            placeholder = f"[{pii_type.upper()}_{self.numbering[pii_type]}]"
            self.placeholders[(pii_type, value)] = placeholder
            self.result._values[placeholder] = value
        return placeholder


def guard_messages(
    messages: list[dict[str, Any]], policy: PiiPolicy, *, variables: Mapping[str, Any] | None = None
) -> GuardResult:
    """Apply ``policy`` to every string of chat messages a vendor would read: content strings and
    text parts, names, tool-call arguments, anything nested (image URLs too; inline ``data:`` URLs and
    base64 payloads are binary and not scanned).

    ``variables`` (the prompt variables the messages were rendered from) come back as
    ``masked_variables``: every value the policy does not allow replaced by the placeholder the
    messages use for it (a blocked type too: a variable the template does not render never blocks).

    Raises :class:`MalformedMessageError` for a message whose text could slip past the scan, and
    :class:`PiiBlockedError` if anything is blocked. The input is not modified.
    """
    if not isinstance(messages, list):
        raise MalformedMessageError("messages must be a list")
    for index, message in enumerate(messages):
        _check_shape(index, message)
    masker = _Masker(policy, GuardResult(masked_messages=[]))
    for index, message in enumerate(messages):
        masker.result.masked_messages.append(masker.walk(message, index, ""))
    if masker.blocked:
        raise PiiBlockedError(masker.blocked)
    if variables is not None:
        masker.data = True
        masker.result.masked_variables = masker.walk(dict(variables), len(messages), "variables")
    return masker.result


def _strings(value: Any) -> Iterator[str]:
    """Every string in JSON-like ``value``, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class DataGuard:
    """JSON-like data after the policy (:func:`guard_data`).

    ``value``: a copy in which every value the policy does not allow is its placeholder (``[PHONE_1]``;
    the same value, the same placeholder). ``blocked``: type → values of blocked types found (a
    placeholder of a blocked type, left by an earlier mask, counts too); ``masked``: type → values masked.
    """

    value: Any
    blocked: Counter[str]
    masked: Counter[str]


def guard_data(values: list[Any], policy: PiiPolicy, *, mask_allowed: bool = False) -> list[DataGuard]:
    """Apply ``policy`` to every string of each of ``values`` (dicts, lists, strings, numbers; every
    key is read, ``data:`` URLs too), numbering placeholders across all of them. Never raises for
    personal data: the caller decides what a blocked type means (``dataset pull`` drops the item).

    ``mask_allowed``: mask the types the policy allows as well (company phones and registration
    numbers), for files that ``validate`` checks for any personal data at all.
    """
    masker = _Masker(policy, GuardResult(masked_messages=[]), data=True, mask_allowed=mask_allowed)
    for text in _strings(values):  # placeholders already there (a masked trace) keep their numbers
        for match in PLACEHOLDER.finditer(text):
            number = int(match.group(0)[len(match.group(1)) + 2 : -1])
            pii_type = match.group(1).lower()
            masker.numbering[pii_type] = max(masker.numbering[pii_type], number)
    guarded = []
    for index, value in enumerate(values):
        before_blocked, before_masked = Counter(masker.blocked_in_data), Counter(masker.masked_in_data)
        masked = masker.walk(value, index, "")
        guarded.append(
            DataGuard(masked, masker.blocked_in_data - before_blocked, masker.masked_in_data - before_masked)
        )
    return guarded


def guard_text(text: str, policy: PiiPolicy) -> GuardResult:
    return guard_messages([{"role": "user", "content": text}], policy)
