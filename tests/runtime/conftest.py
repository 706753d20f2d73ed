"""Gateway fixtures: the gateway on a real loopback port (uvicorn in a thread) over the fake LLM."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters, key_digest
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM
from ..eval.test_eval import SENTIMENT, make_repo

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


#: Two deployments, so the alias goes through the LiteLLM Router rather than the direct path.
POOL_ALIAS = "".join(
    f"""      - id: fake-pool-{name}
        model: openai/m-pool
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {{input_per_million: 1.0, output_per_million: 2.0}}
"""
    for name in ("a", "b")
)
POOL_ALIAS = "  pool:\n    retries: 1\n    timeout_s: 5\n    deployments:\n" + POOL_ALIAS
#: Embedding aliases: one on the direct path (with a fallback), one through the LiteLLM Router.
EMBEDDING_ALIASES = """\
  embed:
    kind: embedding
    retries: 1
    timeout_s: 5
    fallbacks: [embed-pool]
    deployments:
      - id: fake-embed
        model: openai/m-embed
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 0.5, output_per_million: 0}
  embed-pool:
    kind: embedding
    retries: 1
    timeout_s: 5
    deployments:
""" + "".join(
    f"""      - id: fake-embed-{name}
        model: openai/m-embed-pool
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {{input_per_million: 0.5, output_per_million: 0}}
"""
    for name in ("a", "b")
)


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
    routing = root / "policies/routing.yaml"
    routing.write_text(routing.read_text().replace("profiles:\n", POOL_ALIAS + EMBEDDING_ALIASES + "profiles:\n"))
    return root


@pytest.fixture
def gateway(repo: Path) -> Iterator[RunningGateway]:
    client = Client(repo, langfuse=False)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    with RunningGateway(create_app(client, keys, MemoryCounters())) as running:
        yield running


def ask(client: openai.OpenAI, text: str, **extra: object):
    return client.chat.completions.create(
        model="primary", messages=[{"role": "user", "content": f"Review: {text}"}], **extra
    )


@pytest.fixture
def gateway_over(fake_llm: FakeLLM):
    """``gateway_over(repo)``: a gateway over ``repo`` as it is now (a test may edit its policies first)."""

    def start(root: Path) -> RunningGateway:
        client = Client(root, langfuse=False)
        keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
        return RunningGateway(create_app(client, keys, MemoryCounters()))

    return start
