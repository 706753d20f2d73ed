"""Evaluators: a registry plus built-in families (one module each)."""

from __future__ import annotations

from .registry import EvaluatorDef, Params, Sample, Score, evaluator, get, registry

__all__ = ["EvaluatorDef", "Params", "Sample", "Score", "evaluator", "get", "registry"]
