"""Shared gateway state: project keys, monthly spend, budget reservations, idempotency records,
alert marks and windowed counters.

In-process by default; with ``REDIS_URL`` all of it lives in Redis so several gateway processes
(uvicorn workers or replicas) share it (the gateway itself is stateless). Every storage call is a
coroutine: the Redis implementation uses ``redis.asyncio`` and never blocks the event loop. Both
implementations give the same answers; each operation below is atomic in both.

Budgets: a call *reserves* its cost ceiling before the model is called, and the reservation is
granted only if the period's settled spend, plus every live reservation, plus this one stays within
the limit (one Lua script in Redis, one lock in process): concurrent calls on any number of workers
cannot all start under the same budget. When the call ends its reservation is *settled* (replaced
by the real cost) or *released* (nothing was billed). A reservation carries an expiry, so one held
by a worker that crashed mid-call stops holding budget after ``ttl_s``.

An idempotency record is claimed *before* the model is called (``SET NX`` in Redis, a dict entry
under a lock in process), so a retry that arrives while the first call is still running finds the
claim and waits for its answer instead of calling the model again. The record keeps a hash of the
request, so reusing a key for a different request is detected, and the claimant's token, so only
the claimant can release it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ...errors import UsageError
from ...files.schema import CredentialsPolicy

#: The project the PoC shared gateway key is charged to (see :class:`KeyStore`).
SHARED_PROJECT = "shared"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyStore:
    """Gateway keys as sha256 digests (from the variables credentials.yaml names) → project."""

    digests: tuple[tuple[str, str], ...]  # (digest, project)

    @classmethod
    def from_policy(cls, policy: CredentialsPolicy, env: Mapping[str, str]) -> KeyStore:
        pairs = []
        if policy.mode == "poc" and policy.shared.gateway_key_sha256_env:
            digest = env.get(policy.shared.gateway_key_sha256_env)
            if digest:
                pairs.append((digest.strip().lower(), SHARED_PROJECT))
        for project, credentials in policy.projects.items():
            variable = credentials.gateway_key_sha256_env
            if variable and env.get(variable):
                pairs.append((env[variable].strip().lower(), project))
        return cls(tuple(pairs))

    def project_of(self, key: str) -> str | None:
        """The project a key belongs to; every digest is compared in constant time."""
        digest = key_digest(key)
        found = None
        for candidate, project in self.digests:
            if hmac.compare_digest(candidate, digest):
                found = project
        return found


def month() -> str:
    """The budget period now: the calendar month in UTC, ``YYYY-MM``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m")


def new_token() -> str:
    """A random identifier for a reservation or an idempotency claim."""
    return uuid.uuid4().hex


#: Connections one process keeps to Redis; more concurrent commands wait (up to 10 s) for one.
REDIS_CONNECTIONS = 64
#: How long a spend total, a reservation set or an alert mark outlives its month in Redis.
PERIOD_TTL_S = 40 * 86400


@dataclass(frozen=True)
class Claim:
    """The state of an idempotency key as seen by one request.

    ``owner``: this request claimed the key (``token`` identifies the claim) and must call the
    model, then :meth:`Counters.store` the response or :meth:`Counters.release` the key. ``done``:
    ``response`` is the stored answer. ``pending``: another request holds the claim. ``mismatch``:
    the key was used for a different request.
    """

    state: Literal["owner", "done", "pending", "mismatch"]
    response: dict[str, Any] | None = None
    token: str | None = None


def _claim_of(record: Mapping[str, Any], fingerprint: str) -> Claim:
    if record.get("fingerprint") != fingerprint:
        return Claim("mismatch")
    if record.get("state") == "done":
        return Claim("done", record.get("response"))
    return Claim("pending")


@dataclass(frozen=True)
class Reservation:
    """The answer to :meth:`Counters.reserve`.

    ``granted``: the reservation is held. ``spent_usd``: the period's settled spend when checked;
    ``held_usd``: what other live reservations held then (USD).
    """

    granted: bool
    spent_usd: float
    held_usd: float


