"""Shared gateway state: project keys, monthly spend and idempotent responses.

In-process by default; with ``REDIS_URL`` the counters and idempotency records live in Redis so
several gateway processes share them (the gateway itself is stateless).
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
from typing import Any, Protocol

from ..schema import BudgetPolicy, CredentialsPolicy


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyStore:
    """Gateway keys as sha256 digests (from the variables credentials.yaml names) → project."""

    digests: tuple[tuple[str, str], ...]  # (digest, project)

    @classmethod
    def from_policy(cls, policy: CredentialsPolicy, env: Mapping[str, str]) -> KeyStore:
        pairs = []
        if policy.shared.gateway_key_sha256_env and env.get(policy.shared.gateway_key_sha256_env):
            pairs.append((env[policy.shared.gateway_key_sha256_env].strip().lower(), "shared"))
        if policy.mode == "production":
            pairs = []  # production: only per-project keys are accepted
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


class Counters(Protocol):
    def spent(self, project: str) -> float: ...

    def add_spend(self, project: str, usd: float) -> float: ...

    def remember(self, key: str, response: dict[str, Any], ttl_s: int) -> None: ...

    def recall(self, key: str) -> dict[str, Any] | None: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spend: dict[str, float] = {}
        self._responses: dict[str, tuple[float, dict[str, Any]]] = {}

    def spent(self, project: str) -> float:
        with self._lock:
            return self._spend.get(f"{project}:{month()}", 0.0)

    def add_spend(self, project: str, usd: float) -> float:
        with self._lock:
            key = f"{project}:{month()}"
            self._spend[key] = self._spend.get(key, 0.0) + usd
            return self._spend[key]

    def remember(self, key: str, response: dict[str, Any], ttl_s: int) -> None:
        with self._lock:
            self._responses[key] = (time.monotonic() + ttl_s, response)

    def recall(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._responses.get(key)
            return entry[1] if entry and entry[0] > time.monotonic() else None


class RedisCounters:
    """The same counters in Redis (``INCRBYFLOAT`` per project and month; ``SET EX`` responses)."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2)
        self._redis.ping()

    def spent(self, project: str) -> float:
        return float(self._redis.get(f"promptship:spend:{project}:{month()}") or 0.0)

    def add_spend(self, project: str, usd: float) -> float:
        key = f"promptship:spend:{project}:{month()}"
        total = float(self._redis.incrbyfloat(key, usd))
        self._redis.expire(key, 40 * 86400)
        return total

    def remember(self, key: str, response: dict[str, Any], ttl_s: int) -> None:
        self._redis.set(f"promptship:idem:{key}", json.dumps(response), ex=ttl_s)

    def recall(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(f"promptship:idem:{key}")
        return json.loads(raw) if raw else None


def counters_from_env(env: Mapping[str, str]) -> Counters:
    url = env.get("REDIS_URL")
    return RedisCounters(url) if url else MemoryCounters()


def budget_left(budgets: BudgetPolicy, counters: Counters, project: str) -> float | None:
    """USD left this month, or None when the project has no hard budget."""
    budget = budgets.projects.get(project)
    if budget is None or not budget.hard_limit:
        return None
    return budget.monthly_usd - counters.spent(project)
