"""A GitHub REST double on loopback: issue comments and open pull requests with real Link pagination,
auth, comment authors (the token's identity writes new comments), injected 5xx / secondary-rate-limit
responses, "lost" responses (the write happens, the client gets a 502), and a journal of every request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .server import BackgroundServer


@dataclass
class GitHubDouble:
    token: str = "ghs_testtoken0123456789abcdefghijklmnopqrstuv"
    page_size: int = 30
    #: The login of the token's identity: comments created through the API are authored by it.
    identity: str = "github-actions[bot]"
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Methods whose next N requests are carried out but answered with a 502 (a response lost on the way).
    lost: dict[str, int] = field(default_factory=dict)
    journal: list[tuple[str, str]] = field(default_factory=list)
    #: Responses to inject before normal handling: list of (status, extra headers, body).
    injected: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    _next_id: int = 1000

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._routes)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> GitHubDouble:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def inject(
        self, status: int, count: int = 1, headers: dict[str, str] | None = None, message: str = "Server Error"
    ) -> None:
        with self._lock:
            self.injected.extend([(status, headers or {}, {"message": message})] * count)

    def secondary_rate_limit(self, count: int = 1, retry_after: int = 1) -> None:
        self.inject(
            403,
            count,
            {"Retry-After": str(retry_after)},
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )

    def add_comment(self, repo: str, pr: int, body: str, login: str = "someone") -> dict[str, Any]:
        with self._lock:
            return self._create(repo, pr, body, login)

    def add_pull(
        self, repo: str, number: int, head_sha: str, *, head_repo: str | None = None, head_ref: str = "feature"
    ) -> dict[str, Any]:
        """An open pull request of ``repo`` whose head is ``head_sha`` on ``head_repo`` (default: ``repo``)."""
        pull = {
            "number": number,
            "state": "open",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "head": {"sha": head_sha, "ref": head_ref, "repo": {"full_name": head_repo or repo}},
            "base": {"ref": "main", "repo": {"full_name": repo}},
        }
        with self._lock:
            self.pulls.setdefault(repo, []).append(pull)
        return pull

    def lose_responses(self, method: str, count: int = 1) -> None:
        with self._lock:
            self.lost[method] = self.lost.get(method, 0) + count

    def count(self, method: str | None = None) -> int:
        return sum(1 for m, _ in self.journal if method is None or m == method)

    # -- server ---------------------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/repos/{owner}/{name}/issues/{pr}/comments", self._list)
        app.router.add_get("/repos/{owner}/{name}/pulls", self._pulls)
        app.router.add_post("/repos/{owner}/{name}/issues/{pr}/comments", self._post)
        app.router.add_patch("/repos/{owner}/{name}/issues/comments/{id}", self._patch)

    def _create(self, repo: str, pr: int, body: str, login: str) -> dict[str, Any]:
        self._next_id += 1
        comment_id = self._next_id
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.url}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/pull/{pr}#issuecomment-{comment_id}",
            "body": body,
            "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
            "created_at": "2026-11-24T00:00:00Z",
            "updated_at": "2026-11-24T00:00:00Z",
        }
        self.comments.setdefault((repo, pr), []).append(comment)
        return comment

    def _gate(self, request: web.Request) -> web.Response | None:
        with self._lock:
            self.journal.append((request.method, request.path_qs))
            if self.injected:
                status, headers, body = self.injected.pop(0)
                return web.json_response(body, status=status, headers=headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, status=401
            )
        return None

    def _page(self, request: web.Request, everything: list[dict[str, Any]]) -> web.Response:
        per_page = min(int(request.query.get("per_page", 30)), self.page_size)
        page = int(request.query.get("page", 1))
        chunk = everything[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(everything) // per_page))
        if page < last:
            extra = "".join(f"&{k}={v}" for k, v in request.query.items() if k not in ("per_page", "page"))
            base = f"{self.url}{request.path}?per_page={per_page}{extra}"
            headers["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
        return web.json_response(chunk, headers=headers)

    def _lose(self, method: str) -> bool:
        with self._lock:
            if self.lost.get(method, 0) > 0:
                self.lost[method] -= 1
                return True
        return False

    async def _list(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        pr = int(request.match_info["pr"])
        with self._lock:
            everything = list(self.comments.get((repo, pr), []))
        return self._page(request, everything)

    async def _pulls(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        state = request.query.get("state", "open")
        with self._lock:
            everything = [p for p in self.pulls.get(repo, []) if state == "all" or p["state"] == state]
        return self._page(request, everything)

    async def _post(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        body = (await request.json())["body"]
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        with self._lock:
            comment = self._create(repo, int(request.match_info["pr"]), body, self.identity)
        if self._lose("POST"):
            return web.json_response({"message": "Server Error"}, status=502)
        return web.json_response(comment, status=201)

    async def _patch(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        body = (await request.json())["body"]
        comment_id = int(request.match_info["id"])
        with self._lock:
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        comment["body"] = body
                        comment["updated_at"] = "2026-11-24T01:00:00Z"
                        return web.json_response(comment)
        return web.json_response({"message": "Not Found"}, status=404)


@contextmanager
def running_github_double() -> Iterator[GitHubDouble]:
    double = GitHubDouble().start()
    try:
        yield double
    finally:
        double.stop()
