"""PII in repository files → diagnostics for ``validate`` (positions and types only, never values)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import Diagnostic
from ..files.textpos import LineIndex

if TYPE_CHECKING:
    from ..files.repo import DatasetEntry, Repository


def _allowed(dataset: DatasetEntry | None, item_id: str | None, pii_type: str) -> bool:
    if dataset is None or not dataset.meta.synthetic:
        return False
    return any(
        allowance.type == pii_type and (not allowance.items or item_id in allowance.items)
        for allowance in dataset.meta.pii_allow
    )


def pii_diagnostics(repo: Repository) -> Iterator[Diagnostic]:
    """E601 for every PII finding in prompts and dataset items, unless a synthetic dataset allows it."""
    from .detectors import detect

    threshold = repo.policies.pii.min_confidence
    datasets_by_items = {d.items_path: d for d in repo.datasets.values() if d.items_path}
    for path, text in sorted(repo.texts.items()):
        is_prompt = path.startswith("prompts/")
        dataset = datasets_by_items.get(path)
        if not is_prompt and dataset is None:
            continue
        item_at_line = {line: item_id for item_id, line in dataset.item_lines.items()} if dataset else {}
        index = LineIndex(text)
        for finding in detect(text):
            if finding.confidence < threshold:
                continue
            number, column = index.locate(finding.start)
            item_id = item_at_line.get(number)
            if _allowed(dataset, item_id, finding.type):
                continue
            where = f" in item '{item_id}'" if item_id else ""
            hint = (
                "remove or replace the personal data; if the dataset is synthetic, set `synthetic: true` "
                f"and add `pii_allow: [{{type: {finding.type}, reason: ...}}]` to its sidecar"
                if dataset is not None
                else "prompts must not contain personal data; use a variable instead"
            )
            yield Diagnostic(path, number, column, "E601", f"personal data ({finding.type}){where}", hint)
