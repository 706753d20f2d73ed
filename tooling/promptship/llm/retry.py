"""The one retry policy: a small pure decision, "retry, fall back or stop", shared by model calls
(``llm.routing``), the GitHub client (``report.github``) and the Langfuse client
(``publish.sync.store``). Each caller classifies its own failure into an :class:`ErrorClass`, asks
:func:`decide`, and sleeps / moves on / raises; nothing here sleeps, reads a clock or draws a
random number (``jitter`` is passed in), so every rule is a unit test with literal inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """What a failure says about sending the same request again."""

    #: May succeed if sent again: 5xx, timeouts, dropped connections, rate limits.
    TRANSIENT = "transient"
    #: The content was refused (a content filter): another route may answer, the same one will not.
    REFUSED = "refused"
    #: The credentials were refused (401/403): another route may answer, the same one will not.
    DENIED = "denied"
    #: The request itself is wrong (another 4xx): it would fail anywhere.
    INVALID = "invalid"


class Action(StrEnum):
    RETRY = "retry"  # send again on the same route after ``wait_s``
    FALL_BACK = "fall back"  # move to the next route (alias fallback)
    STOP = "stop"  # give up: raise the last failure


@dataclass(frozen=True)
class RetryPolicy:
    """How patient one caller is. Times are seconds.

    ``attempts`` counts every send on one route (the first included). A wait is the server's
    Retry-After (capped at ``max_retry_after_s``: a longer one falls back, or stops when there is no
    fallback and it exceeds the budget), else ``backoff_base_s * 2**(attempt-1)`` capped at
    ``backoff_cap_s`` and multiplied by ``jitter``. ``budget_s`` bounds the total time waited.
    """

    attempts: int
    backoff_base_s: float
    backoff_cap_s: float = math.inf
    max_retry_after_s: float = math.inf
    budget_s: float = math.inf


@dataclass(frozen=True)
class Decision:
    action: Action
    #: Seconds to wait before the retry (0 unless ``action`` is RETRY).
    wait_s: float = 0.0


def backoff(policy: RetryPolicy, attempt: int, jitter: float = 1.0) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) when the server named no time."""
    return min(policy.backoff_cap_s, policy.backoff_base_s * 2.0 ** (attempt - 1)) * jitter


def decide(
    policy: RetryPolicy,
    *,
    attempt: int,
    error: ErrorClass,
    retry_after_s: float | None = None,
    waited_s: float = 0.0,
    can_fall_back: bool = False,
    jitter: float = 1.0,
) -> Decision:
    """What to do after failed attempt number ``attempt`` (1-based) on the current route.

    ``waited_s``: time already spent waiting for this request; ``can_fall_back``: another route is
    left (for a REFUSED error: a content-policy fallback). ``jitter`` (0.5–1.0 for model calls) scales
    the exponential backoff, never a server's Retry-After.

    - INVALID stops; REFUSED and DENIED fall back (or stop): the same route would answer the same.
    - TRANSIENT retries until ``attempts`` are used, then falls back (or stops). A Retry-After
      longer than ``max_retry_after_s`` falls back at once when it can (a fallback answers sooner),
      else the wait is capped. A wait that would overrun ``budget_s`` falls back or stops.
    """
    move_on = Decision(Action.FALL_BACK if can_fall_back else Action.STOP)
    if error is ErrorClass.INVALID:
        return Decision(Action.STOP)
    if error is not ErrorClass.TRANSIENT or attempt >= policy.attempts:
        return move_on
    if retry_after_s is not None:
        if retry_after_s > policy.max_retry_after_s and can_fall_back:
            return move_on
        wait = min(retry_after_s, policy.max_retry_after_s)
    else:
        wait = backoff(policy, attempt, jitter)
    if waited_s + wait > policy.budget_s:
        return move_on
    return Decision(Action.RETRY, wait)
