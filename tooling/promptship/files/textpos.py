"""Offsets in a text → 1-based ``(line, column)``, for reporting findings as ``path:line:col``."""

from __future__ import annotations

import bisect
import re


class LineIndex:
    """Line starts are computed on the first lookup: most texts have nothing to report."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def locate(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self._text))]
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1
