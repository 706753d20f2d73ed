"""Precision and recall per PII type on the labelled corpus (tests/pii/corpus.jsonl).

Targets (issue 6): structured types recall >= 0.98 and precision >= 0.95; person_name recall >= 0.90.
Exact: the predicted span equals the labelled one. Overlap: the spans intersect with the same type.

    python bench/pii_quality.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT / "tests" / "pii" / "corpus.jsonl"


def score(corpus: Path = CORPUS) -> dict[str, dict[str, float]]:
    from promptship.pii import TYPES, detect

    tp, fp, fn, overlap_tp = Counter(), Counter(), Counter(), Counter()
    for line in corpus.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        gold = {(s["type"], s["start"], s["end"]) for s in record["spans"]}
        predicted = {(f.type, f.start, f.end) for f in detect(record["text"]) if f.confidence >= 0.5}
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


def main() -> None:
    table = score()
    print(f"{'type':30} {'support':>7} {'precision':>9} {'recall':>7} {'overlap':>8} {'FP':>4}")
    for kind, row in table.items():
        print(
            f"{kind:30} {row['support']:7d} {row['precision']:9.3f} {row['recall']:7.3f} "
            f"{row['overlap_recall']:8.3f} {row['false_positives']:4d}"
        )
    structured = [k for k in table if k != "person_name"]
    ok = all(table[k]["recall"] >= 0.98 and table[k]["precision"] >= 0.95 for k in structured)
    ok = ok and table["person_name"]["recall"] >= 0.90
    print("targets:", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
