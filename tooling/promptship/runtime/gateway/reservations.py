"""How many output tokens a call's budget reservation assumes.

A reservation is an upper bound of the call's cost, held while it runs so that concurrent calls
cannot all start under the same budget. Taking ``max_tokens`` at face value made it useless: a
client that sets ``max_tokens: 100000`` "just in case" reserved dollars per call and a burst was
refused on a budget almost untouched. The bound used instead is what answers of the alias really
need: twice the longest of its recent answers (at least :data:`FLOOR` tokens), never more than
``max_tokens``; before any answer, :data:`FIRST_GUESS`. A call that writes more than it reserved
is still charged in full when it ends (a budget can end slightly over, never silently under).
"""

from __future__ import annotations

import threading
from collections import deque

#: Output tokens assumed for an alias with no answer seen yet (and no smaller max_tokens).
FIRST_GUESS = 1024
#: The smallest output reservation once answers have been seen.
FLOOR = 256
#: How many recent answers per alias are remembered.
WINDOW = 256


class OutputEstimates:
    """Recent answer lengths per alias → output tokens to reserve (thread-safe)."""

    def __init__(self, headroom: float = 2.0) -> None:
        self._headroom = headroom
        self._seen: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def reserve(self, alias: str, max_tokens: int | None) -> int:
        """Output tokens to reserve for a call to ``alias`` allowed ``max_tokens`` (None: no limit)."""
        with self._lock:
            seen = self._seen.get(alias)
            typical = max(FLOOR, int(max(seen) * self._headroom)) if seen else FIRST_GUESS
        return min(typical, max_tokens) if max_tokens else typical

    def observe(self, alias: str, completion_tokens: int) -> None:
        with self._lock:
            self._seen.setdefault(alias, deque(maxlen=WINDOW)).append(completion_tokens)
