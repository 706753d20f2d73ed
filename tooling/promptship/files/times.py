"""``--since``/``--until`` times, one grammar for every command that takes them (``usage``,
``dataset pull``): a duration before now or an ISO 8601 date or time (pure)."""

from __future__ import annotations

import datetime as dt
import re

from ..errors import UsageError

_DURATION = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: What a bad time's hint shows.
FORMS = "a duration before now (90s, 30m, 24h, 7d, 2w) or an ISO 8601 time (2026-11-01, 2026-11-01T09:00:00Z)"


def parse_time(text: str, *, now: dt.datetime, option: str) -> dt.datetime:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w``, ``1.5h`` (that long before ``now``, an aware datetime)
    or an ISO 8601 date or date-time (UTC when it names no offset) → an aware UTC datetime.

    Raises :class:`UsageError` (E962) naming ``option`` for anything else, and for a time outside
    years 1–9999 once in UTC (``999999w``, an offset past 9999-12-31)."""
    duration = _DURATION.match(text)
    try:
        if duration:
            return now - dt.timedelta(seconds=float(duration["amount"]) * _UNITS[duration["unit"]])
        moment = dt.datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # not a time, or before year 1 / after 9999 once in UTC
        raise UsageError(
            f"invalid {option} {text!r}: neither a duration nor an ISO 8601 date or time",
            code="E962",
            hint=f"give {FORMS}",
        ) from None


def time_window(
    since: str | None, until: str | None, *, now: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``--since``/``--until`` (``None`` = open) as aware UTC datetimes, the window [since, until).
    :class:`UsageError` (E962) for a bad time or an ``until`` not after ``since``."""
    start = parse_time(since, now=now, option="--since") if since else None
    end = parse_time(until, now=now, option="--until") if until else None
    if start is not None and end is not None and end <= start:
        raise UsageError(
            "--until is not after --since", code="E962", hint="the window is [--since, --until): give a later --until"
        )
    return start, end
