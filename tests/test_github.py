"""Sticky PR comments against the GitHub REST double."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.github import GitHubClient, GitHubError, RetryPolicy, post_sticky_comment, write_step_summary

from .doubles.github_api import GitHubDouble

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
    with pytest.raises(GitHubError, match="65,536"):
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
