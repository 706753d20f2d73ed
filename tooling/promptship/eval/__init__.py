"""Evaluation: ``evaluation.evaluate(root, EvalRequest)`` → ``EvalOutcome`` (the library behind
``promptship eval``); ``runner`` (bounded-concurrency evaluation of a suite), ``scoring`` (evaluator
dispatch), ``evaluators/`` (the registry and built-ins; docs/howto-evaluator.md), ``summary``
(per-model aggregates), ``gates`` (absolute gates), ``runs`` (run artifacts)."""

from __future__ import annotations

__all__ = ["evaluation", "evaluators", "gates", "runner", "runs", "scoring", "summary"]
