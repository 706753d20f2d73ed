"""``promptship diff --base REF [--head REF]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import RepositoryInvalid, UsageError
from .main import root_of
from .options import shard_option

if TYPE_CHECKING:
    from ..diff.change import DiffRequest


@click.command()
@click.option("--base", required=True, help="Base ref (compared at its merge-base with head), e.g. origin/main.")
@click.option("--head", default=None, help="Head ref (default: the working tree).")
@click.option("--profile", default=None, help="Routing profile for both sides, e.g. offline.")
@click.option(
    "--results-dir",
    "results_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Extra folder of stored runs to reuse (e.g. restored from the CI cache).",
)
@click.option("--concurrency", type=click.IntRange(min=1, max=512), default=8, show_default=True)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option("--cache-only", is_flag=True, help="Replay from the cache only; a miss is an error.")
@click.option(
    "--markdown",
    "markdown_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the PR-comment Markdown here.",
)
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report here.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="markdown",
    show_default=True,
    help="What to print on stdout.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@shard_option
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --shard: also write this job's shard runs here (the folder a CI matrix job uploads).",
)
@click.pass_context
def diff(
    ctx: click.Context,
    base: str,
    head: str | None,
    profile: str | None,
    results_dirs: tuple[Path, ...],
    concurrency: int,
    no_cache: bool,
    cache_only: bool,
    markdown_out: Path | None,
    html_out: Path | None,
    json_out: Path | None,
    output_format: str,
    quiet: bool,
    shard: str | None,
    out_dir: Path | None,
) -> int:
    """Evaluate the suites a change affects, at head and base, and compare them.

    Exit 0 when every gate passes, 1 when a quality gate fails, 2 on a usage or configuration error
    (including a base or head tree that does not validate), 3 when it could not evaluate (too many
    calls timed out or failed, or a run was interrupted): rerun.
    Also appends the Markdown to $GITHUB_STEP_SUMMARY when that is set.

    With `--shard K/N` (one job of a CI matrix) it only evaluates shard K of each side that has no
    stored whole run, stores the shard runs (and writes them to `--out-dir`), and compares nothing;
    after `promptship runs merge` of the N jobs' shard runs, `diff` compares with no model call.
    Exit 0, or 3 when a shard run was interrupted.
    """
    from ..diff.change import DiffRequest, run_diff
    from ..eval.progress import progress_mode
    from ..files.atomic import write_atomically
    from ..report.console import print_markdown_report
    from ..report.github import write_step_summary
    from ..report.html import render_html
    from ..report.jsonout import render_json
    from ..report.markdown import render_markdown

    if no_cache and cache_only:
        raise UsageError("--no-cache and --cache-only exclude each other")
    if shard is None and out_dir is not None:
        raise UsageError("--out-dir goes with --shard K/N", code="E980", hint="add --shard K/N, or drop --out-dir")
    if shard is not None and (markdown_out or html_out or json_out):
        raise UsageError(
            "--shard compares nothing, so it writes no --markdown, --html or --json report",
            code="E980",
            hint="merge the N shard runs with `promptship runs merge`, then run `promptship diff` for the report",
        )
    request = DiffRequest(
        base=base,
        head=head,
        profile=profile,
        results_dirs=results_dirs,
        concurrency=concurrency,
        cache_mode="off" if no_cache else "only" if cache_only else "use",
        progress=progress_mode(quiet),
    )
    if shard is not None:
        return _diff_shard(root_of(ctx), request, shard, out_dir)
    try:
        report = run_diff(root_of(ctx), request)
    except RepositoryInvalid as exc:
        exc.verdict = False  # for `diff`, 1 means "a gate failed": an invalid tree is user input (2)
        raise
    markdown = render_markdown(report)
    outputs: dict[Path | None, Callable[[], str]] = {
        markdown_out: lambda: markdown,
        html_out: lambda: render_html(report),
        json_out: lambda: render_json(report),
    }
    for path, make in outputs.items():
        if path is not None:
            write_atomically(path, make())
    write_step_summary(markdown)
    if output_format == "json":
        click.echo(render_json(report))
    elif output_format == "markdown":
        click.echo(markdown)
    else:
        print_markdown_report(markdown, report.verdict())
    return report.exit_code


def _diff_shard(root: Path, request: DiffRequest, shard: str, out_dir: Path | None) -> int:
    from ..diff.sharded import run_diff_shard
    from ..errors import EXIT_NOT_EVALUATED, EXIT_OK
    from ..eval.shards import parse_shard

    spec = parse_shard(shard)
    work = run_diff_shard(root, request, spec, out_dir)
    if not work:
        click.echo(f"shard {spec}: no eval suite is affected by this change; nothing to evaluate")
    for part in work:
        if part.run is None:
            click.echo(f"{part.suite} ({part.side}): a whole run is stored; shard {spec} has nothing to do")
            continue
        record = part.run.selection.shard
        assert record is not None
        click.echo(
            f"{part.suite} ({part.side}): shard {spec}, {len(part.run.selection.items)} of {record.whole_items} "
            f"item(s), {part.source}"
            + (f" → {part.written}" if part.written else "")
            + ("" if part.run.complete else " (interrupted: rerun this job)")
        )
    return EXIT_NOT_EVALUATED if any(p.interrupted for p in work) else EXIT_OK
