"""``promptship eval [SUITE...]``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from .main import root_of
from .options import format_option, shard_option


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command("eval")
@click.argument("suites", nargs=-1)
@click.option("--profile", default=None, help="Routing profile, e.g. offline (every alias on the local model).")
@click.option("--models", default=None, metavar="ALIAS,...", help="Only these of the suite's model aliases.")
@click.option("--sample", type=click.IntRange(min=1), default=None, help="A stable sample of N items.")
@click.option("--items", default=None, metavar="ID,...", help="Only these item ids.")
@shard_option
@click.option("--concurrency", type=click.IntRange(min=1, max=512), default=8, show_default=True)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option("--cache-only", is_flag=True, help="Replay from the cache; a miss is an error and nothing is sent.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the run artifact(s) here (JSON; a list when several suites run).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress output (a bar on a terminal, a line every few seconds in logs)."
)
@click.option(
    "--show",
    type=click.Choice(["none", "failures", "all"]),
    default="none",
    show_default=True,
    help="Also print answers with their item's input and expected value: the failing ones, or all.",
)
@click.option("--publish", is_flag=True, help="Record the runs in Langfuse as experiment runs on their datasets.")
@format_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    suites: tuple[str, ...],
    profile: str | None,
    models: str | None,
    sample: int | None,
    items: str | None,
    shard: str | None,
    concurrency: int,
    no_cache: bool,
    cache_only: bool,
    out: Path | None,
    quiet: bool,
    show: str,
    publish: bool,
    output_format: str,
) -> int:
    """Run SUITES (default: all) and print score, pass rate, cost, latency and tokens per model.

    Exit 1 when an absolute gate (`gates.min`, `gates.max_latency_p95_ms`, `gates.max_error_rate`) fails,
    3 when too many calls could not be evaluated (timeouts, model errors) or the run was interrupted.
    With `--shard K/N` no gate is checked (a shard is a part): `promptship runs merge` the N shard runs.
    """
    from ..eval.evaluation import EvalRequest, evaluate
    from ..eval.progress import progress_mode
    from ..eval.shards import parse_shard
    from ..report.console import print_runs

    if no_cache and cache_only:
        raise UsageError("--no-cache and --cache-only exclude each other")
    if shard is not None and publish:
        raise UsageError(
            "--publish would record one shard as the whole experiment",
            code="E980",
            hint="evaluate without --publish; Langfuse experiments are published from whole runs",
        )
    root = root_of(ctx)
    request = EvalRequest(
        suites=list(suites),
        profile=profile,
        models=_csv(models),
        sample=sample,
        items=_csv(items),
        shard=parse_shard(shard) if shard is not None else None,
        concurrency=concurrency,
        cache_mode="off" if no_cache else "only" if cache_only else "use",
        progress=progress_mode(quiet),
    )
    store = _langfuse_store(root) if publish else None  # fail on missing credentials before any model call
    outcome = evaluate(root, request)
    if store is not None:
        _publish(store, root, outcome.runs)
    if out is not None:
        outcome.write(out)
    if output_format == "json":
        for chunk in outcome.json_chunks():
            click.echo(chunk, nl=False)
        click.echo()
    else:
        print_runs(outcome, show)
    return outcome.exit_code


def _langfuse_store(root: Path):  # type: ignore[no-untyped-def]
    import os

    from ..files.validate import load_valid_repo
    from ..publish.sync import LangfuseSettings, LangfuseStore

    return LangfuseStore(LangfuseSettings.from_policy(load_valid_repo(root), os.environ), tracing=True)


def _publish(store, root: Path, runs: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    from ..files.validate import load_valid_repo
    from ..publish.experiments import publish_run

    repo = load_valid_repo(root)
    for run in runs:
        publish_run(store, repo, run, log=lambda line: click.echo(line, err=True))
