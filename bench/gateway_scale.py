"""Gateway scale-out: requests per second at 1, 2 and 4 uvicorn workers sharing one Redis (and one
in-process worker for reference), then a small budget hammered concurrently across 4 workers:
the spend must end within the budget, equal to what the answers cost, with one upstream call per
answer and one per idempotency key.

The fake LLM answers at once (0 ms) from its own process for the throughput part, so the figures
are the gateway's own cost per request; on a 2-core machine 4 workers share the cores with the
fake server and the load generator, so do not expect linear scaling there.

    python bench/gateway_scale.py [--requests 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from gateway_faults import KEY, start_gateway  # noqa: E402
from runner_throughput import make_repo, start_server  # noqa: E402
from tests.doubles.fake_llm import FakeLLM  # noqa: E402
from tests.doubles.redis_server import running_redis  # noqa: E402

TIGHT_KEY = "bench-tight-key"
#: The tight project's budget: room for ~150 calls of ~$0.000011 (ceiling ~$0.00005 each).
TIGHT_BUDGET = 0.0015


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def throughput(url: str, count: int, concurrency: int) -> float:
    """Requests per second for ``count`` distinct chat calls, ``concurrency`` at a time."""
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(i: int) -> None:
            async with semaphore:
                body = {"model": "bench", "messages": [{"role": "user", "content": f"Echo item {i}"}]}
                response = await client.post(f"{url}/chat/completions", headers=headers, json=body)
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(min(200, count))))  # warm-up: connections, estimates
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


async def hammer(url: str, keys: int, copies: int, concurrency: int) -> list[tuple[int, int, dict]]:
    """``keys`` idempotency keys sent ``copies`` times each, on fresh connections (spread over the
    workers), then one call at a time until refused; (key or -1, status, body) each."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(key: int, idempotency: bool) -> tuple[int, int, dict]:
            headers = {"Authorization": f"Bearer {TIGHT_KEY}", "Connection": "close"}
            if idempotency:
                headers["Idempotency-Key"] = f"k{key}"
            body = {"model": "bench", "messages": [{"role": "user", "content": f"Echo key {key}"}], "max_tokens": 4}
            async with semaphore:
                response = await client.post(f"{url}/chat/completions", headers=headers, json=body)
            return key, response.status_code, response.json()

        results = list(await asyncio.gather(*(one(n // copies, True) for n in range(keys * copies))))
        for n in range(1000):
            results.append(await one(100_000 + n, False))
            if results[-1][1] != 200:
                break
        return results


def budget_check(root: Path, redis_url: str, workers: int, concurrency: int) -> None:
    from promptship.runtime.gateway.state import RedisCounters

    llm = FakeLLM().start()
    gateway = None
    try:
        gateway, url = start_gateway(root, llm.base_url, workers=workers, redis_url=redis_url, port=free_port())
        results = asyncio.run(hammer(url, keys=150, copies=3, concurrency=concurrency))
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        llm.stop()

    async def totals() -> tuple[float, float]:
        redis = RedisCounters(redis_url)
        try:
            return await redis.spent("tight"), await redis.held("tight")
        finally:
            await redis.aclose()

    spent, held = asyncio.run(totals())
    answers = {body["id"]: body for _, status, body in results if status == 200}
    per_key: dict[int, set[str]] = {}
    for key, status, body in results:
        if status == 200:
            per_key.setdefault(key, set()).add(body["id"])
    upstream = Counter(received.messages[-1]["content"] for received in llm.journal)
    answered_cost = sum(body["promptship"]["cost_usd"] for body in answers.values())
    refused = sum(1 for _, status, _ in results if status == 429)
    print(f"\nbudget under concurrent load across {workers} workers (concurrency {concurrency}, one Redis):")
    print(f"  requests {len(results)}, answered {len(answers)} distinct, refused for the budget {refused}")
    print(f"  budget ${TIGHT_BUDGET:.6f}  spent ${spent:.6f}  left ${TIGHT_BUDGET - spent:.6f}  held after ${held:.6f}")
    print(f"  what the answers cost ${answered_cost:.6f} (= spent: {abs(answered_cost - spent) < 1e-9})")
    print(
        f"  upstream calls {llm.count()} for {len(answers)} answers; max per idempotency key {max(upstream.values())}"
    )
    exact = (
        spent <= TIGHT_BUDGET
        and abs(answered_cost - spent) < 1e-9
        and llm.count() == len(answers)
        and all(len(ids) == 1 for ids in per_key.values())
        and max(upstream.values()) == 1
    )
    print(f"  budget held exact: {'yes' if exact else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    server, base_url = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "repo"
            root.mkdir()
            make_repo(root, 1)
            (root / "policies/credentials.yaml").write_text(
                "mode: production\nprojects:\n  bench: {gateway_key_sha256_env: BENCH_KEY_SHA256}\n"
                "  tight: {gateway_key_sha256_env: TIGHT_KEY_SHA256}\n"
            )
            (root / "policies/budgets.yaml").write_text(f"projects:\n  tight: {{monthly_usd: {TIGHT_BUDGET}}}\n")
            import os

            os.environ["TIGHT_KEY_SHA256"] = hashlib.sha256(TIGHT_KEY.encode()).hexdigest()
            with running_redis(Path(tmp)) as (redis_url, _):
                print(f"{args.requests} chat calls at concurrency {args.concurrency}, fake LLM at 0 ms:")
                print(f"{'workers':<28} {'req/s':>8}")
                for workers, shared in ((1, None), (1, redis_url), (2, redis_url), (4, redis_url)):
                    gateway, url = start_gateway(root, base_url, workers=workers, redis_url=shared, port=free_port())
                    try:
                        rps = asyncio.run(throughput(url, args.requests, args.concurrency))
                    finally:
                        gateway.terminate()
                        gateway.wait(30)
                    label = f"{workers} ({'Redis' if shared else 'in process'})"
                    print(f"{label:<28} {rps:>8.0f}")
                budget_check(root, redis_url, 4, args.concurrency)
    finally:
        server.kill()


if __name__ == "__main__":
    main()
