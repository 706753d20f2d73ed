"""Function calling through the gateway with the official openai client (sync, async, streaming), on
the direct path (primary) and through the LiteLLM Router (pool): tools offered, parallel tool calls
answered, tool results sent back, a final answer; the PII guard reads tool arguments and results."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from ..doubles.fake_llm import FakeLLM, Rule, ToolCall
from ..doubles.openai_check import assert_openai
from .conftest import KEY, RunningGateway

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Today's weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
QUESTION = [{"role": "user", "content": "What is the weather in Seoul and Busan?"}]
CALLS = [ToolCall("weather", {"city": "Seoul"}), ToolCall("weather", {"city": "Busan"})]


@pytest.fixture
def agent_rules(fake_llm: FakeLLM) -> FakeLLM:
    """The model calls the tool for both cities, then answers from the tool results."""
    fake_llm.set_rules([Rule(r"sunny\s+rainy", "Seoul is sunny, Busan is rainy."), Rule("weather in", CALLS)])
    return fake_llm


def results(calls: list) -> list[dict]:
    weather = {"Seoul": "sunny", "Busan": "rainy"}
    return [
        {"role": "tool", "tool_call_id": call.id, "content": weather[json.loads(call.function.arguments)["city"]]}
        for call in calls
    ]


@pytest.mark.parametrize("alias", ["primary", "pool"])
def test_tool_calling_round_trip(gateway: RunningGateway, agent_rules: FakeLLM, alias: str) -> None:
    client = gateway.client()
    first = client.chat.completions.create(model=alias, messages=QUESTION, tools=TOOLS, tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [json.loads(c.function.arguments)["city"] for c in choice.message.tool_calls] == ["Seoul", "Busan"]
    assert agent_rules.journal[-1].params["tools"] == TOOLS
    follow_up = [*QUESTION, choice.message.model_dump(exclude_none=True), *results(choice.message.tool_calls)]
    final = client.chat.completions.create(model=alias, messages=follow_up, tools=TOOLS)
    assert final.choices[0].message.content == "Seoul is sunny, Busan is rainy."
    assert [m["role"] for m in agent_rules.journal[-1].messages] == ["user", "assistant", "tool", "tool"]
    one = client.chat.completions.create(model=alias, messages=QUESTION, tools=TOOLS, parallel_tool_calls=False)
    assert len(one.choices[0].message.tool_calls) == 1


@pytest.mark.parametrize("alias", ["primary", "pool"])
def test_tool_calls_stream_as_deltas(gateway: RunningGateway, agent_rules: FakeLLM, alias: str) -> None:
    client = gateway.client()
    calls: dict[int, dict] = {}
    finishes = []
    for chunk in client.chat.completions.create(model=alias, messages=QUESTION, tools=TOOLS, stream=True):
        for choice in chunk.choices:
            finishes.extend([choice.finish_reason] if choice.finish_reason else [])
            for piece in choice.delta.tool_calls or []:
                call = calls.setdefault(piece.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = piece.id or call["id"]
                call["name"] += (piece.function.name or "") if piece.function else ""
                call["arguments"] += (piece.function.arguments or "") if piece.function else ""
    assert finishes == ["tool_calls"]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("weather", {"city": "Seoul"}),
        ("weather", {"city": "Busan"}),
    ]
    assert all(c["id"] for c in calls.values())


def test_async_client_and_stored_tool_answers_replay(gateway: RunningGateway, agent_rules: FakeLLM) -> None:
    async def arguments(client: openai.AsyncOpenAI) -> list[str]:
        stream = await client.chat.completions.create(
            model="primary", messages=QUESTION, tools=TOOLS, stream=True, extra_headers={"Idempotency-Key": "tools-1"}
        )
        return [
            p.function.arguments
            for c in [c async for c in stream]
            for ch in c.choices
            for p in ch.delta.tool_calls or []
        ]

    async def twice() -> tuple[list[str], list[str], object]:
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=KEY) as client:
            answer = await client.chat.completions.create(model="pool", messages=QUESTION, tools=TOOLS)
            return await arguments(client), await arguments(client), answer

    live, replayed, answer = asyncio.run(twice())
    assert len(answer.choices[0].message.tool_calls) == 2
    assert "".join(live) == "".join(replayed) == '{"city": "Seoul"}{"city": "Busan"}'
    assert agent_rules.count() == 2, "the retried stream was replayed from the stored answer"


def test_tool_answers_and_chunks_validate_against_openai_schema(gateway: RunningGateway, agent_rules: FakeLLM) -> None:
    url = f"http://127.0.0.1:{gateway.port}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "primary", "messages": QUESTION, "tools": TOOLS}
    assert_openai(httpx.post(url, headers=headers, json=body).json(), "CreateChatCompletionResponse")
    streamed = httpx.post(url, headers=headers, json={**body, "stream": True, "logprobs": True})
    for line in streamed.text.splitlines():
        if line.startswith("data:") and "[DONE]" not in line:
            assert_openai(json.loads(line[5:]), "CreateChatCompletionStreamResponse")
    agent_rules.set_rules([Rule("weather", "cloudy everywhere")])
    scored = httpx.post(url, headers=headers, json={**body, "logprobs": True, "top_logprobs": 2}).json()
    assert_openai(scored, "CreateChatCompletionResponse")
    assert [t["token"] for t in scored["choices"][0]["logprobs"]["content"]] == ["cloudy ", "everywhere"]
    assert agent_rules.journal[-1].params["top_logprobs"] == 2


def test_pii_guard_reads_tool_arguments_and_results(gateway: RunningGateway, agent_rules: FakeLLM) -> None:
    client = gateway.client()
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Seoul"}'}}
    history = [*QUESTION, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="primary",
            messages=[*history, {"role": "tool", "tool_call_id": "call_1", "content": "owner rrn 900101-1234568"}],
            tools=TOOLS,
        )
    assert info.value.code == "pii_blocked" and agent_rules.count() == 0
    leaky = {**call, "function": {"name": "weather", "arguments": '{"city": "Seoul", "phone": "010-1234-5678"}'}}
    client.chat.completions.create(
        model="primary",
        messages=[*QUESTION, {"role": "assistant", "content": None, "tool_calls": [leaky]}],
        tools=TOOLS,
    )
    assert "010-1234-5678" not in json.dumps(agent_rules.journal[-1].messages)
