"""Where a pull writes: the target dataset (``--to``), its existing items, and the atomic write.

A new dataset is a JSONL file (one item a line: a reviewer reads each added line in the PR diff)
beside a sidecar marking it ``kind: evaluation``, ``synthetic: false``. An existing dataset is
appended to in its own format (JSONL, or CSV through its column mapping), its lines untouched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import UsageError
from ...files.atomic import write_atomically
from ...files.interop import dump_yaml, schema_header
from ...files.repo import DatasetEntry
from ...files.schema.dataset import CsvMapping
from .items import Dataset, input_key, line

_SUFFIXES = (".jsonl", ".yaml", ".csv")


@dataclass(frozen=True)
class Target:
    """Dataset ``name`` (``datasets/NAME.yaml`` + ``items_path``); ``existing`` when it is there."""

    name: str
    items_path: str
    meta_path: str
    existing: DatasetEntry | None

    @property
    def is_csv(self) -> bool:
        return self.items_path.endswith(".csv")


def _bad(message: str, hint: str) -> UsageError:
    return UsageError(message, code="E971", hint=hint)


def dataset_name(to: str) -> str:
    """``datasets/support/replies``, ``datasets/support/replies.jsonl`` (or ``.yaml``/``.csv``) →
    ``support/replies``. :class:`UsageError` (E971) for a path outside ``datasets/``."""
    path = PurePosixPath(to.replace("\\", "/"))
    parts = path.parts
    if len(parts) < 2 or parts[0] != "datasets" or any(p in ("..", ".", "") for p in parts):
        raise _bad(
            f"--to {to!r} is not a dataset path",
            "give datasets/NAME (a new or existing dataset; NAME may have folders, e.g. datasets/support/replies)",
        )
    name = "/".join(parts[1:])
    for suffix in _SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def resolve(to: str, prompt: str, datasets: Mapping[str, DatasetEntry]) -> Target:
    """The target of ``--to`` for ``prompt``: an existing dataset must feed that prompt and hold
    real data (``synthetic: false``: a synthetic set's ``pii_allow`` would let personal data pass
    and its claim would no longer be true). A new one is JSONL. :class:`UsageError` (E971) otherwise."""
    name = dataset_name(to)
    existing = datasets.get(name)
    if existing is None:
        if to.endswith(".csv"):
            raise _bad(
                f"datasets/{name} does not exist; a new dataset is written as JSONL", f"use --to datasets/{name}"
            )
        return Target(name, f"datasets/{name}.jsonl", f"datasets/{name}.yaml", None)
    if existing.meta.prompt != prompt:
        raise _bad(
            f"datasets/{name} feeds prompt {existing.meta.prompt!r}, not {prompt!r}",
            "pull into a dataset of this prompt, or a new one",
        )
    if existing.meta.synthetic:
        raise _bad(
            f"datasets/{name} is marked `synthetic: true`: production items would make that untrue",
            f"pull into a separate evaluation dataset, e.g. --to datasets/{name}-production",
        )
    if existing.items_path is None:
        raise _bad(f"datasets/{name} has no items file", "run `promptship validate` and fix the dataset first")
    return Target(name, existing.items_path, existing.meta_source.path, existing)


def on_disk(root: Path, relative: str) -> Path:
    """Where ``root/relative`` really is (symbolic links followed), which must be inside ``root``:
    a folder or file on the way that links out of the repository is a :class:`UsageError` (E971),
    so a pull never writes outside it."""
    base = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(base):
        raise _bad(
            f"{relative} leads outside the repository (a symbolic link on the way points to {path.parent})",
            "pull into a dataset folder that is part of the repository, not a link out of it",
        )
    return path


def check_inside(root: Path, target: Target) -> None:
    """:func:`on_disk` for every file ``target`` writes (call before reading anything)."""
    on_disk(root, target.items_path)
    on_disk(root, target.meta_path)


def known(target: Target) -> Dataset:
    """The ids and canonical inputs already in the target (nothing when it is new)."""
    found = Dataset()
    if target.existing is not None:
        for item in target.existing.items:
            found.ids.add(item.id)
            found.inputs.add(input_key(item.input))
    return found


def csv_cells(item: Mapping[str, Any], mapping: CsvMapping) -> dict[str, str] | None:
    """The cells of ``item`` for a CSV dataset with ``mapping``; None when a value is not text (CSV
    cells are text: a list or an object would come back as a different value) or is longer than a
    CSV cell may be (``csv.field_size_limit()``, 131,072 characters)."""
    cells = {mapping.id: str(item["id"])}
    for variable, column in mapping.input.items():
        value = item["input"].get(variable)
        if value is None:
            continue
        if not isinstance(value, str):
            return None
        cells[column] = value
    expected = item.get("expected")
    if mapping.expected is not None and expected is not None:
        if not isinstance(expected, str):
            return None
        cells[mapping.expected] = expected
    for column in mapping.metadata:
        value = item.get("metadata", {}).get(column)
        if isinstance(value, str | int | float):
            cells[column] = str(value)
    if any(len(cell) > csv.field_size_limit() for cell in cells.values()):
        return None  # the CSV reader (and so `validate`, E207) refuses a longer cell
    return cells


def render_additions(
    target: Target, root: Path, items: Sequence[Mapping[str, Any]], prompt: str
) -> tuple[str, str | None]:
    """(new items file text, new sidecar text or None): the existing text with ``items`` appended; a
    new dataset gets a sidecar feeding ``prompt``."""
    path = on_disk(root, target.items_path)
    old = path.read_text(encoding="utf-8") if target.existing is not None else ""
    if target.is_csv:
        assert target.existing is not None and target.existing.meta.csv is not None
        mapping = target.existing.meta.csv
        header = next(csv.reader(io.StringIO(old), delimiter=mapping.delimiter), [])
        ending = "\r\n" if "\r\n" in old else "\n"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, delimiter=mapping.delimiter, lineterminator=ending)
        for item in items:
            cells = csv_cells(item, mapping)
            assert cells is not None  # checked by the caller
            writer.writerow(cells)
        added = buffer.getvalue()
    else:
        ending = "\r\n" if "\r\n" in old else "\n"
        added = "".join(line(item) + ending for item in items)
    if old and not old.endswith(("\n", "\r")):
        old += ending
    sidecar = None
    if target.existing is None:
        depth = target.meta_path.count("/")
        sidecar = dump_yaml(
            {
                "description": f"Production calls of prompt {prompt} pulled from Langfuse by "
                "`promptship dataset pull`; inputs PII-masked, expected values are the production "
                "answers (candidates): review every item before merging.",
                "kind": "evaluation",
                "synthetic": False,
                "prompt": prompt,
            },
            schema_header("dataset", depth, "written by `promptship dataset pull`"),
        )
    return old + added, sidecar


def write(target: Target, root: Path, items_text: str, sidecar: str | None) -> list[str]:
    """Write the items file (and a new dataset's sidecar), each atomically; when the sidecar cannot
    be written, a new items file is removed again, so nothing is left half-done. Returns the paths."""
    items_path, meta_path = on_disk(root, target.items_path), on_disk(root, target.meta_path)
    write_atomically(items_path, items_text)
    if sidecar is None:
        return [target.items_path]
    try:
        write_atomically(meta_path, sidecar)
    except BaseException:
        items_path.unlink(missing_ok=True)
        raise
    return [target.items_path, target.meta_path]
