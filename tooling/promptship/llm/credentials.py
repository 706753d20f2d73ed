"""Credentials by variable *name*: which environment variables a set of aliases needs, and the
check that names every missing one (never a value)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import CredentialError
from ..files.schema import RoutingPolicy
from .policy import reachable


def required_env(policy: RoutingPolicy, aliases: Sequence[str]) -> list[str]:
    """Names of environment variables the aliases (and their fallbacks) need, in a stable order."""
    names: list[str] = []
    for alias in reachable(policy, aliases):
        for deployment in policy.aliases[alias].deployments:
            for name in (deployment.api_base_env, deployment.api_key_env, *deployment.env.values()):
                if name and name not in names:
                    names.append(name)
    return names


def check_credentials(policy: RoutingPolicy, aliases: Sequence[str], env: Mapping[str, str]) -> None:
    """Raise :class:`CredentialError` naming every missing variable (never printing a value)."""
    missing = [name for name in required_env(policy, aliases) if not env.get(name)]
    if missing:
        raise CredentialError(
            f"missing environment variable(s) {', '.join(missing)} for model alias(es) {', '.join(aliases)}",
            code="E801",
            hint="export them (in CI: repository secrets), or run offline with --profile offline",
        )
