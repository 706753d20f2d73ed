"""Console output: tables for ``promptship eval``, the PR report for ``promptship diff --format text``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from ..diff.change import SMOKE_TEST_NOTE
from ..eval.gates import NOT_EVALUATED_ADVICE
from ..files.schema.run import Run, SampleResult

if TYPE_CHECKING:
    from ..eval.evaluation import EvalOutcome


def plain(text: object) -> str:
    """Untrusted text (file names, item ids, upstream error messages) as rich prints it literally:
    markup such as ``[/red]`` escaped. Control characters are stripped at the stream edge
    (:class:`~promptship.files.redact.RedactingStream`)."""
    from rich.markup import escape

    return escape(str(text))


def format_usd(value: float) -> str:
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def sample_failed(sample: SampleResult) -> bool:
    """No answer, no score, or some evaluator did not pass."""
    return sample.error is not None or not sample.scores or not all(r.passed for r in sample.scores.values())


def _text(value: object, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_lines(outcome: EvalOutcome, run: Run, show: str) -> list[str]:
    """``--show failures|all``: each answer with its item's input and expected value, scores and error."""
    lines = []
    items = outcome.items.get(run.suite, {})
    for sample in run.samples:
        failed = sample_failed(sample)
        if show == "failures" and not failed:
            continue
        item = items.get(sample.item_id)
        lines.append(f"{'✗' if failed else '✓'} {sample.item_id} ({sample.model}, repeat {sample.repeat})")
        lines.append(f"    input:    {_text(item.input if item else None)}")
        lines.append(f"    expected: {_text(item.expected if item else None)}")
        lines.append(f"    output:   {_text(sample.output) if sample.output is not None else '–'}")
        scores = [
            f"{name} error: {result.error.strip().splitlines()[-1]}"
            if result.error
            else f"{name} {result.value:.3f} {'pass' if result.passed else 'fail'}"
            for name, result in sample.scores.items()
        ]
        if scores:
            lines.append(f"    scores:   {'; '.join(scores)}")
        if sample.error is not None:
            lines.append(f"    error:    {sample.error.kind}: {sample.error.message}")
    return lines


def print_runs(outcome: EvalOutcome, show: str = "none") -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160
    for run in outcome.runs:
        names = sorted({n for a in run.aggregates.values() for n in a.scores})
        table = Table(
            title=f"{plain(run.suite)}  ({plain(run.prompt)} on {plain(run.dataset)}"
            + (f", profile {plain(run.profile)}" if run.profile else "")
            + (
                f", shard {run.selection.shard.index}/{run.selection.shard.count}: "
                f"{len(run.selection.items)} of {run.selection.shard.whole_items} items"
                if run.selection.shard
                else ""
            )
            + ")",
            title_justify="left",
        )
        table.add_column("model")
        for name in names:
            table.add_column(plain(name), justify="right")
        for header in (
            "pass rate",
            "cost",
            "per call",
            "p50 ms",
            "p95 ms",
            "tokens in/out",
            "errors",
            "cache",
        ):
            table.add_column(header, justify="right")
        for model, summary in run.aggregates.items():
            table.add_row(
                plain(model),
                *[f"{summary.scores.get(n, 0.0):.3f}" for n in names],
                f"{summary.pass_rate:.1%}",
                format_usd(summary.cost_usd),
                format_usd(summary.cost_per_call_usd),
                f"{summary.latency_p50_ms:.0f}",
                f"{summary.latency_p95_ms:.0f}",
                f"{summary.prompt_tokens}/{summary.completion_tokens}",
                f"{summary.errors}/{summary.samples}",
                f"{summary.cache_hits}",
            )
        console.print(table)
        for model, summary in run.aggregates.items():
            console.print(
                f"  {model}: cost {format_usd(summary.cost_usd)} at current prices; spent now "
                f"{format_usd(summary.spent_usd)} ({summary.cache_hits} cached answer(s) replayed at no cost)",
                style="dim",
            )
        errors = sum(a.errors for a in run.aggregates.values())
        shown = 0
        for sample in run.samples if errors else ():
            if sample.error is None:
                continue
            console.print(
                f"  [red]✗[/red] {plain(sample.item_id)} ({plain(sample.model)}): {plain(sample.error.kind)}: "
                f"{plain(sample.error.message)}"
            )
            shown += 1
            if shown == 5:
                break
        if errors > 5:
            console.print(f"  … and {errors - 5} more errors (see the run artifact)")
        if show != "none":
            for line in item_lines(outcome, run, show):
                console.print(line, soft_wrap=True, markup=False)
        if run.environment.local_model:
            console.print(f"  {SMOKE_TEST_NOTE}", soft_wrap=True)
        if not run.complete:
            console.print("  [yellow]interrupted: completed samples were kept[/yellow]")
        if run.selection.shard:
            console.print(
                "  a shard run: no gate is checked on a part; `promptship runs merge` the N shards into the whole run",
                style="dim",
            )
    for path in outcome.saved:
        console.print(f"run saved: {plain(path)}", style="dim")
    if outcome.gate_failures:
        for failure in outcome.gate_failures:
            label = "[red]gate failed[/red]" if failure.kind == "quality" else "[yellow]could not evaluate[/yellow]"
            console.print(
                f"{label} {plain(failure.suite)} / {plain(failure.model)}: {plain(failure.gate)}: "
                f"{plain(failure.message)}"
            )
        if any(f.kind == "evaluation" for f in outcome.gate_failures):
            console.print(f"  what to do: {NOT_EVALUATED_ADVICE}")
    else:
        console.print("all absolute gates passed")


_HTML = re.compile(r"<!--.*?-->|</?details>|</?summary>", re.DOTALL)
_CODE = re.compile(r"<code>(.*?)</code>")


def print_markdown_report(markdown: str, verdict: str) -> None:
    """The PR comment rendered for a terminal (tables, diffs; GitHub's HTML folding dropped), and
    the verdict again as the last line, where CI logs show it."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160
    console.print(Markdown(_CODE.sub(r"`\1`", _HTML.sub("", markdown))))
    console.print(plain(verdict), soft_wrap=True)
