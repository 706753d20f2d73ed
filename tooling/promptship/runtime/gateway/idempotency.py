"""``Idempotency-Key``: one model call per key, whatever the timing of the client's retries.

The first request with a key claims it (see :class:`~promptship.runtime.gateway.state.Claim`); a retry that
arrives while that call runs waits (bounded) for its answer; a retry after it finished gets the
stored answer. A key is tied to its request: the record holds a hash of the path, the JSON body and
the headers that change the answer (the split key), and a reuse with a different request is refused
(``422``, as the IETF ``Idempotency-Key`` draft specifies; a retry still waiting after the bound gets
``409``, as Stripe answers a concurrent reuse).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from .state import Claim, Counters, Reservation, month, new_token

#: How long an answered request is remembered.
RECORD_TTL_S = 24 * 3600
#: How long a claim survives a gateway that died mid-call (longer than any call's deadline).
PENDING_TTL_S = 600
#: How long a budget reservation of a gateway that died mid-call keeps holding budget.
RESERVATION_TTL_S = PENDING_TTL_S
#: How long a retry waits for the first call's answer before giving up with 409.
WAIT_S = 120.0


def request_fingerprint(path: str, payload: Any, headers: Mapping[str, str | None] | None = None) -> str:
    """sha256 of the path, the canonical JSON of the body (key order does not matter) and the
    ``headers`` that change the answer (lower-case name -> value; ``None`` = absent), e.g. the split
    key of a managed-prompt call: a retry that differs in any of them is a different request. With no
    such header present the hash is that of path and body alone."""
    request: dict[str, Any] = {"path": path, "body": payload}
    present = {name.lower(): value for name, value in (headers or {}).items() if value is not None}
    if present:
        request["headers"] = present
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_or_wait(counters: Counters, key: str, fingerprint: str, wait_s: float = WAIT_S) -> Claim:
    """Claim ``key``, or wait up to ``wait_s`` while another request holds it.

    Returns ``owner`` (call the model), ``done`` (replay the response), ``mismatch``, or ``pending``
    when the other request is still running after ``wait_s``. A claim released by a failed call is
    taken over by the waiting retry, which then calls the model itself.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.005
    while True:
        claim = await counters.claim(key, fingerprint, PENDING_TTL_S)
        if claim.state != "pending" or loop.time() >= deadline:
            return claim
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 2, 0.2)


#: Called after spend was added: (project, period, new settled total of the period in USD).
OnSpend = Callable[[str, str, float], None]


class Settlement:
    """What happens to one request's spend and idempotency claim once it ends.

    :meth:`reserve` holds the call's cost ceiling before the call (granted only within the limit,
    atomically across workers), so calls in flight count against the budget; :meth:`keep` turns
    the held reservation into spend (an attempt the vendor may have billed); :meth:`settle`
    replaces it with the real cost and stores the answer under the claimed key (once);
    :meth:`abandon` gives the reservation back and releases the claim of a request that ended
    without an answer, so a retry may call the model. Calling :meth:`abandon` after :meth:`settle`
    does nothing. The period (month) is fixed when the settlement starts, so a call that runs
    over midnight at a month's end is settled where it was reserved. ``on_spend`` hears of every
    addition to the spend (budget alerts).
    """

    def __init__(
        self,
        counters: Counters,
        project: str,
        key: str | None,
        fingerprint: str | None,
        *,
        claim_token: str | None = None,
        limit_usd: float | None = None,
        on_spend: OnSpend | None = None,
    ) -> None:
        self._counters = counters
        self._project = project
        self._key = key
        self._fingerprint = fingerprint
        self._claim_token = claim_token
        self._open = key is not None
        self._limit_usd = limit_usd
        self._on_spend = on_spend
        self._period = month()
        self._token: str | None = None
        self._reserved = 0.0

    @property
    def period(self) -> str:
        return self._period

    @property
    def limit_usd(self) -> float | None:
        """The budget this call is reserved within (None: not limited)."""
        return self._limit_usd

    async def reserve(self, usd: float) -> Reservation:
        """Hold ``usd`` of the project's budget for this call when the budget has room for it
        (settled + held + ``usd`` <= the limit; always without a limit). A refused reservation
        holds nothing."""
        if self._limit_usd is None:
            self._reserved += usd  # not held anywhere: only what keep() bills without a reservation
            return Reservation(True, 0.0, 0.0)
        token = new_token()
        reservation = await self._counters.reserve(
            self._project, self._period, token, usd, self._limit_usd, RESERVATION_TTL_S
        )
        if reservation.granted:
            await self._release_held()
            self._token, self._reserved = token, usd
        return reservation

    async def _release_held(self) -> None:
        if self._token is not None:
            token, self._token, self._reserved = self._token, None, 0.0
            await self._counters.release_reservation(self._project, self._period, token)

    async def _spend(self, usd: float) -> None:
        token, self._token, self._reserved = self._token, None, 0.0
        total = await self._counters.settle(self._project, self._period, token, usd)
        if self._on_spend is not None:
            self._on_spend(self._project, self._period, total)

    async def keep(self) -> None:
        """Bill what is reserved now as spent: an attempt the vendor may have billed without
        answering (a timeout, a stream cut mid-way). The next attempt needs a new reservation."""
        if self._reserved:
            await self._spend(self._reserved)

    async def settle(self, response: dict[str, Any], cost_usd: float) -> None:
        await self._spend(cost_usd)
        if self._open and self._key is not None and self._fingerprint is not None:
            self._open = False
            await self._counters.store(self._key, self._fingerprint, response, RECORD_TTL_S)

    async def abandon(self) -> None:
        await self._release_held()
        self._reserved = 0.0
        if self._open and self._key is not None:
            self._open = False
            await self._counters.release(self._key, self._claim_token)
