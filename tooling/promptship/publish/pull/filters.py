"""The `--filter` grammar of ``promptship dataset pull`` (pure).

One filter is ``SUBJECT OP VALUE``; several filters must all hold:

- ``SUBJECT``: ``latency`` (seconds, start to end of the generation), ``cost`` (USD),
  ``input_tokens``, ``output_tokens``; ``score`` (any score of the call); any other name is a
  Langfuse score name (``helpfulness``, ``user-feedback``); ``score:NAME`` names a score whose
  name is also a metric's (``score:latency``).
- ``OP``: ``<`` ``<=`` ``>`` ``>=`` ``==`` ``!=``.
- ``VALUE``: a number; ``true``/``false`` (boolean scores, read as 1/0); for ``==``/``!=`` on a
  score, a word (a categorical score's value: ``sentiment==negative``).

A score filter holds when the call has a score of that name (on the generation or on its trace)
and the mean of its values satisfies the comparison (``score``: any one of its scores does); a call
without the score does not pass. A metric the trace lacks does not pass either.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import UsageError

METRICS = ("latency", "cost", "input_tokens", "output_tokens")
ANY_SCORE = "score"
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_FILTER = re.compile(r"^\s*(?P<subject>[^<>=!\s]+)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S.*?)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,200}$")
GRAMMAR = (
    "a filter is SUBJECT OP VALUE: SUBJECT is latency (s), cost (USD), input_tokens, output_tokens, "
    "score (any score), a score name, or score:NAME; OP is < <= > >= == !=; VALUE a number "
    "(true/false for boolean scores; a word with == or != for categorical ones), e.g. 'helpfulness<0.5'"
)


@dataclass(frozen=True)
class Filter:
    """``subject`` is a metric (:data:`METRICS`), :data:`ANY_SCORE`, or a score name (``is_score``)."""

    text: str
    subject: str
    op: str
    value: float | str
    is_score: bool

    def holds(self, metrics: Mapping[str, float | None], scores: Mapping[str, Sequence[float | str]]) -> bool:
        """Whether a call with ``metrics`` (name → value or None) and ``scores`` (name → values) passes."""
        compare = _OPS[self.op]
        if not self.is_score:
            value = metrics.get(self.subject)
            return value is not None and compare(value, self.value)
        if self.subject == ANY_SCORE:
            return any(self._score_holds([value]) for values in scores.values() for value in values)
        values = scores.get(self.subject)
        return values is not None and bool(values) and self._score_holds(list(values))

    def _score_holds(self, values: list[float | str]) -> bool:
        compare = _OPS[self.op]
        if isinstance(self.value, str):
            return (
                any(compare(str(v), self.value) for v in values)
                if self.op == "=="
                else all(compare(str(v), self.value) for v in values)
            )
        numbers = [v for v in values if isinstance(v, int | float)]
        return bool(numbers) and compare(sum(numbers) / len(numbers), self.value)


def parse_filter(text: str) -> Filter:
    """One filter; :class:`UsageError` (E970) naming it and the grammar when it is malformed."""
    match = _FILTER.match(text)
    if match is None:
        single = re.search(r"(?<![<>=!])=(?!=)", text)
        raise _bad(text, "no comparison found" + (" (compare with ==, not =)" if single else ""))
    subject, op, raw = match["subject"], match["op"], match["value"]
    is_score = subject not in METRICS
    if subject.startswith("score:"):
        subject = subject.removeprefix("score:")
        if not subject or subject == ANY_SCORE:
            raise _bad(text, "score: needs a score name")
    if not _NAME.match(subject):
        raise _bad(text, f"{subject!r} is not a metric or a score name")
    value = _number(raw)
    if value is None:
        if not is_score or op not in ("==", "!=") or not _NAME.match(raw):
            raise _bad(text, f"{raw!r} is not a number" + ("" if is_score else f" ({subject} is numeric)"))
        return Filter(text, subject, op, raw, is_score)
    return Filter(text, subject, op, value, is_score)


def parse_filters(texts: Sequence[str]) -> list[Filter]:
    """Every ``--filter``, in order (all must hold)."""
    return [parse_filter(text) for text in texts]


def _number(raw: str) -> float | None:
    if raw in ("true", "false"):
        return 1.0 if raw == "true" else 0.0
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"invalid --filter {text!r}: {why}", code="E970", hint=GRAMMAR)