class Counters(Protocol):
    async def spent(self, project: str, period: str | None = None) -> float:
        """USD settled for ``project`` in ``period`` (default: this month, UTC); live reservations excluded."""
        ...

    async def add_spend(self, project: str, usd: float) -> float:
        """Add ``usd`` to this month's settled spend of ``project``; returns the new total."""
        ...

    async def reserve(
        self, project: str, period: str, token: str, usd: float, limit_usd: float | None, ttl_s: int
    ) -> Reservation:
        """Hold ``usd`` of ``project``'s budget in ``period`` under ``token`` for at most ``ttl_s``
        seconds, only if settled + held + ``usd`` <= ``limit_usd`` (None: always). Atomic."""
        ...

    async def settle(self, project: str, period: str, token: str | None, usd: float) -> float:
        """Drop reservation ``token`` (if held) and add ``usd`` to the settled spend, atomically;
        returns the new settled total of the period."""
        ...

    async def release_reservation(self, project: str, period: str, token: str) -> None:
        """Drop reservation ``token`` without spending anything (nothing was billed)."""
        ...

    async def held(self, project: str, period: str | None = None) -> float:
        """USD held by live reservations of ``project`` in ``period``."""
        ...

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        """Claim ``key`` for the request hashed as ``fingerprint`` unless a record exists (atomic)."""
        ...

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        """Record the answer of the request holding the claim on ``key``."""
        ...

    async def release(self, key: str, token: str | None = None) -> None:
        """Drop the claim on ``key`` (the call failed: a retry may try again); with ``token``, only
        if the pending claim is still that one (a claim that expired and was taken over is kept)."""
        ...

    async def mark(self, name: str, ttl_s: int) -> bool:
        """Set the mark ``name`` for ``ttl_s`` seconds; True only for the one caller that set it
        (across every worker sharing these counters). Marks survive restarts like spend does."""
        ...

    async def count(self, name: str, by: int, ttl_s: int) -> int:
        """Add ``by`` to the counter ``name`` (created expiring in ``ttl_s`` s); the new value."""
        ...

    async def aclose(self) -> None:
        """Release connections and write what must survive a restart."""
        ...


class MemoryCounters:
    """Counters for one gateway process (the same semantics as :class:`RedisCounters`).

    ``spend_file``: where the month's spend, live reservations and alert marks are kept across
    restarts (JSON, rewritten atomically at most once per ``flush_interval_s`` and at
    :meth:`aclose`); without one, they reset when the process ends. Reservations keep their expiry
    across a restart, so a crash holds its calls' budget for at most their ``ttl_s``. Expired
    idempotency records are dropped every ``sweep_interval_s``. ``clock`` (monotonic seconds) times
    idempotency records and counters, ``wall`` (epoch seconds) the persisted expiries.
    """

    def __init__(
        self,
        spend_file: Path | None = None,
        *,
        flush_interval_s: float = 1.0,
        sweep_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, float] = {}
        self._held: dict[str, dict[str, tuple[float, float]]] = {}  # "project:period" -> token -> (usd, expires)
        self._marks: dict[str, float] = {}  # name -> wall-clock expiry
        self._counts: dict[str, tuple[float, int]] = {}  # name -> (monotonic expiry, value)
        self._records: dict[str, tuple[float, dict[str, Any]]] = {}
        self._clock = clock
        self._wall = wall
        self._spend_file = spend_file
        self._flush_interval_s = flush_interval_s
        self._flushed_at = clock()
        self._dirty = False
        self._sweep_interval_s = sweep_interval_s
        self._next_sweep = clock() + sweep_interval_s
        if spend_file is not None and spend_file.exists():
            saved = read_state_file(spend_file)
            self._spend, self._held, self._marks = saved.spend, saved.held, saved.marks

    async def spent(self, project: str, period: str | None = None) -> float:
        with self._lock:
            return self._spend.get(f"{project}:{period or month()}", 0.0)

    async def add_spend(self, project: str, usd: float) -> float:
        return await self.settle(project, month(), None, usd)

    def _live(self, bucket: str) -> dict[str, tuple[float, float]]:
        """The live reservations of ``bucket`` (expired ones dropped; called under the lock)."""
        held = self._held.setdefault(bucket, {})
        now = self._wall()
        for token in [token for token, (_, expires) in held.items() if expires <= now]:
            del held[token]
            self._dirty = True
        return held

    async def reserve(
        self, project: str, period: str, token: str, usd: float, limit_usd: float | None, ttl_s: int
    ) -> Reservation:
        bucket = f"{project}:{period}"
        with self._lock:
            held = self._live(bucket)
            spent, holding = self._spend.get(bucket, 0.0), sum(amount for amount, _ in held.values())
            if limit_usd is not None and spent + holding + usd > limit_usd:
                return Reservation(False, spent, holding)
            held[token] = (usd, self._wall() + ttl_s)
            self._dirty = True
        self._flush_if_due()
        return Reservation(True, spent, holding)

    async def settle(self, project: str, period: str, token: str | None, usd: float) -> float:
        bucket = f"{project}:{period}"
        with self._lock:
            if token is not None:
                self._held.get(bucket, {}).pop(token, None)
            total = self._spend[bucket] = self._spend.get(bucket, 0.0) + usd
            self._dirty = True
        self._flush_if_due()
        return total

    async def release_reservation(self, project: str, period: str, token: str) -> None:
        with self._lock:
            if self._held.get(f"{project}:{period}", {}).pop(token, None) is not None:
                self._dirty = True

    async def held(self, project: str, period: str | None = None) -> float:
        with self._lock:
            return sum(amount for amount, _ in self._live(f"{project}:{period or month()}").values())

    async def mark(self, name: str, ttl_s: int) -> bool:
        now = self._wall()
        with self._lock:
            if self._marks.get(name, 0.0) > now:
                return False
            self._marks[name] = now + ttl_s
            self._dirty = True
        self._flush_if_due()
        return True

    async def count(self, name: str, by: int, ttl_s: int) -> int:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            expires, value = self._counts.get(name, (now + ttl_s, 0))
            if expires <= now:
                expires, value = now + ttl_s, 0
            self._counts[name] = (expires, value + by)
            return value + by

    def _flush_if_due(self) -> None:
        if self._spend_file is not None and self._clock() - self._flushed_at >= self._flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write the spend file now (when there is one and something changed)."""
        if self._spend_file is None:
            return
        with self._lock:
            if not self._dirty:
                return
            now = self._wall()
            snapshot = SavedState(
                dict(self._spend),
                {bucket: dict(held) for bucket, held in self._held.items() if held},
                {name: expires for name, expires in self._marks.items() if expires > now},
            )
            self._dirty, self._flushed_at = False, self._clock()
        write_state_file(self._spend_file, snapshot)

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            entry = self._records.get(key)
            if entry is None or entry[0] <= now:
                token = new_token()
                record = {"state": "pending", "fingerprint": fingerprint, "token": token}
                self._records[key] = (now + pending_ttl_s, record)
                return Claim("owner", token=token)
            return _claim_of(entry[1], fingerprint)

    def _sweep(self, now: float) -> None:
        """Drop expired idempotency records and counters (called under the lock)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval_s
        for key in [key for key, (expires, _) in self._records.items() if expires <= now]:
            del self._records[key]
        for name in [name for name, (expires, _) in self._counts.items() if expires <= now]:
            del self._counts[name]

    def record_count(self) -> int:
        """How many idempotency records (pending or answered) are held."""
        with self._lock:
            return len(self._records)

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        record = {"state": "done", "fingerprint": fingerprint, "response": response}
        with self._lock:
            self._records[key] = (self._clock() + ttl_s, record)

    async def release(self, key: str, token: str | None = None) -> None:
        with self._lock:
            entry = self._records.get(key)
            if entry is not None and (token is None or entry[1].get("token") == token):
                del self._records[key]

    async def aclose(self) -> None:
        self.flush()


