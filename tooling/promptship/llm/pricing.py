"""Does LiteLLM know a model's price? Answered from its bundled price map, without importing litellm."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Models promptship serves itself at zero cost.
LOCAL_MODELS = frozenset({"local/smollm2"})


@lru_cache(maxsize=1)
def _price_map() -> dict[str, dict[str, Any]]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "model_prices_and_context_window_backup.json"
    try:
        prices: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return prices
    except (OSError, ValueError):
        return {}


def model_prices(model: str) -> tuple[float, float]:
    """USD per input and output token from LiteLLM's bundled price map (0 when unknown)."""
    prices = _price_map()
    entry = prices.get(model) or prices.get(model.split("/", 1)[-1]) or {}
    return float(entry.get("input_cost_per_token") or 0.0), float(entry.get("output_cost_per_token") or 0.0)


def known_model(model: str) -> bool:
    """True when ``model`` (a LiteLLM model string) has a price without an explicit override."""
    if model in LOCAL_MODELS:
        return True
    prices = _price_map()
    if not prices:
        return True  # cannot tell without litellm installed: do not raise false alarms
    entry: dict[str, Any] = prices.get(model) or prices.get(model.split("/", 1)[-1]) or {}
    return bool(entry) and "input_cost_per_token" in entry
