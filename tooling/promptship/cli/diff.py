"""``promptship diff --base REF [--head REF]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..errors import RepositoryInvalid, UsageError
from .main import root_of


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
) -> int:
    """Evaluate the suites a change affects, at head and base, and compare them.

    Exit 0 when every gate passes, 1 when a quality gate fails, 2 on a usage or configuration error
    (including a base or head tree that does not validate), 3 when it could not evaluate (too many
    calls timed out or failed, or a run was interrupted): rerun.
    Also appends the Markdown to $GITHUB_STEP_SUMMARY when that is set.
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
    request = DiffRequest(
        base=base,
        head=head,
        profile=profile,
        results_dirs=results_dirs,
        concurrency=concurrency,
        cache_mode="off" if no_cache else "only" if cache_only else "use",
        progress=progress_mode(quiet),
    )
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
