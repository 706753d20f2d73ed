"""``promptship render PROMPT``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from .main import root_of
from .options import format_option, ref_option


@click.command()
@click.argument("prompt_name")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A variable (repeatable).")
@click.option(
    "--vars-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON object of variables.",
)
@click.option("--item", metavar="DATASET:ID", help="Take the variables from a dataset item.")
@click.option(
    "--show-whitespace",
    is_flag=True,
    help="Show the exact text: line breaks as ⏎, trailing spaces as ·, tabs as →.",
)
@format_option
@ref_option
@click.pass_context
def render(
    ctx: click.Context,
    prompt_name: str,
    variables: tuple[str, ...],
    vars_file: Path | None,
    item: str | None,
    show_whitespace: bool,
    output_format: str,
    ref: str | None,
) -> int:
    """Print the messages PROMPT_NAME would send. Later sources win: --item, --vars-file, --var.

    The text printed is exactly what is sent; --show-whitespace makes line breaks and trailing
    spaces visible (each message then ends where its text ends, marked by the next `---` line)."""
    from ..files.render import coerce_value, render_prompt
    from ..files.render import show_whitespace as visible
    from ..files.schema import nfc

    prompt_name, item = nfc(prompt_name), nfc(item) if item else None  # names are NFC (a macOS shell may type NFD)
    from ..files.validate import load_valid_repo

    dataset_prefix = [f"datasets/{item.rpartition(':')[0]}."] if item else []
    repo = load_valid_repo(root_of(ctx), ref, only=[f"prompts/{prompt_name}.", "policies/", *dataset_prefix])
    entry = repo.prompts.get(prompt_name)
    if entry is None:
        raise UsageError(
            f"unknown prompt {prompt_name!r}", hint=f"prompts: {', '.join(sorted(repo.prompts)) or '(none)'}"
        )
    values: dict[str, Any] = {}
    if item:
        dataset_name, colon, item_id = item.rpartition(":")
        if not colon:
            raise UsageError(
                f"--item {item!r} is not DATASET:ID", hint="e.g. --item reviews/sentiment-golden:review-001"
            )
        dataset = repo.datasets.get(dataset_name)
        if dataset is None:
            raise UsageError(
                f"--item {item!r}: no dataset {dataset_name!r}",
                hint=f"use DATASET:ID; datasets: {', '.join(sorted(repo.datasets)) or '(none)'}",
            )
        found = dataset.item(item_id)
        if found is None:
            first_ids = ", ".join(i.id for i in dataset.items[:3])
            raise UsageError(
                f"--item {item!r}: dataset {dataset_name!r} has no item {item_id!r}",
                hint=f"its ids look like: {first_ids}",
            )
        values.update(found.input)
    if vars_file:
        try:
            loaded = json.loads(vars_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{vars_file}: invalid JSON: {exc}", hint="the file must hold one JSON object") from None
        if not isinstance(loaded, dict):
            raise UsageError(
                f"{vars_file}: expected a JSON object of variables, got {type(loaded).__name__}",
                hint='write {"variable": value, ...}',
            )
        values.update(loaded)
    for assignment in variables:
        name, sep, raw = assignment.partition("=")
        if not sep:
            raise UsageError(f"--var {assignment!r} is not NAME=VALUE", hint=f"e.g. --var {assignment}=...")
        values[name] = coerce_value(name, entry.prompt.variables.get(name), raw)
    rendered = render_prompt(entry.prompt, values)
    if output_format == "json":
        click.echo(
            json.dumps(
                {"prompt": prompt_name, "model": entry.prompt.model, **rendered.to_dict()},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"# {prompt_name} → {entry.prompt.model} {json.dumps(rendered.params, ensure_ascii=False)}")
        for message in rendered.messages:
            click.echo(f"--- {message['role']}")
            click.echo(visible(message["content"]) if show_whitespace else message["content"])
        if show_whitespace:
            click.echo("--- end")
    return 0
