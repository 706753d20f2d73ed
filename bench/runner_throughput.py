"""Eval-runner throughput against the fake LLM server (issue 3's target: efficiency >= 0.9).

2,000 items, 100 ms server latency, concurrency 32. Efficiency = (items × latency / concurrency) / wall.
Also prints the per-call overhead of the runner over a direct ``litellm.acompletion`` loop.
The fake server runs in its own process so it does not share the runner's interpreter.

    python bench/runner_throughput.py [--items 2000] [--latency 0.1] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

ROUTING = """\
aliases:
  bench:
    deployments:
      - id: fake
        model: openai/bench-model
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
    retries: 2
    timeout_s: 30
"""
PROMPT = """\
type: chat
model: bench
variables: {text: {type: string}}
messages:
  - {role: user, content: "Echo {{ text }}"}
"""
SUITE = """\
prompt: p
dataset: d
evaluators: [{type: contains, params: {values: [OK]}}]
"""


POOL = """\
aliases:
  bench:
    deployments:
      - {id: fake-a, model: openai/bench-model, api_base_env: FAKE_LLM_BASE, api_key_env: FAKE_LLM_KEY,
         pricing: {input_per_million: 1.0, output_per_million: 2.0}}
      - {id: fake-b, model: openai/bench-model, api_base_env: FAKE_LLM_BASE, api_key_env: FAKE_LLM_KEY,
         pricing: {input_per_million: 1.0, output_per_million: 2.0}}
    retries: 2
    timeout_s: 30
"""


def make_repo(root: Path, items: int, routing: str = ROUTING) -> None:
    files = {
        "policies/routing.yaml": routing,
        "prompts/p.yaml": PROMPT,
        "evals/s.yaml": SUITE,
        "datasets/d.yaml": "kind: evaluation\nsynthetic: true\nprompt: p\n",
        "datasets/d.jsonl": "".join(
            json.dumps({"id": f"i{i}", "input": {"text": f"item {i}"}}) + "\n" for i in range(items)
        ),
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.fake_llm", "--latency", str(latency)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    return server, f"http://127.0.0.1:{port}/v1"


def direct_litellm(base_url: str, calls: int, concurrency: int) -> float:
    from promptship.llm.backends import litellm_module

    litellm = litellm_module()

    async def go() -> None:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with semaphore:
                await litellm.acompletion(
                    model="openai/bench-model",
                    api_base=base_url,
                    api_key="k",
                    max_retries=0,
                    messages=[{"role": "user", "content": f"Echo item {i}"}],
                )

        await asyncio.gather(*(one(i) for i in range(calls)))

    started = time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    from promptship.eval.evaluation import EvalRequest, evaluate
    from promptship.eval.runner import RunOptions, run_suites
    from promptship.files.validate import load_valid_repo
    from promptship.llm.cache import ResponseCache
    from promptship.llm.routing import ModelRouter

    server, base_url = start_server(args.latency)
    os.environ.update({"FAKE_LLM_BASE": base_url, "FAKE_LLM_KEY": "k"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_repo(root, args.items)
            started = time.perf_counter()
            repo = load_valid_repo(root)
            router = ModelRouter(repo.policies.routing)  # type: ignore[arg-type]
            loaded = time.perf_counter()
            runs = run_suites(
                repo,
                ["s"],
                router,
                RunOptions(concurrency=args.concurrency, cache_mode="off"),
                ResponseCache(None),
                root / "runs",
            )
            finished = time.perf_counter()
            errors = runs[0].aggregates["bench"].errors
        ideal = args.items * args.latency / args.concurrency
        run_wall, total_wall = finished - loaded, finished - started
        print(
            f"runner: {args.items} items, {args.latency * 1000:.0f} ms latency, concurrency {args.concurrency}: "
            f"wall {run_wall:.2f} s, ideal {ideal:.2f} s, efficiency {ideal / run_wall:.2f} (target >= 0.9), "
            f"errors {errors}"
        )
        print(
            f"  including loading and validating the {args.items}-item repository ({loaded - started:.2f} s): "
            f"wall {total_wall:.2f} s, efficiency {ideal / total_wall:.2f}"
        )
        server.kill()
        server, base_url = start_server(0.0)
        calls = 500
        direct = direct_litellm(base_url, calls, args.concurrency)
        os.environ["FAKE_LLM_BASE"] = base_url
        per_call = {}
        for label, routing in (
            ("direct path (one OpenAI-compatible deployment)", ROUTING),
            ("LiteLLM Router path (two deployments)", POOL),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                make_repo(root, calls, routing)
                started = time.perf_counter()
                evaluate(root, EvalRequest(concurrency=args.concurrency, cache_mode="off"))
                per_call[label] = (time.perf_counter() - started) / calls * 1000
        print(
            f"per call at 0 ms latency ({calls} calls, concurrency {args.concurrency}): "
            f"direct litellm.acompletion {direct / calls * 1000:.2f} ms"
        )
        for label, ms in per_call.items():
            print(f"  runner, {label}: {ms:.2f} ms ({ms - direct / calls * 1000:+.2f} ms over litellm.acompletion)")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
