"""The usage report from literal rows: figures per group (pure), and its three renderings — the HTML
self-contained (inline SVG, nothing fetched), names printed literally, the JSON shape documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promptship.ops.usage_report import build_report, time_range
from promptship.report.usage import print_usage, usage_data, usage_html

from ..ops.test_usage_store import row

DAY = 86400.0
T0 = 1_764_460_800.0  # 2025-11-30T00:00:00Z


def rows() -> list:
    return [
        row(T0 + 10, latency_ms=100.0, cost_usd=0.01, attempts=1),
        row(T0 + 20, latency_ms=200.0, cost_usd=0.02, attempts=3),
        row(T0 + 30, latency_ms=300.0, cost_usd=0.0, attempts=0, outcome="budget", input_tokens=0, output_tokens=0),
        row(T0 + DAY, project="<script>[red]x", latency_ms=50.0, cost_usd=0.5, prompt="p", prompt_version=2),
    ]


def test_figures_per_group_are_sums_rates_and_percentiles_of_answered_calls() -> None:
    report = build_report(rows(), "project")
    reviews = next(g for g in report.groups if g.key == "reviews")
    assert (reviews.calls, reviews.errors, reviews.errors_by_outcome) == (3, 1, {"budget": 1})
    assert reviews.cost_usd == pytest.approx(0.03) and reviews.input_tokens == 20
    assert (reviews.latency_p50_ms, reviews.latency_p95_ms) == (150.0, 195.0)  # the refused call is not latency
    assert reviews.attempts == 4 and reviews.attempts_per_call == pytest.approx(4 / 3)
    assert report.groups[0].key == "<script>[red]x"  # most cost first
    assert [d.key for d in report.daily] == ["2025-11-30", "2025-12-01"]
    assert report.total.calls == 4
    by_version = {g.key: g.fields for g in build_report(rows(), "version").groups}
    assert by_version["p v2"] == {"prompt": "p", "prompt_version": 2, "prompt_label": None}
    assert build_report([], "day").total.latency_p50_ms is None


def test_html_is_self_contained_with_charts_and_escapes_names() -> None:
    page = usage_html(build_report(rows(), "project", source="test"))
    assert page.count("<svg") >= 4 and "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=|https?://(?!www\.w3\.org/2000/svg)", page)


def test_json_has_the_documented_shape() -> None:
    data = json.loads(json.dumps(usage_data(build_report(rows(), "alias", since=T0, until=T0 + 2 * DAY))))
    assert set(data) == {"version", "by", "source", "since", "until", "project", "groups", "total", "daily"}
    assert (data["since"], data["until"]) == ("2025-11-30T00:00:00Z", "2025-12-02T00:00:00Z")
    assert set(data["total"]) == {
        "key", "fields", "calls", "cost_usd", "input_tokens", "output_tokens", "errors", "errors_by_outcome",
        "latency_p50_ms", "latency_p95_ms", "attempts", "attempts_per_call",
    }  # fmt: skip
    formats = (Path(__file__).parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
    for key in data["total"]:
        assert f"`{key}`" in formats or f'"{key}"' in formats, key


def test_the_table_prints_names_literally(capsys: pytest.CaptureFixture[str]) -> None:
    print_usage(build_report(rows(), "project"))
    out = capsys.readouterr().out
    assert "<script>[red]x" in out and "budget 1" in out


def test_times_are_durations_or_iso_as_epoch_seconds_and_bad_ones_are_e962() -> None:
    assert time_range("7d", None, 1_000_000.0) == (1_000_000.0 - 7 * DAY, None)
    assert time_range("2025-11-30", "2025-11-30T10:00:00+09:00", 0.0) == (T0, T0 + 3600)
    with pytest.raises(Exception) as caught:
        time_range("last week", None, 0.0)
    assert getattr(caught.value, "code", None) == "E962"
    with pytest.raises(Exception) as caught:
        time_range("1d", "2d", 10 * DAY)
    assert getattr(caught.value, "code", None) == "E962"


def test_cli_writes_the_report_file_and_refuses_a_bad_time(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "report.html"
    done = run_cli("--root", str(tmp_path), "usage", "--format", "html", "--output", str(out))
    assert done.code == 0 and out.read_text().startswith("<!doctype html>")
    empty = run_cli("--root", str(tmp_path), "usage", "--format", "json")
    assert empty.code == 0 and json.loads(empty.out)["total"]["calls"] == 0
    bad = run_cli("--root", str(tmp_path), "usage", "--since", "yesterday-ish")
    assert bad.code == 2 and "E962" in bad.err and "Traceback" not in bad.err
