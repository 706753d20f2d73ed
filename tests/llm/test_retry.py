"""The one retry decision (promptship.llm.retry.decide): pure, so every rule is a literal case."""

from __future__ import annotations

import pytest

from promptship.llm.retry import Action, Decision, ErrorClass, RetryPolicy, backoff, decide

MODEL = RetryPolicy(attempts=3, backoff_base_s=0.5, backoff_cap_s=8.0, max_retry_after_s=30.0)


def test_transient_failures_retry_with_exponential_backoff_then_fall_back() -> None:
    assert decide(MODEL, attempt=1, error=ErrorClass.TRANSIENT) == Decision(Action.RETRY, 0.5)
    assert decide(MODEL, attempt=2, error=ErrorClass.TRANSIENT) == Decision(Action.RETRY, 1.0)
    assert decide(MODEL, attempt=3, error=ErrorClass.TRANSIENT, can_fall_back=True) == Decision(Action.FALL_BACK)
    assert decide(MODEL, attempt=3, error=ErrorClass.TRANSIENT) == Decision(Action.STOP)


def test_backoff_is_capped_and_jitter_scales_only_the_backoff() -> None:
    policy = RetryPolicy(attempts=10, backoff_base_s=0.5, backoff_cap_s=8.0)
    assert backoff(policy, 9) == 8.0
    assert decide(policy, attempt=2, error=ErrorClass.TRANSIENT, jitter=0.5).wait_s == 0.5
    assert decide(policy, attempt=2, error=ErrorClass.TRANSIENT, retry_after_s=3, jitter=0.5).wait_s == 3


@pytest.mark.parametrize("error", [ErrorClass.REFUSED, ErrorClass.DENIED])
def test_refusals_and_denied_credentials_never_retry_the_same_route(error: ErrorClass) -> None:
    assert decide(MODEL, attempt=1, error=error, can_fall_back=True) == Decision(Action.FALL_BACK)
    assert decide(MODEL, attempt=1, error=error) == Decision(Action.STOP)


def test_an_invalid_request_stops_even_with_a_fallback() -> None:
    assert decide(MODEL, attempt=1, error=ErrorClass.INVALID, can_fall_back=True) == Decision(Action.STOP)


def test_retry_after_is_honoured_up_to_the_cap_and_a_longer_one_falls_back() -> None:
    assert decide(MODEL, attempt=1, error=ErrorClass.TRANSIENT, retry_after_s=7) == Decision(Action.RETRY, 7)
    long = {"attempt": 1, "error": ErrorClass.TRANSIENT, "retry_after_s": 120.0}
    assert decide(MODEL, **long, can_fall_back=True) == Decision(Action.FALL_BACK)  # type: ignore[arg-type]
    assert decide(MODEL, **long) == Decision(Action.RETRY, 30.0)  # type: ignore[arg-type]


def test_the_wait_budget_bounds_the_total_time_waited() -> None:
    github = RetryPolicy(attempts=5, backoff_base_s=1.0, backoff_cap_s=60.0, budget_s=180.0)
    assert decide(github, attempt=1, error=ErrorClass.TRANSIENT, retry_after_s=100, waited_s=70) == Decision(
        Action.RETRY, 100
    )
    assert decide(github, attempt=2, error=ErrorClass.TRANSIENT, retry_after_s=100, waited_s=100) == Decision(
        Action.STOP
    )


def test_one_attempt_means_no_retry() -> None:
    assert (
        decide(RetryPolicy(attempts=1, backoff_base_s=1.0), attempt=1, error=ErrorClass.TRANSIENT).action is Action.STOP
    )
