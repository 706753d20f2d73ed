"""Labs on a scratch git repository with the fake LLM, served by uvicorn on loopback, and one headless
Debian chromium per session driven by Playwright (its own browser download is not reachable here)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import commit_all, git
from ..doubles.fake_llm import FakeLLM, Rule

CHROMIUM = os.environ.get("PROMPTSHIP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Set to a folder (e.g. docs/labs) to keep the screenshots the browser tests take there.
SCREENSHOTS = os.environ.get("PROMPTSHIP_LABS_SCREENSHOTS")
FAKE_KEY = "sk-labs-test-key-never-shown-000000000000"

ROUTING = """\
aliases:
  fast:
    deployments:
      - id: fake-fast
        model: openai/m-fast
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
    retries: 1
    timeout_s: 5
  smart:
    deployments:
      - id: fake-smart
        model: openai/m-smart
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 5.0, output_per_million: 10.0}
    retries: 1
    timeout_s: 5
"""


def prompt(system: str) -> str:
    return f"""\
type: chat
description: Classifies a review as positive or negative.
owners: [reviews-team]
tags: [reviews, labs-demo]
model: fast
params: {{temperature: 0, max_tokens: 20}}
variables:
  review: {{type: string, description: The review text.}}
messages:
  - role: system
    content: "{system}"
  - role: user
    content: "Review: {{{{ review }}}}"
"""


def suite(prompt_name: str) -> str:
    return f"""\
prompt: {prompt_name}
dataset: reviews
models: [fast, smart]
evaluators:
  - type: label_accuracy
    name: accuracy
    params: {{labels: [positive, negative]}}
"""


REVIEWS = [
    ("r01", "good food, fast delivery", "positive"),
    ("r02", "bad food, cold", "negative"),
    ("r03", "good portions", "positive"),
    ("r04", "bad packaging and late", "negative"),
    ("r05", "good value", "positive"),
    ("r06", "mixed: good taste, bad smell", "negative"),
]


def rules() -> list[Rule]:
    """fast answers well on the v1 prompt; the 'terse' v2 prompt makes it call everything positive;
    a review asking for markup gets markup back (it must show as text)."""
    return [
        Rule(r"<b>", "<b>bold</b><script>window.__pwned = 1</script><img src=x onerror=alert(1)>"),
        Rule(r"(?s)terse.*Review: (bad|mixed)", "positive", model="m-fast"),
        Rule(r"Review: (good)", "positive"),
        Rule(r"Review: (bad|mixed)", "negative"),
    ]


def make_scratch_repo(root: Path) -> Path:
    files = {
        "policies/routing.yaml": ROUTING,
        "policies/pii.yaml": "default: block\ntypes: {phone: mask, email: mask}\n",
        "prompts/classify.yaml": prompt("Classify the review as positive or negative. One word."),
        "prompts/classify-terse.yaml": prompt("terse: label it."),
        "datasets/reviews.yaml": "kind: golden\nsynthetic: true\nprompt: classify\n",
        "datasets/reviews.jsonl": "".join(
            json.dumps({"id": i, "input": {"review": r}, "expected": e}) + "\n" for i, r, e in REVIEWS
        ),
        "evals/classify.yaml": suite("classify"),
        "evals/classify-terse.yaml": suite("classify-terse"),
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "labs scratch repository")
    return root


@dataclass
class LabsServer:
    url: str
    root: Path
    llm: FakeLLM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "labs did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="package")
def labs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabsServer]:
    """Labs (real uvicorn on loopback) over a scratch repository, models answered by the fake LLM."""
    from promptship.labs.app import LabsConfig, create_app
    from promptship.labs.security import access_for

    root = make_scratch_repo(tmp_path_factory.mktemp("labs") / "repo")
    with FakeLLM(rules()) as llm, pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAKE_LLM_BASE", llm.base_url)
        patch.setenv("FAKE_LLM_KEY", FAKE_KEY)
        with serving(create_app(LabsConfig(root, access_for("127.0.0.1", None)))) as url:
            yield LabsServer(url, root, llm)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """One headless chromium for the Labs tests (closed after them: Playwright's sync API keeps an
    event loop running on this thread while it lives, which other tests' ``asyncio.run`` refuses)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh browser page; failed requests and page errors are collected on ``page.problems``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    new_page.on(
        "console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
    )
    new_page.problems = problems
    new_page.set_default_timeout(15_000)
    yield new_page
    context.close()


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Keep a screenshot of the page in $PROMPTSHIP_LABS_SCREENSHOTS (docs/labs when regenerating the docs)."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
