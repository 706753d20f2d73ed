"""Precision and recall per PII type, and line block rates, on labelled corpora.

- ``tests/pii/heldout.jsonl``: hand-written messages labelled by hand (source: ``heldout.txt``), each
  batch written before the detector fixes it measures; the evidence the targets rest on.
- ``tests/pii/corpus.jsonl``: generated from templates by ``make_corpus.py`` (large, but its positives and
  negatives come from a few dozen templates, so it mostly guards against regressions).
- ``--public PATH``: the public development set (``shared/data/pii/public-dev.jsonl``, written by others);
  its type names are mapped onto ours (``PUBLIC_TYPES``) and spans of types no detector targets
  (``other:*``) are ignored: neither missed nor false positives when a finding overlaps them.

Matching: a prediction counts when its span equals the labelled one, except for ``address``, where any
overlap with a labelled address counts (an address's extent — a trailing building name, a
parenthesised 동 — is a labelling choice); ``coverage`` gives the share of labelled address characters
covered. Findings below confidence 0.5 (the default policy threshold) are not predictions.

Line rates use the shipped ``policies/pii.yaml``: a *personal* line holds a span of a type the policy does
not allow; it is *caught* when the policy blocks or masks at least one finding in it. A *clean* line
holds none; it is *wrongly acted on* when the policy blocks or masks anything in it.

Targets (issue 15, on the held-out corpus): personal lines caught >= 0.95, clean lines acted on <= 0.02,
person_name recall >= 0.85, address recall >= 0.90, every type's precision >= 0.90.

- ``--ko-pii PATH``: a file in ko-pii's own format (``{"text", "pii": [{"type", "text"}]}``, e.g. its
  ``data/generated_eval_large.jsonl``); gold strings become spans by exact search, documents that are in
  the public development set are skipped (``KO_PII_TYPES`` maps the type names; 15xx/16xx/18xx and 080
  "phones" count as ``business_phone``).

    python bench/pii_quality.py [--public ../shared/data/pii/public-dev.jsonl] [--ko-pii PATH] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
HELDOUT = PROJECT / "tests" / "pii" / "heldout.jsonl"
CORPUS = PROJECT / "tests" / "pii" / "corpus.jsonl"
PUBLIC = PROJECT.parent / "shared" / "data" / "pii" / "public-dev.jsonl"
POLICY = PROJECT / "policies" / "pii.yaml"
DOCS = PROJECT / "docs" / "pii-quality.md"
THRESHOLD = 0.5
OVERLAP_TYPES = frozenset({"address"})
#: The public set's type names → ours (None: not a type any detector targets; ignored).
PUBLIC_TYPES = {
    "brn": "business_registration_number",
    "frn": "rrn",
    "rep_phone": "business_phone",
    "other:CORP_REG": "corporate_registration_number",
}
KO_PII_TYPES = {
    "PERSON": "person_name",
    "PHONE": "phone",
    "ADDRESS": "address",
    "EMAIL": "email",
    "RRN": "rrn",
    "FRN": "rrn",
    "ACCOUNT": "bank_account",
    "BUSINESS_REG": "business_registration_number",
    "CARD": "card_number",
    "IP": "ip_address",
    "DRIVER_LICENSE": "driver_license",
    "CORP_REG": "corporate_registration_number",
    "PASSPORT": "passport",
}
_SERVICE_NUMBER = re.compile(r"(?:1[568]\d\d|080)\D")
TARGETS = {"personal_lines_caught": 0.95, "clean_lines_acted_on": 0.02, "name_recall": 0.85, "address_recall": 0.90}
MIN_PRECISION = 0.90

Span = tuple[str, int, int]


def load(corpus: Path) -> Iterator[tuple[str, set[Span], list[tuple[int, int]]]]:
    """(text, labelled spans in our type names, ignored (start, end) ranges) per record."""
    from promptship.pii import TYPES

    for line in corpus.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        gold, ignored = set(), []
        for span in record["spans"]:
            kind = PUBLIC_TYPES.get(span["type"], span["type"])
            if kind in TYPES:
                gold.add((kind, span["start"], span["end"]))
            else:
                ignored.append((span["start"], span["end"]))
        yield record["text"], gold, ignored


def convert_ko_pii(source: Path, exclude: Path | None) -> Path:
    """``source`` in ko-pii's format → a temporary JSONL file in ours (see the module docstring)."""
    seen = {json.loads(line)["text"] for line in exclude.read_text(encoding="utf-8").splitlines()} if exclude else set()
    records = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        if record["text"] in seen:
            continue
        spans = []
        for item in record["pii"]:
            kind = KO_PII_TYPES.get(item["type"], "other:" + item["type"])
            if kind == "phone" and _SERVICE_NUMBER.match(item["text"] + " "):
                kind = "business_phone"
            for m in re.finditer(re.escape(item["text"]), record["text"]):
                spans.append({"type": kind, "start": m.start(), "end": m.end()})
        records.append({"id": f"ko-pii-{number}", "text": record["text"], "spans": spans})
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return Path(handle.name)


