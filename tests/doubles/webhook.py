"""A Slack-compatible incoming-webhook receiver on loopback (a real HTTP server) for alert tests.

``POST /hook`` records the JSON body and answers ``ok`` like Slack; ``fail_first_n`` answers the
first N posts with 500; ``hang`` holds every post open until the server stops (a webhook that
accepts connections but never answers).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from aiohttp import web

from .server import BackgroundServer


class WebhookReceiver:
    def __init__(self, *, fail_first_n: int = 0, hang: bool = False) -> None:
        self.fail_first_n = fail_first_n
        self.hang = hang
        self.posts: list[dict[str, Any]] = []  # every post received, failed ones included
        self.delivered: list[str] = []  # texts answered with 200
        self.hanging = 0
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._routes)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.posts.append(body)
            number = len(self.posts)
            if self.hang:
                self.hanging += 1
        if self.hang:
            assert self._server.stopping is not None
            await self._server.stopping.wait()
            return web.Response(status=503)
        if number <= self.fail_first_n:
            return web.Response(status=500, text="try again")
        with self._lock:
            self.delivered.append(body["text"])
        return web.Response(text="ok")

    @property
    def url(self) -> str:
        return f"{self._server.url}/hook"

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The posts once at least ``count`` arrived (or whatever arrived by ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.posts) >= count:
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self.posts)

    def __enter__(self) -> WebhookReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
