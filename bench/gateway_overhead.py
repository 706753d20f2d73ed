"""Gateway overhead: latency added over a direct call to the fake LLM server (p50/p99, sequential),
requests per second at concurrency 32, and a direct ``litellm.acompletion`` for reference.
Target (issue 7): < 2 ms p50 overhead. The fake server and the gateway run in their own processes.

    python bench/gateway_overhead.py [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

KEY = "bench-gateway-key"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def sequential(url: str, headers: dict[str, str], model: str, count: int) -> list[float]:
    timings = []
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            started = time.perf_counter()
            response = client.post(
                url, headers=headers, json={"model": model, "messages": [{"role": "user", "content": f"Echo item {i}"}]}
            )
            response.raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings[10:]  # warm-up


async def concurrent(url: str, headers: dict[str, str], model: str, count: int, concurrency: int) -> float:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(
                    url,
                    headers=headers,
                    json={"model": model, "messages": [{"role": "user", "content": f"Echo item {i}"}]},
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


def main() -> None:
    from gateway_faults import start_gateway
    from runner_throughput import make_repo, start_server

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    server, base_url = start_server(0.0)
    gateway = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_repo(root, 1)
            (root / "policies/credentials.yaml").write_text(
                "mode: production\nprojects:\n  bench: {gateway_key_sha256_env: BENCH_KEY_SHA256}\n"
            )
            gateway, gateway_url = start_gateway(root, base_url)
            auth = {"Authorization": f"Bearer {KEY}"}
            direct = sequential(f"{base_url}/chat/completions", {}, "bench-model", args.requests)
            through = sequential(f"{gateway_url}/chat/completions", auth, "bench", args.requests)
            p50 = statistics.median(through) - statistics.median(direct)
            p99 = percentile(through, 99) - percentile(direct, 99)
            print(
                f"direct to the fake server: p50 {statistics.median(direct):.2f} ms, p99 {percentile(direct, 99):.2f} ms"
            )
            print(
                f"through the gateway:       p50 {statistics.median(through):.2f} ms, p99 {percentile(through, 99):.2f} ms"
            )
            print(
                f"gateway overhead: p50 {p50:.2f} ms (target < 2 ms: {'met' if p50 < 2 else 'NOT met'}), "
                f"p99 {p99:.2f} ms"
            )
            rps = asyncio.run(concurrent(f"{gateway_url}/chat/completions", auth, "bench", 2000, 32))
            print(f"gateway throughput at concurrency 32: {rps:.0f} requests/s")

            from promptship.llm.backends import litellm_module

            litellm = litellm_module()

            async def via_litellm() -> list[float]:
                timings = []
                for i in range(200):
                    started = time.perf_counter()
                    await litellm.acompletion(
                        model="openai/bench-model",
                        api_base=base_url,
                        api_key="k",
                        messages=[{"role": "user", "content": f"Echo item {i}"}],
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                return timings[10:]

            reference = asyncio.run(via_litellm())
            print(
                f"reference, direct litellm.acompletion (no proxy): p50 {statistics.median(reference):.2f} ms, "
                f"p99 {percentile(reference, 99):.2f} ms"
            )
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(10)
        server.kill()


if __name__ == "__main__":
    main()
