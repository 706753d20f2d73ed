"""Usage recorded by the real gateway (loopback, fake LLM upstream) and reported by the real CLI:
totals equal what the upstream counted and charged; rows survive a restart; replicas sharing Redis
give one report; a broken store never fails a request."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import httpx
import openai
import pytest

from promptship.ops.recording import UsageRecorder, recorder_for
from promptship.ops.usage import key_id
from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters, RedisCounters
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM
from ..doubles.redis_server import running_redis
from ..ops.test_usage_postgres import running_postgres
from .conftest import KEY, OTHER_KEY, RunningGateway, ask

#: USD per million tokens (input, output) of the fake models, as the test repository's routing prices them.
PRICES = {"m-primary": (1.0, 2.0), "m-backup": (1.0, 2.0), "m-embed": (0.5, 0.0)}


def charged(fake_llm: FakeLLM) -> float:
    """What the upstream's reported usage costs at the routing policy's prices."""
    return sum(
        fake_llm.tokens("prompt_tokens", model) * i / 1e6 + fake_llm.tokens("completion_tokens", model) * o / 1e6
        for model, (i, o) in PRICES.items()
    )


def started(repo: Path, counters: object, usage: UsageRecorder | None) -> RunningGateway:
    client = Client(repo, langfuse=False)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    return RunningGateway(create_app(client, keys, counters, usage=usage))  # type: ignore[arg-type]


def usage_json(run_cli, repo: Path, *args: str) -> dict:
    result = run_cli("--root", str(repo), "usage", "--format", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_usage_report_totals_equal_what_the_upstream_counted_and_charged(
    repo: Path, fake_llm: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "policies/budgets.yaml").write_text(
        "projects:\n  reviews: {monthly_usd: 1.0}\n  support: {monthly_usd: 1.0}\n"
    )
    fake_llm.faults("*", fail_pattern="outage")
    counters = MemoryCounters()
    with started(repo, counters, recorder_for(os.environ, repo)) as running:
        reviews, support = running.client(KEY), running.client(OTHER_KEY)
        ask(reviews, "good")
        ask(reviews, "bad, call me at 010-1234-5678")  # masked, then sent
        assert "".join(c.choices[0].delta.content or "" for c in ask(reviews, "good", stream=True) if c.choices)
        list(ask(reviews, "bad", stream=True, stream_options={"include_usage": True}))
        reviews.embeddings.create(model="embed", input=["good", "bad food"])
        with pytest.raises(openai.APIStatusError):
            ask(reviews, "outage")  # every attempt of primary and its fallback fails
        with pytest.raises(openai.BadRequestError):
            ask(reviews, "bad, I am 900101-1234568")  # blocked by the PII policy, nothing sent
        managed = httpx.post(
            f"http://127.0.0.1:{running.port}/v1/prompts/classify/completions",
            headers={"Authorization": f"Bearer {OTHER_KEY}"},
            json={"variables": {"review": "good meal"}},
        )
        assert managed.status_code == 200
        ask(support, "good")
        asyncio.run(counters.add_spend("support", 5.0))  # support's month is spent
        with pytest.raises(openai.RateLimitError):
            ask(support, "good")
        with pytest.raises(openai.AuthenticationError):
            ask(running.client("not-a-key"), "good")  # no project: not a call of anyone's
    upstream_calls = fake_llm.count()

    report = usage_json(run_cli, repo)
    total = report["total"]
    assert total["calls"] == 10
    assert total["attempts"] == upstream_calls  # every upstream request, retries and fallbacks included
    assert total["input_tokens"] == fake_llm.tokens("prompt_tokens") > 0
    assert total["output_tokens"] == fake_llm.tokens("completion_tokens") > 0
    assert total["cost_usd"] == pytest.approx(charged(fake_llm), rel=1e-9)
    assert total["errors_by_outcome"] == {"blocked": 1, "budget": 1, "server_error": 1}
    groups = {g["key"]: g for g in report["groups"]}
    assert (groups["reviews"]["calls"], groups["support"]["calls"]) == (7, 3)
    assert groups["support"]["errors_by_outcome"] == {"budget": 1}
    assert groups["reviews"]["latency_p50_ms"] > 0 and groups["reviews"]["attempts_per_call"] > 1
    assert sum(g["calls"] for g in report["daily"]) == 10

    by_prompt = {g["key"]: g for g in usage_json(run_cli, repo, "--by", "prompt")["groups"]}
    assert by_prompt["classify"]["calls"] == 1 and by_prompt["(no prompt)"]["calls"] == 9
    by_alias = {g["key"]: g["calls"] for g in usage_json(run_cli, repo, "--by", "alias")["groups"]}
    assert by_alias == {"primary": 9, "embed": 1}
    assert usage_json(run_cli, repo, "--project", "support")["total"]["calls"] == 3

    text = (repo / ".promptship/usage.sqlite").read_bytes()
    for secret in (b"Review", b"010-1234", b"900101", KEY.encode(), OTHER_KEY.encode()):
        assert secret not in text
    assert key_id(KEY).encode() in text


def test_usage_rows_survive_a_gateway_restart(repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    for _ in range(2):
        with started(repo, MemoryCounters(), recorder_for(os.environ, repo)) as running:
            ask(running.client(), "good")
    assert usage_json(run_cli, repo)["total"]["calls"] == 2


def test_two_gateways_sharing_redis_give_one_report(
    repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_redis(tmp_path) as (url, _):
        monkeypatch.setenv("REDIS_URL", url)
        first = started(repo, RedisCounters(url), recorder_for(os.environ, repo))
        second = started(repo, RedisCounters(url), recorder_for(os.environ, repo))
        with first, second:
            for _ in range(3):
                ask(first.client(KEY), "good")
            ask(second.client(KEY), "bad")
            ask(second.client(OTHER_KEY), "good")
        report = usage_json(run_cli, repo)
    assert report["total"]["calls"] == 5 and report["total"]["attempts"] == fake_llm.count() == 5
    assert {g["key"]: g["calls"] for g in report["groups"]} == {"reviews": 4, "support": 1}
    assert not (repo / ".promptship/usage.sqlite").exists()


@pytest.mark.parametrize("store", ["not-a-database", "redis-down"])
def test_a_broken_usage_store_never_fails_a_request(
    repo: Path, fake_llm: FakeLLM, store: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if store == "not-a-database":
        broken = repo / "usage.sqlite"
        broken.write_bytes(b"garbage" * 1000)
        monkeypatch.setenv("PROMPTSHIP_USAGE_URL", f"sqlite:///{broken}")
    else:
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    recorder = recorder_for(os.environ, repo)
    assert recorder is not None
    with (
        caplog.at_level(logging.ERROR, logger="promptship.ops.usage"),
        started(repo, MemoryCounters(), recorder) as running,
    ):
        for _ in range(3):
            assert ask(running.client(), "good").choices[0].message.content == "positive"
        assert recorder.flush(30)
    assert recorder.stats().lost == 3 and recorder.stats().written == 0
    assert len([r for r in caplog.records if r.name == "promptship.ops.usage" and r.levelno >= logging.ERROR]) == 1


def test_the_gateway_records_to_postgres_and_the_report_reads_it(
    repo: Path, fake_llm: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_postgres() as url:
        monkeypatch.setenv("PROMPTSHIP_USAGE_URL", url)
        with started(repo, MemoryCounters(), recorder_for(os.environ, repo)) as running:
            ask(running.client(), "good")
            ask(running.client(), "bad")
        report = usage_json(run_cli, repo)
    assert report["total"]["calls"] == 2 and report["total"]["input_tokens"] == fake_llm.tokens("prompt_tokens")
    assert report["source"].startswith("postgresql://***@127.0.0.1")  # a user name alone may be a token


def test_a_clients_text_in_a_prompt_path_or_label_never_reaches_the_usage_rows(
    repo: Path, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The managed endpoint noted the path's prompt name and the body's label before either was known:
    a client's text (here a name and a phone number) went into the access log and the usage store."""
    recorder = recorder_for(os.environ, repo)
    assert recorder is not None
    pii = "김도현 010-2384-5521"
    with caplog.at_level(logging.INFO), started(repo, MemoryCounters(), recorder) as running:
        base, headers = f"http://127.0.0.1:{running.port}/v1/prompts", {"Authorization": f"Bearer {KEY}"}
        body = {"variables": {"review": "good meal"}}
        with httpx.Client(headers=headers, timeout=120) as http:
            unknown = http.post(f"{base}/{pii}/completions", json=body)
            labelled = http.post(f"{base}/classify/completions", json={**body, "label": pii})
            served = http.post(f"{base}/classify/completions", json=body)
        assert recorder.flush(30)
    assert (unknown.status_code, labelled.status_code, served.status_code) == (404, 400, 200)
    assert "label" in labelled.json()["error"]["message"]
    stored = (repo / ".promptship/usage.sqlite").read_bytes()
    assert b"classify" in stored, "the call that was served is recorded with its prompt"
    for text in ("김도현", "2384"):
        assert text.encode() not in stored and text not in caplog.text
