"""``promptship usage --by version`` as text, JSON and an HTML section: each prompt's versions on live
traffic and every version against the base (:mod:`promptship.diff.versions`)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..diff.unpaired import MIN_ARM
from ..diff.versions import MetricComparison, PromptVersions, VersionArm
from ..ops.usage_report import UsageReport
from .html import bar_chart

HOW = (
    f"Unpaired arms (different callers): error rate — Newcombe interval, Fisher's exact test; latency p50 — "
    f"bootstrap interval of the difference of medians, Mann–Whitney U; cost per call and scores — bootstrap "
    f"interval of the difference of means, Mann–Whitney U. A verdict needs {MIN_ARM} observations per arm, an "
    f"interval excluding 0 and p < 0.05; several metrics are tested at once, so one false alarm in twenty is "
    f"expected: decide on the metric chosen before the test."
)


def _version(version: int | None) -> str:
    return "file" if version is None else f"v{version}"


def _usd(value: float) -> str:
    return f"${value:.6f}" if abs(value) < 0.01 else f"${value:.4f}"


def _value(metric: MetricComparison, value: float, signed: bool = False) -> str:
    sign = "+" if signed and value > 0 else ""
    if metric.metric == "error rate":
        return f"{sign}{value * 100:.1f}{' pts' if signed else '%'}"
    if metric.metric.startswith("latency"):
        return f"{sign}{value:,.0f} ms"
    if metric.metric.startswith("cost"):
        return f"{sign}{_usd(value)}" if value >= 0 else f"-{_usd(-value)}"
    return f"{sign}{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "p<0.0001" if value < 0.0001 else f"p={value:.4f}"


def _arm_cells(arm: VersionArm, score_names: Sequence[str]) -> list[str]:
    low, high = arm.error_ci
    cells = [
        _version(arm.version),
        ", ".join(arm.labels) or "—",
        str(arm.calls),
        f"{arm.error_rate * 100:.1f}% ({low * 100:.1f}–{high * 100:.1f}%)",
        "—" if arm.p50_ms is None else f"{arm.p50_ms:,.0f}",
        "—" if arm.p95_ms is None else f"{arm.p95_ms:,.0f}",
        _usd(arm.cost_per_call_usd),
    ]
    for name in score_names:
        score = arm.scores.get(name)
        cells.append("—" if score is None else f"{score.mean:.3f} (n {score.n})")
    return cells


def _score_names(result: PromptVersions) -> list[str]:
    return sorted({name for arm in result.arms for name in arm.scores})


def _split(result: PromptVersions) -> str:
    return " / ".join(f"{label} {weight}" for label, weight in result.split.items()) if result.split else ""


def _metric_cells(metric: MetricComparison) -> list[str]:
    return [
        metric.metric,
        _value(metric, metric.base),
        _value(metric, metric.head),
        f"{_value(metric, metric.delta, True)} "
        f"({_value(metric, metric.ci_low, True)} to {_value(metric, metric.ci_high, True)})",
        f"{metric.test} {_p(metric.p_value)}",
        f"{metric.n_base} / {metric.n_head}",
        metric.verdict,
    ]


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


ARM_HEADER = ["version", "labels", "calls", "errors (95% CI)", "p50 ms", "p95 ms", "cost/call"]
METRIC_HEADER = ["metric", "base", "head", "head − base (95% CI)", "test", "n base / head", "verdict"]


def versions_text(results: Sequence[PromptVersions]) -> str:
    """Plain-text tables, one block per prompt."""
    if not results:
        return "No calls of managed prompts in this period.\n"
    lines: list[str] = []
    for result in results:
        heading = result.prompt
        if result.split:
            heading += f"  (split {_split(result)})"
        if result.base_version is not None:
            heading += f"  base {_version(result.base_version)}"
        lines.append(heading)
        names = _score_names(result)
        header = ARM_HEADER + [f"score {name}" for name in names]
        lines += ["  " + line for line in _columns([header] + [_arm_cells(arm, names) for arm in result.arms])]
        for comparison in result.comparisons:
            lines.append(f"  {_version(comparison.head_version)} vs {_version(result.base_version)}:")
            table = [METRIC_HEADER] + [_metric_cells(m) for m in comparison.metrics]
            lines += ["    " + line for line in _columns(table)]
        lines.append("")
    if any(result.comparisons for result in results):
        lines.append(HOW)
    return "\n".join(lines).rstrip() + "\n"


def versions_json(results: Sequence[PromptVersions]) -> dict[str, Any]:
    """``{"by": "version", "prompts": [...], "method": ...}`` with every number unrounded."""
    return {"by": "version", "prompts": [result.to_dict() for result in results], "method": HOW}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def versions_html(results: Sequence[PromptVersions]) -> str:
    """An HTML section (no page around it): per prompt, the arms, the comparisons and charts of
    error rate, p50 latency and cost per call, base grey and each other version blue."""
    parts = ["<section><h2>By prompt version</h2>"]
    if not results:
        parts.append("<p>No calls of managed prompts in this period.</p>")
    for result in results:
        title = result.prompt + (f" — split {_split(result)}" if result.split else "")
        parts.append(f"<h3>{html.escape(title)}</h3>")
        names = _score_names(result)
        arms = [_arm_cells(arm, names) for arm in result.arms]
        parts.append(_table(ARM_HEADER + [f"score {name}" for name in names], arms))
        for comparison in result.comparisons:
            caption = f"{_version(comparison.head_version)} vs base {_version(result.base_version)}"
            parts.append(f"<h4>{html.escape(caption)}</h4>")
            parts.append(_table(METRIC_HEADER, [_metric_cells(m) for m in comparison.metrics]))
        if result.comparisons:
            charts = []
            for metric, unit, scale in (
                ("error rate", "", 100.0),
                ("latency p50 (ms)", " ms", 1.0),
                ("cost per call (USD)", "$", 1.0),
            ):
                series: list[tuple[str, float | None, float | None]] = []
                for comparison in result.comparisons:
                    found = next((m for m in comparison.metrics if m.metric == metric), None)
                    if found is not None:
                        series.append((_version(comparison.head_version), found.base * scale, found.head * scale))
                label = "error rate (%)" if metric == "error rate" else metric
                charts.append(bar_chart(f"{result.prompt}: {label}", series, unit))
            parts.append(f'<div class="charts">{"".join(charts)}</div>')
    if any(result.comparisons for result in results):
        parts.append(f"<p>{html.escape(HOW)}</p>")
    parts.append("</section>")
    return "".join(parts)


def usage_by_version(report: UsageReport, results: Sequence[PromptVersions], output_format: str) -> str:
    """``promptship usage --by version`` as JSON (the usage report's shape plus ``versions``) or HTML
    (the usage page with the comparison section before its end). Table output is
    :func:`~promptship.report.usage.print_usage` followed by :func:`versions_text`."""
    import json

    from .usage import usage_data, usage_html

    if output_format == "json":
        data = usage_data(report)
        data["versions"] = versions_json(results)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    page = usage_html(report)
    return page.replace("</body>", versions_html(results) + "</body>", 1)