@dataclass(frozen=True)
class SavedState:
    """What a spend file holds: settled spend per ``project:YYYY-MM``, live reservations per
    ``project:YYYY-MM`` (token → (usd, wall-clock expiry)) and alert marks (name → expiry)."""

    spend: dict[str, float]
    held: dict[str, dict[str, tuple[float, float]]]
    marks: dict[str, float]


def read_state_file(path: Path) -> SavedState:
    """A spend file's contents (versions 1 and 2), past months dropped; an unreadable file is an
    error naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        spend = {str(k): float(v) for k, v in data["spend"].items()}
        held = {
            str(bucket): {str(t): (float(usd), float(expires)) for t, (usd, expires) in tokens.items()}
            for bucket, tokens in data.get("held", {}).items()
        }
        marks = {str(k): float(v) for k, v in data.get("marks", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path}: the gateway's spend file cannot be read ({type(exc).__name__})",
            hint="restore it from a backup, or delete it to start this month's spend from zero",
        ) from None
    current = month()
    return SavedState(
        {key: usd for key, usd in spend.items() if key.rsplit(":", 1)[-1] >= current},
        {key: tokens for key, tokens in held.items() if key.rsplit(":", 1)[-1] >= current},
        marks,
    )


def read_spend_file(path: Path) -> dict[str, float]:
    """``{"project:YYYY-MM": usd}`` from a spend file; an unreadable file is an error naming it."""
    return read_state_file(path).spend


def write_state_file(path: Path, state: SavedState) -> None:
    """Replace ``path`` atomically (a crash leaves the old or the new file, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    document = {"version": 2, "spend": state.spend, "held": state.held, "marks": state.marks}
    temporary.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def write_spend_file(path: Path, spend: Mapping[str, float]) -> None:
    """A spend file holding ``spend`` only (no reservations, no marks)."""
    write_state_file(path, SavedState(dict(spend), {}, {}))


# Reservations of one project and period: a hash token -> usd and a sorted set token -> expiry (ms,
# Redis server time, so replicas' clocks do not matter). Expired ones are dropped before summing.
_DROP_EXPIRED = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, token in ipairs(expired) do redis.call('HDEL', KEYS[2], token) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local held = 0
for _, usd in ipairs(redis.call('HVALS', KEYS[2])) do held = held + tonumber(usd) end
"""
_RESERVE = (
    _DROP_EXPIRED
    + """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local usd = tonumber(ARGV[2])
if ARGV[3] ~= '' and spent + held + usd > tonumber(ARGV[3]) then
  return {0, tostring(spent), tostring(held)}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]) * 1000, ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {1, tostring(spent), tostring(held)}
