"""Suite fingerprints: a hash of everything a suite's result depends on (pure but for reading
promptship's own scoring code).

Equal ``suite`` hashes ⇒ a stored run can be reused. It covers what is sent (prompt, items), who
answers it (deployments and, when an environment is given, the endpoint each ``api_base_env`` points
at), and how answers are scored (evaluators with their params, the code of the built-in evaluators and
of the judge, custom scorer modules). Prices are a separate part, ``pricing``: they change what a run
costs, never what was answered, so a price-only change re-prices stored answers instead of
re-running them (unless an evaluator reads the cost, which makes prices part of the scoring too).
Descriptions, owners, tags, traffic, gates and YAML layout are excluded.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from functools import lru_cache

from ..eval.evaluators import registry
from ..files.repo import Repository, SuiteEntry, content_hash, items_hash
from ..files.schema import RoutingPolicy
from ..files.schema.run import Fingerprint
from ..llm.policy import alias_identity

#: Prompt fields that change what is sent.
PROMPT_RESULT_FIELDS = ("type", "model", "params", "variables", "messages", "template")


def prompt_result_hash(repo: Repository, name: str) -> str:
    prompt = repo.prompts[name].prompt
    return content_hash(prompt.model_dump(mode="json", include=set(PROMPT_RESULT_FIELDS), exclude_none=True))


def suite_models(repo: Repository, entry: SuiteEntry) -> list[str]:
    """The aliases a suite evaluates: its ``models`` or, if empty, the prompt's own alias."""
    return list(entry.suite.models) or [repo.prompts[entry.suite.prompt].prompt.model]


def judge_aliases(entry: SuiteEntry) -> list[str]:
    return [str(e.params["judge"]) for e in entry.suite.evaluators if e.type == "llm_judge" and "judge" in e.params]


def scorer_modules(entry: SuiteEntry) -> list[str]:
    return sorted(
        {
            str(e.params["function"]).partition(":")[0]
            for e in entry.suite.evaluators
            if e.type == "python" and "function" in e.params
        }
    )


@lru_cache(maxsize=64)
def _module_code(module_name: str) -> str:
    import sys

    return hashlib.sha256(inspect.getsource(sys.modules[module_name]).encode()).hexdigest()


def evaluator_code(entry: SuiteEntry) -> dict[str, str]:
    """Hash of the code that scores each evaluator type the suite uses (the built-in's module; for
    ``llm_judge`` and ``python`` also the runner's scoring module, which holds the judge prompt)."""
    known = registry()
    code: dict[str, str] = {}
    for spec in entry.suite.evaluators:
        definition = known.get(spec.type)
        if definition is None:
            continue
        modules = [definition.score.__module__]
        if definition.kind != "builtin":
            modules.append("promptship.eval.scoring")
            import promptship.eval.scoring  # noqa: F401  (loaded so its source can be read)
        code[spec.type] = "+".join(_module_code(m) for m in modules)
    return code


def reads_cost(entry: SuiteEntry) -> bool:
    """True when an evaluator's score depends on the call's cost (e.g. ``max_cost``)."""
    known = registry()
    for spec in entry.suite.evaluators:
        definition = known.get(spec.type)
        if definition is not None and "cost" in definition.reads_of(definition.params.model_validate(spec.params)):
            return True
    return False


def pricing_hash(routing: RoutingPolicy, aliases: list[str]) -> str:
    """Hash of the prices of every deployment ``aliases`` (and their fallbacks) may answer from."""
    from ..eval.costs import price_table, reachable_deployments

    table = price_table(routing)
    return content_hash({d: list(table[d]) for d in reachable_deployments(routing, aliases) if d in table})


def endpoint_hash(routing: RoutingPolicy, aliases: list[str], env: Mapping[str, str] | None) -> dict[str, str]:
    """sha256 of the URL each deployment's ``api_base_env`` holds in ``env`` (only the hash, never the
    value): the same policy pointed at another server is another answer."""
    if env is None:
        return {}
    from ..eval.costs import reachable_deployments

    bases = {d.id: d.api_base_env for alias in routing.aliases.values() for d in alias.deployments}
    wanted = reachable_deployments(routing, aliases)
    return {
        d: hashlib.sha256(env.get(bases[d] or "", "").encode()).hexdigest()
        for d in wanted
        if bases.get(d) and env.get(bases[d] or "")
    }


def suite_fingerprint(
    repo: Repository, entry: SuiteEntry, routing: RoutingPolicy, env: Mapping[str, str] | None = None
) -> Fingerprint:
    """The fingerprint of ``entry`` under ``routing`` (with any profile already applied); ``env``
    (the process environment) adds the endpoints the deployments point at."""
    suite = entry.suite
    models = suite_models(repo, entry)
    aliases = sorted({*models, *judge_aliases(entry)})
    pricing = pricing_hash(routing, aliases)
    parts = {
        "prompt": prompt_result_hash(repo, suite.prompt),
        "dataset": items_hash(repo.datasets[suite.dataset].items),
        "evaluators": content_hash(
            {
                "evaluators": [e.model_dump(mode="json") for e in suite.evaluators],
                "repeats": suite.repeats,
                "models": models,
                "code": evaluator_code(entry),
                **({"pricing": pricing} if reads_cost(entry) else {}),
            }
        ),
        "scorers": content_hash({path: repo.texts.get(path) for path in scorer_modules(entry)}),
        "deployments": content_hash(
            {
                "aliases": {alias: alias_identity(routing, alias) for alias in aliases},
                **({"endpoints": endpoints} if (endpoints := endpoint_hash(routing, aliases, env)) else {}),
            }
        ),
    }
    return Fingerprint(suite=content_hash(parts), pricing=pricing, **parts)
