"""``promptship usage``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .main import root_of

if TYPE_CHECKING:
    from ..ops.usage import UsageRow

GROUPINGS = ("project", "alias", "prompt", "version", "day")


@click.command()
@click.option("--since", default="7d", show_default=True, help="Start: a duration before now (7d, 24h, 30m) or ISO.")
@click.option("--until", default=None, help="End (exclusive): a duration before now or ISO [default: now].")
@click.option("--project", default=None, help="Only this project's calls.")
@click.option("--by", type=click.Choice(GROUPINGS), default="project", show_default=True, help="Group rows by.")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "html"]), default="table", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to FILE.")
@click.option(
    "--source",
    type=click.Choice(["store", "langfuse"]),
    default="store",
    show_default=True,
    help="The usage store the gateway and SDK write to, or Langfuse's traces (calls that bypassed them).",
)
@click.option("--store", "store_url", default=None, help="Read this store (sqlite:///PATH, redis://…) instead.")
@click.pass_context
def usage(
    ctx: click.Context,
    since: str,
    until: str | None,
    project: str | None,
    by: str,
    output_format: str,
    output: Path | None,
    source: str,
    store_url: str | None,
) -> int:
    """Report calls, cost, tokens, errors, p50/p95 latency and upstream attempts per call.

    Rows come from the store the gateway and the SDK record to: PROMPTSHIP_USAGE_URL, else REDIS_URL
    (shared by gateway replicas), else .promptship/usage.sqlite. `--source langfuse` builds the same
    report from Langfuse's observations (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_HOST).
    """
    from ..ops.usage_report import build_report, load_usage_rows, time_range

    root = root_of(ctx)
    start, end = time_range(since, until, time.time())
    if source == "langfuse":
        rows, location = _langfuse_usage_rows(root, start, end, project), "langfuse"
    else:
        rows, location = load_usage_rows(root, os.environ, since=start, until=end, project=project, store_url=store_url)
    report = build_report(rows, by, source=location, since=start, until=end, project=project)
    versions = None
    if by == "version":  # each prompt's versions compared on live traffic (docs/howto-ab-test.md)
        from ..diff.live import compare_live_versions

        versions = compare_live_versions(root, rows, os.environ, since=start, until=end, warn=_warn)
    from ..report.usage import print_usage, usage_html, usage_json
    from ..report.versions import usage_by_version, versions_text

    if output_format == "table" and output is None:
        print_usage(report)
        if versions is not None:
            click.echo(versions_text(versions), nl=False)
        return 0
    if output_format == "table":
        raise click.UsageError("--output needs --format json or html")
    if versions is not None:
        text = usage_by_version(report, versions, output_format)
    else:
        text = usage_html(report) if output_format == "html" else usage_json(report)
    if output is None:
        click.echo(text, nl=False)
    else:
        from ..files.atomic import write_atomically

        write_atomically(output, text)
        click.echo(f"wrote {output}", err=True)
    return 0


def _warn(line: str) -> None:
    click.echo(line, err=True)


def _langfuse_usage_rows(root: Path, since: float | None, until: float | None, project: str | None) -> list[UsageRow]:
    """Usage rows from Langfuse's observations, read through the one Langfuse reader (``TraceReader``
    over ``LangfuseStore.read``: retries as ``llm/retry.py`` decides, E820 when it keeps failing) with
    the keys policies/credentials.yaml names (E801 if unset)."""
    import datetime as dt

    from ..files.repo import load_repo
    from ..ops import langfuse_usage
    from ..publish.pull import TraceReader
    from ..publish.sync import LangfuseSettings, LangfuseStore

    settings = LangfuseSettings.from_policy(load_repo(root).repo, os.environ)
    reader = TraceReader(LangfuseStore(settings))

    def moment(ts: float | None) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(ts, dt.UTC) if ts is not None else None

    pages = reader.observations(
        langfuse_usage.TYPES,
        fields=langfuse_usage.FIELD_GROUPS,
        since=moment(since),
        until=moment(until),
        page_size=langfuse_usage.PAGE,
    )
    return list(langfuse_usage.langfuse_rows(pages, project=project))
