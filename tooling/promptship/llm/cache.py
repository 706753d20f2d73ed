"""Content-addressed response cache in SQLite under ``.promptship/cache/``.

The key hashes (resolved deployment identity, rendered messages, params, repeat index), so an
unchanged suite reruns with zero model calls. WAL mode and a busy timeout make it safe for several
processes (CI shards) at once; within one process all access happens on the event-loop thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..files.redact import redact_data
from ..files.repo import content_hash
from ..files.workdir import workdir

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def request_key(identity: str, messages: list[dict[str, Any]], params: dict[str, Any], repeat: int) -> str:
    """The cache key (also the artifact's ``request_hash``)."""
    return content_hash({"identity": identity, "messages": messages, "params": params, "repeat": repeat})


class ResponseCache:
    """``get``/``put`` JSON values by key. ``path=None`` makes a cache that stores nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)

    @classmethod
    def at(cls, root: Path) -> ResponseCache:
        return cls(workdir(root) / "cache" / "responses.sqlite3")

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            self.misses += 1
            return None
        row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(row[0])  # type: ignore[no-any-return]

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` with credential values redacted (CI caches carry this file to other runs)."""
        value = redact_data(value)
        if self._db is None:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, value, created_at) VALUES (?, ?, ?)",
            (key, json.dumps(value, ensure_ascii=False), time.time()),
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