def _overlaps(span: Span, others: set[Span]) -> bool:
    kind, start, end = span
    return any(k == kind and s < end and start < e for k, s, e in others)


def _matched(span: Span, others: set[Span]) -> bool:
    return _overlaps(span, others) if span[0] in OVERLAP_TYPES else span in others


def shipped_policy() -> Any:
    """The project's ``policies/pii.yaml`` as a ``PiiPolicy``."""
    import yaml

    from promptship.pii import PiiPolicy

    return PiiPolicy.model_validate(yaml.safe_load(POLICY.read_text(encoding="utf-8")))


def score(corpus: Path = HELDOUT) -> dict[str, Any]:
    """Per type (``types``): support, precision, recall, overlap recall, false positives (and for
    addresses the character coverage); and ``lines``: personal/clean line counts and rates."""
    from promptship.pii import TYPES, detect

    policy = shipped_policy()
    tp, fp, fn, overlap_tp = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    covered, labelled = Counter[str](), Counter[str]()
    lines = Counter[str]()
    for text, gold, ignored in load(corpus):
        findings = [f for f in detect(text) if f.confidence >= THRESHOLD]
        predicted = {(f.type, f.start, f.end) for f in findings}
        for item in predicted:
            if _matched(item, gold):
                tp[item[0]] += 1
            elif not any(s < item[2] and item[1] < e for s, e in ignored):
                fp[item[0]] += 1
        for item in gold:
            if not _matched(item, predicted):
                fn[item[0]] += 1
            if _overlaps(item, predicted):
                overlap_tp[item[0]] += 1
            if item[0] in OVERLAP_TYPES:
                labelled[item[0]] += item[2] - item[1]
                covered[item[0]] += sum(
                    max(0, min(e, item[2]) - max(s, item[1])) for k, s, e in predicted if k == item[0]
                )
        personal = any(policy.action(kind) != "allow" for kind, _, _ in gold)
        acted = any(policy.action(f.type) != "allow" for f in findings)
        lines["personal" if personal else "clean"] += 1
        lines[("personal_caught" if personal else "clean_acted_on")] += acted
    types: dict[str, dict[str, float]] = {}
    for kind in TYPES:
        support = tp[kind] + fn[kind] if kind not in OVERLAP_TYPES else overlap_tp[kind] + fn[kind]
        row = {
            "support": support,
            "precision": tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0,
            "recall": (overlap_tp[kind] if kind in OVERLAP_TYPES else tp[kind]) / support if support else 1.0,
            "overlap_recall": overlap_tp[kind] / support if support else 1.0,
            "false_positives": fp[kind],
        }
        if kind in OVERLAP_TYPES:
            row["coverage"] = covered[kind] / labelled[kind] if labelled[kind] else 1.0
        types[kind] = row
    rates = {
        "personal_lines": lines["personal"],
        "clean_lines": lines["clean"],
        "personal_lines_caught": lines["personal_caught"] / lines["personal"] if lines["personal"] else 1.0,
        "clean_lines_acted_on": lines["clean_acted_on"] / lines["clean"] if lines["clean"] else 0.0,
    }
    return {"types": types, "lines": rates}


def shortfalls(result: dict[str, Any]) -> list[str]:
    """The issue's targets this result misses (empty when all are met)."""
    types, lines = result["types"], result["lines"]
    missed = [
        f"{kind} precision {row['precision']:.3f}" for kind, row in types.items() if row["precision"] < MIN_PRECISION
    ]
    if types["person_name"]["recall"] < TARGETS["name_recall"]:
        missed.append(f"person_name recall {types['person_name']['recall']:.3f}")
    if types["address"]["recall"] < TARGETS["address_recall"]:
        missed.append(f"address recall {types['address']['recall']:.3f}")
    if lines["personal_lines_caught"] < TARGETS["personal_lines_caught"]:
        missed.append(f"personal lines caught {lines['personal_lines_caught']:.3f}")
    if lines["clean_lines_acted_on"] > TARGETS["clean_lines_acted_on"]:
        missed.append(f"clean lines acted on {lines['clean_lines_acted_on']:.3f}")
    return missed


