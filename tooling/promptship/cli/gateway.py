"""``promptship gateway``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .main import root_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--profile", default=None, help="Routing profile, e.g. offline.")
@click.option(
    "--allow-missing-credentials",
    is_flag=True,
    help="Start even when variables the routing policy names are not set (calls needing them fail).",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    help="Where to write the JSON-lines access log: a file, '-' for stderr, or 'off'.",
)
@click.option(
    "--spend-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where spend is kept across restarts without REDIS_URL [default: .promptship/gateway-spend.json].",
)
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Worker processes serving the port; more than one needs REDIS_URL (shared budgets and idempotency).",
)
@click.pass_context
def gateway(
    ctx: click.Context,
    host: str,
    port: int,
    profile: str | None,
    allow_missing_credentials: bool,
    access_log: str,
    spend_file: Path | None,
    workers: int,
) -> int:
    """Serve the OpenAI-compatible gateway (keys and budgets from policies/; REDIS_URL for shared counters)."""
    import uvicorn

    from ..files.workdir import workdir
    from ..ops.stores import usage_store_url
    from ..ops.usage import redacted_url
    from ..runtime.gateway.serve import OPTIONS_VARIABLE, GatewayOptions, build_app, check_workers
    from ..runtime.gateway.state import SHARED_PROJECT, KeyStore
    from ..runtime.sdk import Client

    check_workers(workers, os.environ)
    root = root_of(ctx)
    client = Client(root, profile=profile, require_credentials=not allow_missing_credentials)
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
    webhook = client.repo.policies.budgets.alerts.webhook_url_env
    if webhook and not os.environ.get(webhook):
        click.echo(f"warning: {webhook} is not set: alerts go to the log only (policies/budgets.yaml alerts)", err=True)
    if not os.environ.get("REDIS_URL"):
        spend_file = spend_file or workdir(root) / "gateway-spend.json"
        if not os.access(spend_file.parent, os.W_OK):
            click.echo(
                f"warning: {spend_file.parent} is not writable: spend is kept in memory only and resets when "
                "the gateway restarts (set REDIS_URL or --spend-file)",
                err=True,
            )
            spend_file = None
        else:
            click.echo(f"spend is kept in {spend_file} (one gateway process; set REDIS_URL to share it)", err=True)
    usage_url = usage_store_url(os.environ, root)
    if usage_url is None:
        click.echo("usage is not recorded (PROMPTSHIP_USAGE_URL=off)", err=True)
    else:
        click.echo(f"usage is recorded to {redacted_url(usage_url)} (report: promptship usage)", err=True)
    options = GatewayOptions(
        str(root),
        profile,
        allow_missing_credentials,
        access_log,
        str(spend_file) if spend_file is not None else None,
    )
    if workers == 1:
        uvicorn.run(build_app(options, os.environ, client), host=host, port=port, log_level="warning", access_log=False)
        return 0
    client.close()  # each worker builds its own
    os.environ[OPTIONS_VARIABLE] = options.to_json()  # read by each worker process
    click.echo(f"serving with {workers} worker processes sharing REDIS_URL", err=True)
    uvicorn.run(
        "promptship.runtime.gateway.serve:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
    return 0
