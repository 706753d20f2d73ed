"""Faithful errors and no retry storms: the gateway answers as the vendor did (429 with
Retry-After, 504 for a timeout, 400 context_length_exceeded with the vendor's message, secrets
scrubbed), and once it has retried it tells the openai client not to retry again."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from ..doubles.fake_llm import FakeLLM
from .conftest import RunningGateway


def call(client: openai.OpenAI, alias: str, text: str = "Review: good"):
    return client.chat.completions.create(model=alias, messages=[{"role": "user", "content": text}])


@pytest.mark.parametrize("alias", ["backup", "pool"])
def test_upstream_429_is_a_429_with_retry_after_and_the_client_does_not_retry(
    gateway: RunningGateway, fake_llm: FakeLLM, alias: str
) -> None:
    """The storm of issue 14: the gateway retried a 429, then the openai client retried the gateway."""
    fake_llm.faults(f"m-{alias}", error_429=1.0, retry_after_s=0.1)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=gateway.client().api_key)
    with pytest.raises(openai.RateLimitError) as info:  # the client's default: 2 retries
        call(client, alias)
    headers = info.value.response.headers
    assert info.value.code == "rate_limit_exceeded" and headers["retry-after"] == "1"
    assert headers["x-should-retry"] == "false"
    gateway_attempts = {"backup": 3, "pool": 2}[alias]  # the alias's retries + 1
    assert headers["x-promptship-attempts"] == str(gateway_attempts)
    assert fake_llm.count() == gateway_attempts, "the client did not multiply the gateway's attempts"


def test_upstream_timeout_is_a_504(repo: Path, fake_llm: FakeLLM, gateway_over) -> None:
    fake_llm.faults("m-safe", hang=1.0, hang_s=5)
    with gateway_over(repo) as running, pytest.raises(openai.APIStatusError) as info:
        call(running.client(), "safe")
    assert info.value.status_code == 504 and info.value.code == "timeout"


def test_context_length_keeps_the_vendors_code_and_message(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("*", context_length_pattern="very long")
    with pytest.raises(openai.BadRequestError) as info:
        call(gateway.client(), "primary", "Review: a very long review")
    assert info.value.code == "context_length_exceeded" and info.value.param == "messages"
    assert "maximum context length is 128000 tokens" in info.value.message
    assert fake_llm.count() == 1, "a request too long for the model is neither retried nor rerouted"


def test_vendor_messages_are_scrubbed_of_secrets(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("*", bad_key=True)
    with pytest.raises(openai.APIStatusError) as info:
        call(gateway.client(), "backup")
    assert info.value.status_code == 502 and info.value.code == "auth"
    assert "Incorrect API key provided" in info.value.message
    assert "sk-test-not-a-real-key" not in str(info.value.response.text)


def test_a_per_call_retry_budget_bounds_upstream_calls(repo: Path, fake_llm: FakeLLM, gateway_over) -> None:
    """primary retrying 10 times, then backup (3 attempts): 14 calls, cut to 8 in all."""
    routing = repo / "policies/routing.yaml"
    routing.write_text(routing.read_text().replace("retries: 3", "retries: 10", 1))
    fake_llm.faults("*", error_429=1.0, retry_after_s=0)  # no waiting between attempts
    with gateway_over(repo) as running, pytest.raises(openai.RateLimitError) as info:
        call(running.client(), "primary")
    assert info.value.response.headers["x-promptship-attempts"] == "8"
    assert fake_llm.count() == 8
