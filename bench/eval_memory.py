"""Memory and throughput of a whole ``eval`` as the dataset grows (issue 19: bounded memory).

For each size a tmp repository is generated (one prompt, one JSONL dataset of N items, a
``contains`` evaluator) and evaluated in a fresh child process against the fake LLM server (its own
process, 0 ms latency, concurrency 32, no response cache). Whole-process figures of the child: peak
RSS (the kernel's accounting of the finished child) and calls/s (items / wall time of the child,
loading and storing included). The child also prints its peak RSS after each phase, so a row shows
where memory goes: loading and validating the repository, the run, storing the artifact, and a
``diff``-style comparison of the run with itself read back from disk.

    python bench/eval_memory.py [--sizes 2000,20000,100000,1000000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from runner_throughput import make_repo, start_server  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(root: Path, concurrency: int) -> None:
    """Evaluate the repository at ``root`` and print the peak RSS after each phase as JSON."""
    from promptship.diff.compare import compare_model
    from promptship.eval.evaluation import EvalRequest, evaluate
    from promptship.eval.runs import load_run
    from promptship.files.validate import load_valid_repo

    phases: dict[str, float] = {"start": peak_rss_mb()}
    repo = load_valid_repo(root)
    phases["loaded"] = peak_rss_mb()
    outcome = evaluate(root, EvalRequest(concurrency=concurrency, cache_mode="off"), repo=repo)
    phases["evaluated+stored"] = peak_rss_mb()
    run = load_run(outcome.saved[0])
    assert run is not None
    errors = run.aggregates["bench"].errors
    del outcome
    compare_model(run, run, "bench", calls_per_day=None)
    phases["compared"] = peak_rss_mb()
    print(json.dumps({"phases": phases, "errors": errors}), flush=True)


def measure(size: int, concurrency: int, base_url: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, size)
        env = {
            **os.environ,
            "FAKE_LLM_BASE": base_url,
            "FAKE_LLM_KEY": "k",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", str(root), "--concurrency", str(concurrency)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"the child failed at {size} items (exit {process.returncode})")
        result = json.loads(out.strip().splitlines()[-1])
        artifact = sum(p.stat().st_size for p in (root / ".promptship/runs").rglob("*") if p.is_file())
        return {
            "items": size,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "wall_s": wall,
            "calls_per_s": size / wall,
            "artifact_mb": artifact / 1e6,
            **result,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,20000,100000,1000000")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.concurrency)
        return
    server, base_url = start_server(0.0)
    try:
        print(f"eval at 0 ms latency, concurrency {args.concurrency}, no cache; whole-process figures of the eval")
        print(
            f"{'items':>9} {'peak RSS MB':>11} {'KB/item':>8} {'calls/s':>8} {'wall s':>8} {'artifact MB':>11}  "
            "peak RSS after: load / eval+store / compare (MB)"
        )
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(size, args.concurrency, base_url)
            phases = row["phases"]
            assert isinstance(phases, dict)
            print(
                f"{size:>9,} {row['peak_rss_mb']:>11.0f} {row['peak_rss_mb'] * 1024 / size:>8.2f} "  # type: ignore[operator]
                f"{row['calls_per_s']:>8.0f} {row['wall_s']:>8.1f} {row['artifact_mb']:>11.1f}  "
                f"{phases['loaded']:.0f} / {phases['evaluated+stored']:.0f} / {phases['compared']:.0f}"
                + (f"  errors {row['errors']}" if row["errors"] else ""),
                flush=True,
            )
            # The fake server keeps a journal of every request: restart it so it never grows past one size.
            server.kill()
            server, base_url = start_server(0.0)
    finally:
        server.kill()


if __name__ == "__main__":
    main()
