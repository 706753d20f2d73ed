"""docs/cli.md: the CLI reference, generated from the commands' own ``--help``.

``python -m promptship.cli.reference > docs/cli.md`` refreshes it; ``tests/cli/test_cli_reference.py``
fails while it is stale, so the page cannot drift from the code.
"""

from __future__ import annotations

import click

from .main import cli

#: Help is rendered at a fixed width so the page does not depend on the terminal.
WIDTH = 100

HEADER = """# CLI reference

Generated from `promptship --help` by `python -m promptship.cli.reference > docs/cli.md`; a test fails
when this page is stale. Exit status: 0 success, 1 a check, gate or publication failed, 2 a usage,
repository or configuration mistake (see the error-code table in [formats.md](formats.md#command-errors)).
"""


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> list[str]:
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    level = "#" * min(len(path) + 1, 4)
    sections = [f"{level} `{' '.join(path)}`\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n"]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sections += _help(sub, [*path, name], ctx)
    return sections


def cli_reference() -> str:
    """The whole page: every command and subcommand's ``--help`` in order."""
    return "\n".join([HEADER, *_help(cli, ["promptship"], None)])


if __name__ == "__main__":
    print(cli_reference(), end="")