def table(result: dict[str, Any]) -> str:
    """A Markdown table of ``result`` (per type, then the line rates)."""
    rows = [
        "| type | support | precision | recall | false positives |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, row in result["types"].items():
        if row["support"] or row["false_positives"]:
            rows.append(
                f"| `{kind}` | {row['support']} | {row['precision']:.3f} | {row['recall']:.3f} | "
                f"{row['false_positives']} |"
            )
    lines = result["lines"]
    rows += [
        "",
        f"Personal lines caught (blocked or masked by `policies/pii.yaml`): **{lines['personal_lines_caught']:.3f}**"
        f" of {lines['personal_lines']}; clean lines wrongly acted on: **{lines['clean_lines_acted_on']:.3f}**"
        f" of {lines['clean_lines']}.",
    ]
    return "\n".join(rows)


def docs_page() -> str:
    """The text of ``docs/pii-quality.md`` (generated; ``tests/pii`` checks it is current)."""
    heldout, generated = score(HELDOUT), score(CORPUS)
    address = heldout["types"]["address"]
    return f"""# PII detection quality

Generated by `python bench/pii_quality.py --write-docs`; a test fails when it is out of date.

Measured on the project's held-out corpus, `tests/pii/heldout.txt`: hand-written delivery and
customer-service messages labelled by hand ({heldout["lines"]["personal_lines"] + heldout["lines"]["clean_lines"]}
messages). Each batch was labelled before the detector was run on it and is left as written; the header of
each batch says whether it was written before or after the fixes it measures, and the issue-15 batches
were written by the detectors' author (the blind check on text written elsewhere is described in
`docs/architecture.md`). A finding counts when its type and span equal the label's; an `address` counts
when it overlaps a labelled address (together they cover {address.get("coverage", 1.0):.1%} of the
labelled address characters). Findings below the default `min_confidence` (0.5) are not counted. Types
the shipped policy allows (`business_phone`, `business_registration_number`,
`corporate_registration_number`) identify companies: a line holding only those is a clean line.

Targets (issue 15): personal lines caught >= {TARGETS["personal_lines_caught"]}, clean lines wrongly acted
on <= {TARGETS["clean_lines_acted_on"]}, `person_name` recall >= {TARGETS["name_recall"]}, `address` recall
>= {TARGETS["address_recall"]}, every type's precision >= {MIN_PRECISION}.

## Held-out corpus

{table(heldout)}

## Template corpus (regression guard)

`tests/pii/corpus.jsonl`, generated by `tests/pii/make_corpus.py` from a few dozen templates.

{table(generated)}
"""


def print_table(title: str, result: dict[str, Any]) -> None:
    print(title)
    print(f"  {'type':30} {'support':>7} {'precision':>9} {'recall':>7} {'overlap':>8} {'FP':>4}")
    for kind, row in result["types"].items():
        print(
            f"  {kind:30} {row['support']:7d} {row['precision']:9.3f} {row['recall']:7.3f} "
            f"{row['overlap_recall']:8.3f} {row['false_positives']:4d}"
            + (f"  coverage {row['coverage']:.3f}" if "coverage" in row else "")
        )
    lines = result["lines"]
    print(
        f"  personal lines caught {lines['personal_lines_caught']:.3f} of {lines['personal_lines']}, "
        f"clean lines acted on {lines['clean_lines_acted_on']:.3f} of {lines['clean_lines']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--public", type=Path, default=PUBLIC if PUBLIC.exists() else None)
    parser.add_argument("--ko-pii", type=Path, help="a ko-pii format file, e.g. data/generated_eval_large.jsonl")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite {DOCS.relative_to(PROJECT)}")
    args = parser.parse_args()
    heldout = score(HELDOUT)
    print_table(f"held-out corpus ({HELDOUT.relative_to(PROJECT)}, hand-labelled)", heldout)
    missed = shortfalls(heldout)
    print("  targets:", "met" if not missed else "NOT met: " + ", ".join(missed))
    print_table(f"generated corpus ({CORPUS.relative_to(PROJECT)}, from templates)", score(CORPUS))
    if args.public is not None:
        print_table(f"public development set ({args.public})", score(args.public))
    if args.ko_pii is not None:
        converted = convert_ko_pii(args.ko_pii, args.public)
        print_table(f"ko-pii set ({args.ko_pii}, minus the public development set)", score(converted))
        converted.unlink()
    if args.write_docs:
        DOCS.write_text(docs_page(), encoding="utf-8")
        print(f"wrote {DOCS}")
    sys.exit(0 if not missed else 1)


if __name__ == "__main__":
    main()
