"""``policies/*.yaml``: routing, release, budgets and credentials.

Secrets never appear in these files: credentials are always *names* of environment variables
(fields ending in ``_env``), resolved at call time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictInt, field_validator, model_validator

from ._base import Model, Name
from .prompt import LABEL, ReleaseRule

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
EnvName = Annotated[str, Field(pattern=ENV_NAME, description="Name of an environment variable.")]
ALIAS = r"^[a-z0-9][a-z0-9_.\-]*$"
Alias = Annotated[str, Field(pattern=ALIAS)]

#: litellm_params keys that would carry a secret literally; use the ``*_env`` fields instead.
SECRET_PARAM_NAMES = frozenset(
    {
        "api_key",
        "aws_secret_access_key",
        "aws_access_key_id",
        "aws_session_token",
        "vertex_credentials",
        "client_secret",
        "azure_ad_token",
        "token",
        "password",
    }
)


class Pricing(Model):
    """Price override in USD per million tokens (registered with LiteLLM at start-up)."""

    input_per_million: Annotated[float, Field(ge=0)]
    output_per_million: Annotated[float, Field(ge=0)]


class Deployment(Model):
    """One concrete model endpoint behind an alias."""

    id: Annotated[str, Field(pattern=ALIAS, description="Stable identity (LiteLLM model_info.id).")]
    model: str = Field(description="LiteLLM model string, e.g. azure/gpt-4o-mini or local/smollm2.")
    region: str | None = None
    api_base_env: EnvName | None = None
    api_key_env: EnvName | None = None
    env: dict[str, EnvName] = Field(
        default_factory=dict,
        description="Other LiteLLM params read from environment variables, e.g. aws_secret_access_key.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Non-secret LiteLLM params, e.g. api_version, aws_region_name."
    )
    weight: Annotated[float, Field(gt=0)] = 1.0
    pricing: Pricing | None = None

    @field_validator("params")
    @classmethod
    def _no_literal_secrets(cls, params: dict[str, Any]) -> dict[str, Any]:
        secret = sorted(SECRET_PARAM_NAMES & params.keys())
        if secret:
            raise ValueError(
                f"{', '.join(secret)} must not be written in the policy; "
                f"name an environment variable under `env:` instead (e.g. env: {{{secret[0]}: MY_VAR}})"
            )
        return params

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"


Strategy = Literal["simple-shuffle", "least-busy", "usage-based-routing-v2", "latency-based-routing"]


class AliasPolicy(Model):
    """What a prompt's ``model:`` alias resolves to."""

    description: str | None = None
    kind: Literal["chat", "embedding"] = Field(
        default="chat",
        description="What the alias answers: chat completions (prompts, suites, /v1/chat/completions) "
        "or embeddings (/v1/embeddings).",
    )
    deployments: Annotated[list[Deployment], Field(min_length=1)]
    strategy: Strategy = "simple-shuffle"
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    fallbacks: list[Alias] = Field(default_factory=list, description="Aliases tried in order on failure.")
    content_policy_fallbacks: list[Alias] = Field(
        default_factory=list, description="Aliases tried when a vendor's content filter refuses."
    )


class Profile(Model):
    """A named remapping of aliases, e.g. ``offline`` sends every alias to the local model."""

    description: str | None = None
    all: list[Deployment] | None = Field(
        default=None, description="Deployments that replace every alias's own (fallbacks are dropped)."
    )
    aliases: dict[Alias, list[Deployment]] = Field(
        default_factory=dict, description="Deployments that replace one alias's own."
    )


class RoutingPolicy(Model):
    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    aliases: dict[Alias, AliasPolicy]
    profiles: dict[Alias, Profile] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_deployment_ids(self) -> RoutingPolicy:
        seen: dict[str, str] = {}
        for alias, policy in self.aliases.items():
            for deployment in policy.deployments:
                if deployment.id in seen and seen[deployment.id] != alias:
                    raise ValueError(
                        f"deployment id {deployment.id!r} is used by aliases {seen[deployment.id]!r} "
                        f"and {alias!r}; ids must be unique"
                    )
                seen[deployment.id] = alias
        return self


