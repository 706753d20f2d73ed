"""Prompts by name and label for the runtime SDK: Langfuse through a TTL cache, never waiting long.

- A fresh cache entry is served at once.
- An expired entry is served at once too (``stale-cache``) while one background fetch refreshes it.
- With nothing cached, the caller waits for the fetch at most ``deadline_s``, then gets the prompt
  file bundled from Git (``bundled``); the fetch goes on in the background and fills the cache.
- A failed or overdue fetch starts a back-off of ``backoff_s`` *for that prompt and label*: no fetch
  of it is started during it, so a hung or unreachable Langfuse costs one deadline per prompt, not
  one per call, and one version the SDK cannot read never sends healthy prompts to their bundled
  files. Every failure is logged (logger ``promptship.runtime``, warning) with the prompt and why.

Fetches run on a small thread pool (one in flight per name and label), so the async API never
blocks its event loop. A prompt Langfuse does not have (404) is an error, not a fallback — also for
a running client: when a refresh finds that the label was removed (or the prompt deleted), the
cached copy is dropped with a warning and the following calls raise :class:`PromptNotFound`, as a
newly started client would, instead of serving the old version forever.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import PromptNotFound
from ..files.schema import Prompt

Key = tuple[str, str]
logger = logging.getLogger("promptship.runtime")
Source = Literal["langfuse", "stale-cache", "bundled", "request"]


@dataclass(frozen=True)
class ManagedPrompt:
    name: str
    label: str
    prompt: Prompt
    version: int | None
    source: Source
    #: The SDK's prompt object when it came from Langfuse (links traces to the version).
    langfuse_prompt: Any = field(default=None, compare=False, repr=False)


class PromptStore:
    """Thread-safe; ``fetch`` (None: files only) and ``bundled`` map (name, label) to a prompt."""

    def __init__(
        self,
        fetch: Callable[[str, str], ManagedPrompt] | None,
        bundled: Callable[[str, str], ManagedPrompt],
        *,
        ttl_s: float,
        deadline_s: float,
        backoff_s: float,
    ) -> None:
        self._fetch = fetch
        self._bundled = bundled
        self.ttl_s = ttl_s
        self.deadline_s = deadline_s
        self.backoff_s = backoff_s
        self._lock = threading.Lock()
        self._cache: dict[Key, tuple[float, ManagedPrompt]] = {}
        self._inflight: dict[Key, concurrent.futures.Future[ManagedPrompt]] = {}
        self._backoff_until: dict[Key, float] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def get(self, name: str, label: str) -> ManagedPrompt:
        """The prompt, waiting at most ``deadline_s`` for Langfuse (see the module doc)."""
        served, future = self._begin((name, label))
        if served is not None:
            return served
        assert future is not None
        try:
            return future.result(timeout=self.deadline_s)
        except concurrent.futures.TimeoutError:
            self._back_off((name, label))
        except Exception as exc:  # noqa: BLE001 - only a missing prompt is the caller's problem
            self._raise_if_missing(exc)
        return self._bundled(name, label)

    async def aget(self, name: str, label: str) -> ManagedPrompt:
        """:meth:`get` for async code: waits without blocking the event loop."""
        served, future = self._begin((name, label))
        if served is not None:
            return served
        assert future is not None
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.deadline_s)
        except TimeoutError:
            self._back_off((name, label))
        except Exception as exc:  # noqa: BLE001 - only a missing prompt is the caller's problem
            self._raise_if_missing(exc)
        return self._bundled(name, label)

    def close(self) -> None:
        """Stop the fetch threads (a fetch still running ends on its own); a later call starts new ones."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _begin(self, key: Key) -> tuple[ManagedPrompt | None, concurrent.futures.Future[ManagedPrompt] | None]:
        """(prompt to serve now, None) or (None, the fetch to wait for)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1], None
            if self._fetch is None:
                return self._bundled(*key), None
            future = self._inflight.get(key)
            if future is None and now >= self._backoff_until.get(key, 0.0):
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="promptship-prompts")
                future = self._pool.submit(self._load, key)
                self._inflight[key] = future
        if cached is not None:
            return replace(cached[1], source="stale-cache"), None
        if future is None:  # backing off: Langfuse failed a moment ago
            return self._bundled(*key), None
        return None, future

    def _load(self, key: Key) -> ManagedPrompt:
        """Fetch ``key`` (on the pool); the cache and the back-off are updated whoever waits."""
        assert self._fetch is not None
        try:
            prompt = self._fetch(*key)
        except PromptNotFound:
            with self._lock:
                self._inflight.pop(key, None)
                dropped = self._cache.pop(key, None)
            if dropped is not None:
                logger.warning(
                    "prompt %r: Langfuse no longer has label %r (removed, or the prompt deleted); "
                    "version %s is no longer served and calls for it now raise PromptNotFound",
                    *key,
                    dropped[1].version,
                )
            raise
        except Exception as exc:
            with self._lock:
                self._inflight.pop(key, None)
                self._backoff_until[key] = time.monotonic() + self.backoff_s
                cached = key in self._cache
            logger.warning(
                "prompt %r label %r: reading it from Langfuse failed (%s: %s); serving the %s for %.0f s",
                *key,
                type(exc).__name__,
                str(exc).splitlines()[0][:200] if str(exc) else "",
                "cached version" if cached else "bundled file",
                self.backoff_s,
            )
            raise
        with self._lock:
            self._cache[key] = (time.monotonic() + self.ttl_s, prompt)
            self._backoff_until.pop(key, None)
            self._inflight.pop(key, None)
        return prompt

    def _back_off(self, key: Key) -> None:
        with self._lock:
            self._backoff_until[key] = time.monotonic() + self.backoff_s
        logger.warning(
            "prompt %r label %r: Langfuse did not answer within %.1f s; serving the cached version or "
            "bundled file for %.0f s",
            *key,
            self.deadline_s,
            self.backoff_s,
        )

    @staticmethod
    def _raise_if_missing(exc: Exception) -> None:
        if isinstance(exc, PromptNotFound):
            raise exc
