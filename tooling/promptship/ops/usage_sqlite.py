"""The default usage store: one SQLite file (``.promptship/usage.sqlite``), shared by every process on
the host that writes to it (several gateway workers, SDK clients).

WAL journal and a busy timeout: writers queue for the file lock instead of failing, readers never
block writers. Every :meth:`SqliteUsageStore.append` is one transaction (a batch is stored whole or
not at all). The table is ``usage`` with one column per :data:`~promptship.ops.usage.FIELDS` entry and
an index on ``ts``; a file written by an older version gains missing columns when opened.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import UsageStoreError
from .usage import FIELDS, UsageQuery, UsageRow

#: How long a writer waits for another process's transaction before giving up (ms).
BUSY_TIMEOUT_MS = 10_000
_TYPES = {
    "ts": "REAL NOT NULL",
    "prompt_version": "INTEGER",
    "input_tokens": "INTEGER",
    "output_tokens": "INTEGER",
    "attempts": "INTEGER",
    "cost_usd": "REAL",
    "latency_ms": "REAL",
}


class SqliteUsageStore:
    """Usage rows in the SQLite file at ``path`` (created with its folder when missing).

    Raises :class:`~promptship.errors.UsageStoreError` (E960) when the file cannot be opened or is
    not a usage database.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> UsageStoreError:
        return UsageStoreError(
            f"{self.path}: the usage store cannot be used ({type(exc).__name__}: {exc})",
            hint="check the path and its permissions; a file that is not a promptship usage database can be moved "
            "away (a new one is created)",
        )

    def _create(self) -> None:
        columns = ", ".join(f"{name} {_TYPES.get(name, 'TEXT')}" for name in FIELDS)
        with self._db:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS usage ({columns})")
            have = {row[1] for row in self._db.execute("PRAGMA table_info(usage)")}
            for name in FIELDS:
                if name not in have:
                    self._db.execute(f"ALTER TABLE usage ADD COLUMN {name} {_TYPES.get(name, 'TEXT')}")
            self._db.execute("CREATE INDEX IF NOT EXISTS usage_ts ON usage (ts)")

    def append(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        placeholders = ", ".join("?" for _ in FIELDS)
        values = [tuple(getattr(row, name) for name in FIELDS) for row in rows]
        with self._lock, self._db:
            self._db.executemany(f"INSERT INTO usage ({', '.join(FIELDS)}) VALUES ({placeholders})", values)

    def query(self, query: UsageQuery) -> Iterator[UsageRow]:
        where, arguments = query.sql_where("?")
        sql = f"SELECT {', '.join(FIELDS)} FROM usage{where} ORDER BY ts"
        try:
            with self._lock:
                fetched = self._db.execute(sql, arguments).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        for values in fetched:
            try:  # NULLs (columns an older file gained, NaN stored by SQLite as NULL) read as from_dict reads them
                yield UsageRow.from_dict(dict(zip(FIELDS, values, strict=True)))
            except (KeyError, TypeError, ValueError):
                continue  # a row something else wrote: skipped, as the Redis store skips one

    def close(self) -> None:
        with self._lock:
            self._db.close()
