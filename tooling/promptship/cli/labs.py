"""``promptship labs``: the local web app (extra ``promptship[labs]``)."""

from __future__ import annotations

import click

from .main import root_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Any non-loopback host needs a token.")
@click.option("--port", type=int, default=8787, show_default=True)
@click.option("--profile", default=None, help="Routing profile for tests and experiments, e.g. offline.")
@click.option("--token", envvar="PROMPTSHIP_LABS_TOKEN", default=None, help="Access token (env PROMPTSHIP_LABS_TOKEN).")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Parallel calls per experiment.")
@click.pass_context
def labs(ctx: click.Context, host: str, port: int, profile: str | None, token: str | None, concurrency: int) -> int:
    """Serve Labs: prompts, single tests, experiments, comparisons, edit → new branch."""
    from ..labs.security import access_for

    access = access_for(host, token)  # refuses a public address without a token before importing the server
    import uvicorn

    from ..labs.app import LabsConfig, create_app

    app = create_app(LabsConfig(root_of(ctx), access, profile, concurrency))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"promptship labs on http://{shown}:{port}/prompts", err=True)
    if access.token is not None:
        click.echo("open it once with ?token=<your PROMPTSHIP_LABS_TOKEN> appended", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
