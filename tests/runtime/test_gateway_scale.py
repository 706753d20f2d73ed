"""The gateway scaled out: real `promptship gateway` processes (uvicorn workers and a replica) over
one real Redis and the fake LLM, hammered by concurrent clients near a small budget."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promptship.runtime.gateway.state import Claim, MemoryCounters, RedisCounters, key_digest

from ..doubles.fake_llm import FakeLLM
from ..doubles.redis_server import running_redis
from ..eval.test_eval import SENTIMENT, make_repo
from .conftest import KEY, free_port

#: One call's cost ceiling with max_tokens=2 is ~$0.00015 (every request character priced as an
#: input token at the priciest route); its real cost ~$0.000011. Room for a few calls at a time.
BUDGET = 0.0005


@pytest.fixture
def plain_repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The eval fixture's repository (direct-path aliases only, so no worker imports LiteLLM)."""
    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    monkeypatch.setenv("GW_REVIEWS_SHA256", key_digest(KEY))
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST"):
        monkeypatch.delenv(name, raising=False)
    root = make_repo(tmp_path / "repo", items=1)
    (root / "policies/credentials.yaml").write_text(
        "mode: production\nprojects:\n  reviews: {gateway_key_sha256_env: GW_REVIEWS_SHA256}\n"
    )
    (root / "policies/budgets.yaml").write_text(f"projects:\n  reviews: {{monthly_usd: {BUDGET}}}\n")
    slow_enough(root)
    return root


def slow_enough(root: Path) -> None:
    """primary's 0.5 s timeout becomes 10 s: under CPU load a timed-out attempt is retried (and
    billed), which would be a second upstream call for one key that these tests do not mean."""
    routing = root / "policies/routing.yaml"
    routing.write_text(routing.read_text().replace("timeout_s: 0.5", "timeout_s: 10", 1))


@contextlib.contextmanager
def gateway_process(root: Path, redis_url: str, workers: int = 1) -> Iterator[str]:
    """``promptship gateway [--workers N]`` in a subprocess sharing ``redis_url``; yields its base URL once ready."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "promptship"), "--root", str(root), "gateway", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        [*command, "--access-log", "off"],
        env={**os.environ, "REDIS_URL": redis_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            process.kill()
            raise AssertionError(f"the gateway did not come up: {process.communicate(timeout=10)[1].decode()[-2000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def hammer(urls: list[str], keys: int, copies: int, concurrency: int) -> list[tuple[int, str, dict]]:
    """Each of ``keys`` idempotency keys sent ``copies`` times, spread over ``urls``, ``concurrency``
    at a time, on fresh connections (so uvicorn workers share them out); (key, status, body) each."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, number: int) -> tuple[int, str, dict]:
        key = number // copies
        async with semaphore:
            response = await client.post(
                f"{urls[number % len(urls)]}/v1/chat/completions",
                headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": f"k{key}", "Connection": "close"},
                json={
                    "model": "primary",
                    "messages": [{"role": "user", "content": f"Review: good #{key}"}],
                    "max_tokens": 2,
                },
            )
        body = response.json()
        return key, str(response.status_code), body

    async with httpx.AsyncClient(timeout=60) as client:
        return list(await asyncio.gather(*(one(client, n) for n in range(keys * copies))))


