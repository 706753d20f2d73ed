"""Operating the gateway and the SDK: start-up checks, a non-blocking LiteLLM warm-up, the access
log, spend that survives a restart, realistic budget reservations, expiring idempotency records."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import openai
import pytest

from promptship.errors import CredentialError, UsageError
from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters
from promptship.runtime.sdk import Client

from ..doubles.fake_llm import FakeLLM
from .conftest import KEY, RunningGateway, ask

PROJECT = Path(__file__).resolve().parents[2]


def test_missing_endpoint_and_key_variables_are_named_at_startup(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("FAKE_LLM_BASE")
    with caplog.at_level(logging.WARNING, logger="promptship.runtime.sdk"):
        Client(repo, langfuse=False).close()
    assert "FAKE_LLM_BASE (for primary, backup, safe, pool, embed, embed-pool)" in caplog.text
    assert "sk-test" not in caplog.text
    with pytest.raises(CredentialError) as info:
        Client(repo, langfuse=False, require_credentials=True)
    assert info.value.code == "E801" and "FAKE_LLM_BASE" in info.value.message


def test_gateway_refuses_to_start_without_its_variables(repo: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:
    monkeypatch.delenv("FAKE_LLM_KEY")
    result = run_cli("--root", str(repo), "gateway", "--port", "1")
    assert result.code != 0 and "FAKE_LLM_KEY" in result.err and "Traceback" not in result.err


WARM_UP = """
import asyncio, sys, time
from promptship.runtime.sdk import Client

async def main() -> None:
    client = Client(sys.argv[1], langfuse=False)
    assert "litellm" not in sys.modules
    beats = 0
    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.005)
            beats += 1
    ticker = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)
    before = beats
    await client.aprepare("pool")  # needs the LiteLLM Router
    during = beats - before
    ticker.cancel()
    print(during, "litellm" in sys.modules)
    client.close()

asyncio.run(main())
"""


def test_litellm_is_imported_off_the_event_loop(repo: Path) -> None:
    """In a fresh interpreter: while LiteLLM imports (seconds), the event loop keeps running."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WARM_UP), str(repo)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "tooling")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    beats, imported = done.stdout.split()
    # A blocked loop would run the heartbeat at most once during the import; a free one many times.
    assert imported == "True" and int(beats) >= 10, done.stdout


def gateway_over(repo: Path, counters: MemoryCounters, log: list[dict] | None = None) -> RunningGateway:
    client = Client(repo, langfuse=False)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    return RunningGateway(create_app(client, keys, counters, log.append if log is not None else None))


def test_access_log_is_one_json_record_per_request_without_text_or_secrets(repo: Path, fake_llm: FakeLLM) -> None:
    log: list[dict] = []
    fake_llm.faults("m-primary", fail_first_n=1)
    with gateway_over(repo, MemoryCounters(), log) as running:
        client = running.client()
        ask(client, "good, call me at 010-1234-5678")
        list(ask(client, "bad", stream=True))
        with pytest.raises(openai.BadRequestError):
            ask(client, "bad, I am 900101-1234568")
        with pytest.raises(openai.AuthenticationError):
            ask(running.client("wrong-key"), "good")
    answered, streamed, blocked, refused = log
    assert {k: answered[k] for k in ("project", "alias", "deployment", "status", "attempts", "stream")} == {
        "project": "reviews",
        "alias": "primary",
        "deployment": "fake-primary",
        "status": 200,
        "attempts": 2,  # the first try failed with a 500
        "stream": False,
    }
    assert answered["prompt_tokens"] > 0 and answered["cost_usd"] > 0 and answered["latency_ms"] > 0
    assert streamed["stream"] is True and streamed["completion_tokens"] > 0 and streamed["status"] == 200
    assert (blocked["status"], blocked["error"]) == (400, "pii_blocked")
    assert (refused["status"], refused["error"], "project" in refused) == (401, "invalid_api_key", False)
    text = json.dumps(log)
    for secret in ("Review", "010-1234", "900101", "wrong-key", KEY, "sk-test"):
        assert secret not in text


def test_spend_survives_a_restart_without_redis(repo: Path, fake_llm: FakeLLM, tmp_path: Path) -> None:
    spend_file = tmp_path / "spend.json"
    counters = MemoryCounters(spend_file)
    with gateway_over(repo, counters) as running:
        ask(running.client(), "good")
    spent = asyncio.run(counters.spent("reviews"))
    assert spent > 0 and json.loads(spend_file.read_text())["spend"]
    assert asyncio.run(MemoryCounters(spend_file).spent("reviews")) == pytest.approx(spent)
    spend_file.write_text("{not json")
    with pytest.raises(UsageError) as info:
        MemoryCounters(spend_file)
    assert str(spend_file) in info.value.message


def test_cli_says_where_spend_is_kept(repo: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)  # start-up only: no server
    result = run_cli("--root", str(repo), "gateway")
    assert result.code == 0 and "gateway-spend.json" in result.err


def test_in_memory_idempotency_records_expire() -> None:
    now = [0.0]
    counters = MemoryCounters(clock=lambda: now[0], sweep_interval_s=10)

    async def scenario() -> tuple[int, int]:
        for number in range(100):
            assert (await counters.claim(f"k{number}", "f", 600)).state == "owner"
            await counters.store(f"k{number}", "f", {"id": number}, 30)
        held = counters.record_count()
        now[0] = 31.0
        assert (await counters.claim("k0", "f", 600)).state == "owner", "an expired answer is not replayed"
        return held, counters.record_count()

    held, after = asyncio.run(scenario())
    assert (held, after) == (100, 1)


def test_a_large_max_tokens_does_not_starve_a_budget(repo: Path, fake_llm: FakeLLM) -> None:
    """64 concurrent calls asking for max_tokens=100000 on a $5 budget with a few cents spent."""
    (repo / "policies/budgets.yaml").write_text("projects:\n  reviews: {monthly_usd: 5.0}\n")
    counters = MemoryCounters()
    asyncio.run(counters.add_spend("reviews", 0.002))
    fake_llm.faults("m-backup", latency_s=0.3)  # the calls overlap

    async def burst(port: int) -> list[str]:
        client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=60)

        async def one() -> str:
            try:
                answer = await client.chat.completions.create(
                    model="backup", messages=[{"role": "user", "content": "Review: good"}], max_tokens=100000
                )
                return str(answer.choices[0].message.content)
            except openai.RateLimitError as exc:
                return str(exc.code)

        try:
            return await asyncio.gather(*(one() for _ in range(64)))
        finally:
            await client.close()

    with gateway_over(repo, counters) as running:
        outcomes = asyncio.run(burst(running.port))
    assert outcomes.count("positive") == 64, outcomes
