"""``promptship schema``."""

from __future__ import annotations

import click

from ..errors import EXIT_FAILED
from .main import root_of


@click.command()
@click.option("--check", is_flag=True, help="Exit 1 if schemas/ is out of date instead of writing it.")
@click.pass_context
def schema(ctx: click.Context, check: bool) -> int:
    """Write JSON Schemas for every file format into schemas/ (editors use them for autocompletion)."""
    from ..schema import schema_documents

    directory = root_of(ctx) / "schemas"
    stale = [
        name
        for name, text in schema_documents().items()
        if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != text
    ]
    if check:
        for name in stale:
            click.echo(f"schemas/{name} is out of date; run `promptship schema`")
        return EXIT_FAILED if stale else 0
    from ..schema import export_schemas

    for path in export_schemas(directory):
        click.echo(f"wrote {path.relative_to(root_of(ctx))}")
    return 0
