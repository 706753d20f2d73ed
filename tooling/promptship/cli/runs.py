"""``promptship runs merge RUN...``: stored run artifacts."""

from __future__ import annotations

from pathlib import Path

import click

from .main import root_of


@click.group()
def runs() -> None:
    """Stored run artifacts (.promptship/runs/)."""


@runs.command("merge")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the merged run(s) here (JSON; a list when several merge).",
)
@click.pass_context
def merge(ctx: click.Context, paths: tuple[Path, ...], output: Path | None) -> int:
    """Merge shard runs (`eval --shard K/N`, `diff --shard K/N`) into the whole runs an unsharded eval gives.

    PATHS are run files or folders (every shard run under a folder is used; whole runs there are skipped).
    Shards are grouped by suite and fingerprint, and every group needs shards 1/N..N/N exactly once, from
    the same settings. The merged runs are stored under .promptship/runs/, so a following `promptship diff`
    reuses them without a model call. Exit 2, writing nothing, when a shard is missing, doubled or mismatched.
    """
    from ..eval.merging import merge_run_files

    outcome = merge_run_files(root_of(ctx), list(paths), output)
    for run, sources, saved in zip(outcome.runs, outcome.sources, outcome.saved, strict=True):
        shard_count = len(sources)
        click.echo(
            f"merged {run.suite} (fingerprint {run.fingerprint.suite[:12]}): {shard_count} shard(s), "
            f"{len(run.selection.items)} item(s), {len(run.samples)} sample(s) → {saved}"
        )
        for model, summary in run.aggregates.items():
            scores = ", ".join(f"{name} {value:.3f}" for name, value in summary.scores.items())
            click.echo(
                f"  {model}: pass rate {summary.pass_rate:.1%}"
                + (f", {scores}" if scores else "")
                + f", errors {summary.errors}/{summary.samples}"
            )
    return 0
