"""Speed of the paired statistics (issue 19): the numpy bootstrap and McNemar against the pure-Python
bootstrap promptship used before (``random.choices`` per resample, as ``diff`` ran it: 5,000 resamples).

Per-metric seconds at 2,000, 100,000 and 1,000,000 paired items, for continuous scores (index
resampling in chunks) and scores on a grid (multinomial counts), plus the exact McNemar test; the
pure-Python figure only at 2,000 items (it grows linearly: ~50 × that at 100,000).

    python bench/stats_speed.py [--resamples 5000]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tooling"))


def python_bootstrap(base: list[float], head: list[float], resamples: int, seed: int = 0) -> tuple[float, float]:
    """The implementation before numpy (diff/stats.py up to run format 2)."""
    rng = random.Random(seed)
    differences = [h - b for b, h in zip(base, head, strict=True)]
    n = len(differences)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(resamples))

    def at(q: float) -> float:
        position = (len(means) - 1) * q
        lower = math.floor(position)
        upper = min(lower + 1, len(means) - 1)
        return means[lower] + (means[upper] - means[lower]) * (position - lower)

    return at(0.025), at(0.975)


def timed(function, *args, **kwargs) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    from promptship.diff.stats import mcnemar_exact, paired_bootstrap_ci

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resamples", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(1)
    print(f"paired statistics, one metric, {args.resamples} bootstrap resamples (seconds)")
    print(f"{'items':>9} {'python bootstrap':>16} {'numpy continuous':>16} {'numpy grid':>10} {'mcnemar':>8}")
    for n in (2_000, 100_000, 1_000_000):
        base = [rng.random() for _ in range(n)]
        head = [min(1.0, max(0.0, x + rng.gauss(0.01, 0.2))) for x in base]
        grid_base, grid_head = [round(x * 4) / 4 for x in base], [round(x * 4) / 4 for x in head]
        python = f"{timed(python_bootstrap, base, head, args.resamples)[0]:.2f}" if n <= 2_000 else "–"
        continuous = timed(paired_bootstrap_ci, base, head, resamples=args.resamples)[0]
        grid = timed(paired_bootstrap_ci, grid_base, grid_head, resamples=args.resamples)[0]
        passes = timed(mcnemar_exact, [x > 0.5 for x in base], [x > 0.5 for x in head])[0]
        print(f"{n:>9,} {python:>16} {continuous:>16.2f} {grid:>10.3f} {passes:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
