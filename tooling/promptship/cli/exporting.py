"""``promptship export``: write prompts in other tools' formats."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_OK
from .main import root_of

_FORMATS = {
    "github-models": ("github_models:export_github_models", ".prompt.yml"),
    "prompty": ("prompty:export_prompty", ".prompty"),
}


@click.group(name="export")
def export_group() -> None:
    """Export prompts to other tools' file formats. Everything that cannot be represented is
    listed as a `note:` line; existing files are never overwritten."""


def _command(kind: str) -> click.Command:
    function, suffix = _FORMATS[kind]

    @click.command(name=kind, help=f"Write prompts as {suffix} files (`-` as --out prints one to stdout).")
    @click.argument("prompts", nargs=-1, required=True)
    @click.option("--out", default=".", show_default=True, help="Folder to write into, or - for stdout.")
    @click.pass_context
    def command(ctx: click.Context, prompts: tuple[str, ...], out: str) -> int:
        import importlib

        from ..errors import UsageError
        from ..files.validate import load_valid_repo

        repo = load_valid_repo(root_of(ctx))
        unknown = [p for p in prompts if p not in repo.prompts]
        if unknown:
            raise UsageError(f"no prompt {', '.join(unknown)}", hint=f"prompts: {', '.join(sorted(repo.prompts))}")
        if out == "-" and len(prompts) > 1:
            raise UsageError("--out - prints one prompt", hint="give one prompt, or a folder")
        module_name, function_name = function.split(":")
        export = getattr(importlib.import_module(f"promptship.files.interop.{module_name}"), function_name)
        results = [(name, *export(repo, name)) for name in prompts]
        targets = {name: Path(out) / (name.replace("/", "-") + suffix) for name in prompts}
        clashes = [str(t) for t in targets.values() if out != "-" and t.exists()]
        if clashes:
            raise UsageError(f"{', '.join(clashes)} already exist(s); nothing was written", code="E942")
        for name, text, lossy in results:
            if out == "-":
                click.echo(text, nl=False)
            else:
                targets[name].parent.mkdir(parents=True, exist_ok=True)
                targets[name].write_text(text, encoding="utf-8")
                click.echo(f"wrote {targets[name]}")
            for note in lossy:
                click.echo(f"note: {name}: {note}", err=True)
        return EXIT_OK

    return command


export_group.add_command(_command("github-models"))
export_group.add_command(_command("prompty"))
