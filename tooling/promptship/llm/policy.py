"""The routing policy as data (pure): profiles, reachability, alias identities, deployment prices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from ..files.repo import content_hash
from ..files.schema import AliasPolicy, Deployment, RoutingPolicy
from .backends.local import POLICY_MODEL
from .pricing import model_prices


def apply_profile(policy: RoutingPolicy, profile: str | None) -> RoutingPolicy:
    """The policy with ``profile``'s remapping applied (pure). ``None`` returns it unchanged."""
    if profile is None:
        return policy
    if profile not in policy.profiles:
        raise UsageError(
            f"unknown routing profile {profile!r}",
            hint=f"profiles in policies/routing.yaml: {', '.join(policy.profiles) or '(none)'}",
        )
    remap = policy.profiles[profile]
    aliases: dict[str, AliasPolicy] = {}
    for name, alias in policy.aliases.items():
        if name in remap.aliases:
            aliases[name] = alias.model_copy(update={"deployments": _per_alias(remap.aliases[name], name)})
        elif remap.all is not None:
            # Everything on the same deployments: fallbacks could only repeat them.
            aliases[name] = alias.model_copy(
                update={
                    "deployments": _per_alias(remap.all, name),
                    "fallbacks": [],
                    "content_policy_fallbacks": [],
                }
            )
        else:
            aliases[name] = alias
    return policy.model_copy(update={"aliases": aliases, "profiles": {}})


def _per_alias(deployments: Sequence[Deployment], alias: str) -> list[Deployment]:
    # Deployment ids must be unique across Router groups; keep them stable per alias.
    return [d.model_copy(update={"id": f"{d.id}@{alias}"}) for d in deployments]


def _deployment_identity(deployment: Deployment) -> dict[str, Any]:
    return deployment.model_dump(mode="json", exclude={"id", "weight", "pricing"}, exclude_none=True)


def alias_identity(policy: RoutingPolicy, alias: str) -> str:
    """Hash of everything that decides which model answers ``alias``: its deployments and those of
    its fallbacks (names of credential variables included, values never)."""
    chain: dict[str, Any] = {}
    for name in [alias, *policy.aliases[alias].fallbacks, *policy.aliases[alias].content_policy_fallbacks]:
        if name in policy.aliases and name not in chain:
            chain[name] = sorted(
                (_deployment_identity(d) for d in policy.aliases[name].deployments),
                key=lambda d: content_hash(d),
            )
    return content_hash({"primary": alias, "chain": chain})


def reachable(policy: RoutingPolicy, aliases: Sequence[str]) -> list[str]:
    """``aliases`` and their fallbacks and content-policy fallbacks, each once, in order.

    :class:`UsageError` for an alias the policy does not have.
    """
    seen: list[str] = []
    for alias in aliases:
        policy_of = policy.aliases.get(alias)
        if policy_of is None:
            raise UsageError(f"unknown model alias {alias!r}", hint=f"aliases: {', '.join(policy.aliases)}")
        for name in [alias, *policy_of.fallbacks, *policy_of.content_policy_fallbacks]:
            if name not in seen:
                seen.append(name)
    return seen


def deployment_prices(deployment: Deployment) -> tuple[float, float]:
    """USD per input and output token: the policy's override, LiteLLM's price map, or 0 for local."""
    if deployment.pricing is not None:
        return deployment.pricing.input_per_million / 1e6, deployment.pricing.output_per_million / 1e6
    if deployment.model == POLICY_MODEL:
        return 0.0, 0.0
    return model_prices(deployment.model)
