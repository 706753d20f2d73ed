"""Sticky PR comments against the GitHub REST double."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.errors import UsageError
from promptship.report.github import (
    GitHubClient,
    GitHubError,
    RetryPolicy,
    post_sticky_comment,
    resolve_pull_request,
    write_step_summary,
)

from ..doubles.github_api import GitHubDouble

MARKER = "<!-- promptship:report -->"


def client(double: GitHubDouble, sleeps: list[float] | None = None, token: str | None = None) -> GitHubClient:
    recorder = sleeps if sleeps is not None else []
    return GitHubClient(
        token or double.token, api_url=double.url, sleep=recorder.append, retry=RetryPolicy(attempts=4, base_s=0.01)
    )


def test_creates_then_updates_one_comment(github_double: GitHubDouble) -> None:
    github = client(github_double)
    first = post_sticky_comment("acme/menu", 7, f"{MARKER}\nv1", token="", marker=MARKER, client=github)
    second = post_sticky_comment("acme/menu", 7, f"{MARKER}\nv2", token="", marker=MARKER, client=github)
    assert (first.action, second.action) == ("created", "updated") and first.id == second.id
    comments = github_double.comments[("acme/menu", 7)]
    assert len(comments) == 1 and comments[0]["body"].endswith("v2")
    third = post_sticky_comment("acme/menu", 7, f"{MARKER}\nv2", token="", marker=MARKER, client=github)
    assert third.action == "unchanged" and github_double.count("PATCH") == 1


def test_finds_the_marker_on_the_last_page(github_double: GitHubDouble) -> None:
    github_double.page_size = 5
    for index in range(12):
        github_double.add_comment("acme/menu", 3, f"chatter {index}")
    github_double.add_comment("acme/menu", 3, f"{MARKER}\nold report", "github-actions[bot]")
    result = post_sticky_comment(
        "acme/menu", 3, f"{MARKER}\nnew", token="", marker=MARKER, client=client(github_double)
    )
    assert result.action == "updated"
    assert [p for m, p in github_double.journal if m == "GET"][-1].endswith("page=3")
    assert github_double.count("POST") == 0


def test_retries_5xx_and_secondary_rate_limits(github_double: GitHubDouble) -> None:
    sleeps: list[float] = []
    github_double.inject(502, 2)
    github_double.secondary_rate_limit(1, retry_after=7)
    result = post_sticky_comment("acme/menu", 1, "body", token="", marker=MARKER, client=client(github_double, sleeps))
    assert result.action == "created"
    assert len(sleeps) == 3 and sleeps[-1] == 7.0, "Retry-After of the secondary rate limit is honoured"


def test_persistent_failure_is_a_clear_error(github_double: GitHubDouble) -> None:
    github_double.inject(503, 10)
    with pytest.raises(GitHubError) as info:
        post_sticky_comment("acme/menu", 1, "body", token="", marker=MARKER, client=client(github_double))
    assert "503" in info.value.message and info.value.hint


def test_bad_token_is_reported_without_the_token(github_double: GitHubDouble) -> None:
    secret = "ghp_wrongtoken0123456789abcdefghijklmnopq"
    with pytest.raises(GitHubError) as info:
        post_sticky_comment("acme/menu", 1, "body", token="", marker=MARKER, client=client(github_double, token=secret))
    text = info.value.format()
    assert "401" in text and "GITHUB_TOKEN" in text and secret not in text


def test_too_long_body_is_refused() -> None:
    with pytest.raises(UsageError, match="65,536"):
        post_sticky_comment("acme/menu", 1, "x" * 70_000, token="t", marker=MARKER, api_url="http://127.0.0.1:9")


def test_cli_comment_end_to_end(
    github_double: GitHubDouble, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = tmp_path / "comment.md"
    body.write_text(f"{MARKER}\nreport")
    monkeypatch.setenv("GITHUB_TOKEN", github_double.token)
    args = (
        "ci",
        "comment",
        "--repo",
        "acme/menu",
        "--pr",
        "9",
        "--body-file",
        str(body),
        "--api-url",
        github_double.url,
    )
    first = run_cli(*args)
    body.write_text(f"{MARKER}\nreport v2")
    second = run_cli(*args)
    assert first.code == 0 and first.out.startswith("created comment https://github.com/acme/menu/pull/9")
    assert second.code == 0 and second.out.startswith("updated comment")
    assert github_double.token not in first.out + first.err + second.out + second.err
    monkeypatch.delenv("GITHUB_TOKEN")
    missing = run_cli(*args)
    assert missing.code == 2 and "GITHUB_TOKEN is not set" in missing.err


def test_step_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    assert write_step_summary("# one", {"GITHUB_STEP_SUMMARY": str(summary)})
    assert write_step_summary("# two", {"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == "# one\n# two\n"
    assert not write_step_summary("# three", {})


def test_a_users_comment_quoting_the_marker_is_never_edited(github_double: GitHubDouble) -> None:
    quoted = github_double.add_comment("acme/menu", 4, f"why does the bot write {MARKER}?", "alice")
    github = client(github_double)
    result = post_sticky_comment("acme/menu", 4, f"{MARKER}\nreport", token="", marker=MARKER, client=github)
    assert result.action == "created" and github_double.count("PATCH") == 0
    comments = github_double.comments[("acme/menu", 4)]
    assert comments[0] == quoted and comments[0]["body"] == f"why does the bot write {MARKER}?"
    assert comments[1]["user"]["login"] == "github-actions[bot]"
    again = post_sticky_comment("acme/menu", 4, f"{MARKER}\nreport v2", token="", marker=MARKER, client=github)
    assert again.action == "updated" and again.id == comments[1]["id"] and comments[0]["body"] == quoted["body"]


def test_a_github_app_identity_finds_its_own_comment(github_double: GitHubDouble) -> None:
    github_double.identity = "promptship-app[bot]"
    github_double.add_comment("acme/menu", 5, f"{MARKER}\nold, by the workflow token", "github-actions[bot]")
    github = client(github_double)
    kwargs = {"token": "", "marker": MARKER, "client": github, "author": "promptship-app[bot]"}
    first = post_sticky_comment("acme/menu", 5, f"{MARKER}\nv1", **kwargs)  # type: ignore[arg-type]
    second = post_sticky_comment("acme/menu", 5, f"{MARKER}\nv2", **kwargs)  # type: ignore[arg-type]
    assert (first.action, second.action) == ("created", "updated") and first.id == second.id
    assert [c["user"]["login"] for c in github_double.comments[("acme/menu", 5)]] == [
        "github-actions[bot]",
        "promptship-app[bot]",
    ]


def test_a_create_whose_answer_was_lost_is_not_posted_twice(github_double: GitHubDouble) -> None:
    github_double.lose_responses("POST", 1)
    sleeps: list[float] = []
    result = post_sticky_comment(
        "acme/menu", 6, f"{MARKER}\nreport", token="", marker=MARKER, client=client(github_double, sleeps)
    )
    comments = github_double.comments[("acme/menu", 6)]
    assert len(comments) == 1 and result.action == "created" and result.id == comments[0]["id"]
    assert github_double.count("POST") == 1 and len(sleeps) == 1
    assert [m for m, _ in github_double.journal] == ["GET", "POST", "GET"], "listed again before any new POST"


SHA = "a" * 40


def test_the_pr_is_found_by_its_head_commit_across_pages(github_double: GitHubDouble) -> None:
    github_double.page_size = 5
    for number in range(1, 13):
        github_double.add_pull("acme/menu", number, f"{number:040x}")
    github_double.add_pull("acme/menu", 40, SHA, head_repo="mallory/menu", head_ref="patch-1")
    github = client(github_double)
    assert resolve_pull_request("acme/menu", SHA, client=github) == 40
    assert [p for m, p in github_double.journal if m == "GET"][-1].endswith("page=3")
    assert resolve_pull_request("acme/menu", SHA, client=github, head_repo="Mallory/menu", head_branch="patch-1") == 40
    with pytest.raises(UsageError, match="no open pull request") as none:
        resolve_pull_request("acme/menu", SHA, client=github, head_repo="acme/menu")
    assert none.value.code == "E907"


def test_an_artifact_pr_number_that_disagrees_is_refused(github_double: GitHubDouble) -> None:
    github_double.add_pull("acme/menu", 7, SHA)
    github_double.add_pull("acme/menu", 8, "b" * 40)
    github = client(github_double)
    assert resolve_pull_request("acme/menu", SHA, client=github, claimed=7) == 7
    with pytest.raises(UsageError, match="PR #8 does not have head aaaaaaaaaaaa") as info:
        resolve_pull_request("acme/menu", SHA, client=github, claimed=8)
    assert info.value.code == "E908" and "#7" in info.value.message
    github_double.add_pull("acme/menu", 9, SHA, head_ref="other")
    with pytest.raises(UsageError, match="2 open pull requests") as ambiguous:
        resolve_pull_request("acme/menu", SHA, client=github)
    assert ambiguous.value.code == "E909"
    assert resolve_pull_request("acme/menu", SHA, client=github, head_branch="other") == 9
    with pytest.raises(UsageError, match="invalid head sha"):
        resolve_pull_request("acme/menu", "HEAD", client=github)


def test_cli_comment_resolves_the_pr_from_the_head_sha(
    github_double: GitHubDouble, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github_double.add_pull("acme/menu", 7, SHA, head_repo="fork/menu", head_ref="tweak")
    github_double.add_pull("acme/menu", 8, "b" * 40)
    body = tmp_path / "comment.md"
    body.write_text(f"{MARKER}\nreport")
    monkeypatch.setenv("GITHUB_TOKEN", github_double.token)
    common = ("ci", "comment", "--repo", "acme/menu", "--api-url", github_double.url, "--body-file", str(body))
    forged = run_cli(*common, "--head-sha", SHA, "--head-repo", "fork/menu", "--pr", "8")
    assert forged.code == 2 and "error[E908]" in forged.err and "Traceback" not in forged.err
    assert github_double.count("POST") == 0 and ("acme/menu", 8) not in github_double.comments
    posted = run_cli(*common, "--head-sha", SHA, "--head-repo", "fork/menu", "--head-branch", "tweak", "--pr", "7")
    assert posted.code == 0 and posted.out.startswith("created comment https://github.com/acme/menu/pull/7")
    stale = run_cli(*common, "--head-sha", "c" * 40)
    assert stale.code == 2 and "error[E907]" in stale.err
    neither = run_cli(*common)
    assert neither.code == 2 and "--pr or --head-sha" in neither.err
    assert github_double.token not in forged.err + posted.out + stale.err


def test_cli_comment_posts_a_note_when_the_report_is_missing(
    github_double: GitHubDouble, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github_double.add_pull("acme/menu", 3, SHA)
    github_double.add_comment("acme/menu", 3, f"{MARKER}\nan old report", "github-actions[bot]")
    monkeypatch.setenv("GITHUB_TOKEN", github_double.token)
    missing = tmp_path / "report" / "comment.md"
    common = ("ci", "comment", "--repo", "acme/menu", "--api-url", github_double.url, "--head-sha", SHA)
    refused = run_cli(*common, "--body-file", str(missing))
    assert refused.code == 2 and "no such file" in refused.err and github_double.count("PATCH") == 0
    run_url = "https://github.com/acme/menu/actions/runs/42"
    noted = run_cli(*common, "--body-file", str(missing), "--run-url", run_url)
    assert noted.code == 0 and noted.out.startswith("updated comment")
    text = github_double.comments[("acme/menu", 3)][0]["body"]
    assert text.startswith(MARKER) and "could not produce a report for `aaaaaaa`" in text and run_url in text


def test_a_lasting_rate_limit_says_so(github_double: GitHubDouble) -> None:
    github_double.secondary_rate_limit(10, retry_after=1)
    with pytest.raises(GitHubError) as info:
        post_sticky_comment("acme/menu", 1, "body", token="", marker=MARKER, client=client(github_double))
    assert "403" in info.value.message and "rate-limiting" in (info.value.hint or "")


def test_another_bot_comment_quoting_the_marker_is_never_edited(github_double: GitHubDouble) -> None:
    """Another workflow posting with the same token (same author) quotes our marker: not ours to edit."""
    quoting = f"Lint report. For reference, promptship's comments start with {MARKER}"
    other = github_double.add_comment("acme/menu", 6, quoting, "github-actions[bot]")
    github = client(github_double)
    result = post_sticky_comment("acme/menu", 6, "report", token="", marker=MARKER, client=github)
    assert result.action == "created" and result.id != other["id"]
    comments = github_double.comments[("acme/menu", 6)]
    assert comments[0]["body"] == quoting and comments[1]["body"] == f"{MARKER}\nreport"
    again = post_sticky_comment("acme/menu", 6, "report v2", token="", marker=MARKER, client=github)
    assert again.action == "updated" and again.id == comments[1]["id"] and comments[0]["body"] == quoting
