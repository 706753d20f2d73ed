"""An optional usage store in PostgreSQL (``PROMPTSHIP_USAGE_URL=postgresql://…``; extra
``promptship[postgres]``, psycopg 3): for teams that keep operations data in their own database.

One table, ``promptship_usage`` (one column per :data:`~promptship.ops.usage.FIELDS` entry, an index
on ``ts``), created when missing. Every :meth:`PostgresUsageStore.append` is one transaction; any
number of gateway replicas and SDK processes insert concurrently (the server serialises nothing
but the index). Rows are not trimmed: retention is the database owner's policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import UsageStoreError
from .usage import FIELDS, UsageQuery, UsageRow, redacted_url

TABLE = "promptship_usage"
_TYPES = {
    "ts": "DOUBLE PRECISION NOT NULL",
    "prompt_version": "INTEGER",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "attempts": "INTEGER",
    "cost_usd": "DOUBLE PRECISION",
    "latency_ms": "DOUBLE PRECISION",
}
PAGE = 5000


class PostgresUsageStore:
    """Usage rows in the table :data:`TABLE` of the database at ``url``.

    Raises :class:`~promptship.errors.UsageStoreError` (E960) when the database cannot be reached or
    psycopg is not installed.
    """

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise UsageStoreError(
                "the Postgres usage store needs psycopg, which is not installed",
                hint='pip install "promptship[postgres]", or use sqlite:/// or redis:// in PROMPTSHIP_USAGE_URL',
            ) from None
        self.location = redacted_url(url)
        try:
            self._db: Any = psycopg.connect(url, connect_timeout=5)
            self._create()
        except psycopg.Error as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> UsageStoreError:
        return UsageStoreError(
            f"the usage store at {self.location} cannot be used ({type(exc).__name__})",
            hint="check that the database answers and PROMPTSHIP_USAGE_URL names it (user, password, database)",
        )

    def _create(self) -> None:
        columns = ", ".join(f"{name} {_TYPES.get(name, 'TEXT')}" for name in FIELDS)
        with self._db.transaction():
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns})")
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (ts)")
        self._db.commit()

    def append(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        placeholders = ", ".join("%s" for _ in FIELDS)
        values = [tuple(getattr(row, name) for name in FIELDS) for row in rows]
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) VALUES ({placeholders})", values)
        self._db.commit()

    def query(self, query: UsageQuery) -> Iterator[UsageRow]:
        import psycopg

        where, arguments = query.sql_where("%s")
        try:
            with self._db.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(FIELDS)} FROM {TABLE}{where} ORDER BY ts", arguments)
                while page := cursor.fetchmany(PAGE):
                    for values in page:
                        try:  # NULLs (columns added since the row was written) read as from_dict reads them
                            row = UsageRow.from_dict(dict(zip(FIELDS, values, strict=True)))
                        except (KeyError, TypeError, ValueError):
                            continue  # a row something else wrote: skipped, as the other stores skip one
                        yield row
            self._db.commit()
        except psycopg.Error as exc:
            self._db.rollback()
            raise self._unavailable(exc) from None

    def close(self) -> None:
        self._db.close()
