"""The usage report (``promptship usage``) as a terminal table (rich), JSON (shape in docs/formats.md,
"Usage report") and a self-contained HTML page with inline SVG charts (no script, no network)."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from ..ops.usage_report import UsageGroup, UsageReport
from .html import STYLE, bar_chart, format_value

#: Version of the JSON shape (bumped on an incompatible change).
JSON_VERSION = 1
OK_COLOUR, ERROR_COLOUR, P50_COLOUR, P95_COLOUR = "#0969da", "#cf222e", "#0969da", "#8c959f"


def _iso(ts: float | None) -> str | None:
    return (
        None
        if ts is None
        else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _usd(value: float) -> str:
    return format_value(value, "$")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _errors(group: UsageGroup) -> str:
    if not group.errors:
        return "0"
    detail = ", ".join(f"{outcome} {n}" for outcome, n in group.errors_by_outcome.items())
    return f"{group.errors} ({detail})"


def _range(report: UsageReport) -> str:
    since, until = _iso(report.since), _iso(report.until)
    text = f"since {since}" if since else "all time"
    text += f" until {until}" if until else ""
    return text + (f", project {report.project}" if report.project else "")


# -- JSON ---------------------------------------------------------------------------------------------
def group_data(group: UsageGroup) -> dict[str, Any]:
    return {
        "key": group.key,
        "fields": group.fields,
        "calls": group.calls,
        "cost_usd": group.cost_usd,
        "input_tokens": group.input_tokens,
        "output_tokens": group.output_tokens,
        "errors": group.errors,
        "errors_by_outcome": group.errors_by_outcome,
        "latency_p50_ms": group.latency_p50_ms,
        "latency_p95_ms": group.latency_p95_ms,
        "attempts": group.attempts,
        "attempts_per_call": group.attempts_per_call,
    }


def usage_data(report: UsageReport) -> dict[str, Any]:
    """The report as plain data (the documented JSON shape)."""
    return {
        "version": JSON_VERSION,
        "by": report.by,
        "source": report.source,
        "since": _iso(report.since),
        "until": _iso(report.until),
        "project": report.project,
        "groups": [group_data(g) for g in report.groups],
        "total": group_data(report.total),
        "daily": [group_data(g) for g in report.daily],
    }


def usage_json(report: UsageReport) -> str:
    return json.dumps(usage_data(report), indent=2, ensure_ascii=False) + "\n"


# -- terminal ------------------------------------------------------------------------------------------
def print_usage(report: UsageReport) -> None:
    """The report as a rich table on stdout (untrusted names printed literally)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160
    table = Table(
        title=f"Usage by {report.by}, {escape(_range(report))} ({escape(report.source)})", title_justify="left"
    )
    table.add_column(report.by)
    for name in ("calls", "cost", "input tok", "output tok", "errors", "p50 ms", "p95 ms", "attempts/call"):
        table.add_column(name, justify="left" if name == "errors" else "right")
    for group in [*report.groups, report.total]:
        table.add_row(
            escape(group.key) if group is not report.total else "[bold]total[/bold]",
            f"{group.calls:,}",
            _usd(group.cost_usd),
            f"{group.input_tokens:,}",
            f"{group.output_tokens:,}",
            escape(_errors(group)),
            _ms(group.latency_p50_ms),
            _ms(group.latency_p95_ms),
            f"{group.attempts_per_call:.2f}",
        )
    console.print(table)
    if not report.total.calls:
        console.print("no calls recorded in this range")


