"""The OpenAI-compatible gateway, driven by the official `openai` client, against the fake LLM server
and (for shared counters) a real Redis server started by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from promptship.gateway.app import create_app
from promptship.gateway.state import KeyStore, MemoryCounters, RedisCounters, key_digest
from promptship.sdk import Client

from .doubles.fake_llm import FakeLLM
from .test_eval import SENTIMENT, make_repo

KEY = "gw-reviews-0123456789abcdef"
OTHER_KEY = "gw-support-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningGateway:
    def __init__(self, app: object) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningGateway:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started and time.time() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    monkeypatch.setenv("GW_REVIEWS_SHA256", key_digest(KEY))
    monkeypatch.setenv("GW_SUPPORT_SHA256", key_digest(OTHER_KEY))
    root = make_repo(tmp_path, items=1)
    (root / "policies/credentials.yaml").write_text(
        "mode: production\nprojects:\n  reviews: {gateway_key_sha256_env: GW_REVIEWS_SHA256}\n"
        "  support: {gateway_key_sha256_env: GW_SUPPORT_SHA256}\n"
    )
    (root / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 1.0}\n")
    (root / "policies/pii.yaml").write_text("default: block\ntypes: {phone: mask}\n")
    return root


@pytest.fixture
def gateway(repo: Path) -> Iterator[RunningGateway]:
    client = Client(repo, langfuse=False)
    keys = KeyStore.from_policy(client.repo.policies.credentials, __import__("os").environ)
    with RunningGateway(create_app(client, keys, MemoryCounters())) as running:
        yield running


def ask(client: openai.OpenAI, text: str, **extra: object):
    return client.chat.completions.create(
        model="primary", messages=[{"role": "user", "content": f"Review: {text}"}], **extra
    )


def test_openai_client_works_unchanged_including_streaming(gateway: RunningGateway) -> None:
    client = gateway.client()
    answer = ask(client, "good food")
    assert answer.choices[0].message.content == "positive" and answer.usage.total_tokens > 0
    chunks = list(ask(client, "bad food", stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "negative"
    assert [m.id for m in client.models.list().data] == ["primary", "backup", "safe"]


def test_bad_keys_are_rejected(gateway: RunningGateway) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        ask(gateway.client("wrong-key"), "good")
    assert info.value.code == "invalid_api_key"


def test_pii_is_masked_or_blocked_at_the_gateway(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    ask(client, "good, call me at 010-1234-5678")
    assert "[PHONE_1]" in fake_llm.journal[-1].messages[-1]["content"]
    before = fake_llm.count()
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, "bad, I am 900101-1234568")
    assert info.value.code == "pii_blocked" and "900101" not in str(info.value) and fake_llm.count() == before


def test_budget_exhaustion_returns_429(repo: Path, fake_llm: FakeLLM) -> None:
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.00001}\n")
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    with RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, __import__("os").environ), counters)
    ) as running:
        ask(running.client(), "good")  # about 9 tokens at $1/M: spends about $0.000009
        assert counters.spent("reviews") > 0
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(3):
                ask(running.client(), "good")
        assert info.value.code == "budget_exceeded" and "budget" in str(info.value)
        ask(running.client(OTHER_KEY), "good")  # another project is unaffected


def test_idempotency_key_prevents_double_billing(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    first = ask(client, "good", extra_headers={"Idempotency-Key": "retry-1"})
    second = ask(client, "good", extra_headers={"Idempotency-Key": "retry-1"})
    assert first.id == second.id and fake_llm.count() == 1
    ask(client, "good", extra_headers={"Idempotency-Key": "retry-2"})
    assert fake_llm.count() == 2


def test_vendor_errors_are_absorbed_by_fallback(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-primary", error_500=1.0)
    answer = ask(gateway.client(), "good")
    assert answer.choices[0].message.content == "positive"
    assert answer.model_extra["promptship"]["fallback_used"] == "backup"


def test_managed_prompt_endpoint(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{gateway.port}/v1/prompts/classify/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"variables": {"review": "bad meal"}},
    )
    body = response.json()
    assert response.status_code == 200 and body["choices"][0]["message"]["content"] == "negative"
    assert body["promptship"]["prompt_source"] == "bundled"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server, "redis-server is required (.ci/run installs it)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_two_gateways_share_budget_and_idempotency_through_redis(repo: Path, fake_llm: FakeLLM, redis_url: str) -> None:
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.00002}\n")
    import os

    apps = []
    for _ in range(2):
        client = Client(repo, langfuse=False)
        apps.append(
            create_app(
                client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), RedisCounters(redis_url)
            )
        )
    with RunningGateway(apps[0]) as one, RunningGateway(apps[1]) as two:
        first = ask(one.client(), "good", extra_headers={"Idempotency-Key": "shared-1"})
        again = ask(two.client(), "good", extra_headers={"Idempotency-Key": "shared-1"})
        assert first.id == again.id and fake_llm.count() == 1, "the retry on the other gateway is not billed"
        ask(two.client(), "good")
        with pytest.raises(openai.RateLimitError):
            for _ in range(3):
                ask(one.client(), "good")
    assert RedisCounters(redis_url).spent("reviews") >= 0.00002


def test_gateway_calls_are_traced(repo: Path, fake_llm: FakeLLM, langfuse_double) -> None:
    import os

    client = Client(repo)
    with RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), MemoryCounters())
    ) as running:
        ask(running.client(), "good")
    client.close()
    generations = [s for s in langfuse_double.spans if s["attributes"].get("langfuse.observation.type") == "generation"]
    assert [g["name"] for g in generations] == ["reviews/primary"]


def test_streaming_forwards_pieces_with_fallback_and_idempotency(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    from .doubles.fake_llm import Rule

    fake_llm.set_rules([Rule("Review:", "one two three four")])
    fake_llm.faults("m-primary", error_500=1.0)
    client = gateway.client()
    chunks = list(ask(client, "good", stream=True, extra_headers={"Idempotency-Key": "s-1"}))
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == [
        "one ",
        "two ",
        "three ",
        "four",
    ]
    assert chunks[-1].usage.completion_tokens == 4
    calls = fake_llm.count()
    replay = list(ask(client, "good", stream=True, extra_headers={"Idempotency-Key": "s-1"}))
    assert "".join(c.choices[0].delta.content or "" for c in replay if c.choices) == "one two three four"
    assert fake_llm.count() == calls, "a retried stream is answered from the stored response"


def test_content_filter_refusal_goes_to_the_content_policy_fallback(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-primary", content_filter_pattern="violent", content_filter_kind="azure")
    answer = ask(gateway.client(), "good but violent")
    assert answer.model_extra["promptship"]["fallback_used"] == "safe"
    assert fake_llm.count(model="m-backup") == 0, "a refusal never goes to the generic fallback"
