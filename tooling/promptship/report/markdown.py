"""A diff report as Markdown for the PR comment and the job summary.

Summary table first, details collapsed. Always within GitHub's 65,536-character comment limit:
detail sections are dropped from the end, with a note saying what was cut. The hidden marker
lets ``promptship ci comment`` update the same comment on every push.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from ..diff.change import SMOKE_TEST_NOTE, DiffReport, SuiteReport, describe_price_changes
from ..diff.compare import MetricDelta, ModelComparison

MARKER = "<!-- promptship:report -->"
GITHUB_LIMIT = 65_536
ITEM_ROWS = 20


#: A zero-width space as an HTML entity: breaks mentions, references and autolinks without a visible change.
_ZWSP = "&#8203;"
#: Markdown punctuation that could start emphasis, links, images, code or strikethrough (&, < and > are
#: HTML-escaped; without a `[` no link or image can form).
_PUNCTUATION = re.compile(r"([\\`*_\[\]~|])")
#: What GitHub turns into a live link or a notification on its own: @user, @org/team, #123, GH-123,
#: bare URLs (scheme:// and www.), and e-mail addresses (an @ again). "\0" marks where the space goes.
_AUTOLINKS = [
    (re.compile(r"@(?=\w)"), "@\0"),
    (re.compile(r"#(?=\d)"), "#\0"),
    (re.compile(r"\b(GH)-(?=\d)", re.IGNORECASE), "\\1-\0"),
    (re.compile(r"://"), ":\0//"),
    (re.compile(r"\b(www)\.", re.IGNORECASE), "\\1\0."),
]


def _escape(text: str) -> str:
    """Untrusted text (model outputs, dataset values, messages) as inert Markdown for one table cell:
    HTML and Markdown syntax are escaped, and mentions, issue references and autolinks neutralised,
    so nothing in it renders as a link, an image, a mention or markup in the bot's comment."""
    text = " ".join(text.replace("\0", "").splitlines())
    for pattern, replacement in _AUTOLINKS:
        text = pattern.sub(replacement, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCTUATION.sub(r"\\\1", text)
    return text.replace("\0", _ZWSP)


def code(text: str) -> str:
    """``text`` as an inline code span that nothing in it can close (and safe in a table cell)."""
    text = " ".join(text.splitlines()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, info: str = "") -> str:
    """``text`` in a fenced code block longer than any backtick run inside it, so no line of
    ``text`` can close it (a prompt holding a ```` ``` ```` line stays inside)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _html(text: str) -> str:
    """Untrusted text inside an HTML element of the comment (``<summary>``), where Markdown is not
    parsed: HTML-escaped, mentions and autolinks neutralised."""
    text = " ".join(text.replace("\0", "").splitlines())
    for pattern, replacement in _AUTOLINKS:
        text = pattern.sub(replacement, text)
    return html.escape(text, quote=False).replace("\0", _ZWSP)


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


def _usd(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    digits = 6 if abs(value) < 0.01 else 2
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    return f"{sign}${abs(value):,.{digits}f}"


def _significance(metric: MetricDelta) -> str:
    if not metric.significant:
        return "not significant"
    return "▲ better" if metric.delta > 0 else "▼ worse"


def _p(value: float) -> str:
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def _ci(metric: MetricDelta) -> str:
    if metric.ci_low is None or metric.ci_high is None:
        return f"McNemar {_p(metric.p_value)}" if metric.p_value is not None else "–"
    return f"[{metric.ci_low:+.3f}, {metric.ci_high:+.3f}]"


def _short(sha: str | None) -> str:
    return sha[:7] if sha else "working tree"


def summary_rows(report: DiffReport) -> list[str]:
    """Scores per suite, model and metric. ``base``/``head`` of a changed suite are means over the items
    both sides answered and scored, and the ``items`` column says how many of how many that is; a new
    suite's value is over its answered samples."""
    rows = [
        "| suite | model | metric | base | head | Δ | items | 95% CI / exact test | significance |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for suite in report.suites:
        if suite.change.status == "removed":
            rows.append(f"| {_escape(suite.change.suite)} | – | – | | | | | | suite removed |")
            continue
        if suite.change.status == "added":
            for model, aggregate in suite.head_run.aggregates.items() if suite.head_run else []:
                answered = f"{aggregate.samples - aggregate.errors} of {aggregate.samples} answered"
                for name, value in aggregate.scores.items():
                    rows.append(
                        f"| {_escape(suite.change.suite)} | {_escape(model)} | {_escape(name)} | new | {value:.3f} "
                        f"| | {answered} | | new suite |"
                    )
            continue
        for comparison in suite.comparisons:
            for metric in comparison.metrics:
                rows.append(
                    f"| {_escape(suite.change.suite)} | {_escape(comparison.model)} | {_escape(metric.metric)} | "
                    f"{_number(metric.base)} | "
                    f"{_number(metric.head)} | {_signed(metric.delta)} | {metric.denominator} | {_ci(metric)} | "
                    f"{_significance(metric)} |"
                )
    return rows


def _latency(base: float, head: float, comparable: bool) -> str:
    return f"{base:.0f} → {head:.0f}" + ("" if comparable else " ⚠️")


def cost_rows(comparisons: Iterable[tuple[str, ModelComparison]]) -> list[str]:
    """Cost, latency, tokens and errors per suite and model; latencies that cannot be compared are
    marked ⚠️ and explained by :func:`latency_notes`."""
    rows = [
        "| suite | model | cost/call base → head | change | projected monthly Δ | p50 ms | p95 ms "
        "| tokens/call | errors |",
        "|---|---|---|---:|---:|---|---|---|---|",
    ]
    for suite, c in comparisons:
        change = "–" if c.cost_change_pct is None else f"{c.cost_change_pct:+.1f}%"
        comparable = c.latency_not_comparable is None
        rows.append(
            f"| {_escape(suite)} | {_escape(c.model)} | "
            f"{_usd(c.cost_per_call_base)} → {_usd(c.cost_per_call_head)} | {change} | "
            f"{_usd(c.monthly_cost_delta, signed=True)} | "
            f"{_latency(c.latency_p50_base, c.latency_p50_head, comparable)} | "
            f"{_latency(c.latency_p95_base, c.latency_p95_head, comparable)} | "
            f"{c.tokens_per_call_base:.0f} → {c.tokens_per_call_head:.0f} | {c.errors_base} → {c.errors_head} |"
        )
    return rows


def latency_notes(comparisons: Iterable[tuple[str, ModelComparison]]) -> list[str]:
    """One line per comparison whose latencies say nothing about the prompt, with the reason."""
    return [
        f"⚠️ latency of {_escape(suite)} / {_escape(c.model)} is not comparable and says nothing about the "
        f"prompt: {_escape(c.latency_not_comparable)}."
        for suite, c in comparisons
        if c.latency_not_comparable
    ]


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def prompt_section(suite: SuiteReport) -> str | None:
    diff = suite.prompt_diff
    if diff is None or diff.empty:
        return None
    parts = []
    for location, text in diff.template_diffs:
        parts.append(f"**{_escape(location)}**\n\n{fence(text, 'diff')}")
    if diff.field_changes:
        lines = ["| field | base | head |", "|---|---|---|"]
        lines += [
            f"| {code(c.path)} | {_escape(repr(c.before))} | {_escape(repr(c.after))} |" for c in diff.field_changes
        ]
        parts.append("\n".join(lines))
    return _details(f"Prompt <code>{_html(suite.prompt)}</code>: what changed", "\n\n".join(parts))


def items_section(suite: SuiteReport) -> str | None:
    parts = []
    for comparison in suite.comparisons:
        changes = comparison.item_changes
        if not changes:
            continue
        failing, passing = comparison.newly_failing, comparison.newly_passing
        lines = [
            f"**{_escape(comparison.model)}**: {failing} newly failing, {passing} newly passing",
            "",
            "| item | change | input | expected | base output | head output |",
            "|---|---|---|---|---|---|",
        ]
        for change in changes[:ITEM_ROWS]:
            label = "❌ newly failing" if change.change == "newly_failing" else "✅ newly passing"
            lines.append(
                f"| {code(change.item_id)} | {label} | {_escape(change.input)} | {_escape(change.expected) or '–'} | "
                f"{_escape(change.base_output)} | {_escape(change.head_output)} |"
            )
        if failing + passing > ITEM_ROWS:
            more = failing + passing - ITEM_ROWS
            listed = (
                f"; the JSON/HTML report lists the first {len(changes)}" if failing + passing > len(changes) else ""
            )
            lines.append(f"\n… {more} more in the JSON/HTML report{listed}")
        parts.append("\n".join(lines))
    if not parts:
        return None
    return _details(f"Suite <code>{_html(suite.change.suite)}</code>: per-item changes", "\n\n".join(parts))


def gates_section(report: DiffReport) -> str | None:
    gates = [g for s in report.suites for g in s.gates]
    if not gates:
        return None
    lines = ["| suite | model | gate | result | detail |", "|---|---|---|---|---|"]
    lines += [
        f"| {_escape(g.suite)} | {_escape(g.model)} | {code(g.gate)} | "
        f"{'✅ pass' if g.passed else '❌ fail'} | {_escape(g.message)} |"
        for g in gates
    ]
    return _details("Gates", "\n".join(lines))


def render_markdown(report: DiffReport, limit: int = GITHUB_LIMIT) -> str:
    """The PR comment body (never longer than ``limit``)."""
    head = [
        MARKER,
        f"### promptship eval diff: {code(report.base_ref)} ({_short(report.base_sha)}) → {code(report.head_ref)}"
        + (f" ({_short(report.head_sha)})" if report.head_sha else "")
        + (f", profile {code(report.profile)}" if report.profile else ""),
        "",
        f"**{_escape(report.verdict())}**",
        "",
    ]
    if report.local_model:
        head += [SMOKE_TEST_NOTE, ""]
    warnings = report.warnings()
    if warnings:
        head += [*(f"{_escape(w)}  " for w in warnings), ""]
    if report.price_changes:
        head += [
            f"Prices changed: {describe_price_changes(report.price_changes)}. Costs are computed from each "
            "run's token usage at the prices in force on its side; the split of each change into prices and "
            "usage is in the JSON report.",
            "",
        ]
    if any(s.change.status != "unchanged" for s in report.suites):
        head += [*summary_rows(report), ""]
    costs = [(s.change.suite, c) for s in report.suites for c in s.comparisons]
    if costs:
        head += [*cost_rows(costs), ""]
        notes = latency_notes(costs)
        if notes:
            head += [*(f"{n}  " for n in notes), ""]
    if report.unaffected:
        head.append(f"Unaffected suites (not run): {', '.join(code(n) for n in report.unaffected)}")
    runs = [
        f"{code(s.change.suite)} base {s.base_source or '–'}, head {s.head_source or '–'}"
        for s in report.suites
        if s.change.affected
    ]
    head.append(
        f"Model calls made for this report: {report.model_calls}" + (" · runs: " + "; ".join(runs) if runs else "")
    )
    details = [
        section
        for section in (
            gates_section(report),
            *(prompt_section(s) for s in report.suites),
            *(items_section(s) for s in report.suites),
        )
        if section
    ]
    body = "\n".join(head)
    return _fit(body, details, limit)


def _fit(body: str, details: list[str], limit: int) -> str:
    note_room = 200
    text = body
    kept = 0
    for section in details:
        candidate = text + "\n\n" + section
        if len(candidate) + note_room > limit:
            break
        text, kept = candidate, kept + 1
    if kept < len(details):
        omitted = len(details) - kept
        text += (
            f"\n\n_Comment shortened to fit GitHub's limit: {omitted} detail section(s) omitted; "
            "see the HTML/JSON report artifact._"
        )
    if len(text) > limit:  # the summary alone is too long: cut it hard, keeping the marker
        cut = "\n\n_…truncated to fit GitHub's comment limit._"
        text = text[: limit - len(cut)] + cut
    return text
