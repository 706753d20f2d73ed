"""The OpenAI-compatible gateway, driven by the official `openai` client, against the fake LLM server
and (for shared counters) a real Redis server started by the test."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from promptship.ops.recording import UsageRecorder
from promptship.ops.usage import UsageQuery
from promptship.ops.usage_sqlite import SqliteUsageStore
from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters, RedisCounters, key_digest
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM
from ..doubles.redis_server import running_redis
from .conftest import KEY, OTHER_KEY, RunningGateway, ask


def test_openai_client_works_unchanged_including_streaming(gateway: RunningGateway) -> None:
    client = gateway.client()
    answer = ask(client, "good food")
    assert answer.choices[0].message.content == "positive" and answer.usage.total_tokens > 0
    chunks = list(ask(client, "bad food", stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "negative"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    plain = list(ask(client, "bad food", stream=True))  # the usual loop reads choices[0] of every chunk
    assert "".join(c.choices[0].delta.content or "" for c in plain) == "negative"
    assert [m.id for m in client.models.list().data] == ["primary", "backup", "safe", "pool", "embed", "embed-pool"]


def test_langchain_chat_openai_works_unchanged_including_streaming(
    gateway: RunningGateway, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGSMITH_TRACING", "false")  # no hosted tracing from the test
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model="primary", base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key=KEY, max_retries=0, timeout=20
    )
    answer = chat.invoke("Review: good food")
    assert answer.content == "positive" and answer.usage_metadata["total_tokens"] > 0
    assert "".join(str(piece.content) for piece in chat.stream("Review: bad food")) == "negative"
    assert fake_llm.count() == 2


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


def test_concurrent_calls_cannot_overshoot_the_budget(repo: Path, fake_llm: FakeLLM) -> None:
    """Calls in flight hold their cost ceiling, so a burst cannot all start under the same budget;
    and an attempt that timed out counts as billed, so its retry needs budget room too (the old
    flake: under CPU load a timed-out call was retried and its first attempt never charged)."""
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.0002}\n")
    routing = repo / "policies/routing.yaml"
    routing.write_text(routing.read_text().replace("timeout_s: 0.5", "timeout_s: 5", 1))
    fake_llm.faults("m-primary", latency_s=1.0)  # all 20 calls are in flight together
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)

    async def burst(port: int) -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0) as api:

            async def one() -> str:
                try:
                    await api.chat.completions.create(
                        model="primary", messages=[{"role": "user", "content": "Review: good"}], max_tokens=5
                    )
                    return "answered"
                except openai.APIStatusError as exc:
                    return str(exc.code)

            return list(await asyncio.gather(*(one() for _ in range(20))))

    with RunningGateway(create_app(client, keys, counters)) as running:
        outcomes = asyncio.run(burst(running.port))
    # Each attempt may cost up to ~$0.00018 (its request and 5 output tokens at the priciest route,
    # the content-policy fallback), so the vendor is called at most twice; the others are refused
    # before any model call.
    assert fake_llm.count() <= 2 and 1 <= outcomes.count("answered") <= fake_llm.count()
    # refused while the first call holds the budget: "in use" (retry shortly), or "exceeded" once spent
    assert outcomes.count("budget_exceeded") + outcomes.count("budget_in_use") >= 18
    spent = asyncio.run(counters.spent("reviews"))
    assert 0 < spent < 0.0002, "reservations were replaced by the real cost"
    client.close()


def test_a_timed_out_attempt_is_billed_and_its_retry_needs_budget(repo: Path, fake_llm: FakeLLM) -> None:
    """The vendor may bill an attempt the gateway gave up on: its reservation is kept as spent, and
    the retry reserves anew within the budget."""
    fake_llm.faults("m-primary", hang_first_n=1, hang_s=5)  # past primary's 0.5 s timeout, once
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    with RunningGateway(create_app(client, keys, counters)) as running:
        response = running.client().chat.completions.with_raw_response.create(
            model="primary", messages=[{"role": "user", "content": "Review: good"}], max_tokens=5
        )
        answer = response.parse()
        assert response.headers["x-promptship-attempts"] == "2" and fake_llm.count() == 2
        spent = asyncio.run(counters.spent("reviews"))
        cost = answer.model_extra["promptship"]["cost_usd"]
        assert spent > 2 * cost, "the timed-out attempt is charged (at its ceiling), not only the answer"
        ceiling = spent - cost  # what the timed-out attempt was billed
        # Room for one attempt's reservation, not for the retry's after the first is billed.
        (repo / "policies/budgets.yaml").write_text(f"projects:\n  reviews: {{monthly_usd: {ceiling * 1.5}}}\n")
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    fake_llm.reset()
    fake_llm.faults("m-primary", hang_first_n=1, hang_s=5)
    usage = UsageRecorder(SqliteUsageStore(repo / "usage.sqlite"))
    app = create_app(client, keys, counters, usage=usage)
    with RunningGateway(app) as running, pytest.raises(openai.RateLimitError) as info:
        ask(running.client(), "good", max_tokens=5)
    assert info.value.code == "budget_exceeded" and info.value.response.headers["x-should-retry"] == "false"
    assert fake_llm.count() == 1, "no retry without budget room"
    assert info.value.response.headers["x-promptship-attempts"] == "1"
    (row,) = SqliteUsageStore(repo / "usage.sqlite").query(UsageQuery())
    assert (row.outcome, row.attempts) == ("budget", 1), "the usage row counts the attempt made before the refusal"
    client.close()


def test_a_managed_prompt_call_bills_its_timed_out_attempt(repo: Path, fake_llm: FakeLLM) -> None:
    import httpx

    fake_llm.faults("m-primary", hang_first_n=1, hang_s=5)
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    with RunningGateway(create_app(client, keys, counters)) as running:
        response = httpx.post(
            f"http://127.0.0.1:{running.port}/v1/prompts/classify/completions",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"variables": {"review": "bad meal"}},
            timeout=30,
        )
    assert response.status_code == 200 and fake_llm.count() == 2
    cost = response.json()["promptship"]["cost_usd"]
    assert asyncio.run(counters.spent("reviews")) > 2 * cost, "the timed-out attempt is charged too"
    client.close()


def test_budget_exhaustion_returns_429_and_the_budget_is_never_passed(repo: Path, fake_llm: FakeLLM) -> None:
    """A call starts only if its cost ceiling fits in what is left, so the month's spend never ends
    above the budget (before: a call was let in while spend was below it, and ended above)."""
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.0003}\n")
    client = Client(repo, langfuse=False)
    counters = MemoryCounters()
    with RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, __import__("os").environ), counters)
    ) as running:
        ask(running.client(), "good", max_tokens=2)  # about 9 tokens at $1/M: spends about $0.000009
        assert asyncio.run(counters.spent("reviews")) > 0
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(100):
                ask(running.client(), "good", max_tokens=2)
        assert info.value.code == "budget_exceeded" and "budget" in str(info.value)
        # refused once what is left (< one call's ceiling, ~$0.00015) cannot hold another call
        assert 0.0001 < asyncio.run(counters.spent("reviews")) <= 0.0003
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
    with running_redis(tmp_path) as (url, _):
        yield url


def test_two_gateways_share_budget_and_idempotency_through_redis(repo: Path, fake_llm: FakeLLM, redis_url: str) -> None:
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 0.0003}\n")
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
        first = ask(one.client(), "good", max_tokens=2, extra_headers={"Idempotency-Key": "shared-1"})
        again = ask(two.client(), "good", max_tokens=2, extra_headers={"Idempotency-Key": "shared-1"})
        assert first.id == again.id and fake_llm.count() == 1, "the retry on the other gateway is not billed"
        ask(two.client(), "good", max_tokens=2)
        with pytest.raises(openai.RateLimitError):
            for _ in range(100):
                ask((one, two)[fake_llm.count() % 2].client(), "good", max_tokens=2)
    assert 0.0001 < asyncio.run(RedisCounters(redis_url).spent("reviews")) <= 0.0003


def test_gateway_calls_are_traced(repo: Path, fake_llm: FakeLLM, langfuse_double) -> None:
    import os

    import httpx

    (repo / "policies/pii.yaml").write_text("default: block\ntypes: {phone: mask}\n")
    prompt = repo / "prompts/classify.yaml"  # served from its file: not published to this double
    prompt.write_text(prompt.read_text() + "release: {publish: false}\n")
    client = Client(repo)
    with RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), MemoryCounters())
    ) as running:
        ask(running.client(), "good")
        managed = httpx.post(
            f"http://127.0.0.1:{running.port}/v1/prompts/classify/completions",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"variables": {"review": "bad meal, call 010-2345-6789"}},
        )
        assert managed.status_code == 200, managed.text
    client.close()
    generations = [s for s in langfuse_double.spans if s["attributes"].get("langfuse.observation.type") == "generation"]
    assert [g["name"] for g in generations] == ["reviews/primary", "classify"]
    # A managed prompt's variables are traced, masked like the messages (what `dataset pull` reads back).
    traced = generations[1]["attributes"]
    assert json.loads(traced["langfuse.observation.metadata.prompt_variables"]) == {
        "review": "bad meal, call [PHONE_1]"
    }
    assert json.loads(traced["langfuse.observation.metadata.prompt_label"]) == "production"
    assert "langfuse.observation.metadata.prompt_variables" not in generations[0]["attributes"]
    assert "2345-6789" not in json.dumps(langfuse_double.spans)


def test_streaming_forwards_pieces_with_fallback_and_idempotency(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    from ..doubles.fake_llm import Rule

    fake_llm.set_rules([Rule("Review:", "one two three four")])
    fake_llm.faults("m-primary", error_500=1.0)
    client = gateway.client()
    usage = {"stream_options": {"include_usage": True}}
    chunks = list(ask(client, "good", stream=True, extra_headers={"Idempotency-Key": "s-1"}, **usage))
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == [
        "one ",
        "two ",
        "three ",
        "four",
    ]
    assert chunks[-1].usage.completion_tokens == 4
    calls = fake_llm.count()
    replay = list(ask(client, "good", stream=True, extra_headers={"Idempotency-Key": "s-1"}, **usage))
    assert "".join(c.choices[0].delta.content or "" for c in replay if c.choices) == "one two three four"
    assert fake_llm.count() == calls, "a retried stream is answered from the stored response"


def test_content_filter_refusal_goes_to_the_content_policy_fallback(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-primary", content_filter_pattern="violent", content_filter_kind="azure")
    answer = ask(gateway.client(), "good but violent")
    assert answer.model_extra["promptship"]["fallback_used"] == "safe"
    assert fake_llm.count(model="m-backup") == 0, "a refusal never goes to the generic fallback"


def until(condition: object, what: str) -> None:
    """Wait (up to 10 s) for ``condition()`` to hold; fail naming ``what`` otherwise."""
    deadline = time.time() + 10
    while not condition():  # type: ignore[operator]
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def in_thread(call: object) -> tuple[threading.Thread, dict[str, object]]:
    """Run ``call()`` in a thread; its result (or exception) lands in the returned dict."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = call()  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def ask_backup(client: openai.OpenAI, text: str, key: str, **extra: object):
    return client.chat.completions.create(
        model="backup",
        messages=[{"role": "user", "content": f"Review: {text}"}],
        extra_headers={"Idempotency-Key": key},
        **extra,
    )


