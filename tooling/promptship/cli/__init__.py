"""The ``promptship`` command line: ``main.py`` is a lazy click group (subcommands are imported on
use, so ``--help`` stays fast) and the one place an error becomes a message and an exit status; every
other module is one thin command over a library function. ``reference.py`` generates docs/cli.md.
See docs/howto-command.md."""

from __future__ import annotations

__all__ = [
    "ci",
    "diff",
    "eval",
    "gateway",
    "labs",
    "main",
    "options",
    "pii",
    "reference",
    "render",
    "schema",
    "sync",
    "usage",
    "validate",
]
