"""Usage stores: rows kept whole across processes (SQLite) and replicas (a real Redis), and a recorder
that never fails or blocks its caller when the store is broken."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptship.errors import UsageStoreError
from promptship.ops.recording import UsageRecorder
from promptship.ops.stores import open_usage_store, usage_store_url
from promptship.ops.usage import UsageQuery, UsageRow, key_id, request_hash
from promptship.ops.usage_redis import RedisUsageStore
from promptship.ops.usage_sqlite import SqliteUsageStore

from ..conftest import PROJECT
from ..doubles.redis_server import running_redis


def row(ts: float, project: str = "reviews", **fields: object) -> UsageRow:
    values: dict[str, object] = {
        "ts": ts,
        "source": "gateway",
        "project": project,
        "key_id": key_id("gw-key-0123456789"),
        "alias": "primary",
        "deployment": "fake-primary",
        "prompt": None,
        "prompt_version": None,
        "prompt_label": None,
        "input_tokens": 10,
        "output_tokens": 2,
        "cost_usd": 0.000014,
        "latency_ms": 12.5,
        "attempts": 1,
        "outcome": "ok",
        "request_hash": request_hash("alias", {"n": ts}),
    }
    values.update(fields)
    return UsageRow(**values)  # type: ignore[arg-type]


WRITER = """
import sys
from promptship.ops.usage_sqlite import SqliteUsageStore
from tests.ops.test_usage_store import row
store = SqliteUsageStore(__import__("pathlib").Path(sys.argv[1]))
for batch in range(10):
    store.append([row(1000.0 + batch, project=sys.argv[2], attempts=i) for i in range(25)])
