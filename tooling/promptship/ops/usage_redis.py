"""The shared usage store: one Redis stream (``promptship:usage``) that every gateway replica and SDK
process appends to — the same Redis the gateway keeps its budgets and idempotency records in.

Each row is one stream entry (field ``r``: the row as compact JSON). ``XADD`` with an
auto-generated id is atomic on the server, so replicas appending at once never lose or overwrite
each other's rows; a batch goes in one ``MULTI``/``EXEC`` (all or none). Growth is bounded by time:
every append trims entries older than the retention (``XADD … MINID``, default
:data:`RETENTION_DAYS`, ``PROMPTSHIP_USAGE_RETENTION_DAYS``), so memory is about rows per day ×
retention × ~200 bytes. Reads walk the stream by id (ids are the server's clock in ms) in pages of
:data:`PAGE`, with :data:`SLACK_S` of margin for rows written a little after they ended.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import UsageStoreError
from .usage import UsageQuery, UsageRow, redacted_url

STREAM = "promptship:usage"
RETENTION_DAYS = 40
PAGE = 1000
#: How much later than its ``ts`` a row may reach the stream (batching, retries, clock skew).
SLACK_S = 600.0


class RedisUsageStore:
    """Usage rows in the Redis stream :data:`STREAM` at ``url``.

    Raises :class:`~promptship.errors.UsageStoreError` (E960) when Redis does not answer.
    """

    def __init__(self, url: str, *, retention_days: float = RETENTION_DAYS, stream: str = STREAM) -> None:
        import redis

        self.location = f"{redacted_url(url)} (stream {stream})"
        self._stream = stream
        self._retention_ms = int(retention_days * 86400 * 1000)
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> UsageStoreError:
        return UsageStoreError(
            f"the usage store at {self.location} cannot be used ({type(exc).__name__})",
            hint="check that Redis is running and REDIS_URL (or PROMPTSHIP_USAGE_URL) points at it",
        )

    def append(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        oldest = int(time.time() * 1000) - self._retention_ms
        with self._redis.pipeline(transaction=True) as pipe:
            for row in rows:
                entry = json.dumps(row.to_dict(), separators=(",", ":"), ensure_ascii=False)
                pipe.xadd(self._stream, {"r": entry}, minid=oldest, approximate=False)
            pipe.execute()

    def query(self, query: UsageQuery) -> Iterator[UsageRow]:
        import redis

        start = "-" if query.since is None else str(max(0, int((query.since - SLACK_S) * 1000)))
        end = "+" if query.until is None else str(int((query.until + SLACK_S) * 1000))
        while True:
            try:
                page = self._redis.xrange(self._stream, min=start, max=end, count=PAGE)
            except redis.RedisError as exc:
                raise self._unavailable(exc) from None
            for _, fields in page:
                row = _row(fields)
                if row is not None and query.matches(row):
                    yield row
            if len(page) < PAGE:
                return
            start = "(" + page[-1][0].decode()

    def close(self) -> None:
        self._redis.close()


def _row(fields: dict[bytes, bytes]) -> UsageRow | None:
    """The row of a stream entry; ``None`` for an entry that is not one (written by something else)."""
    try:
        return UsageRow.from_dict(json.loads(fields[b"r"]))
    except (KeyError, TypeError, ValueError):
        return None
