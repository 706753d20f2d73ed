"""Marked-up messages → labelled corpus records, so span offsets are derived, never typed by hand.

A message marks each personal value as ``[[type:value]]``; ``parse`` returns the plain text and the
character spans. ``tests/pii/heldout.txt`` (hand-written) is the source of ``heldout.jsonl``:

    python -m tests.pii.markup          # rewrites tests/pii/heldout.jsonl
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HELDOUT_SOURCE = Path(__file__).with_name("heldout.txt")
HELDOUT = Path(__file__).with_name("heldout.jsonl")

#: Short labels accepted in the markup, mapped to the detector's type names.
ALIASES = {
    "name": "person_name",
    "phone": "phone",
    "account": "bank_account",
    "card": "card_number",
    "rrn": "rrn",
    "email": "email",
    "passport": "passport",
    "license": "driver_license",
    "brn": "business_registration_number",
    "corp": "corporate_registration_number",
    "bizphone": "business_phone",
    "address": "address",
    "ip": "ip_address",
}
_MARK = re.compile(r"\[\[([a-z_]+):([^\[\]]+)\]\]")


def parse(marked: str) -> tuple[str, list[dict[str, object]]]:
    """``"전화 [[phone:010-1234-5678]]"`` → ``("전화 010-1234-5678", [{"type": "phone", "start": 3, "end": 16}])``.

    Raises ``ValueError`` for an unknown type or a stray ``[[`` / ``]]``.
    """
    text, spans, cursor = "", [], 0
    for mark in _MARK.finditer(marked):
        kind = ALIASES.get(mark[1])
        if kind is None:
            raise ValueError(f"unknown type {mark[1]!r} in {marked!r}")
        text += marked[cursor : mark.start()]
        spans.append({"type": kind, "start": len(text), "end": len(text) + len(mark[2])})
        text += mark[2]
        cursor = mark.end()
    text += marked[cursor:]
    if "[[" in text or "]]" in text:
        raise ValueError(f"malformed mark in {marked!r}")
    return text, spans


def records(source: Path = HELDOUT_SOURCE) -> list[dict[str, object]]:
    """One record per message line of ``source`` (``#`` comments and blank lines skipped)."""
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    out = []
    for number, line in enumerate(lines, start=1):
        text, spans = parse(line)
        out.append({"id": f"heldout-{number:03d}", "text": text, "spans": spans})
    return out


def render(items: list[dict[str, object]]) -> str:
    """The JSONL text of ``items``, one compact record per line."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


if __name__ == "__main__":
    HELDOUT.write_text(render(records()), encoding="utf-8")
    print(f"wrote {HELDOUT}")
