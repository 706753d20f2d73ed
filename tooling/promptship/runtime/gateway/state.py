"""Shared gateway state: project keys, monthly spend and idempotency records.

In-process by default; with ``REDIS_URL`` the counters and idempotency records live in Redis so
several gateway processes share them (the gateway itself is stateless). Every storage call is a
coroutine: the Redis implementation uses ``redis.asyncio`` and never blocks the event loop.

An idempotency record is claimed *before* the model is called (``SET NX`` in Redis, a dict entry
under a lock in process), so a retry that arrives while the first call is still running finds the
claim and waits for its answer instead of calling the model again. The record keeps a hash of the
request, so reusing a key for a different request is detected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
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
    return dt.datetime.now(dt.UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class Claim:
    """The state of an idempotency key as seen by one request.

    ``owner``: this request claimed the key and must call the model, then :meth:`Counters.store` the
    response or :meth:`Counters.release` the key. ``done``: ``response`` is the stored answer.
    ``pending``: another request holds the claim. ``mismatch``: the key was used for a different request.
    """

    state: Literal["owner", "done", "pending", "mismatch"]
    response: dict[str, Any] | None = None


def _claim_of(record: Mapping[str, Any], fingerprint: str) -> Claim:
    if record.get("fingerprint") != fingerprint:
        return Claim("mismatch")
    if record.get("state") == "done":
        return Claim("done", record.get("response"))
    return Claim("pending")


class Counters(Protocol):
    async def spent(self, project: str) -> float:
        """USD spent by ``project`` this calendar month (UTC)."""
        ...

    async def add_spend(self, project: str, usd: float) -> float:
        """Add ``usd`` to this month's spend of ``project``; returns the new total."""
        ...

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        """Claim ``key`` for the request hashed as ``fingerprint`` unless a record exists (atomic)."""
        ...

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        """Record the answer of the request holding the claim on ``key``."""
        ...

    async def release(self, key: str) -> None:
        """Drop the claim on ``key`` (the call failed: a retry may try again)."""
        ...


class MemoryCounters:
    """Counters for one gateway process.

    ``spend_file``: where the month's spend is kept across restarts (JSON, rewritten atomically at
    most once per ``flush_interval_s`` and at :meth:`aclose`); without one, spend resets when the
    process ends. Calls in flight hold their reservation in the spend, so a crash over-counts them,
    never under-counts. Expired idempotency records are dropped every ``sweep_interval_s``.
    """

    def __init__(
        self,
        spend_file: Path | None = None,
        *,
        flush_interval_s: float = 1.0,
        sweep_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, float] = {}
        self._records: dict[str, tuple[float, dict[str, Any]]] = {}
        self._clock = clock
        self._spend_file = spend_file
        self._flush_interval_s = flush_interval_s
        self._flushed_at = clock()
        self._dirty = False
        self._sweep_interval_s = sweep_interval_s
        self._next_sweep = clock() + sweep_interval_s
        if spend_file is not None and spend_file.exists():
            self._spend = read_spend_file(spend_file)

    async def spent(self, project: str) -> float:
        with self._lock:
            return self._spend.get(f"{project}:{month()}", 0.0)

    async def add_spend(self, project: str, usd: float) -> float:
        with self._lock:
            key = f"{project}:{month()}"
            self._spend[key] = self._spend.get(key, 0.0) + usd
            total = self._spend[key]
            self._dirty = True
            due = self._spend_file is not None and self._clock() - self._flushed_at >= self._flush_interval_s
        if due:
            self.flush()
        return total

    def flush(self) -> None:
        """Write the spend file now (when there is one and something changed)."""
        if self._spend_file is None:
            return
        with self._lock:
            if not self._dirty:
                return
            snapshot, self._dirty, self._flushed_at = dict(self._spend), False, self._clock()
        write_spend_file(self._spend_file, snapshot)

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        now = self._clock()
        with self._lock:
            self._sweep(now)
            entry = self._records.get(key)
            if entry is None or entry[0] <= now:
                self._records[key] = (now + pending_ttl_s, {"state": "pending", "fingerprint": fingerprint})
                return Claim("owner")
            return _claim_of(entry[1], fingerprint)

    def _sweep(self, now: float) -> None:
        """Drop expired idempotency records (called under the lock)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval_s
        for key in [key for key, (expires, _) in self._records.items() if expires <= now]:
            del self._records[key]

    def record_count(self) -> int:
        """How many idempotency records (pending or answered) are held."""
        with self._lock:
            return len(self._records)

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        record = {"state": "done", "fingerprint": fingerprint, "response": response}
        with self._lock:
            self._records[key] = (self._clock() + ttl_s, record)

    async def release(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    async def aclose(self) -> None:
        self.flush()


def read_spend_file(path: Path) -> dict[str, float]:
    """``{"project:YYYY-MM": usd}`` from a spend file; an unreadable file is an error naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        spend = {str(k): float(v) for k, v in data["spend"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path}: the gateway's spend file cannot be read ({type(exc).__name__})",
            hint="restore it from a backup, or delete it to start this month's spend from zero",
        ) from None
    current = month()
    return {key: usd for key, usd in spend.items() if key.rsplit(":", 1)[-1] >= current}


def write_spend_file(path: Path, spend: Mapping[str, float]) -> None:
    """Replace ``path`` atomically (a crash leaves the old or the new file, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"version": 1, "spend": dict(spend)}, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


class RedisCounters:
    """The same counters in Redis (``INCRBYFLOAT`` per project and month; ``SET NX EX`` claims)."""

    def __init__(self, url: str) -> None:
        import redis
        import redis.asyncio

        with redis.Redis.from_url(url, socket_timeout=2) as probe:
            probe.ping()  # fail at start-up, not on the first request
        self._url = url
        self._redis = redis.asyncio.Redis.from_url(url, decode_responses=True, socket_timeout=2)

    async def spent(self, project: str) -> float:
        return float(await self._redis.get(f"promptship:spend:{project}:{month()}") or 0.0)

    async def add_spend(self, project: str, usd: float) -> float:
        key = f"promptship:spend:{project}:{month()}"
        total = float(await self._redis.incrbyfloat(key, usd))
        await self._redis.expire(key, 40 * 86400)
        return total

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        name = f"promptship:idem:{key}"
        pending = json.dumps({"state": "pending", "fingerprint": fingerprint})
        for _ in range(3):  # the record can expire or be released between SET NX and GET
            if await self._redis.set(name, pending, nx=True, ex=pending_ttl_s):
                return Claim("owner")
            raw = await self._redis.get(name)
            if raw is not None:
                return _claim_of(json.loads(raw), fingerprint)
        return Claim("pending")

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        record = {"state": "done", "fingerprint": fingerprint, "response": response}
        await self._redis.set(f"promptship:idem:{key}", json.dumps(record), ex=ttl_s)

    async def release(self, key: str) -> None:
        await self._redis.delete(f"promptship:idem:{key}")

    async def aclose(self) -> None:
        await self._redis.aclose()


def counters_from_env(env: Mapping[str, str], spend_file: Path | None = None) -> Counters:
    """Redis counters when ``REDIS_URL`` is set, else this process's, with spend kept in ``spend_file``."""
    url = env.get("REDIS_URL")
    return RedisCounters(url) if url else MemoryCounters(spend_file)
