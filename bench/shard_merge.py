"""Sharded evaluation: N shard runs merged equal the unsharded run (issue 19: sharded evaluation).

A tmp repository (one prompt, one JSONL dataset of N items, a ``contains`` evaluator) is evaluated
against the fake LLM server (its own process, 0 ms latency) three ways, each in a fresh copy of the
repository (a fresh CI machine: no stored runs, no response cache):

1. unsharded: ``eval`` of the whole suite;
2. sharded: ``eval --shard K/N`` for K = 1..N (one after another here; a CI matrix runs them at once on
   N machines, so its wall time is about the slowest shard), then ``runs merge`` of the N shard runs;
3. replayed: both again from the response cache of (1), so every answer, latency and cache flag is
   the same on both sides.

It prints the timings, whether the merged run has the unsharded run's fingerprint, selection key and
aggregates (apart from latency, which is measured per call), whether every sample is the same answer
with the same scores, and, for the replay, whether the merged samples file is byte for byte the
unsharded one.

    python bench/shard_merge.py [--items 20000] [--shards 4] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from runner_throughput import make_repo, start_server  # noqa: E402

#: Measured per call, so two evaluations never share them (everything else must be equal).
MEASURED = {"latency_ms", "latency_p50_ms", "latency_p95_ms"}


def without_measured(value: Any) -> Any:
    """``value`` (a run as plain data) without latencies, at any depth."""
    if isinstance(value, dict):
        return {k: without_measured(v) for k, v in value.items() if k not in MEASURED}
    if isinstance(value, list):
        return [without_measured(v) for v in value]
    return value


def evaluate(root: Path, concurrency: int, shard: str | None = None, cache_mode: str = "off") -> tuple[Any, float]:
    from promptship.eval.evaluation import EvalRequest, evaluate
    from promptship.eval.shards import parse_shard

    request = EvalRequest(concurrency=concurrency, cache_mode=cache_mode, shard=parse_shard(shard) if shard else None)
    started = time.perf_counter()
    outcome = evaluate(root, request)
    (run,) = outcome.runs
    assert run.complete and run.aggregates["bench"].errors == 0, run.aggregates
    return run, time.perf_counter() - started


def fresh_copy(template: Path, where: Path, cache_from: Path | None = None) -> Path:
    shutil.copytree(template, where, ignore=shutil.ignore_patterns(".promptship"))
    if cache_from is not None:
        shutil.copytree(cache_from / ".promptship" / "cache", where / ".promptship" / "cache")
    return where


def sharded(
    template: Path, tmp: Path, label: str, shards: int, concurrency: int, cache_from: Path | None
) -> dict[str, Any]:
    """Evaluate shards 1..N, each on its own copy, then merge their runs on another."""
    from promptship.eval.merging import merge_run_files

    times, folders = [], []
    for k in range(1, shards + 1):
        job = fresh_copy(template, tmp / f"{label}-shard{k}", cache_from)
        mode = "use" if cache_from is not None else "off"
        _, seconds = evaluate(job, concurrency, f"{k}/{shards}", mode)
        times.append(seconds)
        folders.append(job / ".promptship" / "runs")
    merger = fresh_copy(template, tmp / f"{label}-merge")
    started = time.perf_counter()
    outcome = merge_run_files(merger, folders)
    merge_s = time.perf_counter() - started
    (run,) = outcome.runs
    return {"run": run, "shard_s": times, "merge_s": merge_s}


def compare(whole: Any, merged: Any) -> dict[str, bool]:
    samples_equal = all(
        without_measured(a.model_dump()) == without_measured(b.model_dump())
        for a, b in zip(whole.samples, merged.samples, strict=True)
    )
    return {
        "fingerprint": whole.fingerprint == merged.fingerprint,
        "selection key": whole.selection == merged.selection,
        "aggregates": without_measured({m: a.model_dump() for m, a in whole.aggregates.items()})
        == without_measured({m: a.model_dump() for m, a in merged.aggregates.items()}),
        "samples": len(whole.samples) == len(merged.samples) and samples_equal,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    server, base_url = start_server(0.0)
    os.environ |= {"FAKE_LLM_BASE": base_url, "FAKE_LLM_KEY": "k"}
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            template = tmp / "template"
            make_repo(template, args.items)
            print(f"{args.items:,} items, {args.shards} shards, 0 ms latency, concurrency {args.concurrency}")

            unsharded_root = fresh_copy(template, tmp / "unsharded")
            whole, whole_s = evaluate(unsharded_root, args.concurrency, cache_mode="use")
            print(f"unsharded eval:                       {whole_s:7.1f} s")
            split = sharded(template, tmp, "fresh", args.shards, args.concurrency, None)
            times = ", ".join(f"{s:.1f}" for s in split["shard_s"])
            print(f"shard evals (one after another):      {sum(split['shard_s']):7.1f} s  ({times})")
            print(f"  slowest shard (a matrix's wall):    {max(split['shard_s']):7.1f} s")
            print(f"runs merge of {args.shards} shard runs:           {split['merge_s']:7.1f} s")
            checks = compare(whole, split["run"])
            for what, equal in checks.items():
                print(f"merged vs unsharded, {what + ' equal:':<24} {equal}")

            # The same answers on both sides: replay the unsharded run's response cache.
            replay_whole, _ = evaluate(unsharded_root, args.concurrency, cache_mode="use")
            replay = sharded(template, tmp, "replay", args.shards, args.concurrency, unsharded_root)
            identical = (
                replay_whole.samples_sha256 == replay["run"].samples_sha256
                and replay_whole.aggregates == replay["run"].aggregates
                and replay_whole.selection == replay["run"].selection
                and replay_whole.fingerprint == replay["run"].fingerprint
            )
            print(f"replayed: merged samples file byte-identical, aggregates equal: {identical}")
            print(f"merged vs unsharded equal: {all(checks.values()) and identical}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
