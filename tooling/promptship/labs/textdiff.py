"""Word-level difference of two texts, as segments a template renders (pure; escaping is the template's)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

#: Words and the whitespace between them, so joining the tokens gives back the text exactly.
_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    kind: Literal["same", "added", "removed"]
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(base: str, head: str) -> list[Segment]:
    """Segments that turn ``base`` into ``head``: ``same`` text, ``removed`` (only in base) and
    ``added`` (only in head). The ``same`` and ``removed`` texts join to ``base``; ``same`` and
    ``added`` join to ``head``."""
    a, b = tokens(base), tokens(head)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("removed", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("added", "".join(b[j1:j2])))
    return segments
