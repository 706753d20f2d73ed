"""``promptship import``: bring prompts from GitHub Models, Prompty and Langfuse into the repository."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_FAILED, EXIT_OK, UsageError
from .main import root_of

_FORMATS = {"github-models": "github_models:import_github_models", "prompty": "prompty:import_prompty"}


def report(written: list[str], lossy: list[str], where: str) -> None:
    """Print what was written (stdout) and every lossy conversion (stderr, one `note:` line each)."""
    for path in written:
        click.echo(f"wrote {path}")
    for note in lossy:
        click.echo(f"note: {where}: {note}", err=True)


@click.group(name="import")
def import_group() -> None:
    """Import prompts (and their test data and evaluators) from other tools. Never overwrites a
    file; everything that cannot be represented is listed as a `note:` line."""


def _file_command(kind: str, suffixes: str) -> click.Command:
    @click.command(name=kind, help=f"Import {suffixes} files as prompts (with datasets and suites).")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--name", default=None, help="Prompt name (only with one file; default: the file name).")
    @click.option("--model", "default_model", default=None, help="Model id for files that name none.")
    @click.option("--strict", is_flag=True, help="Exit 1 (writing nothing) when anything would be lossy.")
    @click.pass_context
    def command(
        ctx: click.Context, files: tuple[Path, ...], name: str | None, default_model: str | None, strict: bool
    ) -> int:
        import importlib

        from ..files.interop import write_conversion

        if name is not None and len(files) > 1:
            raise UsageError("--name needs exactly one file", hint="import the files one by one")
        module_name, function_name = _FORMATS[kind].split(":")
        convert = getattr(importlib.import_module(f"promptship.files.interop.{module_name}"), function_name)
        root = root_of(ctx)
        conversions = []
        for path in files:
            text = path.read_text(encoding="utf-8")
            conversions.append((path, convert(path, text, root, name=name, default_model=default_model)))
        if strict and any(c.lossy for _, c in conversions):
            for path, conversion in conversions:
                report([], conversion.lossy, str(path))
            click.echo("nothing written (--strict)", err=True)
            return EXIT_FAILED
        for path, conversion in conversions:
            report(write_conversion(root, conversion), conversion.lossy, str(path))
        click.echo("next: promptship validate", err=True)
        return EXIT_OK

    return command


import_group.add_command(_file_command("github-models", ".prompt.yml / .prompt.yaml"))
import_group.add_command(_file_command("prompty", ".prompty"))


@import_group.command(name="langfuse")
@click.option("--label", default="production", show_default=True, help="The label whose versions the files hold.")
@click.option("--branch", default="main", show_default=True, help="The branch that publishes --label.")
@click.option(
    "--versions",
    type=click.Choice(["labelled", "all"]),
    default="labelled",
    show_default=True,
    help="all: commit every version as git history (oldest first), then the labelled state.",
)
@click.option("--model", "default_model", default=None, help="Alias for prompts whose config names no model.")
@click.pass_context
def langfuse(ctx: click.Context, label: str, branch: str, versions: str, default_model: str | None) -> int:
    """Import a Langfuse project's prompts (text, chat, placeholders; names with `/`), their labels
    and config, and its datasets with their items; write policies/release.yaml so that BRANCH
    publishes LABEL. A `promptship sync --check` right after reports no drift, and `sync --apply`
    creates no version. Keys: LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_HOST.
    """
    import os

    from ..publish.langfuse_import import run_import
    from ..publish.sync import LangfuseSettings, LangfuseStore

    root = root_of(ctx)
    store = LangfuseStore(
        LangfuseSettings.from_env(os.environ, ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST"))
    )
    written, lossy = run_import(
        root, store, label=label, branch=branch, all_versions=versions == "all", default_model=default_model
    )
    report(written, lossy, "langfuse")
    click.echo("next: promptship validate, commit, then promptship sync --check", err=True)
    return EXIT_OK
