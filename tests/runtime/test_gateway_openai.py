"""The gateway speaks OpenAI's API as published: every kind of answer validates against OpenAI's
OpenAPI schemas, and every documented chat parameter is forwarded or refused by name."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from ..doubles.fake_llm import FakeLLM
from ..doubles.openai_check import assert_openai
from .conftest import KEY, RunningGateway


def call(gateway: RunningGateway, method: str, path: str, body: object = None, key: str = KEY) -> httpx.Response:
    return httpx.request(
        method,
        f"http://127.0.0.1:{gateway.port}{path}",
        headers={"Authorization": f"Bearer {key}"},
        json=body,
        timeout=20,
    )


def sse_events(response: httpx.Response) -> list[dict]:
    lines = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def chat(text: str = "Review: good", **extra: object) -> dict:
    return {"model": "primary", "messages": [{"role": "user", "content": text}], **extra}


def test_every_answer_kind_validates_against_openai_schema(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    answer = call(gateway, "POST", "/v1/chat/completions", chat())
    assert answer.status_code == 200
    assert_openai(answer.json(), "CreateChatCompletionResponse")
    choice = answer.json()["choices"][0]
    assert choice["logprobs"] is None and choice["message"]["refusal"] is None
    for headers in ({}, {"Idempotency-Key": "schema-1"}, {"Idempotency-Key": "schema-1"}):  # live, live, replayed
        streamed = httpx.post(
            f"http://127.0.0.1:{gateway.port}/v1/chat/completions",
            headers={"Authorization": f"Bearer {KEY}", **headers},
            json=chat(stream=True, stream_options={"include_usage": True}),
        )
        events = sse_events(streamed)
        assert events[-1]["usage"]["total_tokens"] > 0
        for event in events:
            assert_openai(event, "CreateChatCompletionStreamResponse")
    assert_openai(call(gateway, "GET", "/v1/models").json(), "ListModelsResponse")
    assert_openai(call(gateway, "GET", "/v1/models/primary").json(), "Model")
    errors = [
        call(gateway, "POST", "/v1/chat/completions", chat(max_tokens="many")),
        call(gateway, "GET", "/v1/models", key="wrong"),
        call(gateway, "GET", "/v1/models/nope"),
        call(gateway, "POST", "/v1/nothing", {}),
    ]
    assert [e.status_code for e in errors] == [400, 401, 404, 404]
    for error in errors:
        assert_openai(error.json(), "ErrorResponse")


def test_model_lookup_and_health_endpoints(gateway: RunningGateway) -> None:
    client = gateway.client()
    assert client.models.retrieve("backup").id == "backup"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-4o")
    assert info.value.code == "model_not_found"
    live = httpx.get(f"http://127.0.0.1:{gateway.port}/livez")
    ready = httpx.get(f"http://127.0.0.1:{gateway.port}/readyz")
    assert (live.status_code, ready.status_code) == (200, 200) and ready.json()["status"] == "ok"


FORWARDED = {
    "reasoning_effort": "low",
    "service_tier": "flex",
    "metadata": {"team": "reviews"},
    "store": False,
    "prediction": {"type": "content", "content": "positive"},
    "logprobs": False,
    "verbosity": "low",
    "prompt_cache_key": "reviews-v1",
}


@pytest.mark.parametrize("alias", ["primary", "pool"])
def test_documented_parameters_are_forwarded_not_dropped(
    gateway: RunningGateway, fake_llm: FakeLLM, alias: str
) -> None:
    """On the direct path (primary) and through the LiteLLM Router (pool), which drops what it does
    not know unless it is sent in extra_body."""
    client = gateway.client()
    answer = client.chat.completions.create(
        model=alias,
        messages=[{"role": "user", "content": "Review: good"}],
        **FORWARDED,
        user="kim@example.com",
        max_completion_tokens=7,
        presence_penalty=0.5,
    )
    assert answer.choices[0].message.content == "positive"
    sent = fake_llm.journal[-1].params
    assert {name: sent.get(name) for name in FORWARDED} == FORWARDED
    assert sent["max_completion_tokens"] == 7 and sent["presence_penalty"] == 0.5
    # An end-user identifier is personal data: the vendor gets a stable pseudonym, never the value.
    assert sent["user"].startswith("ps-") and "kim" not in json.dumps(sent)
    client.chat.completions.create(model=alias, messages=[{"role": "user", "content": "x"}], user="kim@example.com")
    assert fake_llm.journal[-1].params["user"] == sent["user"]
    # What agent frameworks send with no tool to offer: it means "no tools", and OpenAI refuses it as is.
    client.chat.completions.create(
        model=alias,
        messages=[{"role": "user", "content": "x"}],
        tools=[],
        tool_choice="none",
        parallel_tool_calls=False,
    )
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(fake_llm.journal[-1].params)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": "many"}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"stream": "yes"}, "stream"),
        ({"n": 2}, "n"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"max_tokenz": 5}, "max_tokenz"),
    ],
)
def test_parameters_it_cannot_honour_are_a_400_naming_them(
    gateway: RunningGateway, fake_llm: FakeLLM, extra: dict, param: str
) -> None:
    response = call(gateway, "POST", "/v1/chat/completions", chat(**extra))
    body = response.json()
    assert response.status_code == 400 and body["error"]["param"] == param and param in body["error"]["message"]
    assert fake_llm.count() == 0
