"""Which usage store a process uses, and opening it: ``PROMPTSHIP_USAGE_URL`` (``sqlite:///PATH``,
``redis://…``, ``postgresql://…``, ``off``), else ``REDIS_URL`` (the Redis the gateway shares its
counters through), else the SQLite file ``.promptship/usage.sqlite`` under the repository root."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageStoreError
from ..files.workdir import NAME as WORKDIR
from ..files.workdir import workdir
from .usage import UsageStore

DEFAULT_FILE = "usage.sqlite"


def usage_store_url(env: Mapping[str, str], root: Path) -> str | None:
    """Which store a process writes to: ``PROMPTSHIP_USAGE_URL`` (``off`` → ``None``), else
    ``REDIS_URL`` (the Redis the gateway shares its counters through), else the SQLite file
    ``root/.promptship/usage.sqlite``."""
    url = env.get("PROMPTSHIP_USAGE_URL") or env.get("REDIS_URL")
    if url and url.strip().lower() == "off":
        return None
    if url:
        return url.strip()
    return f"sqlite:///{root / WORKDIR / DEFAULT_FILE}"


def open_usage_store(url: str, env: Mapping[str, str] | None = None) -> UsageStore:
    """The store at ``url``: ``sqlite:///PATH`` (or a plain path), ``redis://``/``rediss://``/``unix://``
    (keeping rows ``PROMPTSHIP_USAGE_RETENTION_DAYS`` days, from ``env``; default 40), or
    ``postgresql://``/``postgres://`` (extra ``promptship[postgres]``).

    Raises :class:`~promptship.errors.UsageStoreError`: E961 for another scheme, E960 when the store
    cannot be opened.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("", "sqlite"):
        from .usage_sqlite import SqliteUsageStore

        path = Path(url[len("sqlite:///") :] if scheme else url)
        if path.parent.name == WORKDIR:
            workdir(path.parent.parent)  # created holding a .gitignore, so usage is never committed
        return SqliteUsageStore(path)
    if scheme in ("redis", "rediss", "unix"):
        from .usage_redis import RETENTION_DAYS, RedisUsageStore

        days = (env or {}).get("PROMPTSHIP_USAGE_RETENTION_DAYS")
        try:
            retention = float(days) if days else RETENTION_DAYS
        except ValueError:
            retention = RETENTION_DAYS
        return RedisUsageStore(url, retention_days=retention if retention > 0 else RETENTION_DAYS)
    if scheme in ("postgresql", "postgres"):
        from .usage_postgres import PostgresUsageStore

        return PostgresUsageStore(url)
    raise UsageStoreError(
        f"usage store URL scheme '{scheme}' is not supported",
        code="E961",
        hint="use sqlite:///PATH, redis://HOST:PORT/DB or postgresql://USER@HOST/DB in PROMPTSHIP_USAGE_URL, or 'off'",
    )
