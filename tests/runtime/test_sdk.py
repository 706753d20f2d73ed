"""The runtime SDK against the Langfuse double and the fake LLM server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from promptship import Client
from promptship.pii import PiiBlockedError

from ..doubles.fake_llm import FakeLLM
from ..doubles.langfuse_api import LangfuseDouble
from ..doubles.server import BackgroundServer
from ..eval.test_eval import SENTIMENT, make_repo

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
    assert result.deployment == "fake-primary" and result.usage.cost_usd > 0 and result.usage.completion_tokens > 0
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
    client.close()


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
    cold.close()


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
    client.close()


def test_vendor_failures_are_absorbed_by_the_fallback(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    fake_llm.faults("m-primary", error_500=1.0)
    client = Client(published)
    result = client.complete("classify", REVIEW)
    assert result.fallback_used == "backup" and result.usage.attempts == 5 and result.text == "positive"
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
    client = Client(published)
    client.complete("classify", REVIEW, images=["data:image/png;base64,iVBORw0KGgo="])
    client.close()
    last_user = fake_llm.journal[-1].messages[-1]
    assert last_user["content"][0]["type"] == "text"
    assert last_user["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def test_unknown_prompt_is_a_clear_error(published: Path) -> None:
    from promptship.runtime.sdk import PromptNotFound

    with pytest.raises(PromptNotFound, match="no prompt 'nope' with label 'production'"):
        Client(published).prompt("nope")


def test_a_service_starts_despite_a_dataset_mistake_but_not_a_prompt_mistake(
    published: Path, fake_llm: FakeLLM
) -> None:
    from promptship.errors import RepositoryInvalid

    items = published / "datasets/reviews.jsonl"
    items.write_text(items.read_text() + "{not json\n")
    client = Client(published, langfuse=False)
    assert client.complete("classify", REVIEW).text == "positive"
    client.close()
    prompt = published / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("{{ review }}", "{{ reveiw }}"))
    with pytest.raises(RepositoryInvalid) as info:
        Client(published, langfuse=False)
    assert any(d.code == "E101" and d.path == "prompts/classify.yaml" for d in info.value.diagnostics)


def test_an_unpublished_prompt_is_served_from_its_bundled_file(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    internal = published / "prompts/internal.yaml"
    internal.write_text((published / "prompts/classify.yaml").read_text() + "release: {publish: false}\n")
    client = Client(published)
    result = client.complete("internal", REVIEW)
    assert (result.prompt_source, result.text) == ("bundled", "positive")
    assert not any("internal" in path for _, path in langfuse_double.journal), "never asked Langfuse"
    client.close()


def test_streaming_yields_pieces_then_the_result(published: Path, fake_llm: FakeLLM) -> None:
    import asyncio

    from ..doubles.fake_llm import Rule

    fake_llm.set_rules([Rule("Review:", "this review sounds quite positive to me")])
    client = Client(published)

    async def consume() -> tuple[list[str], object]:
        streamed = await client.astream("classify", REVIEW)
        pieces = [piece async for piece in streamed]
        await client.router.aclose()
        return pieces, streamed.result

    pieces, result = asyncio.run(consume())
    assert len(pieces) == 7 and "".join(pieces) == "this review sounds quite positive to me"
    from ..doubles.fake_llm import count_tokens

    assert result.text == "".join(pieces) and result.usage.completion_tokens == count_tokens(result.text) > 0
    assert result.usage.cost_usd > 0
    assert fake_llm.journal[-1].params["stream"] is True


class LangfuseProxy:
    """The Langfuse double behind a loopback proxy that can hold prompt reads: while ``holding``, a
    prompt read is accepted and gets no answer until :meth:`release` (or the proxy stops)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.holding = False
        self.held = 0
        self._released = asyncio.Event()
        self._server = BackgroundServer(lambda app: app.router.add_route("*", "/{tail:.*}", self._handle))

    @property
    def url(self) -> str:
        return self._server.url

    def release(self) -> None:
        assert self._server.loop is not None
        self._server.loop.call_soon_threadsafe(self._released.set)

    def __enter__(self) -> LangfuseProxy:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        if self.holding and "/api/public/v2/prompts/" in request.path:
            self.held += 1
            assert self._server.stopping is not None
            waits = [asyncio.ensure_future(self._released.wait()), asyncio.ensure_future(self._server.stopping.wait())]
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in pending:
                waiting.cancel()
            if not self._released.is_set():
                return web.Response(status=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, self.upstream + request.path_qs, headers=headers, data=await request.read()
            ) as answer,
        ):
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)


def until(condition: object, what: str) -> None:
    deadline = time.time() + 10
    while not condition():  # type: ignore[operator]
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def through(proxy: LangfuseProxy) -> dict[str, str]:
    return {**os.environ, "LANGFUSE_HOST": proxy.url}


