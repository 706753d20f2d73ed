"""Dataset rows from an uploaded CSV or JSONL file, mapped column by column onto items (pure).

An upload is read into flat records (CSV: one per row, by header; JSONL: one per line, nested
objects flattened one level, so ``{"input": {"review": ...}}`` gives the column ``input.review``).
A :class:`RowMapping` says which column holds the id, each prompt variable, the expected answer and
any metadata; :func:`append_items` turns the records into JSONL items appended to the dataset's
items file, ready for ``validate`` (duplicate ids, missing variables, personal data...) and a save.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EditRejected
from ..files.render import coerce_value
from ..files.schema import Prompt

#: Uploads larger than this are refused (a golden dataset is small; use git for bulk imports).
MAX_UPLOAD_CHARS = 2_000_000


@dataclass(frozen=True)
class Upload:
    columns: list[str]
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class RowMapping:
    id: str
    input: dict[str, str]  # variable → column
    expected: str | None = None
    metadata: list[str] = field(default_factory=list)


def read_upload(filename: str, content: str) -> Upload:
    """Parse a ``.csv`` or ``.jsonl`` upload. :class:`EditRejected` (E952) names the bad line."""
    if len(content) > MAX_UPLOAD_CHARS:
        raise EditRejected(f"{filename} is larger than {MAX_UPLOAD_CHARS:,} characters")
    content = content.lstrip("\ufeff")
    records: list[dict[str, Any]] = []
    if filename.lower().endswith(".jsonl"):
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EditRejected(f"{filename}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise EditRejected(f"{filename}:{number}: a line must be a JSON object")
            records.append(_flatten(value))
    elif filename.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(content))
        for row in reader:
            if None in row:
                raise EditRejected(f"{filename}:{reader.line_num}: more cells than header columns")
            records.append({k: v for k, v in row.items() if k is not None})
    else:
        raise EditRejected(f"{filename}: upload a .csv or .jsonl file")
    if not records:
        raise EditRejected(f"{filename} holds no rows")
    columns = list(dict.fromkeys(k for r in records for k in r))
    return Upload(columns, records)


def _flatten(value: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        if isinstance(inner, dict) and key in ("input", "metadata"):
            flat.update({f"{key}.{k}": v for k, v in inner.items()})
        else:
            flat[key] = inner
    return flat


def guess_mapping(columns: Sequence[str], prompt: Prompt) -> RowMapping:
    """Columns named like the fields (``id``, ``review`` or ``input.review``, ``expected``)."""

    def pick(*names: str) -> str | None:
        return next((c for n in names for c in columns if c.lower() == n.lower()), None)

    inputs = {v: c for v in prompt.variables if (c := pick(v, f"input.{v}")) is not None}
    return RowMapping(id=pick("id", "item_id") or "", input=inputs, expected=pick("expected", "label", "answer"))


def mapping_from(data: Mapping[str, Any]) -> RowMapping:
    """A mapping from the page's JSON (``{"id": col, "input": {var: col}, "expected": col, "metadata": [col]}``)."""
    inputs = data.get("input") or {}
    if not isinstance(inputs, dict):
        raise EditRejected("the column mapping's input must map variables to columns")
    return RowMapping(
        id=str(data.get("id") or ""),
        input={str(k): str(v) for k, v in inputs.items() if v},
        expected=str(data["expected"]) if data.get("expected") else None,
        metadata=[str(m) for m in data.get("metadata") or []],
    )


def items_from(upload: Upload, mapping: RowMapping, prompt: Prompt) -> list[dict[str, Any]]:
    """Dataset items from the upload. :class:`EditRejected` for an unmapped id or variable column, or a
    value that does not fit its variable's type (with the row number)."""
    known = set(upload.columns)
    wanted = [mapping.id, *mapping.input.values(), *([mapping.expected] if mapping.expected else []), *mapping.metadata]
    missing = [c for c in wanted if c not in known]
    if not mapping.id or missing:
        raise EditRejected(
            f"map the id column{' (unknown: ' + ', '.join(missing) + ')' if missing else ''}",
            hint=f"columns: {', '.join(upload.columns)}",
        )
    unknown_vars = sorted(set(mapping.input) - set(prompt.variables))
    if unknown_vars:
        raise EditRejected(f"the prompt declares no variable {', '.join(unknown_vars)}")
    items = []
    for number, record in enumerate(upload.records, start=1):
        item: dict[str, Any] = {"id": str(record.get(mapping.id) or "").strip(), "input": {}}
        for variable, column in mapping.input.items():
            value = record.get(column)
            if isinstance(value, str):
                try:
                    value = coerce_value(variable, prompt.variables[variable], value)
                except Exception as exc:  # noqa: BLE001 - a value that does not fit: named with its row
                    raise EditRejected(f"row {number}, column {column!r}: {getattr(exc, 'message', exc)}") from None
            item["input"][variable] = value
        if mapping.expected:
            item["expected"] = record.get(mapping.expected)
        if mapping.metadata:
            item["metadata"] = {c: record.get(c) for c in mapping.metadata}
        items.append(item)
    return items


def append_items(existing: str, items: Sequence[dict[str, Any]]) -> str:
    """``existing`` JSONL text with ``items`` appended, one JSON object per line."""
    lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    if existing and not existing.endswith("\n"):
        existing += "\n"
    return existing + lines
