"""The ``promptship`` entry point: a lazy click group and the single place errors become exit codes.

Subcommands are imported only when invoked, so ``promptship --help`` stays fast and never imports
pydantic, litellm or langfuse.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click

#: command name → "module:attribute" (relative to promptship.cli) and its one-line help.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init:init", "Start a prompt repository: example files, policies, schemas, CI workflows."),
    "import": ("importing:import_group", "Import prompts from GitHub Models, Prompty or Langfuse."),
    "export": ("exporting:export_group", "Export prompts as GitHub Models or Prompty files."),
    "validate": ("validate:validate", "Check every file: schemas, references, templates, secrets, PII."),
    "render": ("render:render", "Print the messages a prompt would send for given variables."),
    "schema": ("schema:schema", "Write the JSON Schemas of the file formats to schemas/."),
    "eval": ("eval:eval_command", "Run eval suites and print score, cost, latency and tokens."),
    "diff": ("diff:diff", "Compare a PR against its base: affected suites, statistics, gates."),
    "runs": ("runs:runs", "Stored run artifacts: merge shard runs into whole runs."),
    "sync": ("sync:sync", "Publish prompts and datasets to Langfuse (plan, apply, check drift)."),
    "ci": ("ci:ci", "CI helpers: sticky PR comments."),
    "pii": ("pii:pii", "Scan text or files for personal data."),
    "dataset": ("dataset:dataset", "Pull production calls traced in Langfuse into a dataset file."),
    "gateway": ("gateway:gateway", "Run the OpenAI-compatible gateway."),
    "usage": ("usage:usage", "Report calls, cost, tokens, errors and latency per project, alias, prompt or day."),
    "labs": ("labs:labs", "Run Labs, the local web app: try, compare and edit prompts in a browser."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        module = importlib.import_module(f"promptship.cli.{module_name}")
        return getattr(module, attribute)  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _available(name: str) -> bool:
    module_name = COMMANDS[name][0].split(":")[0]
    return (Path(__file__).parent / f"{module_name}.py").exists()


def _version() -> str:
    try:
        return version("promptship")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``policies/``, ``prompts/`` or ``.git``."""
    for candidate in (start, *start.parents):
        if any((candidate / marker).exists() for marker in ("policies", "prompts", ".git")):
            return candidate
    return start


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="promptship")
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Repository root (default: nearest parent with policies/, prompts/ or .git).",
)
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """promptship: prompts, datasets, evals and routing policies as code."""
    ctx.obj = {"root": (root or find_root(Path.cwd())).resolve()}


def root_of(ctx: click.Context) -> Path:
    obj: dict[str, Any] = ctx.find_root().obj or {}
    return obj.get("root") or find_root(Path.cwd())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; render a :class:`PromptshipError` once, as text, with its exit code.

    Everything written to stdout and stderr meanwhile passes through the credential redactor
    (``files/redact.py``): no key an upstream echoes reaches a terminal or a CI log.
    """
    from ..files.redact import RedactingStream

    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: list[str] | None) -> int:
    try:
        result = cli.main(args=argv, prog_name="promptship", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place exceptions become messages
        from ..errors import PromptshipError

        if isinstance(exc, PromptshipError):
            click.echo(exc.format(), err=True)
            return exc.exit_code
        raise
    return int(result or 0)


def entry_point() -> None:
    sys.exit(main())