store.close()
"""


def test_sqlite_store_keeps_every_row_from_several_processes_writing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT / "tooling"), str(PROJECT)])}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{n}"], env=env, cwd=PROJECT) for n in range(4)
    ]
    assert [w.wait(60) for w in writers] == [0, 0, 0, 0]
    store = SqliteUsageStore(path)
    rows = list(store.query(UsageQuery()))
    assert len(rows) == 4 * 10 * 25
    assert {r.project for r in rows} == {"p0", "p1", "p2", "p3"}
    assert rows[0] == row(1000.0, project=rows[0].project, attempts=rows[0].attempts)


def test_query_filters_by_time_range_project_and_source(tmp_path: Path) -> None:
    store = SqliteUsageStore(tmp_path / "u.sqlite")
    store.append([row(100.0), row(200.0, project="support"), row(300.0, source="sdk", key_id=None)])
    assert [r.ts for r in store.query(UsageQuery(since=150.0))] == [200.0, 300.0]
    assert [r.ts for r in store.query(UsageQuery(until=200.0))] == [100.0]
    assert [r.ts for r in store.query(UsageQuery(project="support"))] == [200.0]
    assert [r.ts for r in store.query(UsageQuery(source="sdk"))] == [300.0]


def test_a_file_that_is_not_a_usage_database_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageStoreError) as caught:
        SqliteUsageStore(path)
    assert caught.value.code == "E960" and str(path) in caught.value.message


def test_store_urls_pick_sqlite_by_default_redis_when_shared_and_refuse_other_kinds(tmp_path: Path) -> None:
    assert usage_store_url({}, tmp_path) == f"sqlite:///{tmp_path / '.promptship' / 'usage.sqlite'}"
    assert usage_store_url({"REDIS_URL": "redis://h:1/0"}, tmp_path) == "redis://h:1/0"
    assert usage_store_url({"REDIS_URL": "redis://h:1/0", "PROMPTSHIP_USAGE_URL": "off"}, tmp_path) is None
    with pytest.raises(UsageStoreError) as caught:
        open_usage_store("mysql://u:p@db/usage")
    assert caught.value.code == "E961" and "p@db" not in caught.value.message


class BrokenStore:
    location = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def append(self, rows: object) -> None:
        self.calls += 1
        raise OSError("disk full")

    def query(self, query: UsageQuery) -> Iterator[UsageRow]:
        raise OSError("disk full")

    def close(self) -> None:
        pass


def test_a_broken_store_never_fails_or_blocks_recording_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    recorder = UsageRecorder(BrokenStore(), batch_wait_s=0.01)
    with caplog.at_level(logging.ERROR, logger="promptship.ops.usage"):
        for n in range(50):
            recorder.record(row(float(n)))
        assert recorder.flush(30)
    stats = recorder.stats()
    assert stats.written == 0 and stats.lost == 50 and stats.failures >= 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "disk full" in errors[0].getMessage()
    recorder.close()


def test_a_store_that_cannot_be_opened_counts_rows_lost_and_recovers_when_it_can(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    attempts: list[int] = []

    def opening() -> SqliteUsageStore:
        attempts.append(1)
        if len(attempts) <= 2:
            return SqliteUsageStore(blocker / "usage.sqlite")  # a file where a folder should be
        return SqliteUsageStore(tmp_path / "usage.sqlite")

    recorder = UsageRecorder(opening, batch_wait_s=0.01)
    recorder.record(row(1.0))
    assert recorder.flush(30)
    recorder.record(row(2.0))
    recorder.close()
    assert recorder.stats().lost == 1 and recorder.stats().written == 1
    assert [r.ts for r in SqliteUsageStore(tmp_path / "usage.sqlite").query(UsageQuery())] == [2.0]


def test_two_replicas_append_to_one_redis_stream_without_losing_rows(tmp_path: Path) -> None:
    with running_redis(tmp_path) as (url, _):
        stores = [RedisUsageStore(url), RedisUsageStore(url)]

        def write(store: RedisUsageStore, project: str) -> None:
            for batch in range(20):
                store.append([row(1_000.0 + batch, project=project, attempts=i) for i in range(10)])

        threads = [threading.Thread(target=write, args=(s, f"p{n}")) for n, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows = list(stores[0].query(UsageQuery()))
        assert len(rows) == 400 and {r.project for r in rows} == {"p0", "p1"}
        assert list(stores[1].query(UsageQuery(since=1_019.0, project="p1"))) == [
            row(1_019.0, project="p1", attempts=i) for i in range(10)
        ]


def test_redis_rows_older_than_the_retention_are_trimmed(tmp_path: Path) -> None:
    with running_redis(tmp_path) as (url, _):
        store = RedisUsageStore(url, retention_days=0.5 / 86400)  # half a second
        store.append([row(1.0), row(2.0)])
        time.sleep(0.7)
        store.append([row(3.0)])
        assert [r.ts for r in store.query(UsageQuery())] == [3.0]


def test_rows_of_an_older_file_with_missing_columns_are_reported_not_a_traceback(tmp_path: Path, run_cli) -> None:
    """A file from before `attempts` existed gains the column as NULL; a NaN cost is stored as NULL."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE usage (ts REAL NOT NULL, source TEXT, project TEXT, key_id TEXT, alias TEXT, deployment TEXT, "
        "prompt TEXT, prompt_version INTEGER, prompt_label TEXT, input_tokens INTEGER, output_tokens INTEGER, "
        "cost_usd REAL, latency_ms REAL, outcome TEXT, request_hash TEXT)"
    )
    now = time.time()
    for cost in (0.25, float("nan")):
        old.execute(
            "INSERT INTO usage VALUES (?, 'gateway', 'reviews', NULL, 'fast', 'd1', NULL, NULL, NULL, 10, 5, ?, 120.0, "
            "'ok', NULL)",
            (now - 60, cost),
        )
    old.commit()
    old.close()
    result = run_cli("--root", str(tmp_path), "usage", "--store", f"sqlite:///{path}", "--format", "json")
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert '"calls": 2' in result.out and '"cost_usd": 0.25' in result.out, result.out


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:p@ss@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("redis://user:s3cr/et@h:1/0", "redis://user:***@h:1/0"),
        ("rediss://tok3nOnly@h:1", "rediss://***@h:1"),
        ("unix://:pw@/tmp/redis.sock?db=0", "unix://:***@/tmp/redis.sock?db=0"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)
def test_store_urls_in_messages_never_show_any_part_of_a_password(url: str, shown: str) -> None:
    from promptship.ops.usage import redacted_url

    assert redacted_url(url) == shown


@pytest.mark.parametrize("since", ["999999w", "99999999999d", "1" * 400 + "d", "9999-12-31T23:00:00-05:00"])
def test_usage_since_outside_the_calendar_is_a_usage_error(tmp_path: Path, run_cli, since: str) -> None:
    store = f"sqlite:///{tmp_path / 'u.sqlite'}"
    result = run_cli("--root", str(tmp_path), "usage", "--store", store, "--since", since, "--format", "json")
    assert result.code == 2 and "error[E962]" in result.err and "Traceback" not in result.err
