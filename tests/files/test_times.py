"""``--since``/``--until``: one grammar for ``usage`` and ``dataset pull`` (files/times.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from promptship.errors import UsageError
from promptship.files.times import parse_time, time_window

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - dt.timedelta(seconds=90)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        (" 1.5h ", NOW - dt.timedelta(minutes=90)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("2w", NOW - dt.timedelta(days=14)),
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
        ("2026-11-01T09:00:00Z", dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)),
        ("2026-11-01T09:00:00+09:00", dt.datetime(2026, 11, 1, 0, tzinfo=dt.UTC)),
    ],
)
def test_a_time_is_a_duration_before_now_or_iso_8601_in_utc(text: str, expected: dt.datetime) -> None:
    moment = parse_time(text, now=NOW, option="--since")
    assert moment == expected and moment.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "bad", ["yesterday", "7 days", "-1d", "", "2026-13-45", "999999w", "1" * 400 + "d", "9999-12-31T23:00:00-05:00"]
)
def test_anything_else_is_e962_naming_the_option(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_time(bad, now=NOW, option="--until")
    assert info.value.code == "E962" and info.value.message.startswith(f"invalid --until {bad!r}")
    assert "7d" in (info.value.hint or "")


def test_a_window_is_since_to_until_and_until_must_come_later() -> None:
    assert time_window("1d", None, now=NOW) == (NOW - dt.timedelta(days=1), None)
    assert time_window(None, "1h", now=NOW) == (None, NOW - dt.timedelta(hours=1))
    with pytest.raises(UsageError) as info:
        time_window("1d", "2d", now=NOW)
    assert info.value.code == "E962" and "--until is not after --since" in info.value.message