# -- HTML ------------------------------------------------------------------------------------------------
def hbar_chart(title: str, bars: list[tuple[str, list[tuple[float, str]]]], unit: str, legend: str) -> str:
    """Horizontal bars, one row per label; each row's segments are stacked (value, colour)."""
    top = max((sum(v for v, _ in segments) for _, segments in bars), default=0.0) or 1.0
    width, bar_h, gap, left = 460, 16, 8, 150
    height = len(bars) * (bar_h + gap) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    y = 6
    for label, segments in bars:
        parts.append(f'<text x="0" y="{y + bar_h - 4}" font-size="11">{html.escape(label[:24])}</text>')
        x = float(left)
        for value, colour in segments:
            length = 220 * value / top
            if length > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_h - 2}" fill="{colour}"/>')
            x += length
        total = sum(v for v, _ in segments)
        parts.append(
            f'<text x="{x + 5:.1f}" y="{y + bar_h - 4}" font-size="10">{html.escape(_label(total, unit))}</text>'
        )
        y += bar_h + gap
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{html.escape(title)} — {html.escape(legend)}</figcaption></figure>"


def column_chart(title: str, columns: list[tuple[str, float]], unit: str) -> str:
    """One column per day (oldest left), labelled with its value."""
    top = max((v for _, v in columns), default=0.0) or 1.0
    step = max(18, min(60, 640 // max(1, len(columns))))
    width, height, base = step * len(columns) + 20, 190, 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    for index, (label, value) in enumerate(columns):
        x = 10 + index * step
        h = 120 * value / top
        parts.append(f'<rect x="{x}" y="{base - h:.1f}" width="{step - 4}" height="{h:.1f}" fill="{OK_COLOUR}"/>')
        parts.append(f'<text x="{x}" y="{base - h - 3:.1f}" font-size="9">{html.escape(_label(value, unit))}</text>')
        parts.append(f'<text x="{x}" y="{base + 14}" font-size="9">{html.escape(label[5:])}</text>')
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{html.escape(title)}</figcaption></figure>"


def _label(value: float, unit: str) -> str:
    if unit == "calls":
        return f"{value:,.0f}"
    return format_value(value, unit)


def usage_html(report: UsageReport) -> str:
    """A self-contained page: the table's numbers, and charts of cost, calls (answered and errors),
    latency per group, and calls and cost per day."""
    groups = report.groups
    rows = []
    for group in [*groups, report.total]:
        name = "total" if group is report.total else group.key
        cells = [
            f'<td class="l">{html.escape(name)}</td>',
            f"<td>{group.calls:,}</td>",
            f"<td>{html.escape(_usd(group.cost_usd))}</td>",
            f"<td>{group.input_tokens:,}</td>",
            f"<td>{group.output_tokens:,}</td>",
            f'<td class="l{" fail" if group.errors else ""}">{html.escape(_errors(group))}</td>',
            f"<td>{_ms(group.latency_p50_ms)}</td>",
            f"<td>{_ms(group.latency_p95_ms)}</td>",
            f"<td>{group.attempts_per_call:.2f}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in (report.by, "calls", "cost", "input tok", "output tok", "errors", "p50 ms", "p95 ms", "attempts/call")
    )
    charts = [
        hbar_chart(f"Cost per {report.by}", [(g.key, [(g.cost_usd, OK_COLOUR)]) for g in groups], "$", "USD"),
        hbar_chart(
            f"Calls per {report.by}",
            [(g.key, [(float(g.calls - g.errors), OK_COLOUR), (float(g.errors), ERROR_COLOUR)]) for g in groups],
            "calls",
            "answered blue, errors red",
        ),
        bar_chart(
            f"Latency of answered calls per {report.by}",
            [(g.key, g.latency_p50_ms, g.latency_p95_ms) for g in groups],
            " ms",
            colours=(P50_COLOUR, P95_COLOUR),
            legend="p50 blue, p95 grey",
        ),
    ]
    if report.daily:
        charts.append(column_chart("Calls per day (UTC)", [(d.key, float(d.calls)) for d in report.daily], "calls"))
        charts.append(column_chart("Cost per day (UTC)", [(d.key, d.cost_usd) for d in report.daily], "$"))
    title = f"Usage by {report.by}, {_range(report)}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Source: {html.escape(report.source)}. "
        f"{report.total.calls:,} calls, {html.escape(_usd(report.total.cost_usd))}, "
        f"{report.total.errors:,} errors.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="charts">{"".join(charts)}</div></body></html>\n'
    )
