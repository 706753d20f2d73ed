"""The optional Postgres usage store against a real PostgreSQL server (the test command installs it):
concurrent writers lose nothing and queries filter (the gateway writing there: tests/runtime/test_gateway_usage.py)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptship.errors import UsageStoreError
from promptship.ops.stores import open_usage_store
from promptship.ops.usage import UsageQuery
from promptship.ops.usage_postgres import PostgresUsageStore

from .test_usage_store import row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free loopback port (as the ``postgres`` user when run as
    root, which the server refuses to be): its URL."""
    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1:]), None)
    assert initdb, "PostgreSQL is required (.ci/run installs it)"
    binaries = Path(initdb).resolve().parent
    home = Path(tempfile.mkdtemp(prefix="promptship-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = home / "data", _free_port()
    subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "promptship", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [*as_user, str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(home)]
        + ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://promptship@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.time() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                assert time.time() < deadline and server.poll() is None, "PostgreSQL did not start"
                time.sleep(0.1)
        yield url
    finally:
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def test_postgres_store_keeps_every_row_from_concurrent_writers_and_filters_them() -> None:
    with running_postgres() as url:
        stores = [open_usage_store(url) for _ in range(3)]

        def write(store: object, project: str) -> None:
            for batch in range(10):
                store.append([row(1_000.0 + batch, project=project, attempts=i) for i in range(20)])  # type: ignore[attr-defined]

        threads = [threading.Thread(target=write, args=(s, f"p{n}")) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        reader = PostgresUsageStore(url)
        assert len(list(reader.query(UsageQuery()))) == 600
        assert list(reader.query(UsageQuery(since=1_009.0, project="p2"))) == [
            row(1_009.0, project="p2", attempts=i) for i in range(20)
        ]
        assert list(reader.query(UsageQuery(until=1_000.5, source="sdk"))) == []
        for store in [*stores, reader]:
            store.close()


def test_an_unreachable_postgres_is_a_located_error_without_the_password() -> None:
    with pytest.raises(UsageStoreError) as caught:
        open_usage_store(f"postgresql://user:secret-pw@127.0.0.1:{_free_port()}/usage")
    assert caught.value.code == "E960" and "secret-pw" not in caught.value.message
