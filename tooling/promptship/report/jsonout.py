"""A diff report as JSON (dataclasses → plain data; run artifacts summarised by aggregates)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..diff.change import DiffReport


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def report_data(report: DiffReport) -> dict[str, Any]:
    suites = []
    for suite in report.suites:
        suites.append(
            {
                "suite": suite.change.suite,
                "status": suite.change.status,
                "reasons": list(suite.change.reasons),
                "prompt": suite.prompt,
                "prompt_diff": _plain(suite.prompt_diff),
                "base": _run_summary(suite.base_run, suite.base_source),
                "head": _run_summary(suite.head_run, suite.head_source),
                "comparisons": _plain(suite.comparisons),
                "gates": _plain(suite.gates),
            }
        )
    return {
        "format_version": 1,
        "base": {"ref": report.base_ref, "sha": report.base_sha},
        "head": {"ref": report.head_ref, "sha": report.head_sha},
        "profile": report.profile,
        "verdict": report.verdict(),
        "passed": report.passed,
        "model_calls": report.model_calls,
        "warnings": report.warnings(),
        "price_changes": _plain(report.price_changes),
        "unaffected": report.unaffected,
        "suites": suites,
    }


def _run_summary(run: Any, source: str) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "source": source,
        "fingerprint": run.fingerprint.suite,
        "git_sha": run.git_sha,
        "aggregates": {m: a.model_dump(mode="json") for m, a in run.aggregates.items()},
    }


def render_json(report: DiffReport) -> str:
    return json.dumps(report_data(report), indent=1, ensure_ascii=False)
