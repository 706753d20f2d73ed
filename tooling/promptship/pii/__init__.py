"""Korean-first personal-data detection and the block/mask/allow policy."""

from __future__ import annotations

from .detectors import TYPES, Finding, detect, mask_value
from .policy import GuardResult, PiiBlockedError, PiiPolicy, guard_messages, guard_text

__all__ = [
    "TYPES",
    "Finding",
    "GuardResult",
    "PiiBlockedError",
    "PiiPolicy",
    "detect",
    "guard_messages",
    "guard_text",
    "mask_value",
]
