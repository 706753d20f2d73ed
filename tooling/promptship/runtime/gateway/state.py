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
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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
    """Counters for one gateway process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, float] = {}
        self._records: dict[str, tuple[float, dict[str, Any]]] = {}

    async def spent(self, project: str) -> float:
        with self._lock:
            return self._spend.get(f"{project}:{month()}", 0.0)

    async def add_spend(self, project: str, usd: float) -> float:
        with self._lock:
            key = f"{project}:{month()}"
            self._spend[key] = self._spend.get(key, 0.0) + usd
            return self._spend[key]

    async def claim(self, key: str, fingerprint: str, pending_ttl_s: int) -> Claim:
        now = time.monotonic()
        with self._lock:
            entry = self._records.get(key)
            if entry is None or entry[0] <= now:
                self._records[key] = (now + pending_ttl_s, {"state": "pending", "fingerprint": fingerprint})
                return Claim("owner")
            return _claim_of(entry[1], fingerprint)

    async def store(self, key: str, fingerprint: str, response: dict[str, Any], ttl_s: int) -> None:
        record = {"state": "done", "fingerprint": fingerprint, "response": response}
        with self._lock:
            self._records[key] = (time.monotonic() + ttl_s, record)

    async def release(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)


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


def counters_from_env(env: Mapping[str, str]) -> Counters:
    url = env.get("REDIS_URL")
    return RedisCounters(url) if url else MemoryCounters()
