"""Serving prompts: ``sdk.Client`` (prompt by label, render, PII guard, routed call, tracing),
``prompt_store`` (Langfuse fetches through a TTL cache, bundled files as the last known good) and
``gateway/`` (the OpenAI-compatible HTTP gateway over the SDK)."""

from __future__ import annotations

__all__ = ["gateway", "prompt_store", "sdk"]
