"""Assembling a gateway app from its options, in this process or in each of N uvicorn workers.

``promptship gateway --workers N`` hands uvicorn an import string (uvicorn starts workers as new
processes, which cannot inherit an app object): the options travel as JSON in the environment
variable :data:`OPTIONS_VARIABLE`, and :func:`app_from_environment` builds each worker's app from
them. Every worker has its own model client and connections; budgets, reservations, idempotency
records and alert marks are shared through Redis (``REDIS_URL``), which is why more than one
worker needs it (:func:`check_workers`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import UsageError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..sdk import Client

#: The environment variable carrying :class:`GatewayOptions` (JSON) to uvicorn's worker processes.
OPTIONS_VARIABLE = "PROMPTSHIP_GATEWAY_OPTIONS"


@dataclass(frozen=True)
class GatewayOptions:
    """What ``promptship gateway`` was asked to serve. ``access_log``: a file path, ``-`` (stderr)
    or ``off``; ``spend_file``: where spend is kept without Redis (None: in memory only)."""

    root: str
    profile: str | None = None
    allow_missing_credentials: bool = False
    access_log: str = "-"
    spend_file: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GatewayOptions:
        return cls(**json.loads(text))


def check_workers(workers: int, env: Mapping[str, str]) -> None:
    """Refuse ``workers`` > 1 without ``REDIS_URL`` (E990): each worker would keep its own spend,
    reservations and idempotency records, so a budget could be spent once per worker and a retried
    request answered twice."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})", code="E990")
    if workers > 1 and not env.get("REDIS_URL"):
        raise UsageError(
            f"--workers {workers} needs REDIS_URL: budgets, idempotency records and alert marks must be "
            "shared by the workers, or each would let the budget be spent again",
            code="E990",
            hint="start Redis and set REDIS_URL=redis://HOST:6379/0, or run one worker",
        )


def build_app(options: GatewayOptions, env: Mapping[str, str], client: Client | None = None) -> FastAPI:
    """The gateway app for ``options``: model client (``client``, else a new one), keys, shared
    counters, access log, usage recorder, alerts."""
    from ...ops.alerts import GatewayAlerts
    from ...ops.recording import recorder_for
    from ..sdk import Client
    from .access_log import JsonLines
    from .app import create_app
    from .state import KeyStore, counters_from_env

    if client is None:
        client = Client(
            Path(options.root), profile=options.profile, require_credentials=not options.allow_missing_credentials
        )
    keys = KeyStore.from_policy(client.repo.policies.credentials, env)
    writer = None
    if options.access_log == "-":
        writer = JsonLines(sys.stderr)
    elif options.access_log != "off":
        # one write per line, so the lines of several workers appending to one file never mix
        writer = JsonLines(open(options.access_log, "a", encoding="utf-8", buffering=1))  # noqa: SIM115
    spend_file = Path(options.spend_file) if options.spend_file else None
    counters = counters_from_env(env, spend_file)
    alerts = GatewayAlerts(client.repo.policies.budgets, counters, env)
    usage = recorder_for(env, Path(options.root))  # each worker its own recorder into the shared store
    app = create_app(client, keys, counters, writer, usage, alerts)
    if writer is not None:
        serving = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with serving(app):
                yield
            writer.close()  # the last lines are written when the server stops

        app.router.lifespan_context = lifespan
    return app


def app_from_environment() -> FastAPI:
    """uvicorn's app factory in each worker process: the app for the options in :data:`OPTIONS_VARIABLE`."""
    return build_app(GatewayOptions.from_json(os.environ[OPTIONS_VARIABLE]), os.environ)
