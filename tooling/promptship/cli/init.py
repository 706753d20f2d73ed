"""``promptship init [DIR]``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_OK


@click.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "--action",
    default=None,
    help="`uses:` of promptship's GitHub action in the workflows (default: promptship/promptship@v<this version>).",
)
@click.option("--no-git", is_flag=True, help="Do not run `git init` in a directory outside any git repository.")
@click.option("--no-example", is_flag=True, help="Leave out the example prompt, dataset and suite (e.g. to import).")
def init(directory: Path, action: str | None, no_git: bool, no_example: bool) -> int:
    """Start a prompt repository in DIRECTORY: an example prompt, dataset and suite, policies with an
    offline profile, schemas, pre-commit config, the three CI workflows and a README.

    Never overwrites a file: when any of them exists, nothing is written. Afterwards
    `promptship validate` passes and `promptship eval --profile offline` runs as is.
    """
    from ..files.scaffold import scaffold

    written = scaffold(directory, action=action, git=not no_git, example=not no_example)
    for path in written:
        click.echo(f"wrote {Path(directory, path)}")
    where = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"\nnext: {where}promptship validate && promptship eval --profile offline", err=True)
    return EXIT_OK
