"""``promptship ci comment``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import UsageError


@click.group()
def ci() -> None:
    """CI helpers."""


@ci.command()
@click.option("--repo", required=True, help="OWNER/NAME.")
@click.option("--pr", type=click.IntRange(min=1), required=True, help="Pull request number.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--marker",
    default="<!-- promptship:report -->",
    show_default=True,
    help="Hidden marker identifying the sticky comment.",
)
@click.option("--api-url", default=None, help="GitHub API URL (default: $GITHUB_API_URL or https://api.github.com).")
def comment(repo: str, pr: int, body_file: Path, marker: str, api_url: str | None) -> int:
    """Create or update the sticky PR comment from BODY_FILE. The token comes from GITHUB_TOKEN."""
    from ..github import DEFAULT_API, post_sticky_comment

    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set",
            code="E901",
            hint="in a workflow: env: {GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}}",
        )
    body = body_file.read_text(encoding="utf-8")
    url = api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API
    result = post_sticky_comment(repo, pr, body, token=token, marker=marker, api_url=url)
    click.echo(f"{result.action} comment {result.url}")
    return 0