"""
)
_HELD = _DROP_EXPIRED + "\nreturn tostring(held)\n"
_SETTLE = """
if ARGV[1] ~= '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""
_RELEASE_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['token'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""
_COUNT = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return value
"""


class RedisCounters:
    """The same counters in Redis: spend per project and month (``INCRBYFLOAT``), reservations
    (Lua check-and-reserve), claims (``SET NX EX``), marks (``SET NX EX``), counters (``INCRBY``)."""

    def __init__(self, url: str) -> None:
        import redis
        import redis.asyncio

        with redis.Redis.from_url(url, socket_timeout=2) as probe:
            probe.ping()  # fail at start-up, not on the first request
        self._url = url
        # A bounded pool that makes a command wait for a free connection: under a burst, redis-py's
        # default pool (100 connections, then MaxConnectionsError) failed requests with 500s.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_CONNECTIONS, timeout=10, decode_responses=True, socket_timeout=2
        )
        self._redis = redis.asyncio.Redis(connection_pool=pool)
        self._reserve = self._redis.register_script(_RESERVE)
        self._held = self._redis.register_script(_HELD)
        self._settle = self._redis.register_script(_SETTLE)
        self._release_claim = self._redis.register_script(_RELEASE_CLAIM)
        self._count = self._redis.register_script(_COUNT)

    @staticmethod
    def _budget_keys(project: str, period: str) -> list[str]:
        base = f"promptship:spend:{project}:{period}"
        return [base, f"{base}:held", f"{base}:expiry"]

    async def spent(self, project: str, period: str | None = None) -> float:
        return float(await self._redis.get(f"promptship:spend:{project}:{period or month()}") or 0.0)

    async def add_spend(self, project: str, usd: float) -> float:
        return await self.settle(project, month(), None, usd)

    async def reserve(
        self, project: str, period: str, token: str, usd: float, limit_usd: float | None, ttl_s: int
    ) -> Reservation:
        limit = "" if limit_usd is None else repr(float(limit_usd))
        args: list[str | int] = [token, repr(float(usd)), limit, ttl_s, PERIOD_TTL_S]
        granted, spent, held = await self._reserve(keys=self._budget_keys(project, period), args=args)
        return Reservation(bool(granted), float(spent), float(held))

    async def settle(self, project: str, period: str, token: str | None, usd: float) -> float:
        args: list[str | int] = [token or "", repr(float(usd)), PERIOD_TTL_S]
        return float(await self._settle(keys=self._budget_keys(project, period), args=args))

    async def release_reservation(self, project: str, period: str, token: str) -> None:
        _, held, expiry = self._budget_keys(project, period)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(held, token)
            pipe.zrem(expiry, token)
            await pipe.execute()

    async def held(self, project: str, period: str | None = None) -> float:
        return float(await self._held(keys=self._budget_keys(project, period or month()), args=[]))

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        name = f"promptship:idem:{key}"
        token = new_token()
        pending = json.dumps({"state": "pending", "fingerprint": fingerprint, "token": token})
        for _ in range(3):  # the record can expire or be released between SET NX and GET
            if await self._redis.set(name, pending, nx=True, ex=pending_ttl_s):
                return Claim("owner", token=token)
            raw = await self._redis.get(name)
            if raw is not None:
                return _claim_of(json.loads(raw), fingerprint)
        return Claim("pending")

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        record = {"state": "done", "fingerprint": fingerprint, "response": response}
        await self._redis.set(f"promptship:idem:{key}", json.dumps(record), ex=ttl_s)

    async def release(self, key: str, token: str | None = None) -> None:
        if token is None:
            await self._redis.delete(f"promptship:idem:{key}")
        else:
            await self._release_claim(keys=[f"promptship:idem:{key}"], args=[token])

    async def mark(self, name: str, ttl_s: int) -> bool:
        return bool(await self._redis.set(f"promptship:mark:{name}", "1", nx=True, ex=ttl_s))

    async def count(self, name: str, by: int, ttl_s: int) -> int:
        return int(await self._count(keys=[f"promptship:count:{name}"], args=[by, ttl_s]))

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()


def counters_from_env(env: Mapping[str, str], spend_file: Path | None = None) -> Counters:
    """Redis counters when ``REDIS_URL`` is set, else this process's, with spend kept in ``spend_file``."""
    url = env.get("REDIS_URL")
    return RedisCounters(url) if url else MemoryCounters(spend_file)
