"""``promptship validate [PATH...]``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import EXIT_FAILED, EXIT_OK, UsageError
from .main import root_of
from .options import format_option, ref_option


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@format_option
@ref_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], output_format: str, ref: str | None, strict: bool) -> int:
    """Check the repository (or only files under PATHS) and list every problem at once.

    Runs offline in well under a second; it never calls a model. Exit 1 when any error is found.
    """
    from ..files.validate import validate_repo

    root = root_of(ctx)
    relative = [_relative(root, p) for p in paths]
    outside = [p for p, rel in zip(paths, relative, strict=True) if Path(rel).is_absolute() or rel.startswith("..")]
    if outside:
        raise UsageError(f"not inside the repository {root}: {', '.join(outside)}", hint="pass paths under the root")
    missing = [p for p, rel in zip(paths, relative, strict=True) if ref is None and not (root / rel).exists()]
    if missing:
        raise UsageError(
            f"no such file or folder in {root}: {', '.join(missing)}",
            hint="paths are relative to the current directory, e.g. prompts/catalog/",
        )
    found = validate_repo(root, ref, relative)
    errors = [d for d in found if d.severity == "error" or strict]
    if output_format == "json":
        click.echo(json.dumps({"ok": not errors, "diagnostics": [d.to_dict() for d in found]}, indent=2))
    else:
        for diagnostic in found:
            click.echo(diagnostic.format())
        warnings = len(found) - len([d for d in found if d.severity == "error"])
        summary = f"{len(found) - warnings} error(s), {warnings} warning(s)"
        click.echo(("✗ " if errors else "✓ ") + summary, err=True)
    return EXIT_FAILED if errors else EXIT_OK


def _relative(root: Path, path: str) -> str:
    """``path`` relative to ``root`` (absolute, or ``..``-prefixed when it lies outside)."""
    candidate = Path(path)
    if candidate.is_absolute() or (Path.cwd() / candidate).exists():
        resolved = (Path.cwd() / candidate).resolve()
        try:
            return resolved.relative_to(root).as_posix()
        except ValueError:
            # Outside the root: an error for an absolute path; a relative one is read under the root.
            return resolved.as_posix() if candidate.is_absolute() else candidate.as_posix()
    return candidate.as_posix()
