"""Budget and retry-storm alerts from the gateway to a real loopback webhook receiver: once per
threshold per month across workers and restarts, in the background, never failing a request."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import httpx
import openai
import pytest

from promptship.files.schema.policy import RetryStormLimits
from promptship.llm.retry import ErrorClass, RetryPolicy
from promptship.ops.alerts import GatewayAlerts, storm_exceeded, thresholds_reached
from promptship.ops.webhook import classify_status
from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import MemoryCounters, RedisCounters, month
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM
from ..doubles.redis_server import running_redis
from ..doubles.webhook import WebhookReceiver
from .conftest import KEY, RunningGateway, ask
from .test_gateway_scale import gateway_process, slow_enough

BUDGET = 0.001
#: Spend before the test's calls: just under the 50 % threshold.
SEEDED = 0.00047
FAST = RetryPolicy(attempts=3, backoff_base_s=0.01)


def alerting_app(root: Path, counters: MemoryCounters | RedisCounters, **options: object):
    from promptship.runtime.gateway.state import KeyStore

    client = Client(root, langfuse=False)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    alerts = GatewayAlerts(client.repo.policies.budgets, counters, os.environ, **options)  # type: ignore[arg-type]
    return create_app(client, keys, counters, alerts=alerts)


def budgets(webhook_env: str = "ALERT_HOOK_URL", storm: str = "") -> str:
    return (
        f"projects:\n  reviews: {{monthly_usd: {BUDGET}, alert_thresholds: [0.5, 0.8, 1.0]}}\n"
        f"alerts:\n  webhook_url_env: {webhook_env}\n{storm}"
    )


async def spend_until_refused(urls: list[str], burst: int = 120, concurrency: int = 8) -> list[int]:
    """``burst`` calls ``concurrency`` at a time (spread over ``urls``; some are refused while
    others hold the budget), then one at a time until the budget refuses one; every status."""
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {KEY}", "Connection": "close"}
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(number: int) -> int:
            # distinct requests (ordinary traffic, not a retry storm of identical ones)
            body = {"model": "primary", "messages": [{"role": "user", "content": f"Review: good {number}"}]}
            async with semaphore:
                url = f"{urls[number % len(urls)]}/v1/chat/completions"
                return (await client.post(url, headers=headers, json={**body, "max_tokens": 2})).status_code

        statuses = list(await asyncio.gather(*(one(n) for n in range(burst))))
        for number in range(burst, burst + 400):
            statuses.append(await one(number))
            if statuses[-1] == 429:
                break
    return statuses


def texts(posts: list[dict]) -> list[str]:
    return sorted(post["text"] for post in posts)


def assert_three_budget_alerts(posts: list[dict]) -> None:
    found = texts(posts)
    assert len(found) == 3, found
    assert sum("past its 50 % alert threshold" in t for t in found) == 1
    assert sum("past its 80 % alert threshold" in t for t in found) == 1
    assert sum("reached its $0.001 budget" in t and "calls are refused" in t for t in found) == 1
    for text in found:
        assert "'reviews'" in text and month() in text
        for secret in (KEY, "Review", "sk-test", "127.0.0.1"):
            assert secret not in text


def test_crossing_thresholds_posts_one_webhook_each_and_none_again_after_a_restart(
    repo: Path, fake_llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spend_file = tmp_path / "spend.json"
    slow_enough(repo)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
        (repo / "policies/budgets.yaml").write_text(budgets())
        counters = MemoryCounters(spend_file)
        asyncio.run(counters.add_spend("reviews", SEEDED))
        with RunningGateway(alerting_app(repo, counters)) as running:
            statuses = asyncio.run(spend_until_refused([f"http://127.0.0.1:{running.port}"]))
        # the gateway has stopped: its alerts were delivered before it exited
        assert 429 in statuses and statuses.count(200) > 10
        assert_three_budget_alerts(hook.posts)

        restarted = RunningGateway(alerting_app(repo, MemoryCounters(spend_file)))  # the same month
        with restarted as running, pytest.raises(openai.RateLimitError):
            ask(running.client(), "good 999", max_tokens=2)  # as long as the calls that spent the budget
        assert len(hook.posts) == 3, "a restart in the same month repeats no alert"


def test_two_workers_over_redis_post_each_threshold_once_and_never_after_a_restart(
    repo: Path, fake_llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_enough(repo)
    routing = repo / "policies/routing.yaml"  # no LiteLLM-routed aliases: the workers start faster
    routing.write_text(
        routing.read_text().split("  pool:\n")[0] + "profiles:\n" + routing.read_text().split("profiles:\n")[1]
    )
    with WebhookReceiver() as hook, running_redis(tmp_path) as (redis_url, _):
        monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
        (repo / "policies/budgets.yaml").write_text(budgets())

        async def seed() -> None:
            redis = RedisCounters(redis_url)
            await redis.add_spend("reviews", SEEDED)
            await redis.aclose()

        asyncio.run(seed())
        with gateway_process(repo, redis_url, workers=2) as url:
            statuses = asyncio.run(spend_until_refused([url]))
        assert 429 in statuses and statuses.count(200) > 10
        assert_three_budget_alerts(hook.posts)
        with gateway_process(repo, redis_url) as url:
            response = httpx.post(
                f"{url}/v1/chat/completions",
                headers={"Authorization": f"Bearer {KEY}"},
                json={
                    "model": "primary",
                    "messages": [{"role": "user", "content": "Review: good 999"}],
                    "max_tokens": 2,
                },
                timeout=60,
            )
            assert response.status_code == 429
        assert len(hook.posts) == 3, "a restarted gateway repeats no alert"


def test_a_dead_webhook_never_fails_or_holds_a_request(
    repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (repo / "policies/budgets.yaml").write_text(budgets())
    slow_enough(repo)
    with WebhookReceiver(hang=True) as hook:  # accepts the post, never answers
        monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
        counters = MemoryCounters()
        asyncio.run(counters.add_spend("reviews", 0.6 * BUDGET))
        with RunningGateway(alerting_app(repo, counters, delivery=FAST, drain_s=0.5)) as running:
            client = running.client()
            ask(client, "good", max_tokens=2)  # crosses 50 %: the alert's post hangs
            hook.wait_for(1)
            answers = [ask(client, "good", max_tokens=2) for _ in range(3)]
            assert hook.hanging == 1, "the requests were answered while the webhook still held the alert"
            assert all(a.choices[0].message.content == "positive" for a in answers)
    with caplog.at_level(logging.WARNING, logger="promptship.alerts"):
        monkeypatch.setenv("ALERT_HOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens: refused
        counters = MemoryCounters()
        asyncio.run(counters.add_spend("reviews", 0.6 * BUDGET))
        with RunningGateway(alerting_app(repo, counters, delivery=FAST)) as running:
            assert ask(running.client(), "good", max_tokens=2).choices[0].message.content == "positive"
    logged = caplog.text
    assert "50 % alert threshold" in logged and "not delivered after 3 attempt(s)" in logged
    assert "127.0.0.1:9" not in logged and "/hook" not in logged, "the webhook URL is never logged"


def test_a_webhook_failing_twice_gets_the_alert_on_the_third_post(repo: Path, fake_llm: FakeLLM, monkeypatch) -> None:
    (repo / "policies/budgets.yaml").write_text(budgets())
    slow_enough(repo)
    with WebhookReceiver(fail_first_n=2) as hook:
        monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
        counters = MemoryCounters()
        asyncio.run(counters.add_spend("reviews", 0.6 * BUDGET))
        with RunningGateway(alerting_app(repo, counters, delivery=FAST)) as running:
            ask(running.client(), "good", max_tokens=2)
    assert len(hook.posts) == 3 and len(hook.delivered) == 1 and "50 %" in hook.delivered[0]


def test_a_retry_storm_alerts_once_per_kind_and_window(repo: Path, fake_llm: FakeLLM, monkeypatch) -> None:
    storm = "  retry_storm: {window_s: 3600, max_attempts_per_call: 1.5, min_calls: 3, max_identical_requests: 3}\n"
    (repo / "policies/budgets.yaml").write_text(
        budgets(storm=storm).replace(f"monthly_usd: {BUDGET}", "monthly_usd: 5")
    )
    # every call: primary's attempts (rate limited, Retry-After 0), then the fallback answers
    fake_llm.faults("m-primary", error_429=1.0, retry_after_s=0)
    with WebhookReceiver() as hook:
        monkeypatch.setenv("ALERT_HOOK_URL", hook.url)
        counters = MemoryCounters()
        with RunningGateway(alerting_app(repo, counters, delivery=FAST, clock=lambda: 7200.0)) as running:
            client = running.client()
            for _ in range(8):
                assert ask(client, "good", max_tokens=2).choices[0].message.content == "positive"
    found = texts(hook.posts)
    assert len(found) == 2, found
    attempts = next(t for t in found if "upstream attempts" in t)
    repeats = next(t for t in found if "same request" in t)
    assert "project 'reviews'" in attempts and "limit 1.5" in attempts
    assert "times in a 3600 s window (limit 3)" in repeats and "Review" not in repeats
    assert fake_llm.count() >= 16, "the storm was real: several attempts per call"


def test_alert_decisions() -> None:
    assert thresholds_reached([0.8, 0.5, 1.0], 100.0, 80.0) == [0.5, 0.8]
    assert thresholds_reached([0.5], 100.0, 49.99) == []
    limits = RetryStormLimits(max_attempts_per_call=2.0, min_calls=10)
    assert not storm_exceeded(limits, 9, 100), "too few calls to judge"
    assert not storm_exceeded(limits, 10, 20) and storm_exceeded(limits, 10, 21)
    assert not storm_exceeded(RetryStormLimits(max_attempts_per_call=None), 100, 1000)
    assert classify_status(200, None).ok
    assert classify_status(429, "3").error is ErrorClass.TRANSIENT and classify_status(429, "3").retry_after_s == 3
    assert classify_status(503, None).error is ErrorClass.TRANSIENT
    assert classify_status(404, None).error is ErrorClass.INVALID, "a wrong URL is not retried"