def _weights_sum_to_100(split: dict[str, int]) -> dict[str, int]:
    """``split`` itself when it has two or more labels whose weights add up to 100."""
    if len(split) < 2:
        raise ValueError(
            f"a split needs two or more labels, got {len(split)}; to serve one label to everyone, remove the split"
        )
    total = sum(split.values())
    if total != 100:
        shown = " + ".join(f"{label} {weight}" for label, weight in split.items())
        raise ValueError(f"the weights of a split add up to 100 (percent of calls), these add up to {total}: {shown}")
    return split


#: The label a call asks for when it names none (the SDK's and the gateway's default).
UNSPLIT_LABEL = "production"


def default_label(split: Mapping[str, int]) -> str:
    """The label of a call without a split key: ``production`` when the split has it (what unsplit calls
    get), else the label with the largest weight (ties: the first by name). ValueError when empty."""
    if not split:
        raise ValueError("an empty split has no label")
    if UNSPLIT_LABEL in split:
        return UNSPLIT_LABEL
    return min(split, key=lambda label: (-split[label], label))


#: Label → percent of keyed calls (whole numbers adding up to 100).
Split = Annotated[
    dict[
        Annotated[str, Field(pattern=LABEL)],
        Annotated[StrictInt, Field(ge=0, le=100, description="Percent of keyed calls served this label.")],
    ],
    AfterValidator(_weights_sum_to_100),
]


class ReleasePolicy(Model):
    """Which git refs publish which Langfuse labels. The default publishes main as production."""

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    rules: list[ReleaseRule] = Field(default_factory=lambda: [ReleaseRule(ref="main", labels=["production"])])
    splits: dict[Name, Split] = Field(
        default_factory=dict,
        description="Prompt name → label → percent of calls: an A/B test of the versions those labels hold. "
        "A call with a split key (user or session id) is served the label its key hashes to, always the "
        "same one; a call without a key gets the split's default label.",
    )


class Budget(Model):
    monthly_usd: Annotated[float, Field(gt=0)]
    alert_thresholds: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: [0.5, 0.8, 1.0], description="Fractions of the budget that raise an alert."
    )
    hard_limit: bool = Field(default=True, description="Refuse calls once the budget is spent.")


class RetryStormLimits(Model):
    """When a project's traffic looks like a retry storm (one alert per project, kind and window)."""

    window_s: Annotated[int, Field(ge=10, le=86400)] = Field(
        default=300, description="Length of the windows the limits below are counted in, in seconds."
    )
    max_attempts_per_call: Annotated[float, Field(ge=1)] | None = Field(
        default=2.0,
        description="Mean upstream attempts per call (retries and fallbacks included) above which a "
        "window alerts; null: never.",
    )
    min_calls: Annotated[int, Field(ge=1)] = Field(
        default=20, description="Calls a window needs before its attempts per call are judged."
    )
    max_identical_requests: Annotated[int, Field(ge=2)] | None = Field(
        default=20,
        description="The same request (equal path and body) from one project more than this many times "
        "in a window alerts; null: never.",
    )


class AlertsPolicy(Model):
    """Where alerts go: always the gateway's log, and a Slack-compatible webhook when configured."""

    webhook_url_env: EnvName | None = Field(
        default=None,
        description="Variable holding the URL of a Slack-compatible incoming webhook (a secret: never "
        "logged); unset: alerts go to the log only.",
    )
    retry_storm: RetryStormLimits = Field(default_factory=RetryStormLimits)


class BudgetPolicy(Model):
    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    projects: dict[Alias, Budget] = Field(default_factory=dict)
    alerts: AlertsPolicy = Field(default_factory=AlertsPolicy)
    default: Budget | None = Field(
        default=None,
        description="Budget of every project without its own entry (each counted separately), "
        "including `shared`, the project of the PoC shared key.",
    )

    def budget_of(self, project: str) -> Budget | None:
        """The project's own budget, else the default one, else None (not limited)."""
        return self.projects.get(project, self.default)


class ProjectCredentials(Model):
    gateway_key_sha256_env: EnvName | None = Field(
        default=None, description="Variable holding the sha256 hex digest of the project's gateway key."
    )
    langfuse_public_key_env: EnvName | None = None
    langfuse_secret_key_env: EnvName | None = None


class CredentialsPolicy(Model):
    """PoC: every project shares one key. Production: each project has its own."""

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    mode: Literal["poc", "production"] = "poc"
    shared: ProjectCredentials = Field(default_factory=ProjectCredentials)
    projects: dict[Alias, ProjectCredentials] = Field(default_factory=dict)
    langfuse_host_env: EnvName = "LANGFUSE_HOST"
