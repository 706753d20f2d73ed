"""The runtime SDK against the Langfuse double and the fake LLM server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptship import Client
from promptship.pii import PiiBlockedError

from .doubles.fake_llm import FakeLLM
from .doubles.langfuse_api import LangfuseDouble
from .test_eval import SENTIMENT, make_repo

REVIEW = {"review": "good food number 1"}


@pytest.fixture
def published(
    tmp_path: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble, run_cli, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A repository whose prompts are published to the Langfuse double; then the local file changes."""
    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    repo = make_repo(tmp_path, items=2)
    # A separate process, as in CI: the SDK keeps one client per public key per process, and the
    # sync's client has tracing off.
    done = subprocess.run(
        [Path(sys.executable).parent / "promptship", "--root", str(repo), "sync", "--ref", "main", "--apply"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    prompt = repo / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("One word.", "LOCAL EDIT, not published."))
    return repo


def sent_texts(fake_llm: FakeLLM) -> list[str]:
    return [json.dumps(r.messages, ensure_ascii=False) for r in fake_llm.journal]


def test_complete_serves_the_production_version_from_langfuse(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    client = Client(published)
    result = client.complete("classify", REVIEW)
    assert (result.prompt_version, result.prompt_source, result.model_alias) == (1, "langfuse", "primary")
    assert result.deployment == "fake-primary" and result.cost_usd > 0 and result.completion_tokens > 0
    assert "One word." in sent_texts(fake_llm)[-1] and "LOCAL EDIT" not in sent_texts(fake_llm)[-1]
    client.close()
    generations = [s for s in langfuse_double.spans if s["attributes"].get("langfuse.observation.type") == "generation"]
    assert generations and generations[-1]["attributes"].get("langfuse.observation.prompt.name") == "classify"
    assert str(generations[-1]["attributes"].get("langfuse.observation.prompt.version")) == "1"


def test_prompts_are_cached_for_the_ttl(published: Path, langfuse_double: LangfuseDouble) -> None:
    client = Client(published, cache_ttl_s=60)

    def label_reads() -> int:
        return sum(1 for m, p in langfuse_double.journal if m == "GET" and p.endswith("classify?label=production"))

    by_sync = label_reads()  # the sync that published also reads labels
    client.prompt("classify")
    client.prompt("classify")
    client.complete("classify", REVIEW)
    assert label_reads() - by_sync == 1
    Client(published, cache_ttl_s=0).prompt("classify")
    assert label_reads() - by_sync == 2


def test_langfuse_down_serves_the_cache_then_the_bundled_file(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    warm = Client(published, cache_ttl_s=0)
    assert warm.prompt("classify").source == "langfuse"
    langfuse_double.stop()
    stale = warm.prompt("classify")
    assert stale.source == "stale-cache" and stale.version == 1
    cold = Client(published)
    result = cold.complete("classify", REVIEW)
    assert result.prompt_source == "bundled" and result.prompt_version is None
    assert "LOCAL EDIT" in sent_texts(fake_llm)[-1], "the bundled file is the last known good"


def test_pii_is_masked_or_blocked_before_the_call(published: Path, fake_llm: FakeLLM) -> None:
    (published / "policies/pii.yaml").write_text("default: block\ntypes: {phone: mask}\n")
    client = Client(published)
    result = client.complete("classify", {"review": "good, call 010-1234-5678"})
    assert result.pii_masked == {"phone": 1}
    assert "010-1234-5678" not in sent_texts(fake_llm)[-1] and "[PHONE_1]" in sent_texts(fake_llm)[-1]
    before = fake_llm.count()
    with pytest.raises(PiiBlockedError) as info:
        client.complete("classify", {"review": "bad, 900101-1234568"})
    assert "900101" not in info.value.format() and fake_llm.count() == before


def test_vendor_failures_are_absorbed_by_the_fallback(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    fake_llm.faults("m-primary", error_500=1.0)
    client = Client(published)
    result = client.complete("classify", REVIEW)
    assert result.fallback_used == "backup" and result.attempts == 5 and result.text == "positive"
    client.close()
    events = [s["name"] for s in langfuse_double.spans if s["attributes"].get("langfuse.observation.type") == "event"]
    assert events == ["retry: server_error"] * 4, "every failed attempt is an event of the generation"


def test_pii_block_is_traced_without_values(published: Path, langfuse_double: LangfuseDouble) -> None:
    client = Client(published)
    with pytest.raises(PiiBlockedError):
        client.complete("classify", {"review": "bad, 900101-1234568"})
    client.close()
    guardrails = [s for s in langfuse_double.spans if s["attributes"].get("langfuse.observation.type") == "guardrail"]
    assert guardrails and guardrails[0]["name"] == "pii blocked: classify"
    assert "900101" not in json.dumps(langfuse_double.spans)


def test_images_become_content_parts(published: Path, fake_llm: FakeLLM) -> None:
    Client(published).complete("classify", REVIEW, images=["data:image/png;base64,iVBORw0KGgo="])
    last_user = fake_llm.journal[-1].messages[-1]
    assert last_user["content"][0]["type"] == "text"
    assert last_user["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def test_unknown_prompt_is_a_clear_error(published: Path) -> None:
    from promptship.sdk import PromptNotFound

    with pytest.raises(PromptNotFound, match="no prompt 'nope' with label 'production'"):
        Client(published).prompt("nope")


def test_streaming_yields_pieces_then_the_result(published: Path, fake_llm: FakeLLM) -> None:
    import asyncio

    from .doubles.fake_llm import Rule

    fake_llm.set_rules([Rule("Review:", "this review sounds quite positive to me")])
    client = Client(published)

    async def consume() -> tuple[list[str], object]:
        streamed = await client.astream("classify", REVIEW)
        pieces = [piece async for piece in streamed]
        await client.router.aclose()
        return pieces, streamed.result

    pieces, result = asyncio.run(consume())
    assert len(pieces) == 7 and "".join(pieces) == "this review sounds quite positive to me"
    from .doubles.fake_llm import count_tokens

    assert result.text == "".join(pieces) and result.completion_tokens == count_tokens(result.text) > 0
    assert result.cost_usd > 0
    assert fake_llm.journal[-1].params["stream"] is True
