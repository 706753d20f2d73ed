"""Options shared by several commands."""

from __future__ import annotations

import click

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
ref_option = click.option(
    "--ref", default=None, help="Read the repository at this git ref instead of the working tree."
)
