"""``promptship dataset``: production traffic back into dataset files."""

from __future__ import annotations

import datetime as dt
import json

import click

from ..errors import EXIT_OK
from .main import root_of


@click.group(name="dataset")
def dataset() -> None:
    """Work on datasets: pull production calls traced in Langfuse into a dataset file for review."""


@dataset.command(name="pull")
@click.option("--from", "source", type=click.Choice(["langfuse"]), required=True, help="Where the calls are traced.")
@click.option("--prompt", required=True, help="Prompt whose generations to pull (its name, as in prompts/).")
@click.option("--label", default=None, help="Only calls served under this label (e.g. production).")
@click.option("--version", "version", type=int, default=None, help="Only calls of this prompt version.")
@click.option(
    "--since", default="7d", show_default=True, help="Start: a duration before now (30m, 24h, 7d) or ISO time."
)
@click.option("--until", default=None, help="End (exclusive): a duration before now or an ISO time (default: now).")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    help="SUBJECT OP VALUE, e.g. 'helpfulness<0.5', 'score<0.5', 'latency>2', 'cost>=0.01' (repeat: all must hold).",
)
@click.option("--limit", type=int, default=None, help="Write at most N new items (the newest).")
@click.option("--to", "to", required=True, help="Dataset to write: datasets/NAME (created as JSONL, or appended to).")
@click.option("--dry-run", is_flag=True, help="Read and decide, print the summary, write nothing.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def pull(
    ctx: click.Context,
    source: str,
    prompt: str,
    label: str | None,
    version: int | None,
    since: str,
    until: str | None,
    filters: tuple[str, ...],
    limit: int | None,
    to: str,
    dry_run: bool,
    output_format: str,
) -> int:
    """Write the inputs of PROMPT's traced production calls (with their answers as candidate
    `expected` values) into a dataset file to review in a pull request.

    Every value passes policies/pii.yaml: an item holding a blocked type is dropped, other personal
    data is masked ([PHONE_1]); ids come from the trace (lf-...), so pulling again adds nothing
    twice, and an input already in the dataset is skipped. Nothing is written until every call was
    read; the file is replaced atomically and validates. Keys: LANGFUSE_PUBLIC_KEY,
    LANGFUSE_SECRET_KEY, LANGFUSE_HOST (the names in policies/credentials.yaml).
    """
    import os

    from ..files.schema import nfc
    from ..files.times import time_window
    from ..files.validate import load_valid_repo
    from ..publish.pull import PullRequest, TraceReader, parse_filters, pull_dataset
    from ..publish.pull.target import dataset_name
    from ..publish.sync import LangfuseSettings, LangfuseStore

    start, end = time_window(since, until, now=dt.datetime.now(dt.UTC))
    request = PullRequest(
        prompt=nfc(prompt),
        to=to,
        since=start,
        until=end,
        label=label,
        version=version,
        filters=tuple(parse_filters(filters)),
        limit=limit,
        dry_run=dry_run,
    )
    root = root_of(ctx)
    repo = load_valid_repo(root, only=("prompts/", "policies/", f"datasets/{dataset_name(to)}."))
    store = LangfuseStore(LangfuseSettings.from_policy(repo, os.environ))
    result = pull_dataset(root, repo, TraceReader(store), request)
    if output_format == "json":
        click.echo(json.dumps(result.as_dict(), indent=1, ensure_ascii=False))
        return EXIT_OK
    tally = result.tally
    dropped = ", ".join(f"{t} {n}" for t, n in sorted(tally.pii_dropped_by_type.items()))
    masked = ", ".join(f"{t} {n}" for t, n in sorted(tally.pii_masked_by_type.items()))
    click.echo(
        f"datasets/{result.dataset}: {tally.written} new item(s)" + (" (dry run: nothing written)" if dry_run else "")
    )
    click.echo(f"  read                 {tally.read}")
    click.echo(f"  {'to write' if dry_run else 'written':<21}{tally.written}")
    click.echo(f"  skipped (duplicate)  {tally.duplicates}")
    click.echo(f"  dropped (PII)        {tally.pii_dropped}" + (f"  [{dropped}]" if dropped else ""))
    if tally.secrets_dropped:
        click.echo(f"  dropped (secret)     {tally.secrets_dropped}")
    click.echo(f"  filtered             {tally.filtered}")
    if tally.no_variables or tally.mismatched:
        click.echo(f"  skipped (no inputs)  {tally.no_variables + tally.mismatched}")
    if masked:
        click.echo(f"  masked values        {masked}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for path in result.written_paths:
        click.echo(f"wrote {path}")
    if result.written_paths:
        click.echo("next: review the items (expected values are production answers), commit, open a PR", err=True)
    return EXIT_OK
