"""Budget-threshold and retry-storm alerts: decided once across every worker, sent to the log and a webhook.

The decisions are pure functions (:func:`thresholds_reached`, :func:`storm_exceeded`, the message
texts); :class:`GatewayAlerts` applies them to what the gateway reports and makes each alert
happen once through a *mark* in the shared state (Redis ``SET NX``, or the in-process equivalent
kept in the spend file): budget marks are named by project, month and threshold and outlive the
month, so neither another worker nor a restart repeats them; storm marks are named by project,
kind and window. Its hooks return at once: the bookkeeping runs in background tasks and delivery
in :class:`~promptship.ops.webhook.WebhookSender`, so an alert never delays or fails a request.

Messages carry project names, amounts, counts and a request hash prefix; never message text, keys
or the webhook URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from ..files.schema import BudgetPolicy
from ..files.schema.policy import RetryStormLimits
from ..llm.retry import RetryPolicy
from .webhook import DELIVERY_RETRIES, WebhookSender

logger = logging.getLogger("promptship.alerts")

#: How long a budget threshold's mark is kept (longer than any month).
BUDGET_MARK_TTL_S = 40 * 86400
#: Background bookkeeping tasks allowed at once; beyond it a worker skips storm counting (never a budget alert).
MAX_PENDING = 1000


class MarkState(Protocol):
    """The part of the gateway's shared state alerts use (``runtime.gateway.state.Counters``)."""

    async def mark(self, name: str, ttl_s: int) -> bool: ...

    async def count(self, name: str, by: int, ttl_s: int) -> int: ...


def thresholds_reached(thresholds: list[float], monthly_usd: float, spent_usd: float) -> list[float]:
    """The thresholds (fractions of ``monthly_usd``) that ``spent_usd`` has reached, ascending."""
    return sorted(t for t in set(thresholds) if spent_usd >= t * monthly_usd)


def storm_exceeded(limits: RetryStormLimits, calls: int, attempts: int) -> bool:
    """Whether ``attempts`` upstream attempts over ``calls`` calls in one window pass the limit."""
    if limits.max_attempts_per_call is None or calls < limits.min_calls:
        return False
    return attempts / calls > limits.max_attempts_per_call


def percent(fraction: float) -> str:
    return f"{fraction * 100:.0f} %"


def dollars(usd: float) -> str:
    """``$1,234.50`` from a dollar up, else significant digits (``$0.00047``), never ``4.7e-04``."""
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.6f}".rstrip("0").rstrip(".")


def budget_text(project: str, period: str, threshold: float, spent_usd: float, monthly_usd: float) -> str:
    """The alert for ``project`` reaching ``threshold`` of its budget in ``period``."""
    return (
        f"promptship budget: project '{project}' has spent {dollars(spent_usd)} of its {dollars(monthly_usd)} "
        f"budget for {period} ({percent(spent_usd / monthly_usd)}), past its {percent(threshold)} alert threshold"
    )


def refused_text(project: str, period: str, spent_usd: float, monthly_usd: float) -> str:
    """The alert for the first call of ``project`` refused for its budget in ``period``."""
    return (
        f"promptship budget: project '{project}' reached its {dollars(monthly_usd)} budget for {period}: "
        f"calls are refused (429 budget_exceeded); {dollars(spent_usd)} spent ({percent(spent_usd / monthly_usd)}) "
        "and what is left cannot hold another call. Raise the budget in policies/budgets.yaml or wait for next month"
    )


def attempts_text(project: str, window_s: int, calls: int, attempts: int, limit: float) -> str:
    return (
        f"promptship retry storm: project '{project}' made {attempts} upstream attempts for {calls} calls "
        f"({attempts / calls:.2f} per call, limit {limit:g}) in a {window_s} s window: a vendor is failing or "
        "rate-limiting, and every retry costs time and may cost money"
    )


def repeats_text(project: str, window_s: int, request_hash: str, count: int, limit: int) -> str:
    return (
        f"promptship retry storm: project '{project}' sent the same request (sha256 {request_hash[:12]}) "
        f"{count} times in a {window_s} s window (limit {limit}): a client is probably retrying in a loop; "
        "an Idempotency-Key makes its retries free"
    )


