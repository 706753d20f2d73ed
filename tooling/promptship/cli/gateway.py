"""``promptship gateway``."""

from __future__ import annotations

import os

import click

from .main import root_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--profile", default=None, help="Routing profile, e.g. offline.")
@click.pass_context
def gateway(ctx: click.Context, host: str, port: int, profile: str | None) -> int:
    """Serve the OpenAI-compatible gateway (keys and budgets from policies/; REDIS_URL for shared counters)."""
    import uvicorn

    from ..runtime.gateway.app import create_app
    from ..runtime.gateway.state import SHARED_PROJECT, KeyStore, counters_from_env
    from ..runtime.sdk import Client

    client = Client(root_of(ctx), profile=profile)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    if not keys.digests:
        click.echo("warning: no gateway key digest is set; every request will be refused", err=True)
    shared = any(project == SHARED_PROJECT for _, project in keys.digests)
    if shared and client.repo.policies.budgets.budget_of(SHARED_PROJECT) is None:
        click.echo(
            "warning: the PoC shared key has no budget (projects.shared or default in policies/budgets.yaml); "
            "requests with it will be refused",
            err=True,
        )
    uvicorn.run(create_app(client, keys, counters_from_env(os.environ)), host=host, port=port, log_level="warning")
    return 0
