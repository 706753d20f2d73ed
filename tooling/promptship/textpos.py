"""Offsets in a text → 1-based ``(line, column)``, for reporting findings as ``path:line:col``."""

from __future__ import annotations

import bisect
import re


class LineIndex:
    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def locate(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1
