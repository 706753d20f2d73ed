"""docs/cli.md is the CLI's own --help, regenerated: a changed option fails here until the page is refreshed."""

from __future__ import annotations

from promptship.cli.main import COMMANDS
from promptship.cli.reference import cli_reference

from ..conftest import PROJECT


def test_the_cli_reference_is_current() -> None:
    page = (PROJECT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == cli_reference(), "run `python -m promptship.cli.reference > docs/cli.md`"


def test_the_cli_reference_covers_every_command() -> None:
    page = cli_reference()
    for name in COMMANDS:
        assert f"### `promptship {name}`" in page, name
