"""Progress of an evaluation on stderr: a live bar on a terminal, plain lines in CI logs.

In a log (stderr is not a terminal) a line is written every ``interval_s`` seconds — done/total,
errors, elapsed time and an ETA — and once more when a suite finishes, so a long CI job shows it is
alive and how it goes. ``PROMPTSHIP_PROGRESS_INTERVAL_S`` overrides the interval (default 5 s).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TextIO

Mode = Literal["bar", "lines", "off"]
#: ``(suite, done, total, errors)`` after every finished sample.
ProgressFn = Callable[[str, int, int, int], None]


def progress_mode(quiet: bool, stream: TextIO | None = None) -> Mode:
    """``off`` with ``--quiet``, a ``bar`` on a terminal, else ``lines``."""
    if quiet:
        return "off"
    return "bar" if (stream or sys.stderr).isatty() else "lines"


def format_line(suite: str, done: int, total: int, errors: int, elapsed_s: float) -> str:
    """``eval review-sentiment: 12/30 done, 1 error(s), 8 s elapsed, ETA 12 s``."""
    eta = f"ETA {elapsed_s / done * (total - done):.0f} s" if 0 < done < total else "finished" if done else "starting"
    return f"eval {suite}: {done}/{total} done, {errors} error(s), {elapsed_s:.0f} s elapsed, {eta}"


class Progress:
    """A context manager whose value is a :data:`ProgressFn` (or None when ``mode`` is ``off``)."""

    def __init__(self, mode: Mode, stream: TextIO | None = None, interval_s: float | None = None) -> None:
        self.mode = mode
        self.stream = stream or sys.stderr
        self.interval_s = (
            float(os.environ.get("PROMPTSHIP_PROGRESS_INTERVAL_S", "5")) if interval_s is None else interval_s
        )
        self._bar: Any = None
        self._task: Any = None
        self._started: dict[str, float] = {}
        self._last = 0.0

    def __enter__(self) -> ProgressFn | None:
        if self.mode == "off":
            return None
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("eval"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("eval", total=None)
        return self.update

    def update(self, suite: str, done: int, total: int, errors: int) -> None:
        now = time.monotonic()
        started = self._started.setdefault(suite, now)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
            return
        if done >= total or now - self._last >= self.interval_s:
            self._last = now
            self.stream.write(format_line(suite, done, total, errors, now - started) + "\n")
            self.stream.flush()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
