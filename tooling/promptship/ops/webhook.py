"""Posting alerts to a Slack-compatible incoming webhook, in the background, with retries.

:meth:`WebhookSender.send` only queues the text (never blocks, never raises); one task on the
event loop posts ``{"text": ...}`` and retries as :func:`promptship.llm.retry.decide` says (5xx,
429 with its Retry-After, timeouts and refused connections are transient; another 4xx stops). An
alert that cannot be delivered is logged with the reason; the URL never is (it is the secret that
lets anyone post to the channel), nor any exception text, which could quote it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

import aiohttp

from ..llm.retry import Action, ErrorClass, RetryPolicy, decide

logger = logging.getLogger("promptship.alerts")

#: Patient, since nobody waits for an alert: 6 posts over at most ~2 minutes, Retry-After ≤ 60 s.
DELIVERY_RETRIES = RetryPolicy(
    attempts=6, backoff_base_s=1.0, backoff_cap_s=30.0, max_retry_after_s=60.0, budget_s=120.0
)
#: One post's time limit, in seconds.
POST_TIMEOUT_S = 10.0
#: Alerts waiting for delivery; more are logged as dropped (the log already holds each alert).
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class PostResult:
    """One post: ``ok``, else the failure's class, a reason fit for the log, and a Retry-After (s)."""

    ok: bool
    error: ErrorClass | None = None
    reason: str = ""
    retry_after_s: float | None = None


def classify_status(status: int, retry_after: str | None) -> PostResult:
    """A webhook's HTTP status → what to do: 2xx delivered; 429 and 5xx transient; other 4xx invalid."""
    if 200 <= status < 300:
        return PostResult(True)
    wait = None
    if retry_after is not None:
        try:
            wait = max(0.0, float(retry_after))
        except ValueError:
            wait = None
    error = ErrorClass.TRANSIENT if status == 429 or status >= 500 else ErrorClass.INVALID
    return PostResult(False, error, f"HTTP {status}", wait)


class WebhookSender:
    """Posts queued alert texts to ``url`` from one background task on the running event loop."""

    def __init__(self, url: str, *, policy: RetryPolicy = DELIVERY_RETRIES, timeout_s: float = POST_TIMEOUT_S) -> None:
        self._url = url
        self._policy = policy
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def send(self, text: str) -> None:
        """Queue ``text`` for delivery (call on the event loop); never blocks, never raises."""
        if self._queue is None:
            self._queue = asyncio.Queue(QUEUE_SIZE)
            self._task = asyncio.get_running_loop().create_task(self._deliver_all(), name="promptship-alerts")
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.error("alert webhook: %d alerts are waiting; this one is only in the log", QUEUE_SIZE)

    async def _deliver_all(self) -> None:
        assert self._queue is not None
        while True:
            text = await self._queue.get()
            try:
                await self.deliver(text)
            except Exception as exc:  # noqa: BLE001 - a delivery bug must not end the loop; the alert is logged
                logger.error("alert webhook: delivery failed (%s); the alert is in this log", type(exc).__name__)
            finally:
                self._queue.task_done()

    async def deliver(self, text: str) -> bool:
        """Post ``text`` with retries; True when the webhook accepted it (failures are logged)."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            result = await self._post(text)
            if result.ok:
                return True
            assert result.error is not None
            decision = decide(
                self._policy,
                attempt=attempt,
                error=result.error,
                retry_after_s=result.retry_after_s,
                waited_s=waited,
                jitter=random.uniform(0.5, 1.0),
            )
            if decision.action is not Action.RETRY:
                logger.error(
                    "alert webhook: not delivered after %d attempt(s) (%s); the alert is in this log",
                    attempt,
                    result.reason,
                )
                return False
            await asyncio.sleep(decision.wait_s)
            waited += decision.wait_s

    async def _post(self, text: str) -> PostResult:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout_s))
        try:
            async with self._session.post(self._url, json={"text": text}) as response:
                await response.read()
                return classify_status(response.status, response.headers.get("Retry-After"))
        except TimeoutError:
            return PostResult(False, ErrorClass.TRANSIENT, "timed out")
        except aiohttp.ClientError as exc:  # refused, reset, DNS: the text may name the URL, so only the class
            return PostResult(False, ErrorClass.TRANSIENT, type(exc).__name__)

    async def drain(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for queued alerts to be delivered, then stop (what is left is logged)."""
        if self._queue is not None and self._task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), timeout_s)
            except TimeoutError:
                logger.error("alert webhook: %d alert(s) not delivered at shutdown", self._queue.qsize() + 1)
            self._task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