class GatewayAlerts:
    """The gateway's alert hooks (``runtime.gateway.app.AlertHooks``) over shared ``state``.

    ``policy``: budgets and alert settings; ``env``: where the webhook variable is read (once);
    ``clock``: epoch seconds, for storm windows; ``delivery``: the webhook's retry policy;
    ``drain_s``: how long shutdown waits for alerts still being delivered.
    """

    def __init__(
        self,
        policy: BudgetPolicy,
        state: MarkState,
        env: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        delivery: RetryPolicy = DELIVERY_RETRIES,
        drain_s: float = 5.0,
    ) -> None:
        self._drain_s = drain_s
        self._policy = policy
        self._state = state
        self._clock = clock
        variable = policy.alerts.webhook_url_env
        url = env.get(variable) if variable else None
        self._sender = WebhookSender(url, policy=delivery) if url else None
        self._settled_marks: set[str] = set()  # marks this worker already tried (set by it or another)
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def webhook(self) -> bool:
        """Whether alerts are posted to a webhook (else only logged)."""
        return self._sender is not None

    def _background(self, work: Coroutine[Any, Any, None], essential: bool = True) -> None:
        if not essential and len(self._pending) >= MAX_PENDING:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("alert bookkeeping failed (%s)", type(task.exception()).__name__)

    async def _once(self, mark: str, ttl_s: int, text: str) -> None:
        """Raise the alert ``text`` if this call sets ``mark`` first (on any worker)."""
        if mark in self._settled_marks:
            return
        won = await self._state.mark(mark, ttl_s)
        self._settled_marks.add(mark)
        if won:
            self.raise_alert(text)

    def raise_alert(self, text: str) -> None:
        """Log ``text`` and queue it for the webhook."""
        logger.warning("%s", text)
        if self._sender is not None:
            self._sender.send(text)

    def spent(self, project: str, period: str, total_usd: float) -> None:
        """``project``'s settled spend in ``period`` is now ``total_usd``: alert each threshold reached."""
        budget = self._policy.budget_of(project)
        if budget is None:
            return
        for threshold in thresholds_reached(budget.alert_thresholds, budget.monthly_usd, total_usd):
            mark = f"budget:{project}:{period}:{threshold:g}"
            if mark not in self._settled_marks:
                text = budget_text(project, period, threshold, total_usd, budget.monthly_usd)
                self._background(self._once(mark, BUDGET_MARK_TTL_S, text))

    def refused(self, project: str, period: str, spent_usd: float) -> None:
        """A call was refused for the budget: the ``1.0`` threshold's alert, if the policy has it."""
        budget = self._policy.budget_of(project)
        if budget is None or 1.0 not in budget.alert_thresholds:
            return
        mark = f"budget:{project}:{period}:1"
        if mark not in self._settled_marks:
            text = refused_text(project, period, spent_usd, budget.monthly_usd)
            self._background(self._once(mark, BUDGET_MARK_TTL_S, text))

    def request(self, project: str, request_hash: str) -> None:
        """A request arrived (replays included): count it among the window's identical requests."""
        limits = self._policy.alerts.retry_storm
        if limits.max_identical_requests is not None:
            self._background(self._count_repeat(project, request_hash, limits), essential=False)

    async def _count_repeat(self, project: str, request_hash: str, limits: RetryStormLimits) -> None:
        window = int(self._clock() // limits.window_s)
        seen = await self._state.count(f"repeat:{project}:{window}:{request_hash}", 1, limits.window_s * 2)
        assert limits.max_identical_requests is not None
        if seen > limits.max_identical_requests:
            text = repeats_text(project, limits.window_s, request_hash, seen, limits.max_identical_requests)
            await self._once(f"storm:repeats:{project}:{window}", limits.window_s * 2, text)

    def call_finished(self, project: str, attempts: int) -> None:
        """A model call of ``project`` ended (answered or failed) after ``attempts`` upstream attempts."""
        limits = self._policy.alerts.retry_storm
        if limits.max_attempts_per_call is not None and attempts > 0:
            self._background(self._count_attempts(project, attempts, limits), essential=False)

    async def _count_attempts(self, project: str, attempts: int, limits: RetryStormLimits) -> None:
        window = int(self._clock() // limits.window_s)
        ttl = limits.window_s * 2
        total = await self._state.count(f"attempts:{project}:{window}", attempts, ttl)
        calls = await self._state.count(f"calls:{project}:{window}", 1, ttl)
        if storm_exceeded(limits, calls, total):
            assert limits.max_attempts_per_call is not None
            text = attempts_text(project, limits.window_s, calls, total, limits.max_attempts_per_call)
            await self._once(f"storm:attempts:{project}:{window}", ttl, text)

    async def aclose(self) -> None:
        """Finish the bookkeeping in flight and deliver what is queued (waiting up to ``drain_s``)."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=self._drain_s)
        if self._sender is not None:
            await self._sender.drain(self._drain_s)