def test_hung_langfuse_costs_one_deadline_then_backs_off(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    with LangfuseProxy(langfuse_double.host) as proxy:
        proxy.holding = True
        client = Client(published, env=through(proxy), fetch_timeout_s=0.2)
        sources = [client.prompt("classify").source for _ in range(3)]
        result = client.complete("classify", REVIEW)
        assert sources == ["bundled"] * 3 and result.prompt_source == "bundled" and result.text == "positive"
        assert proxy.held == 1, "one fetch, then the back-off: later calls do not wait on Langfuse"
        client.close()


def test_async_calls_do_not_block_the_event_loop_while_langfuse_is_slow(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    with LangfuseProxy(langfuse_double.host) as proxy:
        proxy.holding = True
        client = Client(published, env=through(proxy), fetch_timeout_s=30)

        async def scenario() -> object:
            task = asyncio.create_task(client.acomplete("classify", REVIEW))
            deadline = time.time() + 10
            while proxy.held == 0:  # runs only if the fetch leaves the event loop free
                assert time.time() < deadline, "the prompt read never reached Langfuse"
                await asyncio.sleep(0.01)
            proxy.release()  # from this loop: with a blocked loop the SDK would time out first
            result = await task
            await client.router.aclose()
            return result

        result = asyncio.run(scenario())
        assert (result.prompt_source, result.prompt_version) == ("langfuse", 1)
        client.close()


def test_expired_prompt_is_served_stale_while_one_refresh_runs(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    def label_reads() -> int:
        return sum(1 for m, p in langfuse_double.journal if m == "GET" and p.endswith("classify?label=production"))

    with LangfuseProxy(langfuse_double.host) as proxy:
        client = Client(published, env=through(proxy), cache_ttl_s=0, fetch_timeout_s=30)
        assert client.prompt("classify").source == "langfuse"
        reads_before = label_reads()  # the publishing sync reads labels too
        proxy.holding = True
        served = [client.prompt("classify") for _ in range(3)]
        assert [(p.source, p.version) for p in served] == [("stale-cache", 1)] * 3
        until(lambda: proxy.held == 1, "the refresh to reach Langfuse")
        proxy.release()
        until(lambda: label_reads() == reads_before + 1, "the held refresh to complete")
        assert proxy.held == 1, "one refresh in flight at a time"
        client.close()


def test_complete_from_many_threads_at_once(published: Path, fake_llm: FakeLLM) -> None:
    client = Client(published)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: client.complete("classify", {"review": f"good food {i}"}), range(16)))
    assert [r.text for r in results] == ["positive"] * 16 and fake_llm.count() == 16

    async def on_my_own_loop() -> str:
        result = await client.acomplete("classify", {"review": "bad food"})
        await client.router.aclose()
        return result.text

    assert asyncio.run(on_my_own_loop()) == "negative"
    assert client.complete("classify", REVIEW).text == "positive", "closing another loop's session left ours alone"
    client.close()
    assert client.complete("classify", REVIEW).prompt_source == "langfuse", "a closed client starts again on use"
    client.close()


def test_complete_inside_an_event_loop_is_a_clear_error(published: Path) -> None:
    from promptship.errors import UsageError

    client = Client(published, langfuse=False)

    async def misuse() -> None:
        client.complete("classify", REVIEW)

    with pytest.raises(UsageError, match="inside a running event loop") as info:
        asyncio.run(misuse())
    assert "await client.acomplete" in info.value.format()


def _open_sockets() -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.exists(fd) and os.readlink(fd).startswith("socket:"))


def test_asyncio_run_per_request_leaves_no_session_or_socket_behind(published: Path, fake_llm: FakeLLM) -> None:
    client = Client(published, langfuse=False)
    asyncio.run(client.acomplete("classify", REVIEW))  # warm up: imports, the fake server's own sockets
    before = _open_sockets()
    for _ in range(10):
        assert asyncio.run(client.acomplete("classify", REVIEW)).text == "positive"
    assert _open_sockets() - before <= 1, "each asyncio.run closed the session it opened"
    client.close()


def test_a_key_echoed_by_the_upstream_never_reaches_langfuse(
    published: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """An upstream that repeats the key (in 401 bodies, recorded as attempt events, and in answers,
    recorded as the generation's output) leaks it into no span: every span goes through the redactor."""
    from urllib.parse import quote

    key = os.environ["FAKE_LLM_KEY"]
    fake_llm.faults("m-primary", echo_key=0.5, echo_key_in_reply=True, seed=3)
    fake_llm.faults("m-backup", echo_key_in_reply=True)
    client = Client(published)
    for _ in range(3):
        client.complete("classify", REVIEW)
    client.close()
    exported = json.dumps(langfuse_double.spans, ensure_ascii=False)
    assert "[redacted FAKE_LLM_KEY]" in exported, "the upstream did echo the key"
    assert any(s["attributes"].get("langfuse.observation.type") == "event" for s in langfuse_double.spans)
    for form in (key, quote(key), key[:20]):
        assert form not in exported
    assert "without its credential redactor" not in caplog.text


def test_a_langfuse_client_built_before_without_the_redactor_is_named(
    published: Path, langfuse_double: LangfuseDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK configures one exporter per public key, from the first client: one built earlier by the
    application, without promptship's redactor, would export unredacted spans — the Client says so."""
    from langfuse import Langfuse

    Langfuse(public_key=langfuse_double.public_key, secret_key=langfuse_double.secret_key, host=langfuse_double.host)
    Client(published).close()
    assert "without its credential redactor" in caplog.text