def test_retry_while_the_first_call_runs_waits_for_its_answer(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-backup", latency_s=1.0)
    client = gateway.client()
    thread, first = in_thread(lambda: ask_backup(client, "good", "slow-1"))
    until(lambda: fake_llm.count() == 1, "the first call to reach the model")
    retry = ask_backup(client, "good", "slow-1")  # the client timed out and retries
    thread.join()
    assert retry.id == first["result"].id and retry.choices[0].message.content == "positive"
    assert fake_llm.count() == 1, "the retry waited for the first answer instead of calling the model"


def test_streamed_retry_while_the_first_stream_runs_replays_it(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-backup", latency_s=1.0)
    client = gateway.client()
    thread, first = in_thread(lambda: list(ask_backup(client, "bad", "slow-s", stream=True)))
    until(lambda: fake_llm.count() == 1, "the first stream to reach the model")
    retry = list(ask_backup(client, "bad", "slow-s", stream=True))
    thread.join()
    assert "".join(c.choices[0].delta.content or "" for c in retry if c.choices) == "negative"
    assert retry[0].id == first["result"][0].id and fake_llm.count() == 1


def test_idempotency_key_reused_for_another_request_is_refused(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    ask(client, "good", extra_headers={"Idempotency-Key": "k-1"})
    with pytest.raises(openai.UnprocessableEntityError) as info:
        ask(client, "bad", extra_headers={"Idempotency-Key": "k-1"})
    assert info.value.code == "idempotency_key_reused" and fake_llm.count() == 1


def test_a_failed_call_releases_its_idempotency_key(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    client = gateway.client()
    fake_llm.faults("m-backup", error_500=1.0)
    with pytest.raises(openai.APIStatusError) as info:
        ask_backup(client, "good", "fails-1")
    assert info.value.status_code == 502 and info.value.code == "server_error"
    fake_llm.reset()
    assert ask_backup(client, "good", "fails-1").choices[0].message.content == "positive"
    assert fake_llm.count() == 1, "the retry of a failed call calls the model"


def test_concurrent_retry_on_another_gateway_waits_through_redis(repo: Path, fake_llm: FakeLLM, redis_url: str) -> None:
    import os

    apps = []
    for _ in range(2):
        client = Client(repo, langfuse=False)
        keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
        apps.append(create_app(client, keys, RedisCounters(redis_url)))
    fake_llm.faults("m-backup", latency_s=1.0)
    with RunningGateway(apps[0]) as one, RunningGateway(apps[1]) as two:
        thread, first = in_thread(lambda: ask_backup(one.client(), "good", "shared-slow"))
        until(lambda: fake_llm.count() == 1, "the first call to reach the model")
        retry = ask_backup(two.client(), "good", "shared-slow")
        thread.join()
        assert retry.id == first["result"].id and fake_llm.count() == 1


def post(gateway: RunningGateway, path: str, content: bytes, key: str = KEY, method: str = "POST"):
    import httpx

    return httpx.request(
        method,
        f"http://127.0.0.1:{gateway.port}{path}",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        content=content,
    )


def assert_openai_error(response, status: int, code: str | None, param: str | None = None) -> str:
    """The response is OpenAI's error envelope with ``status`` and ``code``; returns its message."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and (param is None or body["error"]["param"] == param)
    return str(body["error"]["message"])


def test_pii_in_names_tool_calls_and_input_text_parts_is_caught(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    rrn, phone = "900101-1234568", "010-1234-5678"
    tool_call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": ""}}
    requests = [
        [{"role": "user", "name": f"user {rrn}", "content": "Review: good"}],
        [
            {"role": "user", "content": "Review: good"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{**tool_call, "function": {"name": "lookup", "arguments": json.dumps({"rrn": rrn})}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "found"},
        ],
        [{"role": "user", "content": [{"type": "input_text", "text": f"Review: good {rrn}"}]}],
        [{"role": "user", "content": [{"type": "text", "text": "Review: good"}, {"type": "refusal", "refusal": rrn}]}],
    ]
    for messages in requests:
        response = post(
            gateway, "/v1/chat/completions", json.dumps({"model": "primary", "messages": messages}).encode()
        )
        message = assert_openai_error(response, 400, "pii_blocked", "messages")
        assert "rrn at message" in message and "900101" not in message
    assert fake_llm.count() == 0, "nothing with a blocked value reached the vendor"
    masked = [
        {"role": "user", "content": "Review: good"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{**tool_call, "function": {"name": "lookup", "arguments": json.dumps({"phone": phone})}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"owner phone {phone}"},
    ]
    response = post(gateway, "/v1/chat/completions", json.dumps({"model": "primary", "messages": masked}).encode())
    assert response.status_code == 200 and response.json()["promptship"]["pii_masked"] == {"phone": 2}
    sent = json.dumps(fake_llm.journal[-1].messages)
    assert phone not in sent and sent.count("[PHONE_1]") == 2


def test_malformed_content_parts_fail_closed(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    for content in (
        [{"type": "text"}],
        [{"type": "text", "text": 5}],
        ["Review: good"],
        [{"text": "no type"}],
        {"text": "x"},
    ):
        body = {"model": "primary", "messages": [{"role": "user", "content": content}]}
        response = post(gateway, "/v1/chat/completions", json.dumps(body).encode())
        assert_openai_error(response, 400, "invalid_message", "messages")
    assert fake_llm.count() == 0


def test_bad_requests_get_openai_errors_not_crashes(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    assert_openai_error(post(gateway, "/v1/chat/completions", b"{not json"), 400, "invalid_json")
    assert_openai_error(post(gateway, "/v1/chat/completions", b"[1, 2]"), 400, "invalid_json")
    hi = post(gateway, "/v1/chat/completions", json.dumps({"model": "primary", "messages": "hi"}).encode())
    assert_openai_error(hi, 400, "invalid_request", "messages")
    no_model = post(
        gateway, "/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode()
    )
    assert "'model' is required" in assert_openai_error(no_model, 400, "invalid_request", "model")
    bad_role = post(
        gateway, "/v1/chat/completions", json.dumps({"model": "primary", "messages": [{"role": "boss"}]}).encode()
    )
    assert_openai_error(bad_role, 400, "invalid_request", "messages.0.role")
    variables = post(gateway, "/v1/prompts/classify/completions", json.dumps({"variables": "x"}).encode())
    assert_openai_error(variables, 400, "invalid_request", "variables")
    assert_openai_error(post(gateway, "/v1/nothing", b"{}"), 404, "not_found")
    assert_openai_error(post(gateway, "/v1/chat/completions", b"", method="GET"), 405, None)
    assert_openai_error(post(gateway, "/v1/prompts/nope/completions", b"{}"), 404, "prompt_not_found")
    assert_openai_error(post(gateway, "/v1/models", b"", key="wrong", method="GET"), 401, "invalid_api_key")
    assert fake_llm.count() == 0


def test_unexpected_failures_are_a_generic_500(repo: Path, tmp_path: Path) -> None:
    import os

    with running_redis(tmp_path) as (url, process):
        client = Client(repo, langfuse=False)
        app = create_app(client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), RedisCounters(url))
        process.terminate()
        process.wait(10)
        with RunningGateway(app) as running:
            body = {"model": "primary", "messages": [{"role": "user", "content": "Review: good"}]}
            response = post(running, "/v1/chat/completions", json.dumps(body).encode())
    message = assert_openai_error(response, 500, "internal_error")
    assert "redis" not in message.lower() and "127.0.0.1" not in message


def test_streaming_refusal_is_the_same_400_as_without_streaming(gateway: RunningGateway, fake_llm: FakeLLM) -> None:
    fake_llm.faults("m-backup", content_filter_pattern="violent", content_filter_kind="openai")
    client = gateway.client()
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            response = client.chat.completions.create(
                model="backup", messages=[{"role": "user", "content": "Review: violent"}], stream=stream
            )
            list(response) if stream else None
        assert info.value.code == "content_filter"


SHARED_KEY = "gw-shared-poc-0123456789abcdef"


def poc_gateway(repo: Path, budgets: str, monkeypatch: pytest.MonkeyPatch) -> RunningGateway:
    import os

    monkeypatch.setenv("GW_SHARED_SHA256", key_digest(SHARED_KEY))
    (repo / "policies/credentials.yaml").write_text(
        "mode: poc\nshared: {gateway_key_sha256_env: GW_SHARED_SHA256}\n"
        "projects:\n  reviews: {gateway_key_sha256_env: GW_REVIEWS_SHA256}\n"
    )
    (repo / "policies/budgets.yaml").write_text(budgets)
    client = Client(repo, langfuse=False)
    return RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), MemoryCounters())
    )


def test_poc_shared_key_is_charged_to_the_default_budget(
    repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = "projects:\n  reviews: {monthly_usd: 1.0}\ndefault: {monthly_usd: 0.0003}\n"
    with poc_gateway(repo, budgets, monkeypatch) as running:
        ask(running.client(SHARED_KEY), "good", max_tokens=2)  # about $0.000009
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(100):
                ask(running.client(SHARED_KEY), "good", max_tokens=2)
        assert info.value.code == "budget_exceeded" and "'shared'" in str(info.value)
        ask(running.client(KEY), "good")  # a project with its own budget is unaffected


def test_poc_shared_key_without_a_budget_is_refused(
    repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    with poc_gateway(repo, "projects:\n  reviews: {monthly_usd: 1.0}\n", monkeypatch) as running:
        with pytest.raises(openai.PermissionDeniedError) as info:
            ask(running.client(SHARED_KEY), "good")
        assert info.value.code == "budget_missing" and "policies/budgets.yaml" in str(info.value)
        assert fake_llm.count() == 0
        ask(running.client(KEY), "good")


def test_a_missing_credential_is_the_gateways_fault_not_the_clients(
    repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("FAKE_LLM_KEY")
    client = Client(repo, langfuse=False)
    with RunningGateway(
        create_app(client, KeyStore.from_policy(client.repo.policies.credentials, os.environ), MemoryCounters())
    ) as running:
        body = {"model": "primary", "messages": [{"role": "user", "content": "Review: good"}]}
        response = post(running, "/v1/chat/completions", json.dumps(body).encode())
    message = assert_openai_error(response, 500, "E801")
    assert "FAKE_LLM_KEY" not in message and fake_llm.count() == 0
