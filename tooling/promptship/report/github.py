"""GitHub REST: the sticky PR comment, which PR a workflow run belongs to, and the job summary.

The token is sent as a header and never appears in any message, log or exception: error texts are
built from the status code and GitHub's ``message`` field only, and scrubbed of the token anyway.

The sticky comment is the one that *starts* with the marker *and* was written by ``author`` (the
token's identity, ``github-actions[bot]`` for the workflow token), so no comment merely quoting the
marker is ever edited, not even another workflow's comment posted with the same token. A create is
never retried blindly: after a 5xx or a timeout the comments are listed again,
because the first POST may have landed.
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

from ..errors import CredentialError, GitHubError, GitHubUnavailable, UsageError
from ..files.redact import redact
from ..llm import retry
from ..llm.retry import Action, ErrorClass, backoff, decide

COMMENT_LIMIT = 65_536
DEFAULT_API = "https://api.github.com"
DEFAULT_AUTHOR = "github-actions[bot]"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


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

    def policy(self, attempts: int | None = None) -> retry.RetryPolicy:
        """These settings for ``llm.retry.decide`` (GitHub's Retry-After is honoured uncapped)."""
        return retry.RetryPolicy(
            attempts=attempts or self.attempts,
            backoff_base_s=self.base_s,
            backoff_cap_s=self.cap_s,
            budget_s=self.budget_s,
        )


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
            raise CredentialError(
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

    def _needs_retry(self, response: httpx.Response) -> tuple[bool, float | None]:
        """Whether the answer is not final (5xx, a secondary rate limit), and the wait GitHub named."""
        status = response.status_code
        headers = response.headers
        secondary = status in (403, 429) and (
            "retry-after" in headers
            or headers.get("x-ratelimit-remaining") == "0"
            or "rate limit" in response.text.lower()
        )
        if not (status >= 500 or secondary):
            return False, None
        if "retry-after" in headers:
            try:
                return True, float(headers["retry-after"])
            except ValueError:
                pass
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return True, max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        return True, None

    def request(self, method: str, url: str, *, retries: bool = True, **kwargs: Any) -> httpx.Response:
        """Send one request; retry 5xx, secondary rate limits and network errors as ``llm.retry.decide`` says.

        With ``retries=False`` the request is sent once. Raises :class:`GitHubUnavailable` when no final
        answer came, :class:`GitHubError` on any other non-2xx answer.
        """
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "promptship",
        }
        policy = self.retry.policy(attempts=None if retries else 1)
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            jitter = 1.0
            named: float | None = None
            hint: str | None = "check the network and --api-url"
            try:
                response = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                failure_message = f"cannot reach GitHub: {type(exc).__name__}"
            else:
                transient, named = self._needs_retry(response)
                if not transient:
                    return self._checked(response)
                error = self._error(response)
                failure_message = error.message
                hint = "GitHub is rate-limiting this token; retry later" if response.status_code < 500 else error.hint
                jitter = 0.5 + random.random() / 2  # noqa: S311
            decision = decide(
                policy, attempt=attempt, error=ErrorClass.TRANSIENT, retry_after_s=named, waited_s=waited, jitter=jitter
            )
            if decision.action is not Action.RETRY:
                delay = named if named is not None else backoff(policy, attempt, jitter)
                raise GitHubUnavailable(failure_message, hint=hint or "", retry_after=delay)
            self.sleep(decision.wait_s)
            waited += decision.wait_s

    def paginate(self, url: str) -> list[dict[str, Any]]:
        """Every element of a list endpoint, following ``Link: rel="next"``."""
        next_url: str | None = url
        found: list[dict[str, Any]] = []
        while next_url:
            response = self.request("GET", next_url)
            found.extend(response.json())
            match = _NEXT.search(response.headers.get("link", ""))
            next_url = match.group(1) if match else None
        return found

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        raise self._error(response)

    def _error(self, response: httpx.Response) -> GitHubError:
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = ""
        hint = {
            401: "the token is invalid or expired; check GITHUB_TOKEN",
            403: "the token needs `pull-requests: write` (and `issues: write` for issue comments)",
            404: "check --repo OWNER/NAME and --pr, and that the token can see the repository",
        }.get(response.status_code, "GitHub may be degraded; retry later")
        return GitHubError(
            self._scrub(
                f"GitHub answered {response.status_code} to {response.request.method} "
                f"{response.request.url.path}: {message}"
            ),
            code="E903",
            hint=hint,
        )

    def comments(self, repo: str, pr: int) -> list[dict[str, Any]]:
        """Every comment of the PR conversation."""
        return self.paginate(f"{self.api_url}/repos/{repo}/issues/{pr}/comments?per_page=100")

    def open_pull_requests(self, repo: str) -> list[dict[str, Any]]:
        """Every open pull request of ``repo``."""
        return self.paginate(f"{self.api_url}/repos/{repo}/pulls?state=open&per_page=100")


def _check_repo(repo: str, option: str = "--repo") -> None:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise UsageError(f"invalid repository {repo!r} for {option}", code="E904", hint="use OWNER/NAME")


def _head_matches(pull: Mapping[str, Any], sha: str, head_repo: str | None, head_branch: str | None) -> bool:
    head = pull.get("head") or {}
    if head.get("sha") != sha:
        return False
    if head_repo is not None and ((head.get("repo") or {}).get("full_name") or "").lower() != head_repo.lower():
        return False
    return head_branch is None or head.get("ref") == head_branch


def resolve_pull_request(
    repo: str,
    head_sha: str,
    *,
    client: GitHubClient,
    head_repo: str | None = None,
    head_branch: str | None = None,
    claimed: int | None = None,
) -> int:
    """The number of the open PR of ``repo`` whose head is exactly ``head_sha`` (and ``head_repo``/``head_branch``).

    ``claimed`` is a number from an untrusted source (a workflow artifact): it is accepted only when it is
    one of the matching PRs. Raises :class:`GitHubError` when no open PR matches, when ``claimed``
    disagrees, or when several match and nothing says which.
    """
    _check_repo(repo)
    if not re.fullmatch(r"[0-9a-f]{40}", head_sha):
        raise UsageError(f"invalid head sha {head_sha!r}", code="E906", hint="pass the full 40-character commit sha")
    matching = sorted(
        int(pull["number"])
        for pull in client.open_pull_requests(repo)
        if _head_matches(pull, head_sha, head_repo, head_branch)
    )
    if not matching:
        raise UsageError(
            f"no open pull request of {repo} has head {head_sha[:12]}",
            code="E907",
            hint="the PR was closed or pushed to since this run; the newer run posts its own report",
        )
    if claimed is not None:
        if claimed not in matching:
            raise UsageError(
                f"refusing to comment: PR #{claimed} does not have head {head_sha[:12]} "
                f"(open PRs with that head: {', '.join(f'#{n}' for n in matching)})",
                code="E908",
                hint="the PR number came from an artifact the PR's own workflow wrote; it cannot be trusted",
            )
        return claimed
    if len(matching) > 1:
        raise UsageError(
            f"{len(matching)} open pull requests have head {head_sha[:12]}: {', '.join(f'#{n}' for n in matching)}",
            code="E909",
            hint="pass --head-repo and --head-branch, or --pr to pick one of them",
        )
    return matching[0]


def _find_sticky(comments: list[dict[str, Any]], marker: str, author: str) -> dict[str, Any] | None:
    return next(
        (
            c
            for c in comments
            if (c.get("body") or "").startswith(marker)
            and ((c.get("user") or {}).get("login") or "").lower() == author.lower()
        ),
        None,
    )


def post_sticky_comment(
    repo: str,
    pr: int,
    body: str,
    *,
    token: str,
    marker: str,
    author: str = DEFAULT_AUTHOR,
    api_url: str = DEFAULT_API,
    client: GitHubClient | None = None,
) -> CommentResult:
    """Create the PR comment holding ``marker`` written by ``author``, or update it in place; nothing if unchanged.

    Comments by anyone else are never touched, even when they quote the marker. A create that got no
    answer (5xx, timeout) is not re-sent blindly: the comments are listed again first, so one report
    never becomes two.
    """
    _check_repo(repo)
    body = redact(body)
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    if len(body) > COMMENT_LIMIT:
        raise UsageError(
            f"comment body has {len(body):,} characters; GitHub allows {COMMENT_LIMIT:,}",
            code="E905",
            hint="render the report with promptship diff, which shortens it to fit",
        )
    github = client or GitHubClient(token, api_url=api_url)
    tried_create = False
    for attempt in range(github.retry.attempts):
        existing = _find_sticky(github.comments(repo, pr), marker, author)
        if existing is not None:
            result = _update(github, repo, existing, body)
            return CommentResult("created", result.id, result.url) if tried_create else result
        try:
            tried_create = True
            created = github.request(
                "POST", f"{github.api_url}/repos/{repo}/issues/{pr}/comments", json={"body": body}, retries=False
            )
        except GitHubUnavailable as exc:
            decision = decide(
                github.retry.policy(), attempt=attempt + 1, error=ErrorClass.TRANSIENT, retry_after_s=exc.retry_after
            )
            if decision.action is not Action.RETRY:
                raise
            github.sleep(decision.wait_s)
            continue
        data = created.json()
        return CommentResult("created", data["id"], data["html_url"])
    raise AssertionError("unreachable")  # pragma: no cover


def _update(github: GitHubClient, repo: str, existing: Mapping[str, Any], body: str) -> CommentResult:
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
        handle.write(redact(markdown).rstrip("\n") + "\n")
    return True
