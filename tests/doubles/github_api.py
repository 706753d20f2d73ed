"""A GitHub REST double on loopback: issue comments with real Link pagination, auth, and injected
5xx / secondary-rate-limit responses, with a journal of every request."""

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
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
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

    def count(self, method: str | None = None) -> int:
        return sum(1 for m, _ in self.journal if method is None or m == method)

    # -- server ---------------------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/repos/{owner}/{name}/issues/{pr}/comments", self._list)
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

    async def _list(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        pr = int(request.match_info["pr"])
        per_page = min(int(request.query.get("per_page", 30)), self.page_size)
        page = int(request.query.get("page", 1))
        with self._lock:
            everything = list(self.comments.get((repo, pr), []))
        chunk = everything[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(everything) // per_page))
        if page < last:
            base = f"{self.url}{request.path}?per_page={per_page}"
            headers["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
        return web.json_response(chunk, headers=headers)

    async def _post(self, request: web.Request) -> web.Response:
        if (denied := self._gate(request)) is not None:
            return denied
        body = (await request.json())["body"]
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        with self._lock:
            comment = self._create(repo, int(request.match_info["pr"]), body, "github-actions[bot]")
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
