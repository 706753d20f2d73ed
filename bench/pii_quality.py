"""Precision and recall per PII type on both labelled corpora.

- ``tests/pii/heldout.jsonl``: hand-written messages labelled by hand (source: ``heldout.txt``), written
  before the detector fixes it measures; the evidence the targets rest on.
- ``tests/pii/corpus.jsonl``: generated from templates by ``make_corpus.py`` (large, but its positives and
  negatives come from a few dozen templates, so it mostly guards against regressions).

Targets (issue 6), checked on the held-out corpus: structured types recall >= 0.98 and precision >= 0.95;
person_name recall >= 0.90 and precision >= 0.90. Exact: the predicted span equals the labelled one.
Overlap: the spans intersect with the same type. Findings below confidence 0.5 (the default policy
threshold) are not predictions.

    python bench/pii_quality.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
HELDOUT = PROJECT / "tests" / "pii" / "heldout.jsonl"
CORPUS = PROJECT / "tests" / "pii" / "corpus.jsonl"
THRESHOLD = 0.5
STRUCTURED_TARGETS = {"recall": 0.98, "precision": 0.95}
NAME_TARGETS = {"recall": 0.90, "precision": 0.90}


def score(corpus: Path = HELDOUT) -> dict[str, dict[str, float]]:
    """Per type: support, precision, recall (exact spans), overlap recall and false-positive count."""
    from promptship.pii import TYPES, detect

    tp, fp, fn, overlap_tp = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for line in corpus.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        gold = {(s["type"], s["start"], s["end"]) for s in record["spans"]}
        predicted = {(f.type, f.start, f.end) for f in detect(record["text"]) if f.confidence >= THRESHOLD}
        for item in predicted:
            (tp if item in gold else fp)[item[0]] += 1
        for item in gold - predicted:
            fn[item[0]] += 1
        for kind, start, end in gold:
            if any(k == kind and s < end and start < e for k, s, e in predicted):
                overlap_tp[kind] += 1
    table = {}
    for kind in TYPES:
        support = tp[kind] + fn[kind]
        table[kind] = {
            "support": support,
            "precision": tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0,
            "recall": tp[kind] / support if support else 1.0,
            "overlap_recall": overlap_tp[kind] / support if support else 1.0,
            "false_positives": fp[kind],
        }
    return table


def targets_met(table: dict[str, dict[str, float]]) -> bool:
    """Do the figures meet the issue's targets (names have their own)?"""
    return all(
        row[metric] >= (NAME_TARGETS if kind == "person_name" else STRUCTURED_TARGETS)[metric]
        for kind, row in table.items()
        for metric in ("recall", "precision")
    )


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(title)
    print(f"  {'type':30} {'support':>7} {'precision':>9} {'recall':>7} {'overlap':>8} {'FP':>4}")
    for kind, row in table.items():
        print(
            f"  {kind:30} {row['support']:7d} {row['precision']:9.3f} {row['recall']:7.3f} "
            f"{row['overlap_recall']:8.3f} {row['false_positives']:4d}"
        )


def main() -> None:
    heldout = score(HELDOUT)
    print_table(f"held-out corpus ({HELDOUT.relative_to(PROJECT)}, hand-labelled)", heldout)
    ok = targets_met(heldout)
    print("  targets:", "met" if ok else "NOT met")
    generated = score(CORPUS)
    print_table(f"generated corpus ({CORPUS.relative_to(PROJECT)}, from templates)", generated)
    print("  targets:", "met" if targets_met(generated) else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
