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
shard_option = click.option(
    "--shard",
    default=None,
    metavar="K/N",
    help="Evaluate only shard K of N (1-based): the items whose id hashes to K, the same on every machine "
    "and branch. Merge the N shard runs with `promptship runs merge`.",
)
