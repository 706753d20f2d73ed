"""``POST /v1/embeddings`` through the gateway and ``Client.embed`` in the SDK: the official openai
client (sync and async, floats and its default base64), the PII guard, budgets, usage, fallbacks,
the direct path and the LiteLLM Router."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import openai
import pytest

from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM, fake_embedding
from ..doubles.openai_check import assert_openai
from .conftest import KEY, RunningGateway

TEXTS = ["bibimbap with extra egg", "cold noodles"]


def close_to(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(abs(a - b) < 1e-5 for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("alias", ["embed", "embed-pool"])
def test_openai_client_embeds_through_the_gateway(gateway: RunningGateway, fake_llm: FakeLLM, alias: str) -> None:
    """On the direct path (embed) and through the LiteLLM Router (embed-pool)."""
    client = gateway.client()
    answer = client.embeddings.create(model=alias, input=TEXTS)  # the client asks for base64 by default
    assert [d.index for d in answer.data] == [0, 1]
    assert all(close_to(d.embedding, fake_embedding(t)) for d, t in zip(answer.data, TEXTS, strict=True))
    assert answer.usage.prompt_tokens > 0 and answer.model == alias
    floats = client.embeddings.create(model=alias, input="cold noodles", encoding_format="float", dimensions=4)
    assert close_to(floats.data[0].embedding, fake_embedding("cold noodles", 4))
    assert fake_llm.journal[-1].params.get("dimensions") == 4

    async def together() -> list[list[float]]:
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=KEY) as aclient:
            answers = await asyncio.gather(*(aclient.embeddings.create(model=alias, input=t) for t in TEXTS))
        return [a.data[0].embedding for a in answers]

    assert all(close_to(v, fake_embedding(t)) for v, t in zip(asyncio.run(together()), TEXTS, strict=True))
    raw = httpx.post(
        f"http://127.0.0.1:{gateway.port}/v1/embeddings",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": alias, "input": TEXTS, "encoding_format": "float"},
    ).json()
    assert_openai(raw, "CreateEmbeddingResponse")


def test_embedding_inputs_pass_the_pii_guard(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="embed", input=["fine", "my rrn is 900101-1234568"])
    assert info.value.code == "pii_blocked" and "900101" not in str(info.value) and fake_llm.count() == 0
    answer = client.embeddings.create(model="embed", input="call 010-1234-5678 after six")
    sent = json.dumps(fake_llm.journal[-1].messages)
    assert "010-1234" not in sent and "[PHONE_1]" in sent
    assert answer.model_extra["promptship"]["pii_masked"] == {"phone": 1}


def test_embeddings_are_charged_to_the_budget_and_fall_back(repo, fake_llm: FakeLLM) -> None:
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.0001}\n")
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    fake_llm.faults("m-embed", error_500=1.0)  # the direct deployment is down: the pool answers
    with RunningGateway(create_app(client, keys, counters)) as running:
        openai_client = running.client()
        answer = openai_client.embeddings.create(model="embed", input=TEXTS)
        assert answer.model_extra["promptship"]["deployment"].startswith("fake-embed-")
        spent = asyncio.run(counters.spent("reviews"))
        assert spent == pytest.approx(answer.usage.prompt_tokens * 0.5 / 1e6)
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(100):
                openai_client.embeddings.create(model="embed", input=TEXTS)
        assert info.value.code == "budget_exceeded" and asyncio.run(counters.spent("reviews")) <= 0.0001
    client.close()


def test_embedding_requests_it_cannot_serve_are_refused_by_name(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    cases = [
        ({"model": "primary", "input": "x"}, 400, "model"),  # a chat alias
        ({"model": "nope", "input": "x"}, 404, "model"),
        ({"model": "embed", "input": [[1, 2, 3]]}, 400, "input"),  # token ids: the PII guard reads text
        ({"model": "embed", "input": ""}, 400, "input"),
        ({"model": "embed", "input": "x", "encoding_format": "int8"}, 400, "encoding_format"),
        ({"model": "embed", "input": "x", "truncate": True}, 400, "truncate"),
    ]
    for body, status, param in cases:
        response = httpx.post(
            f"http://127.0.0.1:{gateway.port}/v1/embeddings", headers={"Authorization": f"Bearer {KEY}"}, json=body
        )
        assert (response.status_code, response.json()["error"]["param"]) == (status, param), body
        assert_openai(response.json(), "ErrorResponse")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="embed", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "model_not_supported" and "/v1/embeddings" in info.value.message
    assert fake_llm.count() == 0


def test_sdk_embeds_with_the_routing_policy(repo, fake_llm: FakeLLM) -> None:
    client = Client(repo, langfuse=False)
    try:
        vectors = client.embed("embed", TEXTS)
        assert all(close_to(v, fake_embedding(t)) for v, t in zip(vectors, TEXTS, strict=True))
        result = asyncio.run(client.aembed("embed-pool", ["cold noodles"], dimensions=3))
        assert close_to(result.vectors[0], fake_embedding("cold noodles", 3)) and result.usage.cost_usd > 0
    finally:
        client.close()
