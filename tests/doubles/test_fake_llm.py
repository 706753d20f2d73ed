"""The fake LLM server behaves like an OpenAI-compatible endpoint, through httpx, openai and litellm."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from promptship.llm.backends import litellm_module

from .fake_llm import FakeLLM, Rule


def chat(llm: FakeLLM, model: str, text: str, **extra: object) -> httpx.Response:
    return httpx.post(
        f"{llm.base_url}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}], **extra},
        headers={"Authorization": "Bearer k"},
        timeout=10,
    )


def test_rule_table_and_usage_and_journal(fake_llm: FakeLLM) -> None:
    fake_llm.set_rules([Rule("only-for-b", "B!", model="b"), Rule("classify", "positive")])
    data = chat(fake_llm, "a", "please classify this").json()
    assert data["choices"][0]["message"]["content"] == "positive"
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"] > 0
    assert chat(fake_llm, "a", "only-for-b").json()["choices"][0]["message"]["content"] == "OK"
    assert chat(fake_llm, "b", "only-for-b").json()["choices"][0]["message"]["content"] == "B!"
    assert fake_llm.count() == 3 and fake_llm.count(model="b") == 1
    assert fake_llm.journal[0].messages[0]["content"] == "please classify this" and fake_llm.journal[0].authorization


def test_fault_injection_shapes(fake_llm: FakeLLM) -> None:
    fake_llm.faults("m", error_429=1.0, retry_after_s=2)
    limited = chat(fake_llm, "m", "x")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    fake_llm.faults("m", fail_first_n=1)
    assert chat(fake_llm, "m", "x").status_code == 500 and chat(fake_llm, "m", "x").status_code == 200
    fake_llm.faults("m", content_filter_pattern="violent")
    refused = chat(fake_llm, "m", "something violent")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "content_filter"
    fake_llm.faults("m", content_filter=1.0, content_filter_kind="azure_finish")
    assert chat(fake_llm, "m", "x").json()["choices"][0]["finish_reason"] == "content_filter"
    assert fake_llm.count(model="m", outcome="content_filter") == 2


def test_hang_is_released_on_stop() -> None:
    llm = FakeLLM().start()
    llm.faults("*", hang=1.0, hang_s=60)
    started = time.perf_counter()
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{llm.base_url}/chat/completions", json={"model": "m", "messages": []}, timeout=0.3)
    llm.stop()
    assert time.perf_counter() - started < 10


def test_openai_client_streams(fake_llm: FakeLLM) -> None:
    import openai

    fake_llm.set_rules([Rule("hello", "hi there friend")])
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hello"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi there friend"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


def test_litellm_real_http_path_including_azure(fake_llm: FakeLLM) -> None:
    litellm = litellm_module()
    fake_llm.set_rules([Rule("ping", "pong")])

    async def go() -> tuple[str, str]:
        openai_style = await litellm.acompletion(
            model="openai/m1",
            messages=[{"role": "user", "content": "ping"}],
            api_base=fake_llm.base_url,
            api_key="k",
            max_retries=0,
        )
        azure_style = await litellm.acompletion(
            model="azure/dep1",
            messages=[{"role": "user", "content": "ping"}],
            api_base=fake_llm.root_url,
            api_key="k",
            api_version="2024-10-21",
            max_retries=0,
        )
        return openai_style.choices[0].message.content, azure_style.choices[0].message.content

    assert asyncio.run(go()) == ("pong", "pong")
    assert fake_llm.count(model="m1") == 1 and fake_llm.count(model="dep1") == 1
    assert fake_llm.journal[-1].path == "/openai/deployments/dep1/chat/completions"


def test_tool_calls_and_logprobs_as_openai_sends_them(fake_llm: FakeLLM) -> None:
    import openai

    from .fake_llm import ToolCall

    calls = [ToolCall("weather", {"city": "Seoul"}), ToolCall("weather", {"city": "Busan"})]
    fake_llm.set_rules([Rule("weather", calls)])
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="k", max_retries=0)
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    ask = [{"role": "user", "content": "weather in Seoul and Busan?"}]
    answer = client.chat.completions.create(model="m", messages=ask, tools=tools)
    assert answer.choices[0].finish_reason == "tool_calls"
    assert [c.function.arguments for c in answer.choices[0].message.tool_calls] == [
        '{"city": "Seoul"}',
        '{"city": "Busan"}',
    ]
    one = client.chat.completions.create(model="m", messages=ask, tools=tools, parallel_tool_calls=False)
    assert len(one.choices[0].message.tool_calls) == 1
    assert (
        client.chat.completions.create(model="m", messages=ask, tools=tools, tool_choice="none")
        .choices[0]
        .message.content
        == "OK"
    )
    arguments: dict[int, str] = {}
    for chunk in client.chat.completions.create(model="m", messages=ask, tools=tools, stream=True):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
    assert arguments == {0: '{"city": "Seoul"}', 1: '{"city": "Busan"}'}
    fake_llm.set_rules([Rule("x", "two words")])
    scored = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], logprobs=True)
    assert [t.token for t in scored.choices[0].logprobs.content] == ["two ", "words"]
