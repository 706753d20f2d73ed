"""``promptship ci comment``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import CredentialError, UsageError
from ..report.github import DEFAULT_AUTHOR


@click.group()
def ci() -> None:
    """CI helpers."""


def missing_report(run_url: str, head_sha: str | None) -> str:
    """The comment posted when the PR workflow produced no report (validation failed, diff exit 2...)."""
    commit = f" for `{head_sha[:7]}`" if head_sha else ""
    return (
        f"### promptship eval diff\n\n**⚠️ promptship could not produce a report{commit}**: "
        f"see [the workflow run]({run_url}) for what went wrong (validation errors, configuration errors).\n"
    )


@ci.command()
@click.option("--repo", required=True, help="OWNER/NAME.")
@click.option(
    "--pr",
    type=click.IntRange(min=1),
    default=None,
    help="Pull request number. With --head-sha it is only a claim, checked against the PR's head.",
)
@click.option(
    "--head-sha",
    default=None,
    help="Comment on the open PR whose head is this commit (in a workflow_run: github.event.workflow_run.head_sha).",
)
@click.option("--head-repo", default=None, help="With --head-sha: the PR's head repository OWNER/NAME must match.")
@click.option("--head-branch", default=None, help="With --head-sha: the PR's head branch must match.")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--run-url",
    default=None,
    help="When BODY_FILE does not exist, post a short note linking this workflow run instead of failing.",
)
@click.option(
    "--marker",
    default="<!-- promptship:report -->",
    show_default=True,
    help="Hidden marker identifying the sticky comment.",
)
@click.option(
    "--author",
    default=DEFAULT_AUTHOR,
    show_default=True,
    help="Login the token comments as; only a marked comment by this login is updated.",
)
@click.option("--api-url", default=None, help="GitHub API URL (default: $GITHUB_API_URL or https://api.github.com).")
def comment(
    repo: str,
    pr: int | None,
    head_sha: str | None,
    head_repo: str | None,
    head_branch: str | None,
    body_file: Path,
    run_url: str | None,
    marker: str,
    author: str,
    api_url: str | None,
) -> int:
    """Create or update the sticky PR comment from BODY_FILE. The token comes from GITHUB_TOKEN.

    In a workflow triggered by another run, pass --head-sha from the event: the PR is then found by its
    head commit, and a --pr read from an artifact is refused unless it is that PR.
    """
    from ..report.github import DEFAULT_API, GitHubClient, post_sticky_comment, resolve_pull_request

    if pr is None and head_sha is None:
        raise UsageError("pass --pr or --head-sha", hint="in a workflow_run job: --head-sha from the event")
    if head_sha is None and (head_repo or head_branch):
        raise UsageError("--head-repo and --head-branch need --head-sha")
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise CredentialError(
            "GITHUB_TOKEN is not set",
            code="E901",
            hint="in a workflow: env: {GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}}",
        )
    if body_file.is_file():
        try:
            body = body_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"{body_file}: not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                hint="the comment body must be UTF-8 text, as `promptship diff --markdown` writes it",
            ) from None
    elif run_url:
        body = missing_report(run_url, head_sha)
    else:
        raise UsageError(f"no such file: {body_file}", hint="pass --run-url to post a note when the report is missing")
    client = GitHubClient(token, api_url=api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API)
    if head_sha is not None:
        pr = resolve_pull_request(
            repo, head_sha, client=client, head_repo=head_repo, head_branch=head_branch, claimed=pr
        )
    assert pr is not None
    result = post_sticky_comment(repo, pr, body, token=token, marker=marker, author=author, client=client)
    click.echo(f"{result.action} comment {result.url}")
    return 0
