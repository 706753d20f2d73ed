"""Publishing to Langfuse: ``sync/`` (prompts and datasets from Git, plan then apply, per-branch
ledgers) and ``experiments`` (``eval --publish`` as experiment runs)."""

from __future__ import annotations

__all__ = ["experiments", "sync"]
