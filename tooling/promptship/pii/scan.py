"""``promptship pii scan``: the JSONL contract for text, and path:line:col findings for files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import UsageError
from ..files.textpos import LineIndex
from .detectors import detect, mask_value
from .finding import Finding

SCANNED_SUFFIXES = (".yaml", ".yml", ".jsonl", ".json", ".csv", ".md", ".txt")


def scan_jsonl(lines: Iterable[str], out: IO[str], *, source: str = "<input>", min_confidence: float = 0.0) -> int:
    """Read ``{"id", "text"}`` lines, write ``{"id", "findings": [...]}`` lines in order; return the count."""
    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            text = record["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                "expected a JSON object with a string `text`",
                code="E603",
                path=source,
                line=number,
                hint='each line must look like {"id": "1", "text": "..."}',
            ) from None
        findings = [f.to_dict() for f in detect(text) if f.confidence >= min_confidence]
        out.write(json.dumps({"id": record.get("id"), "findings": findings}, ensure_ascii=False) + "\n")
        count += 1
    return count


@dataclass(frozen=True)
class FileFinding:
    path: str
    line: int
    col: int
    finding: Finding
    masked: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: pii[{self.finding.type}] {self.masked}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "col": self.col, **self.finding.to_dict(), "masked": self.masked}


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path} does not exist", code="E604", hint="pass files or directories")
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in SCANNED_SUFFIXES and not any(part.startswith(".") for part in p.parts)
            )
        else:
            yield path


def scan_files(paths: Iterable[Path], *, min_confidence: float = 0.5) -> list[FileFinding]:
    """Findings in text files (values masked), positioned as 1-based line and column."""
    found = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files hold no text to scan
        index = LineIndex(text)
        for finding in detect(text):
            if finding.confidence < min_confidence:
                continue
            line, col = index.locate(finding.start)
            found.append(FileFinding(str(path), line, col, finding, mask_value(text[finding.start : finding.end])))
    return found
