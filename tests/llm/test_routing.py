"""Routing policy → deployments: profiles, identities, credentials, error classification."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from promptship.errors import CredentialError, UsageError
from promptship.files.repo import load_repo
from promptship.files.schema import RoutingPolicy
from promptship.llm.backends import litellm_module
from promptship.llm.credentials import check_credentials, required_env
from promptship.llm.failures import classify
from promptship.llm.policy import alias_identity, apply_profile

from ..conftest import PROJECT


@pytest.fixture(scope="module")
def policy() -> RoutingPolicy:
    routing = load_repo(PROJECT).repo.policies.routing
    assert routing is not None
    return routing


def test_offline_profile_maps_every_alias_to_the_local_model(policy: RoutingPolicy) -> None:
    offline = apply_profile(policy, "offline")
    assert set(offline.aliases) == set(policy.aliases)
    for alias in offline.aliases.values():
        assert [d.model for d in alias.deployments] == ["local/smollm2"]
        assert alias.fallbacks == [] and alias.content_policy_fallbacks == []
    ids = [d.id for a in offline.aliases.values() for d in a.deployments]
    assert len(ids) == len(set(ids)), "deployment ids stay unique per alias"


def test_unknown_profile_is_a_usage_error(policy: RoutingPolicy) -> None:
    with pytest.raises(UsageError, match="unknown routing profile 'offlin'"):
        apply_profile(policy, "offlin")


def test_identity_changes_with_deployments_not_with_credentials_values(policy: RoutingPolicy) -> None:
    base = alias_identity(policy, "chat-fast")
    assert base == alias_identity(policy, "chat-fast")
    assert base != alias_identity(apply_profile(policy, "offline"), "chat-fast")
    fallback = policy.aliases["chat-fast-japan"]
    changed_fallback = policy.model_copy(
        update={
            "aliases": {
                **policy.aliases,
                "chat-fast-japan": fallback.model_copy(
                    update={"deployments": [fallback.deployments[0].model_copy(update={"region": "japanwest"})]}
                ),
            }
        }
    )
    assert alias_identity(changed_fallback, "chat-fast") != base, "fallback deployments are part of the identity"
    assert alias_identity(changed_fallback, "chat-smart") == alias_identity(policy, "chat-smart")


def test_required_env_covers_fallbacks(policy: RoutingPolicy) -> None:
    names = required_env(policy, ["chat-fast"])
    assert names[:2] == ["AZURE_OPENAI_KRC_ENDPOINT", "AZURE_OPENAI_KRC_API_KEY"]
    assert {"AZURE_OPENAI_JPE_API_KEY", "GEMINI_API_KEY", "AWS_SECRET_ACCESS_KEY"} <= set(names)
    assert required_env(apply_profile(policy, "offline"), ["chat-fast"]) == []


def test_missing_credentials_name_the_variable_never_a_value(policy: RoutingPolicy) -> None:
    secret = "sk-live-very-secret-value-123456"
    env = {name: secret for name in required_env(policy, ["chat-fast"]) if name != "GEMINI_API_KEY"}
    with pytest.raises(CredentialError) as info:
        check_credentials(policy, ["chat-fast"], env)
    text = info.value.format()
    assert "GEMINI_API_KEY" in text and secret not in text
    assert "--profile offline" in (info.value.hint or "")
    check_credentials(policy, ["chat-fast"], {**env, "GEMINI_API_KEY": secret})


def _status_error(litellm, cls_name: str, status: int, body: str, headers: dict | None = None):
    cls = getattr(litellm, cls_name)
    response = httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", "http://x"))
    return cls(message=body, llm_provider="openai", model="m", response=response)


def test_classify_real_litellm_exceptions() -> None:
    litellm = litellm_module()
    azure = (
        '{"error": {"code": "content_filter", "message": "The response was filtered due to the prompt '
        'triggering Azure OpenAI\'s content management policy.", "innererror": '
        '{"code": "ResponsibleAIPolicyViolation"}}}'
    )
    assert classify(_status_error(litellm, "BadRequestError", 400, azure)).outcome == "content_filter"
    openai_cp = '{"error": {"code": "content_policy_violation", "type": "invalid_request_error"}}'
    assert classify(_status_error(litellm, "BadRequestError", 400, openai_cp)).outcome == "content_filter"
    gemini = '{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}'
    assert classify(_status_error(litellm, "BadRequestError", 400, gemini)).outcome == "content_filter"
    plain = '{"error": {"message": "Invalid value for temperature", "type": "invalid_request_error"}}'
    assert classify(_status_error(litellm, "BadRequestError", 400, plain)).outcome == "bad_request"
    limited = classify(_status_error(litellm, "RateLimitError", 429, "slow down", {"retry-after": "2"}))
    assert (limited.outcome, limited.retry_after_s) == ("rate_limited", 2.0)
    assert classify(_status_error(litellm, "InternalServerError", 500, "boom")).outcome == "server_error"
    assert classify(_status_error(litellm, "AuthenticationError", 401, "bad key")).outcome == "auth"
    assert classify(TimeoutError()).outcome == "timeout"


def test_litellm_is_configured_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = litellm_module()
    assert litellm.telemetry is False and litellm.suppress_debug_info is True
    assert any(item["provider"] == "promptship_local" for item in litellm.custom_provider_map)
    import os

    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True" and os.environ["LITELLM_MODE"] == "PRODUCTION"


def test_stream_through_the_router_and_the_direct_path(fake_llm, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from promptship.llm.routing import Completion, ModelRouter

    from ..doubles.fake_llm import Rule

    fake_llm.set_rules([Rule("hi", "alpha beta gamma")])
    policy = RoutingPolicy.model_validate(
        {
            "aliases": {
                "pool": {
                    "deployments": [
                        {
                            "id": "a",
                            "model": "openai/m-a",
                            "api_base_env": "FAKE_BASE",
                            "api_key_env": "FAKE_KEY",
                            "pricing": {"input_per_million": 1, "output_per_million": 1},
                        },
                        {
                            "id": "b",
                            "model": "openai/m-b",
                            "api_base_env": "FAKE_BASE",
                            "api_key_env": "FAKE_KEY",
                            "pricing": {"input_per_million": 1, "output_per_million": 1},
                        },
                    ]
                },
                "single": {
                    "deployments": [
                        {
                            "id": "s",
                            "model": "openai/m-s",
                            "api_base_env": "FAKE_BASE",
                            "api_key_env": "FAKE_KEY",
                            "pricing": {"input_per_million": 1, "output_per_million": 1},
                        }
                    ]
                },
            }
        }
    )
    router = ModelRouter(policy, env={"FAKE_BASE": fake_llm.base_url, "FAKE_KEY": "k"})

    async def collect(alias: str) -> tuple[list[str], Completion]:
        router.prepare([alias])
        events = [e async for e in router.stream(alias, [{"role": "user", "content": "hi"}], {})]
        await router.aclose()
        return [e for e in events if isinstance(e, str)], events[-1]  # type: ignore[return-value]

    for alias, deployments in (("pool", {"a", "b"}), ("single", {"s"})):
        pieces, completion = asyncio.run(collect(alias))
        assert "".join(pieces) == "alpha beta gamma" and len(pieces) == 3
        assert completion.text == "alpha beta gamma" and completion.usage.completion_tokens == 3
        assert completion.deployment in deployments and completion.usage.cost_usd > 0
