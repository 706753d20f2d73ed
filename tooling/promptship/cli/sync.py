"""``promptship sync``."""

from __future__ import annotations

import json
import os

import click

from ..errors import EXIT_FAILED, EXIT_OK, UsageError
from .main import root_of


@click.command()
@click.option("--ref", default="HEAD", show_default=True, help="Commit to publish.")
@click.option(
    "--branch",
    default=None,
    help="Branch name matched against policies/release.yaml; it also names the sync ledger "
    "(default: $GITHUB_REF_NAME, else the branch --ref names or HEAD is on).",
)
@click.option("--plan", "mode", flag_value="plan", default=True, help="Show what would change (default).")
@click.option("--apply", "mode", flag_value="apply", help="Make Langfuse match Git.")
@click.option("--check", "mode", flag_value="check", help="Exit 1 when a labelled version differs from Git.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def sync(ctx: click.Context, ref: str, branch: str | None, mode: str, output_format: str) -> int:
    """Publish prompt versions, labels and datasets to Langfuse.

    Credentials come from LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST (the names in
    policies/credentials.yaml); values are never printed. Rollback: `git revert` the change and sync
    again — the label moves back to the existing version with that content.
    """
    from ..files.validate import load_valid_repo
    from ..publish.sync import LangfuseSettings, LangfuseStore, branch_of, check_drift
    from ..publish.sync import sync as run_sync

    root = root_of(ctx)
    credentials = load_valid_repo(root).policies.credentials
    names = (
        credentials.shared.langfuse_public_key_env or "LANGFUSE_PUBLIC_KEY",
        credentials.shared.langfuse_secret_key_env or "LANGFUSE_SECRET_KEY",
        credentials.langfuse_host_env,
    )
    store = LangfuseStore(LangfuseSettings.from_env(os.environ, names))
    branch = branch or os.environ.get("GITHUB_REF_NAME") or branch_of(root, ref)
    if branch is None:
        raise UsageError(
            f"cannot tell which branch --ref {ref} is published for",
            hint="pass --branch NAME: its rules in policies/release.yaml pick the labels, and it names the sync ledger",
        )
    if branch.startswith("-"):
        raise UsageError(f"invalid branch {branch!r}")
    if mode == "check":
        drift = check_drift(root, store, ref=ref, branch=branch)
        if output_format == "json":
            click.echo(json.dumps([d.__dict__ for d in drift], indent=1))
        else:
            for item in drift:
                where = f" on v{item.version}" if item.version is not None else ""
                click.echo(f"drift  {item.prompt}: label {item.label}{where}: {item.reason}")
            click.echo("no drift" if not drift else f"{len(drift)} drifted label(s)", err=True)
        return EXIT_FAILED if drift else EXIT_OK
    outcome = run_sync(
        root,
        store,
        ref=ref,
        branch=branch,
        apply=mode == "apply",
        log=click.echo,
        warn=lambda line: click.echo(line, err=True),
    )
    plan = outcome.plan
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "commit": plan.commit,
                    "applied": outcome.applied,
                    "writes": outcome.writes,
                    "superseded_by": outcome.superseded_by,
                    "actions": [{"kind": a.kind, "target": a.target, "detail": a.detail} for a in plan.actions],
                    "unchanged": plan.unchanged,
                    "warnings": plan.warnings,
                },
                indent=1,
            )
        )
        return EXIT_OK
    if outcome.superseded_by:
        click.echo(f"note: the ledger holds newer commit {outcome.superseded_by[:12]}; its state is what counts")
    if not outcome.applied:
        for action in plan.actions:
            click.echo(f"plan  {action.describe()}")
    click.echo(
        f"{len(plan.actions)} change(s), {len(plan.unchanged)} prompt(s) unchanged"
        + (f"; {outcome.writes} write(s) made" if outcome.applied else " (plan only; use --apply)")
    )
    return EXIT_OK
