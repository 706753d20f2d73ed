"""The SDK records one usage row per call (complete, stream, embed, failures), and ``promptship usage
--source langfuse`` rebuilds the same report from the Langfuse double's observations, page by page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from promptship import Client
from promptship.errors import ModelCallFailed
from promptship.ops.usage import UsageQuery
from promptship.ops.usage_sqlite import SqliteUsageStore
from promptship.pii import PiiBlockedError

from ..doubles.fake_llm import FakeLLM
from ..doubles.langfuse_api import LangfuseDouble
from .test_sdk import REVIEW, published  # noqa: F401 - the fixture

PRICES = {"m-primary": (1.0, 2.0), "m-backup": (1.0, 2.0), "m-embed": (0.5, 0.0)}


def test_the_sdk_records_one_row_per_call_without_text(repo: Path, fake_llm: FakeLLM) -> None:
    fake_llm.faults("*", fail_pattern="outage")
    client = Client(repo, langfuse=False, project="catalog")

    async def calls() -> None:
        await client.acomplete("classify", {"review": "good meal"})
        streamed = await client.astream("classify", {"review": "bad meal"})
        assert [piece async for piece in streamed] and streamed.result is not None
        await client.aembed("embed", ["good", "bad meal"])
        with pytest.raises(PiiBlockedError):
            await client.acomplete("classify", {"review": "I am 900101-1234568"})
        with pytest.raises(ModelCallFailed):
            await client.acomplete("classify", {"review": "outage"})
        await client.router.aclose()

    asyncio.run(calls())
    client.close()
    path = repo / ".promptship/usage.sqlite"
    rows = list(SqliteUsageStore(path).query(UsageQuery()))
    assert [(r.source, r.project, r.alias, r.prompt, r.outcome) for r in rows] == [
        ("sdk", "catalog", "primary", "classify", "ok"),
        ("sdk", "catalog", "primary", "classify", "ok"),
        ("sdk", "catalog", "embed", None, "ok"),
        ("sdk", "catalog", "primary", "classify", "blocked"),
        ("sdk", "catalog", "primary", "classify", "server_error"),
    ]
    assert sum(r.attempts for r in rows) == fake_llm.count()
    assert sum(r.input_tokens for r in rows) == fake_llm.tokens("prompt_tokens")
    assert sum(r.output_tokens for r in rows) == fake_llm.tokens("completion_tokens")
    charged = sum(
        fake_llm.tokens("prompt_tokens", m) * i / 1e6 + fake_llm.tokens("completion_tokens", m) * o / 1e6
        for m, (i, o) in PRICES.items()
    )
    assert sum(r.cost_usd for r in rows) == pytest.approx(charged, rel=1e-9)
    assert all(r.key_id is None and r.latency_ms > 0 for r in rows)
    assert all(r.request_hash for r in rows if r.outcome != "blocked")  # a blocked request is never hashed
    assert rows[0].request_hash != rows[1].request_hash
    assert b"meal" not in path.read_bytes() and b"900101" not in path.read_bytes()


def test_usage_from_langfuse_matches_the_store_and_adds_calls_that_bypassed_it(
    published: Path,  # noqa: F811 - the fixture
    fake_llm: FakeLLM,
    langfuse_double: LangfuseDouble,
    run_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = Client(published)
    for review in ("good food", "bad food", "good again"):
        client.complete("classify", {"review": review})
    client.close()
    langfuse_double.traces.add_generation(  # another application's call, traced straight to Langfuse
        None, None, metadata={"project": "other-app"}, latency_s=1.5, cost_usd=0.5, usage={"input": 100, "output": 20}
    )
    monkeypatch.setattr("promptship.ops.langfuse_usage.PAGE", 2)  # several pages

    def report(*args: str) -> dict:
        done = run_cli("--root", str(published), "usage", "--format", "json", "--by", "version", *args)
        assert done.code == 0, done.err
        return json.loads(done.out)

    stored, traced = report(), report("--source", "langfuse")
    assert traced["source"] == "langfuse"
    from_sdk = {g["key"]: g for g in traced["groups"]}["classify v1 [production]"]  # the label from the metadata
    mine = {g["key"]: g for g in stored["groups"]}["classify v1 [production]"]
    for figure in ("calls", "input_tokens", "output_tokens", "attempts"):
        assert from_sdk[figure] == mine[figure], figure
    assert from_sdk["calls"] == 3 and from_sdk["cost_usd"] == pytest.approx(mine["cost_usd"])
    assert traced["total"]["calls"] == 4 and traced["total"]["cost_usd"] == pytest.approx(mine["cost_usd"] + 0.5)
    by_project = report("--source", "langfuse", "--project", "other-app")
    assert by_project["total"]["calls"] == 1 and by_project["total"]["latency_p50_ms"] == pytest.approx(1500)
    pages = [p for m, p in langfuse_double.journal if p.startswith("/api/public/v2/observations")]
    assert len(pages) >= 3 and any("cursor=" in p for p in pages)


def test_langfuse_usage_without_keys_names_the_variables(repo: Path, run_cli, monkeypatch) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST"):
        monkeypatch.delenv(name, raising=False)
    done = run_cli("--root", str(repo), "usage", "--source", "langfuse")
    assert done.code == 2 and "E801" in done.err and "LANGFUSE_PUBLIC_KEY" in done.err


def test_langfuse_usage_reads_free_form_metadata_without_a_traceback(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    """Metadata is whatever a client wrote: "NaN" attempts or an infinite latency fall back to defaults."""
    langfuse_double.traces.add_generation(
        None, None, metadata={"project": "app", "attempts": "NaN", "latency_ms": "Infinity"}, latency_s=2.0
    )
    langfuse_double.traces.add_generation(None, None, metadata={"project": "app", "attempts": 1e400}, latency_s=1.0)
    done = run_cli("--root", str(repo), "usage", "--source", "langfuse", "--format", "json")
    assert done.code == 0 and "Traceback" not in done.err, done.err
    total = json.loads(done.out)["total"]
    assert (total["calls"], total["attempts"]) == (2, 2)


def test_langfuse_usage_reads_through_the_shared_reader_retrying_then_failing_with_e820(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    """The usage report reads observations as `dataset pull` does (LangfuseStore.read, llm/retry.py)."""
    import os

    langfuse_double.traces.add_generation(None, None, metadata={"project": "app"}, latency_s=1.0)
    langfuse_double.traces.fail_reads = [503, 429]  # transient: retried
    done = run_cli("--root", str(repo), "usage", "--source", "langfuse", "--format", "json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["total"]["calls"] == 1 and langfuse_double.traces.fail_reads == []
    langfuse_double.traces.fail_reads = [500] * 10  # persistent: a located error, not a traceback
    failed = run_cli("--root", str(repo), "usage", "--source", "langfuse", "--format", "json")
    assert failed.code != 0 and "E820" in failed.err and "Traceback" not in failed.err
    assert os.environ["LANGFUSE_SECRET_KEY"] not in failed.err + failed.out


def test_a_script_that_exits_without_closing_the_client_keeps_its_usage_rows(repo: Path, fake_llm: FakeLLM) -> None:
    """The recorder writes from a daemon thread: rows still queued at exit were lost without close()."""
    import os
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from promptship import Client; "
        "print(Client(Path(sys.argv[1]), langfuse=False).complete('classify', {'review': 'good meal'}).text)"
    )
    done = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    rows = list(SqliteUsageStore(repo / ".promptship/usage.sqlite").query(UsageQuery()))
    assert [(r.source, r.prompt, r.outcome) for r in rows] == [("sdk", "classify", "ok")]
