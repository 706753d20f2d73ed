"""The `dataset pull` option grammar (pure): filters and time windows."""

from __future__ import annotations

import datetime as dt

import pytest

from promptship.errors import UsageError
from promptship.publish.pull import parse_filter

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "metrics", "scores", "holds"),
    [
        ("score<0.5", {}, {"helpfulness": [0.9], "thumbs": [0.0]}, True),
        ("score<0.5", {}, {}, False),
        ("helpfulness >= 0.8", {}, {"helpfulness": [0.7, 0.9]}, True),
        ("helpfulness<0.5", {}, {"thumbs": [0.0]}, False),
        ("score:latency<1", {"latency": 5.0}, {"latency": [0.5]}, True),
        ("latency>2", {"latency": 2.5}, {}, True),
        ("latency>2", {"latency": None}, {}, False),
        ("cost<=0.01", {"cost": 0.01}, {}, True),
        ("output_tokens!=0", {"output_tokens": 3.0}, {}, True),
        ("thumbs==false", {}, {"thumbs": [0.0]}, True),
        ("sentiment==negative", {}, {"sentiment": ["positive", "negative"]}, True),
        ("sentiment!=negative", {}, {"sentiment": ["negative"]}, False),
    ],
)
def test_filters_compare_metrics_and_scores(text: str, metrics: dict, scores: dict, holds: bool) -> None:
    assert parse_filter(text).holds(metrics, scores) is holds


@pytest.mark.parametrize("text", ["helpfulness", "<0.5", "helpfulness<<0.5", "latency<fast", "cost==cheap", "score:<1"])
def test_malformed_filters_are_located_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_filter(text)
    assert info.value.code == "E970" and repr(text) in info.value.message and "SUBJECT OP VALUE" in info.value.hint


def test_a_single_equals_sign_gets_a_hint() -> None:
    with pytest.raises(UsageError) as info:
        parse_filter("helpfulness=0.5")
    assert "compare with ==, not =" in info.value.message
