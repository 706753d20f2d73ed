"""``promptship pii scan``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import EXIT_FAILED, EXIT_OK, UsageError


@click.group()
def pii() -> None:
    """Korean-first personal data detection."""


@pii.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='JSONL of {"id", "text"} lines (\'-\' for stdin).',
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "jsonl"]),
    default=None,
    help="jsonl (default with --input), text (default for PATHS) or json.",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=None,
    help="Ignore weaker findings (default: 0 for --input, 0.5 for files).",
)
def scan(
    paths: tuple[Path, ...], input_file: Path | None, output_format: str | None, min_confidence: float | None
) -> int:
    """Find personal data in a JSONL stream (--input) or in files (PATHS).

    With PATHS, prints `path:line:col: pii[TYPE] masked-value` and exits 1 when anything is found.
    Values are never printed unmasked.
    """
    from ..pii.scan import scan_files, scan_jsonl

    if input_file is not None:
        if paths:
            raise UsageError("give either --input or PATHS, not both")
        if output_format not in (None, "jsonl"):
            raise UsageError("--input writes JSONL; use --format jsonl")
        stream = sys.stdin if str(input_file) == "-" else None
        if stream is None and not input_file.exists():
            raise UsageError(f"{input_file} does not exist")
        with stream or input_file.open(encoding="utf-8") as lines:
            scan_jsonl(lines, sys.stdout, source=str(input_file), min_confidence=min_confidence or 0.0)
        return EXIT_OK
    if not paths:
        raise UsageError("nothing to scan", hint="pass --input FILE.jsonl or one or more PATHS")
    findings = scan_files(paths, min_confidence=0.5 if min_confidence is None else min_confidence)
    if output_format == "json":
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=1))
    else:
        for finding in findings:
            click.echo(finding.format())
    return EXIT_FAILED if findings else EXIT_OK
