"""Importing this module registers every built-in evaluator."""

from __future__ import annotations

from . import bounds, classification, judge, match, python, structured  # noqa: F401
