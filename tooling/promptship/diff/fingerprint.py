"""Suite fingerprints: a hash of everything a suite's result depends on (pure).

Equal fingerprints ⇒ a stored run can be reused. Descriptions, owners, tags, traffic, gates and YAML
layout are excluded: they do not change what the models answer or how it is scored.
"""

from __future__ import annotations

from ..files.repo import Repository, SuiteEntry, content_hash
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


def suite_fingerprint(repo: Repository, entry: SuiteEntry, routing: RoutingPolicy) -> Fingerprint:
    """The fingerprint of ``entry`` under ``routing`` (with any profile already applied)."""
    suite = entry.suite
    models = suite_models(repo, entry)
    parts = {
        "prompt": prompt_result_hash(repo, suite.prompt),
        "dataset": content_hash(
            sorted((i.model_dump(mode="json") for i in repo.datasets[suite.dataset].items), key=lambda i: i["id"])
        ),
        "evaluators": content_hash(
            {
                "evaluators": [e.model_dump(mode="json") for e in suite.evaluators],
                "repeats": suite.repeats,
                "models": models,
            }
        ),
        "scorers": content_hash({path: repo.texts.get(path) for path in scorer_modules(entry)}),
        "deployments": content_hash(
            {alias: alias_identity(routing, alias) for alias in sorted({*models, *judge_aliases(entry)})}
        ),
    }
    return Fingerprint(suite=content_hash(parts), **parts)
