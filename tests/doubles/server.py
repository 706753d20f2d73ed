"""Run an aiohttp application on its own event loop in a background thread (for test doubles)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web


class BackgroundServer:
    """Serves the routes added by ``setup(app)`` on 127.0.0.1; ``stopping`` is set on :meth:`stop`."""

    def __init__(self, setup: Callable[[web.Application], None], port: int = 0) -> None:
        self._setup = setup
        self._requested_port = port
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            self.stopping = asyncio.Event()
            app = web.Application(client_max_size=32 * 1024 * 1024)
            self._setup(app)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", self._requested_port, backlog=1024)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="test-double", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("test double did not start")

    def stop(self) -> None:
        loop = self.loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self.stopping.set)  # type: ignore[union-attr]
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(10)
        self.loop = None
