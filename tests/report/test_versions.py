"""The live comparison of prompt versions as text, JSON and HTML."""

from __future__ import annotations

import json

from promptship.diff.versions import compare_versions
from promptship.report.versions import versions_html, versions_json, versions_text

from ..diff.test_versions import row, traffic

SPLIT = {"support/reply": {"production": 80, "candidate": 20}}


def test_text_shows_arms_n_intervals_tests_and_verdicts() -> None:
    text = versions_text(compare_versions(traffic(), splits=SPLIT))
    assert "support/reply  (split production 80 / candidate 20)  base v3" in text
    assert "v4 vs v3:" in text
    lines = {line.split()[0] + " " + line.split()[1]: line for line in text.splitlines() if line.startswith("    ")}
    assert "Fisher exact" in lines["error rate"] and "800 / 200" in lines["error rate"]
    assert lines["error rate"].rstrip().endswith("worse")
    assert "Mann–Whitney U" in lines["latency p50"]
    assert "Newcombe interval" in text and "30 observations per arm" in text
    few = versions_text(compare_versions([row(1, "production")] * 40 + [row(2, "candidate")] * 5))
    assert few.count("not enough data") == 3


def test_json_keeps_every_number_and_html_escapes_names() -> None:
    results = compare_versions(traffic(), splits=SPLIT)
    data = json.loads(json.dumps(versions_json(results)))
    reply = data["prompts"][1]
    assert (reply["prompt"], reply["base_version"], reply["split"]) == ("support/reply", 3, SPLIT["support/reply"])
    metric = reply["comparisons"][0]["metrics"][0]
    assert metric["metric"] == "error rate" and metric["n_base"] == 800 and metric["ci_low"] < metric["delta"]
    page = versions_html(
        compare_versions([row(1, "production", prompt="<b>x</b>")] * 40 + [row(2, "candidate", prompt="<b>x</b>")] * 40)
    )
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<svg" in page
