"""``promptship dataset pull``: production calls traced in Langfuse back into reviewed dataset files.

``filters`` (the ``--filter`` grammar, pure; ``--since``/``--until`` are ``files/times.py``) ·
``reader`` (Langfuse reads: generations, scores, label versions) · ``items`` (generation → candidate
item: selection, PII policy, stable ids, duplicates; pure) · ``target`` (the dataset file: resolve, append, write
atomically) · ``run`` (:func:`pull_dataset`, the library API the command calls).
"""

from __future__ import annotations

from .filters import GRAMMAR, Filter, parse_filter, parse_filters
from .items import Tally, item_id
from .reader import Generation, TraceReader
from .run import PullRequest, PullResult, pull_dataset

__all__ = [
    "GRAMMAR",
    "Filter",
    "Generation",
    "PullRequest",
    "PullResult",
    "Tally",
    "TraceReader",
    "item_id",
    "parse_filter",
    "parse_filters",
    "pull_dataset",
]
