"""Cost is derived, never stored as truth: stored usage × the prices in force when a report is made (pure).

A run records each answer's token usage and the deployment that gave it. Whenever a run is shown —
right after ``eval``, or later as a ``diff`` base — its costs are recomputed from that usage and the
routing policy's current prices, so a price change re-prices old answers without a model call, and a
replayed (cached) answer is never reported as money spent now (``spent_usd`` counts only answers that
were fetched from a model in that run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..files.schema import RoutingPolicy
from ..files.schema.run import Run, SampleResult

#: deployment id → (USD per input token, USD per output token)
PriceTable = Mapping[str, tuple[float, float]]


def price_table(policy: RoutingPolicy) -> dict[str, tuple[float, float]]:
    """Prices of every deployment of ``policy`` (with any profile already applied), by deployment id."""
    from ..llm.policy import deployment_prices

    return {d.id: deployment_prices(d) for alias in policy.aliases.values() for d in alias.deployments}


def reachable_deployments(policy: RoutingPolicy, aliases: list[str]) -> list[str]:
    """Ids of the deployments ``aliases`` may answer from: theirs and their (content-policy) fallbacks'."""
    names: list[str] = []
    for alias in aliases:
        entry = policy.aliases.get(alias)
        for name in [alias, *(entry.fallbacks if entry else []), *(entry.content_policy_fallbacks if entry else [])]:
            if name not in names:
                names.append(name)
    return [d.id for name in names if name in policy.aliases for d in policy.aliases[name].deployments]


def sample_cost(sample: SampleResult, prices: PriceTable) -> float:
    """USD of one answer at ``prices``; an answer from a deployment ``prices`` does not know keeps its
    recorded cost (there is no price in force for it)."""
    if sample.deployment is None or sample.deployment not in prices:
        return sample.cost_usd
    price_in, price_out = prices[sample.deployment]
    return sample.prompt_tokens * price_in + sample.completion_tokens * price_out


def reprice(run: Run, prices: PriceTable) -> Run:
    """``run`` with every answer's ``cost_usd`` and the aggregates recomputed at ``prices`` (one
    streamed pass over the samples; the returned run re-prices its samples as they are read)."""
    from .summary import aggregate

    def priced(sample: SampleResult) -> SampleResult:
        return sample.model_copy(update={"cost_usd": round(sample_cost(sample, prices), 12)})

    samples = run.samples.mapped(priced)
    copy = run.with_samples(samples)
    copy.aggregates = aggregate(samples, run.models)
    return copy


@dataclass(frozen=True)
class PriceChange:
    """One deployment's prices, base → head, in USD per million tokens (None: the side lacks it)."""

    deployment: str
    input_per_million: tuple[float | None, float | None]
    output_per_million: tuple[float | None, float | None]


def changed_prices(before: PriceTable, after: PriceTable, deployments: set[str]) -> list[PriceChange]:
    """Deployments among ``deployments`` whose price differs, sorted by id."""
    changes: list[PriceChange] = []
    for deployment in sorted(deployments):
        old, new = before.get(deployment), after.get(deployment)
        if old != new:
            changes.append(
                PriceChange(
                    deployment,
                    (_per_million(old, 0), _per_million(new, 0)),
                    (_per_million(old, 1), _per_million(new, 1)),
                )
            )
    return changes


def _per_million(prices: tuple[float, float] | None, index: int) -> float | None:
    return None if prices is None else round(prices[index] * 1e6, 6)
