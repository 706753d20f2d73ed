"""One detected piece of personal data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """``text[start:end]`` is personal data of ``type`` (a name in ``detectors.TYPES``); ``confidence`` in 0–1."""

    start: int
    end: int
    type: str
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 2),
        }
