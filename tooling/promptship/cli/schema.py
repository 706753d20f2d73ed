"""``promptship schema``."""

from __future__ import annotations

import click

from ..errors import EXIT_FAILED
from .main import root_of


@click.command()
@click.option("--check", is_flag=True, help="Exit 1 if anything is out of date instead of writing it.")
@click.pass_context
def schema(ctx: click.Context, check: bool) -> int:
    """Write JSON Schemas for every file format into schemas/ (editors use them for autocompletion)
    and refresh the generated field reference of a docs/formats.md that already holds one
    (promptship's own; a user's documentation is never created or appended to)."""
    from ..files.schema import export_schemas, schema_documents
    from ..files.schema.reference import BEGIN, with_reference

    root = root_of(ctx)
    directory = root / "schemas"
    stale = [
        f"schemas/{name}"
        for name, text in schema_documents().items()
        if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != text
    ]
    formats = root / "docs" / "formats.md"
    current = formats.read_text(encoding="utf-8") if formats.exists() else ""
    updated = with_reference(current) if BEGIN in current else current
    if updated != current:
        stale.append("docs/formats.md")
    if check:
        for name in stale:
            click.echo(f"{name} is out of date; run `promptship schema`")
        return EXIT_FAILED if stale else 0
    for path in export_schemas(directory):
        click.echo(f"wrote {path.relative_to(root)}")
    if updated != current:
        formats.write_text(updated, encoding="utf-8")
        click.echo("wrote docs/formats.md (field reference)")
    return 0
