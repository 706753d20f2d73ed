"""Generate a repository of 1,000 prompt files and time `promptship validate` and `promptship --help`.

Targets (issue 2): validate under 1 s, --help under 0.3 s. validate is timed on its first run and on
later ones (no parse cache since issue 12: later runs differ only by the operating system's file cache).

    python bench/validate_speed.py [--prompts 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

PROMPT = """\
type: chat
description: Generated prompt {n} for the validate benchmark.
owners: [bench]
tags: [bench, group-{group}]
model: chat-fast
params:
  temperature: 0.2
  max_tokens: 200
variables:
  dish_name:
    type: string
    description: Name of the dish.
  ingredients:
    type: list
  style:
    type: string
    required: false
    default: casual
messages:
  - role: system
    content: |
      You write menu descriptions ({n}). Mention the dish and at most three ingredients.
      {{% if style == "premium" %}}Use an elegant tone.{{% else %}}Keep it friendly.{{% endif %}}
  - role: user
    content: "Dish: {{{{ dish_name }}}}; ingredients: {{{{ ingredients | join(', ') }}}}"
traffic:
  calls_per_day: {n}
"""


def make_repo(root: Path, count: int) -> None:
    shutil.copytree(PROJECT / "policies", root / "policies")
    for n in range(count):
        path = root / "prompts" / f"group{n % 20:02d}" / f"prompt{n:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PROMPT.format(n=n, group=n % 20), encoding="utf-8")


def time_command(args: list[str], runs: int) -> tuple[list[float], int]:
    timings, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        timings.append(time.perf_counter() - started)
        code = done.returncode
        if code not in (0,):
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return timings, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    executable = Path(sys.executable).parent / "promptship"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, args.prompts)
        timings, code = time_command([str(executable), "--root", str(root), "validate"], args.runs + 1)
        help_time = statistics.median(time_command([str(executable), "--help"], args.runs)[0])
    cold, warm = timings[0], statistics.median(timings[1:])
    print(
        f"validate ({args.prompts} prompt files, exit {code}): cold {cold:.3f} s (first run); "
        f"warm {warm:.3f} s (median of {args.runs}); "
        f"target < 1 s: cold {'met' if cold < 1 else 'NOT met'}, warm {'met' if warm < 1 else 'NOT met'}"
    )
    print(
        f"--help: {help_time:.3f} s (median of {args.runs}); target < 0.3 s: {'met' if help_time < 0.3 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
