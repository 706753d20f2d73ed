"""A self-contained HTML diff report (no CDN, no script): inline SVG bar charts of score, cost and
latency per model, base vs head, plus the Markdown tables' content."""

from __future__ import annotations

import html
from collections.abc import Callable

from ..diff.change import SMOKE_TEST_NOTE, DiffReport, SuiteReport, describe_price_changes
from ..files.schema.run import Aggregate, Run

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2328;max-width:1100px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}.fail{color:#cf222e}.pass{color:#1a7f37}
.charts{display:flex;gap:2rem;flex-wrap:wrap}figure{margin:0}figcaption{font-size:.85rem;color:#57606a}
pre{background:#f6f8fa;padding:.5rem;overflow:auto}
"""
BASE_COLOUR, HEAD_COLOUR = "#8c959f", "#0969da"


def format_value(value: float, unit: str) -> str:
    """A chart label: dollars with enough decimals (never ``3.1e-05``), milliseconds whole, scores 3 decimals."""
    if unit == "$":
        return f"${value:,.6f}" if abs(value) < 0.01 else f"${value:,.4f}"
    if unit == " ms":
        return f"{value:,.0f} ms"
    return f"{value:.3f}"


def bar_chart(
    title: str,
    series: list[tuple[str, float | None, float | None]],
    unit: str = "",
    *,
    colours: tuple[str, str] = (BASE_COLOUR, HEAD_COLOUR),
    legend: str = "base grey, head blue",
) -> str:
    """Two bars per label (the first and second value of each ``(label, first, second)``, drawn in
    ``colours``; ``None`` draws no bar), as inline SVG with each value written beside its bar in
    ``unit`` (see :func:`format_value`). Labels are cut at 24 characters."""
    values = [v for _, a, b in series for v in (a, b) if v is not None]
    top = max(values, default=0.0) or 1.0
    width, bar_h, gap, left = 460, 12, 8, 150
    height = len(series) * (2 * bar_h + gap) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">'
    ]
    y = 6
    for label, first, second in series:
        parts.append(f'<text x="0" y="{y + bar_h}" font-size="11">{html.escape(label[:24])}</text>')
        for value, colour, offset in ((first, colours[0], 0), (second, colours[1], bar_h)):
            if value is None:
                continue
            length = 220 * max(value, 0.0) / top
            parts.append(
                f'<rect x="{left}" y="{y + offset}" width="{length:.1f}" height="{bar_h - 2}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{left + length + 5:.1f}" y="{y + offset + bar_h - 3}" font-size="10">'
                f"{html.escape(format_value(value, unit))}</text>"
            )
        y += 2 * bar_h + gap
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{html.escape(title)} — {html.escape(legend)}</figcaption></figure>"


def _score_charts(suite: SuiteReport) -> list[str]:
    """Score charts with the numbers of the tables: paired means for a changed suite (with their
    denominator), the run's means over answered samples for a new one."""
    if suite.comparisons:
        names = sorted({m.metric for c in suite.comparisons for m in c.metrics})
        charts = []
        for name in names:
            metrics = [(c.model, next((m for m in c.metrics if m.metric == name), None)) for c in suite.comparisons]
            series = [(model, m.base if m else None, m.head if m else None) for model, m in metrics]
            denominators = ", ".join(f"{model}: {m.denominator}" for model, m in metrics if m)
            charts.append(bar_chart(f"score: {name} (on {denominators})", series))
        return charts
    head = suite.head_run
    if head is None:
        return []
    names = sorted({n for a in head.aggregates.values() for n in a.scores})
    return [
        bar_chart(
            f"score: {name} (over answered samples)",
            [(model, None, a.scores.get(name)) for model, a in head.aggregates.items()],
        )
        for name in names
    ]


def _suite_html(suite: SuiteReport) -> str:
    out = [f"<h2>{html.escape(suite.change.suite)} <small>({suite.change.status})</small></h2>"]
    base, head = suite.base_run, suite.head_run
    models = list(head.aggregates if head else base.aggregates if base else {})
    if models:

        def series(value: Callable[[Aggregate], float | None]) -> list[tuple[str, float | None, float | None]]:
            def of(run: Run | None, model: str) -> float | None:
                return value(run.aggregates[model]) if run and model in run.aggregates else None

            return [(m, of(base, m), of(head, m)) for m in models]

        charts = _score_charts(suite)
        charts.append(bar_chart("cost per call (USD)", series(lambda a: a.cost_per_call_usd), "$"))
        charts.append(bar_chart("latency p95 (ms)", series(lambda a: a.latency_p95_ms), " ms"))
        out.append(f'<div class="charts">{"".join(charts)}</div>')
    if suite.comparisons:
        rows = [
            "<table><tr><th>model</th><th>metric</th><th>base</th><th>head</th><th>Δ</th><th>items</th>"
            "<th>95% CI / p</th><th>significant</th></tr>"
        ]
        for comparison in suite.comparisons:
            for m in comparison.metrics:
                ci = (
                    f"[{m.ci_low:+.3f}, {m.ci_high:+.3f}]"
                    if m.ci_low is not None and m.ci_high is not None
                    else f"p={m.p_value:.3f}"
                    if m.p_value is not None
                    else "–"
                )
                rows.append(
                    f"<tr><td>{html.escape(comparison.model)}</td><td class=l>{html.escape(m.metric)}</td>"
                    f"<td>{m.base:.3f}</td><td>{m.head:.3f}</td><td>{m.delta:+.3f}</td>"
                    f"<td class=l>{html.escape(m.denominator)}</td><td>{ci}</td>"
                    f"<td>{'yes' if m.significant else 'no'}</td></tr>"
                )
        rows.append("</table>")
        out.append("".join(rows))
        out.append(_cost_table(suite))
    if suite.gates:
        out.append(
            "<ul>"
            + "".join(
                f'<li class="{"pass" if g.passed else "fail"}">{html.escape(g.model)} {html.escape(g.gate)}: '
                f"{html.escape(g.message)}</li>"
                for g in suite.gates
            )
            + "</ul>"
        )
    if suite.prompt_diff and not suite.prompt_diff.empty:
        for location, text in suite.prompt_diff.template_diffs:
            out.append(f"<h3>{html.escape(location)}</h3><pre>{html.escape(text)}</pre>")
    for comparison in suite.comparisons:
        if comparison.item_changes:
            out.append(
                f"<h3>{html.escape(comparison.model)}: per-item changes</h3><table>"
                "<tr><th>item</th><th>change</th><th>input</th><th>expected</th><th>base</th><th>head</th></tr>"
                + "".join(
                    f"<tr><td class=l>{html.escape(c.item_id)}</td><td class=l>{c.change}</td>"
                    f"<td class=l>{html.escape(c.input)}</td><td class=l>{html.escape(c.expected)}</td>"
                    f"<td class=l>{html.escape(c.base_output)}</td>"
                    f"<td class=l>{html.escape(c.head_output)}</td></tr>"
                    for c in comparison.item_changes
                )
                + "</table>"
            )
    return "\n".join(out)


def _money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    text = format_value(abs(value), "$")
    return ("+" if value >= 0 else "−") + text if signed else text


def _cost_table(suite: SuiteReport) -> str:
    """Cost per call, its change, the projected monthly cost at head and its change, latency notes."""
    rows = [
        "<table><tr><th>model</th><th>cost/call base</th><th>cost/call head</th><th>change</th>"
        "<th>projected monthly cost (head)</th><th>projected monthly Δ</th><th>latency p95 base → head</th></tr>"
    ]
    for c in suite.comparisons:
        change = "–" if c.cost_change_pct is None else f"{c.cost_change_pct:+.1f}%"
        monthly_head = c.cost_per_call_head * c.calls_per_month if c.calls_per_month else None
        latency = f"{c.latency_p95_base:,.0f} → {c.latency_p95_head:,.0f} ms"
        if c.latency_not_comparable:
            latency += f" (not comparable: {c.latency_not_comparable})"
        rows.append(
            f"<tr><td>{html.escape(c.model)}</td><td>{_money(c.cost_per_call_base)}</td>"
            f"<td>{_money(c.cost_per_call_head)}</td><td>{change}</td><td>{_money(monthly_head)}</td>"
            f"<td>{_money(c.monthly_cost_delta, signed=True)}</td><td class=l>{html.escape(latency)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def render_html(report: DiffReport) -> str:
    title = f"promptship eval diff {report.base_ref} → {report.head_ref}"
    body = [f"<h1>{html.escape(title)}</h1>", f"<p><strong>{html.escape(report.verdict())}</strong></p>"]
    if report.local_model:
        body.append(f"<p>{html.escape(SMOKE_TEST_NOTE)}</p>")
    body += [f'<p class="fail">{html.escape(w)}</p>' for w in report.warnings()]
    if report.price_changes:
        body.append(f"<p>Prices changed: {html.escape(describe_price_changes(report.price_changes))}</p>")
    if report.unaffected:
        body.append(f"<p>Unaffected suites (not run): {html.escape(', '.join(report.unaffected))}</p>")
    body += [_suite_html(s) for s in report.suites]
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
