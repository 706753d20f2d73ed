"""Retry storms and overhead: upstream calls per client call when the vendor fails 10 % of requests
with 500 and 5 % with 429, and when it rate-limits every request, through the gateway and, for
reference, from the same client directly; then the gateway's p50/p99 latency overhead over a direct
call with no faults.

The client is the official ``openai`` Python client with its default retries (2), as applications
use it; the fake LLM server runs in this process (its counter is the vendor's bill), the gateway
in its own (the real ``promptship gateway`` command).

    python bench/gateway_faults.py [--calls 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from runner_throughput import make_repo  # noqa: E402
from tests.doubles.fake_llm import FakeLLM  # noqa: E402

KEY = "bench-gateway-key"
MESSAGES = [{"role": "user", "content": "Echo one item"}]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def calls(client: openai.OpenAI, model: str, count: int) -> tuple[int, list[float]]:
    """``count`` chat calls; (how many failed after the client's own retries, latencies in ms)."""
    failed, timings = 0, []
    for _ in range(count):
        started = time.perf_counter()
        try:
            client.chat.completions.create(model=model, messages=MESSAGES)
        except openai.APIError:
            failed += 1
        timings.append((time.perf_counter() - started) * 1000)
    return failed, timings


def start_gateway(
    root: Path,
    base_url: str,
    access_log: Path | None = None,
    *,
    workers: int = 1,
    redis_url: str | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``promptship gateway`` on ``root`` in a subprocess, ready (``/readyz``); returns it and its /v1 URL.
    ``workers`` > 1 needs ``redis_url`` (the shared counters)."""
    port = port or 18500 + os.getpid() % 1000
    env = {
        **os.environ,
        "FAKE_LLM_BASE": base_url,
        "FAKE_LLM_KEY": "k",
        "BENCH_KEY_SHA256": hashlib.sha256(KEY.encode()).hexdigest(),
    }
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST", "REDIS_URL"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    gateway = subprocess.Popen(
        [
            Path(sys.executable).parent / "promptship",
            "--root",
            str(root),
            "gateway",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *(["--access-log", str(access_log)] if access_log is not None else []),
        ],
        env=env,
        stderr=None if os.environ.get("BENCH_GATEWAY_STDERR") else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return gateway, f"{url}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    gateway.kill()
    raise RuntimeError("the gateway did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    llm = FakeLLM().start()
    gateway = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_repo(root, 1)
            (root / "policies/credentials.yaml").write_text(
                "mode: production\nprojects:\n  bench: {gateway_key_sha256_env: BENCH_KEY_SHA256}\n"
            )
            access_log = root / "access.jsonl"
            gateway, gateway_url = start_gateway(root, llm.base_url, access_log)
            through = openai.OpenAI(base_url=gateway_url, api_key=KEY, timeout=30)  # default max_retries=2
            direct = openai.OpenAI(base_url=llm.base_url, api_key="k", timeout=30)

            scenarios = (
                ("10 % HTTP 500 + 5 % HTTP 429", {"error_500": 0.10, "error_429": 0.05}),
                ("every request HTTP 429 (a vendor outage)", {"error_429": 1.0}),
            )
            for title, faults in scenarios:
                count = args.calls if faults.get("error_429", 0) < 1 else max(10, args.calls // 20)
                print(f"\nfaults: {title} (Retry-After 0.05 s); {count} client calls")
                print(f"{'path':<36} {'upstream/call':>13} {'gateway req/call':>16} {'failed':>7}")
                for name, client, model in (
                    ("openai client -> vendor", direct, "bench-model"),
                    ("openai client -> gateway -> vendor", through, "bench"),
                ):
                    llm.reset()
                    llm.faults("*", retry_after_s=0.05, seed=args.seed, **faults)
                    before = len(access_log.read_text().splitlines()) if access_log.exists() else 0
                    failed, _ = calls(client, model, count)
                    upstream = llm.count() / count
                    records = access_log.read_text().splitlines()[before:] if client is through else []
                    requests = f"{len(records) / count:.3f}" if records else "-"
                    print(f"{name:<36} {upstream:>13.3f} {requests:>16} {failed:>7}")

            llm.reset()
            calls(direct, "bench-model", 20)  # warm-up
            calls(through, "bench", 20)
            _, plain = calls(direct, "bench-model", args.calls)
            _, proxied = calls(through, "bench", args.calls)
            print("no faults, sequential, openai client:")
            print(f"  direct:          p50 {statistics.median(plain):6.2f} ms  p99 {percentile(plain, 99):6.2f} ms")
            print(f"  via the gateway: p50 {statistics.median(proxied):6.2f} ms  p99 {percentile(proxied, 99):6.2f} ms")
            print(
                f"  overhead:        p50 {statistics.median(proxied) - statistics.median(plain):6.2f} ms  "
                f"p99 {percentile(proxied, 99) - percentile(plain, 99):6.2f} ms"
            )
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(10)
        llm.stop()


if __name__ == "__main__":
    main()
