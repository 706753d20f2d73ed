"""GitHub REST: the sticky PR comment and the job summary.

The token is sent as a header and never appears in any message, log or exception: error texts are
built from the status code and GitHub's ``message`` field only, and scrubbed of the token anyway.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import PromptshipError

COMMENT_LIMIT = 65_536
DEFAULT_API = "https://api.github.com"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(PromptshipError):
    pass


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" | "updated" | "unchanged"
    id: int
    url: str


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 60.0
    #: Total time allowed for waiting across retries of one request.
    budget_s: float = 180.0


class GitHubClient:
    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API,
        client: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise GitHubError(
                "GITHUB_TOKEN is not set",
                code="E901",
                hint="in a workflow: env: {GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}}",
            )
        self._token = token
        self.api_url = api_url.rstrip("/")
        self._client = client or httpx.Client(timeout=30)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _wait_for(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the response is final."""
        status = response.status_code
        headers = response.headers
        secondary = status in (403, 429) and (
            "retry-after" in headers
            or headers.get("x-ratelimit-remaining") == "0"
            or "rate limit" in response.text.lower()
        )
        if not (status >= 500 or secondary):
            return None
        if "retry-after" in headers:
            try:
                return float(headers["retry-after"])
            except ValueError:
                pass
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        return min(self.retry.cap_s, self.retry.base_s * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "promptship",
        }
        waited = 0.0
        for attempt in range(self.retry.attempts):
            try:
                response = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 == self.retry.attempts:
                    raise GitHubError(
                        f"cannot reach GitHub: {type(exc).__name__}",
                        code="E902",
                        hint="check the network and --api-url",
                    ) from None
                self.sleep(delay := min(self.retry.cap_s, self.retry.base_s * 2**attempt))
                waited += delay
                continue
            delay = self._wait_for(response, attempt)
            if delay is None or attempt + 1 == self.retry.attempts or waited + delay > self.retry.budget_s:
                return self._checked(response)
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = ""
        hint = {
            401: "the token is invalid or expired; check GITHUB_TOKEN",
            403: "the token needs `pull-requests: write` (and `issues: write` for issue comments)",
            404: "check --repo OWNER/NAME and --pr, and that the token can see the repository",
        }.get(response.status_code, "GitHub may be degraded; retry later")
        raise GitHubError(
            self._scrub(
                f"GitHub answered {response.status_code} to {response.request.method} "
                f"{response.request.url.path}: {message}"
            ),
            code="E903",
            hint=hint,
        )

    def comments(self, repo: str, pr: int) -> list[dict[str, Any]]:
        """Every comment of the PR conversation, following ``Link: rel="next"``."""
        url: str | None = f"{self.api_url}/repos/{repo}/issues/{pr}/comments?per_page=100"
        found: list[dict[str, Any]] = []
        while url:
            response = self.request("GET", url)
            found.extend(response.json())
            match = _NEXT.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
        return found


def post_sticky_comment(
    repo: str,
    pr: int,
    body: str,
    *,
    token: str,
    marker: str,
    api_url: str = DEFAULT_API,
    client: GitHubClient | None = None,
) -> CommentResult:
    """Create the PR comment holding ``marker``, or update it in place; nothing if unchanged."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise GitHubError(f"invalid repository {repo!r}", code="E904", hint="use OWNER/NAME")
    if marker not in body:
        body = f"{marker}\n{body}"
    if len(body) > COMMENT_LIMIT:
        raise GitHubError(
            f"comment body has {len(body):,} characters; GitHub allows {COMMENT_LIMIT:,}",
            code="E905",
            hint="render the report with promptship diff, which shortens it to fit",
        )
    github = client or GitHubClient(token, api_url=api_url)
    existing = next((c for c in github.comments(repo, pr) if marker in (c.get("body") or "")), None)
    if existing is None:
        created = github.request("POST", f"{github.api_url}/repos/{repo}/issues/{pr}/comments", json={"body": body})
        data = created.json()
        return CommentResult("created", data["id"], data["html_url"])
    if existing.get("body") == body:
        return CommentResult("unchanged", existing["id"], existing["html_url"])
    updated = github.request(
        "PATCH", f"{github.api_url}/repos/{repo}/issues/comments/{existing['id']}", json={"body": body}
    )
    data = updated.json()
    return CommentResult("updated", data["id"], data["html_url"])


def write_step_summary(markdown: str, env: Mapping[str, str] = os.environ) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when set; True if written."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n")
    return True
