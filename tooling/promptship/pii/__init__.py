"""Korean-first personal-data detection and the block/mask/allow policy."""

from __future__ import annotations

from ..errors import PiiBlockedError
from .detectors import TYPES, detect, mask_value
from .finding import Finding
from .policy import DataGuard, GuardResult, PiiPolicy, guard_data, guard_messages, guard_text

__all__ = [
    "TYPES",
    "DataGuard",
    "Finding",
    "GuardResult",
    "PiiBlockedError",
    "PiiPolicy",
    "detect",
    "guard_data",
    "guard_messages",
    "guard_text",
    "mask_value",
]
