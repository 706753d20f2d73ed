"""Prompts from the runtime side (issue #13): back-off per prompt, a removed label is noticed, and
Langfuse chat-message placeholders, end to end through sync, the Langfuse double and the SDK."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from promptship import Client
from promptship.runtime.prompt_store import PromptNotFound

from ..conftest import commit_all
from ..doubles.fake_llm import FakeLLM
from ..doubles.langfuse_api import LangfuseDouble
from ..eval.test_eval import PROMPT, SENTIMENT, make_repo

REVIEW = {"review": "good food number 1"}
CHATTY = PROMPT.replace(
    "  review: {type: string}\n", "  review: {type: string}\n  history: {type: list, required: false}\n"
).replace("  - role: user\n", "  - type: placeholder\n    name: history\n  - role: user\n")


@pytest.fixture
def two_published(
    tmp_path: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Prompts `classify` and `chatty` (with a placeholder) published to the Langfuse double."""
    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    repo = make_repo(tmp_path, items=2)
    (repo / "prompts/chatty.yaml").write_text(CHATTY)
    commit_all(repo, "a prompt with a placeholder")
    done = subprocess.run(  # a separate process, as in CI (the SDK keeps one client per key per process)
        [Path(sys.executable).parent / "promptship", "--root", str(repo), "sync", "--ref", "main", "--apply"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    return repo


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.time() + 10
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_one_unreadable_version_backs_off_only_its_own_prompt(
    two_published: Path, langfuse_double: LangfuseDouble, caplog: pytest.LogCaptureFixture
) -> None:
    # A version created outside promptship without its config (no model): the SDK cannot use it.
    body = langfuse_double.versions("chatty")[-1]["prompt"]
    langfuse_double.add_version("chatty", body, "chat", ["production"], "made in the UI")
    client = Client(two_published, langfuse_backoff_s=60)
    with caplog.at_level(logging.WARNING, logger="promptship.runtime"):
        assert client.prompt("chatty").source == "bundled"
    assert client.prompt("classify").source == "langfuse", "a healthy prompt is not sent to its bundled file"
    assert client.prompt("chatty").source == "bundled"
    [warning] = [r for r in caplog.records if r.name == "promptship.runtime"]
    assert "'chatty'" in warning.getMessage() and "bundled file" in warning.getMessage()
    client.close()


def test_a_removed_label_is_noticed_on_the_next_refresh(
    two_published: Path, langfuse_double: LangfuseDouble, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(two_published, cache_ttl_s=0)
    assert (client.prompt("classify").source, client.prompt("classify").version) in {
        ("langfuse", 1),
        ("stale-cache", 1),
    }
    langfuse_double.remove_label("classify", "production")
    with caplog.at_level(logging.WARNING, logger="promptship.runtime"):
        client.prompt("classify")  # served from the cache while the refresh finds the label gone
        until(lambda: any("no longer has label" in r.getMessage() for r in caplog.records), "the refresh")
    with pytest.raises(PromptNotFound):
        client.prompt("classify")  # as a newly started client would
    with pytest.raises(PromptNotFound):
        Client(two_published).prompt("classify")
    client.close()


def test_placeholders_are_published_and_filled_by_the_sdk(
    two_published: Path, langfuse_double: LangfuseDouble, fake_llm: FakeLLM
) -> None:
    [version] = langfuse_double.versions("chatty")
    assert {"type": "placeholder", "name": "history"} in version["prompt"]
    client = Client(two_published)
    history = [{"role": "user", "content": "earlier {{ question }}"}, {"role": "assistant", "content": "noted"}]
    result = client.complete("chatty", {**REVIEW, "history": history})
    assert (result.prompt_source, result.prompt_version) == ("langfuse", 1)
    sent = fake_llm.journal[-1].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "earlier {{ question }}"
    client.complete("chatty", REVIEW)
    assert [m["role"] for m in fake_llm.journal[-1].messages] == ["system", "user"]
    client.close()


def test_a_placeholder_added_in_the_langfuse_ui_is_read(
    two_published: Path, langfuse_double: LangfuseDouble, fake_llm: FakeLLM
) -> None:
    [published] = langfuse_double.versions("classify")
    body = [published["prompt"][0], {"type": "placeholder", "name": "examples"}, published["prompt"][1]]
    langfuse_double.add_version("classify", body, "chat", ["production"], "UI", config=published["config"])
    client = Client(two_published)
    examples = [{"role": "user", "content": "Review: fine"}, {"role": "assistant", "content": "positive"}]
    result = client.complete("classify", {**REVIEW, "examples": examples})
    assert (result.prompt_source, result.prompt_version) == ("langfuse", 2)
    assert json.dumps(fake_llm.journal[-1].messages).count("Review:") == 2
    client.close()