def test_workers_and_replicas_never_pass_the_budget_nor_call_upstream_twice_per_key(
    plain_repo: Path, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    """Two uvicorn workers and a replica behind two addresses share one Redis: the budget is
    reserved atomically (settled + in flight + this call's ceiling within the limit), so however
    the calls interleave the month's spend never ends above it; every copy of a request with an
    Idempotency-Key gets the one answer of one upstream call. Before, a call was let in whenever
    spend was below the budget and could end above it."""
    with running_redis(tmp_path) as (redis_url, _):
        with (
            gateway_process(plain_repo, redis_url, workers=2) as workers,
            gateway_process(plain_repo, redis_url) as replica,
        ):
            urls = [workers, workers, replica]
            results = asyncio.run(hammer(urls, keys=60, copies=3, concurrency=24))
            # then one call at a time until refused: the budget is used up to less than one ceiling
            with httpx.Client(timeout=60) as client:
                for number in range(200):
                    response = client.post(
                        f"{urls[number % 3]}/v1/chat/completions",
                        headers={"Authorization": f"Bearer {KEY}"},
                        json={
                            "model": "primary",
                            "messages": [{"role": "user", "content": "Review: good"}],
                            "max_tokens": 2,
                        },
                    )
                    if response.status_code != 200:
                        break
            assert response.status_code == 429 and response.json()["error"]["code"] == "budget_exceeded"

        async def totals() -> tuple[float, float]:
            redis = RedisCounters(redis_url)
            try:
                return await redis.spent("reviews"), await redis.held("reviews")
            finally:
                await redis.aclose()

        spent, held = asyncio.run(totals())

    answers = {body["id"]: body for _, status, body in results if status == "200"}
    by_key: dict[int, set[str]] = {}
    for key, status, body in results:
        if status == "200":
            by_key.setdefault(key, set()).add(body["id"])
    refused = [body["error"]["code"] for _, status, body in results if status == "429"]
    upstream = Counter(received.messages[-1]["content"] for received in fake_llm.journal)
    keyed = {text: n for text, n in upstream.items() if "#" in text}

    assert answers and refused and set(refused) <= {"budget_exceeded", "budget_in_use"}, "the burst met the budget"
    assert all(len(ids) == 1 for ids in by_key.values()), "every copy of a key got the same answer"
    assert max(keyed.values()) == 1 and len(keyed) == len(by_key), "one upstream call per idempotency key"
    assert spent <= BUDGET, f"spent {spent} of a {BUDGET} budget"
    assert BUDGET - spent < 0.0002, "refused only when less than one call's ceiling was left"
    assert held == 0, "every reservation was settled or released"
    assert fake_llm.count() == upstream.total()
    keyed_cost = sum(body["promptship"]["cost_usd"] for body in answers.values())
    assert keyed_cost <= spent + 1e-12, "what the answers cost is all in the spend"


def test_more_workers_without_redis_are_refused_with_the_fix(run_cli, plain_repo: Path, monkeypatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    result = run_cli("--root", str(plain_repo), "gateway", "--workers", "2")
    assert result.code == 2 and "E990" in result.err and "REDIS_URL" in result.err and "Traceback" not in result.err


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryCounters | RedisCounters]:
    if request.param == "memory":
        yield MemoryCounters(tmp_path / "spend.json")
    else:
        with running_redis(tmp_path) as (url, _):
            yield RedisCounters(url)


def test_reservations_hold_budget_until_settled_released_or_expired(counters: MemoryCounters | RedisCounters) -> None:
    """The same contract in process and in Redis: check-and-reserve is all or nothing; a
    reservation of a worker that died stops holding budget when it expires; only a claim's
    owner can release it."""

    async def scenario() -> None:
        first = await counters.reserve("p", "2026-11", "a", 0.6, 1.0, 600)
        assert first.granted and (first.spent_usd, first.held_usd) == (0.0, 0.0)
        refused = await counters.reserve("p", "2026-11", "b", 0.5, 1.0, 600)
        assert not refused.granted and refused.held_usd == pytest.approx(0.6)
        assert (await counters.reserve("p", "2026-11", "b", 0.4, 1.0, 600)).granted, "exactly at the limit"
        assert await counters.settle("p", "2026-11", "a", 0.1) == pytest.approx(0.1)
        assert await counters.held("p", "2026-11") == pytest.approx(0.4)
        await counters.release_reservation("p", "2026-11", "b")
        assert await counters.held("p", "2026-11") == 0
        assert (await counters.reserve("p", "2026-11", "crashed", 0.9, 1.0, 1)).granted
        assert not (await counters.reserve("p", "2026-11", "c", 0.5, 1.0, 600)).granted
        await asyncio.sleep(1.2)  # the crashed worker's reservation expires
        assert (await counters.reserve("p", "2026-11", "c", 0.5, 1.0, 600)).granted
        assert (await counters.reserve("q", "2026-11", "d", 5.0, None, 600)).granted, "no limit"

        owner = await counters.claim("key", "f", 600)
        assert owner.state == "owner" and owner.token
        await counters.release("key", "someone else's token")
        assert (await counters.claim("key", "f", 600)).state == "pending", "only the owner releases"
        await counters.release("key", owner.token)
        assert (await counters.claim("key", "f", 600)).state == "owner"

        assert await counters.mark("alert", 60) and not await counters.mark("alert", 60)
        assert [await counters.count("n", 2, 60), await counters.count("n", 1, 60)] == [2, 3]
        await counters.aclose()

    asyncio.run(scenario())
    assert isinstance(Claim("pending"), Claim)


def test_in_process_reservations_and_marks_survive_a_restart(tmp_path: Path) -> None:
    spend_file = tmp_path / "spend.json"

    async def before() -> None:
        counters = MemoryCounters(spend_file)
        assert (await counters.reserve("p", "2099-01", "in-flight", 0.7, 1.0, 600)).granted
        await counters.settle("p", "2099-01", None, 0.2)
        assert await counters.mark("p:2099-01:0.5", 3600)
        await counters.aclose()  # the process ends with a call in flight

    async def after() -> tuple[bool, bool, float]:
        counters = MemoryCounters(spend_file)
        room = (await counters.reserve("p", "2099-01", "new", 0.2, 1.0, 600)).granted
        return room, await counters.mark("p:2099-01:0.5", 3600), await counters.spent("p", "2099-01")

    asyncio.run(before())
    assert asyncio.run(after()) == (False, False, pytest.approx(0.2))
