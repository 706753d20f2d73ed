"""Label A/B tests in production: an 80/20 split of a prompt between `production` and `candidate`,
published by real syncs to the Langfuse double, served by the SDK and the real gateway on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from promptship import Client
from promptship.errors import RepositoryInvalid
from promptship.ops.recording import recorder_for
from promptship.ops.stores import open_usage_store
from promptship.ops.usage import UsageQuery
from promptship.runtime.gateway.app import create_app
from promptship.runtime.gateway.state import KeyStore, MemoryCounters, key_digest
from promptship.runtime.split import choose_label, default_label, split_point

from ..conftest import commit_all, git
from ..doubles.fake_llm import FakeLLM
from ..doubles.langfuse_api import LangfuseDouble
from ..eval.test_eval import SENTIMENT, make_repo
from .conftest import RunningGateway

RELEASE = """\
x-eighty-twenty: &eighty-twenty {production: 80, candidate: 20}   # x- keys hold anchors, as elsewhere
rules:
  - {ref: main, labels: [production]}
  - {ref: candidate/*, labels: [candidate]}
splits:
  classify: *eighty-twenty
"""
REVIEW = {"review": "good food number 1"}
CANDIDATE_TEXT = "One word, lowercase."
KEYS = [f"user-{i}" for i in range(1000)]
GATEWAY_KEY = "gw-reviews-0123456789abcdef"


def sync(root: Path, branch: str) -> str:
    """`promptship sync --apply` in its own process, as CI runs it on a push to ``branch``; its stderr."""
    done = subprocess.run(
        [Path(sys.executable).parent / "promptship", "--root", str(root), "sync", "--ref", branch, "--apply"],
        capture_output=True,
        text=True,
        env=dict(os.environ, GITHUB_REF_NAME=branch),
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.fixture
def split_repo(
    tmp_path: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """main publishes v1 as production; branch candidate/lowercase publishes v2 as candidate; main's
    release policy splits `classify` 80/20 between them."""
    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    root = make_repo(tmp_path, items=2)
    (root / "policies/release.yaml").write_text(RELEASE)
    routing = root / "policies/routing.yaml"  # no retries under CPU load: one model request per call
    routing.write_text(routing.read_text().replace("timeout_s: 0.5", "timeout_s: 30"))
    commit_all(root, "split classify 80/20")
    gap = "split of classify: no version holds label 'candidate' yet, so its 20% of keyed calls get the default label"
    assert gap in sync(root, "main")
    git(root, "checkout", "-q", "-b", "candidate/lowercase")
    prompt = root / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("One word.", CANDIDATE_TEXT))
    commit_all(root, "candidate: lowercase answers")
    sync(root, "candidate/lowercase")
    git(root, "checkout", "-q", "main")
    assert langfuse_double.labels("classify") == {"production": 1, "candidate": 2, "latest": 2}
    assert "split of" not in sync(root, "main"), "the candidate label holds a version now"
    return root


def served_version(fake_llm: FakeLLM, index: int) -> int:
    """Which version the model was sent, read from the request the fake LLM received."""
    return 2 if CANDIDATE_TEXT in json.dumps(fake_llm.journal[index].messages) else 1


# -- the choice itself (pure) ------------------------------------------------------------------------------


def test_choice_is_stable_and_proportional() -> None:
    split = {"production": 80, "candidate": 20}
    labels = Counter(choose_label(split, "support/reply", f"session-{i}") for i in range(100_000))
    assert 19_500 <= labels["candidate"] <= 20_500
    assert all(
        choose_label(split, "support/reply", "user-7") == choose_label(split, "support/reply", "user-7")
        for _ in range(3)
    )
    # file order does not matter; raising the candidate's share keeps its users on it
    assert all(choose_label({"candidate": 20, "production": 80}, "p", k) == choose_label(split, "p", k) for k in KEYS)
    before = {k for k in KEYS if choose_label({"production": 90, "candidate": 10}, "p", k) == "candidate"}
    after = {k for k in KEYS if choose_label(split, "p", k) == "candidate"}
    assert before < after
    # no key: the label unsplit calls get; a zero weight serves nobody with a key
    assert choose_label(split, "p", None) == choose_label(split, "p", "") == "production"
    assert default_label({"staging": 50, "candidate": 50}) == "candidate"
    assert {choose_label({"production": 100, "candidate": 0}, "p", k) for k in KEYS} == {"production"}


def test_a_key_typed_composed_or_decomposed_is_one_user() -> None:
    import unicodedata

    keys = [f"김도현-{i}" for i in range(200)]
    assert [split_point("p", unicodedata.normalize("NFD", k)) for k in keys] == [split_point("p", k) for k in keys]


def test_the_hash_is_the_same_in_another_process() -> None:
    """sha256, not Python's per-process salted hash: a fresh interpreter with another hash seed agrees."""
    code = (
        "import json, sys; from promptship.runtime.split import split_point; "
        "print(json.dumps([split_point('classify', k) for k in json.loads(sys.argv[1])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(KEYS[:50])],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    assert json.loads(done.stdout) == [split_point("classify", k) for k in KEYS[:50]]


# -- the SDK -------------------------------------------------------------------------------------------------


def test_sdk_serves_the_candidate_to_20_percent_of_keys_always_the_same_version(
    split_repo: Path, fake_llm: FakeLLM, langfuse_double: LangfuseDouble
) -> None:
    client = Client(split_repo)
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda key: client.complete("classify", REVIEW, split_key=key), KEYS))
        again = [client.complete("classify", REVIEW, split_key=key) for key in KEYS[:40]]
        keyless = client.complete("classify", REVIEW)
        pinned = client.complete("classify", REVIEW, label="candidate", split_key=KEYS[0])
    finally:
        client.close()
    served = Counter((r.prompt_label, r.prompt_version) for r in results)
    assert set(served) == {("production", 1), ("candidate", 2)}
    assert 170 <= served[("candidate", 2)] <= 230, served
    assert [r.prompt_version for r in again] == [r.prompt_version for r in results[:40]]
    assert all(
        r.prompt_label == choose_label({"production": 80, "candidate": 20}, "classify", k)
        for r, k in zip(results, KEYS, strict=True)
    )
    assert (keyless.prompt_label, keyless.prompt_version) == ("production", 1)
    assert (pinned.prompt_label, pinned.prompt_version) == ("candidate", 2)
    # what the model was sent is the served version's text
    sent = Counter(served_version(fake_llm, i) for i in range(len(fake_llm.journal)))
    assert sent[2] == served[("candidate", 2)] + sum(r.prompt_version == 2 for r in again) + 1
    # the traces name the served label and version (the generation is linked to the version)
    deadline = time.monotonic() + 20  # close() flushed; the double may still be decoding the last batch
    while True:
        spans = list(langfuse_double.spans)
        generations = [
            s["attributes"] for s in spans if s["attributes"].get("langfuse.observation.type") == "generation"
        ]
        if len(generations) >= len(KEYS) + 42 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(generations) == len(KEYS) + 42
    traced = Counter(
        (json.loads(g["langfuse.observation.metadata.prompt_label"]), g["langfuse.observation.prompt.version"])
        for g in generations
    )
    assert traced[("candidate", "2")] == served[("candidate", 2)] + sum(r.prompt_version == 2 for r in again) + 1
    assert not any("user-" in json.dumps(g) for g in generations), "the split key is never traced"


def test_a_split_label_langfuse_lacks_serves_the_default_label(
    split_repo: Path, langfuse_double: LangfuseDouble, caplog: pytest.LogCaptureFixture
) -> None:
    langfuse_double.remove_label("classify", "candidate")
    client = Client(split_repo)
    try:
        key = next(k for k in KEYS if choose_label({"production": 80, "candidate": 20}, "classify", k) == "candidate")
        result = client.complete("classify", REVIEW, split_key=key)
    finally:
        client.close()
    assert (result.prompt_label, result.prompt_version) == ("production", 1)
    assert "split label 'candidate' of prompt 'classify' has no version in Langfuse" in caplog.text
    files_only = Client(split_repo, langfuse=False)  # every label would be the bundled file: no split
    try:
        assert files_only.complete("classify", REVIEW, split_key=key).prompt_label == "production"
    finally:
        files_only.close()


# -- the gateway ---------------------------------------------------------------------------------------------


def test_usage_by_version_compares_the_served_versions_with_their_langfuse_scores(
    split_repo: Path, langfuse_double: LangfuseDouble, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTSHIP_USAGE_URL", f"sqlite:///{split_repo / 'sdk-usage.sqlite'}")
    client = Client(split_repo)
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda key: client.complete("classify", REVIEW, split_key=key), KEYS[:600]))
    finally:
        client.close()
    served = Counter(r.prompt_version for r in results)
    # an evaluator scores the traced generations: v1 is helpful 80% of the time, v2 50% (half of the
    # scores on the generation, half on its trace, as user feedback usually is)
    generations = [o for o in langfuse_double.traces.observations if o["promptName"] == "classify"]
    assert Counter(o["promptVersion"] for o in generations) == served
    for index, observation in enumerate(generations):
        helpful = index % 5 != 0 if observation["promptVersion"] == 1 else index % 2 == 0
        on_generation = observation["id"] if index % 2 else None
        langfuse_double.traces.add_score(
            "helpful", 1.0 if helpful else 0.0, trace_id=observation["traceId"], observation_id=on_generation
        )
    result = run_cli("--root", str(split_repo), "usage", "--by", "version", "--since", "1h", "--format", "json")
    assert result.code == 0, result.err
    (classify,) = json.loads(result.out)["versions"]["prompts"]
    assert (classify["base_version"], classify["split"]) == (1, {"production": 80, "candidate": 20})
    assert {a["version"]: (a["calls"], a["labels"]) for a in classify["arms"]} == {
        1: (served[1], ["production"]),
        2: (served[2], ["candidate"]),
    }
    metrics = {m["metric"]: m for m in classify["comparisons"][0]["metrics"]}
    assert metrics["error rate"]["verdict"] == "no significant difference"
    helpful = metrics["score helpful"]
    assert (helpful["n_base"], helpful["n_head"]) == (served[1], served[2])
    assert helpful["base"] == pytest.approx(0.8, abs=0.03) and helpful["head"] == pytest.approx(0.5, abs=0.06)
    assert helpful["verdict"] == "worse" and helpful["test"] == "Mann–Whitney U" and helpful["p_value"] < 0.001
    table = run_cli("--root", str(split_repo), "usage", "--by", "version", "--since", "1h")
    assert "classify  (split production 80 / candidate 20)  base v1" in table.out and "v2 vs v1:" in table.out


def test_gateway_splits_by_header_or_user_like_the_sdk(
    split_repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_REVIEWS_SHA256", key_digest(GATEWAY_KEY))
    (split_repo / "policies/credentials.yaml").write_text(
        "mode: production\nprojects:\n  reviews: {gateway_key_sha256_env: GW_REVIEWS_SHA256}\n"
    )
    monkeypatch.setenv("PROMPTSHIP_USAGE_URL", f"sqlite:///{split_repo / 'gateway-usage.sqlite'}")
    client = Client(split_repo)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    usage = recorder_for(os.environ, split_repo)
    with RunningGateway(create_app(client, keys, MemoryCounters(), usage=usage)) as gateway:
        url = f"http://127.0.0.1:{gateway.port}/v1/prompts/classify/completions"
        headers = {"Authorization": f"Bearer {GATEWAY_KEY}"}
        with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=16)) as http:

            def call(key: str, by: str = "header") -> dict:
                if by == "header":
                    answer = http.post(
                        url, json={"variables": REVIEW}, headers={**headers, "x-promptship-split-key": key}
                    )
                else:
                    answer = http.post(url, json={"variables": REVIEW, "user": key}, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.json()["promptship"]

            with ThreadPoolExecutor(16) as pool:
                results = list(pool.map(call, KEYS))
                by_user = list(pool.map(lambda k: call(k, "user"), KEYS[:50]))
            # a UTF-8 key in the header (the server reads header bytes as Latin-1) is the SDK's key
            korean = [f"김도현-{i}" for i in range(30)]
            by_utf8_header = [
                http.post(
                    url, json={"variables": REVIEW}, headers={**headers, "x-promptship-split-key": k.encode()}
                ).json()["promptship"]["prompt_label"]
                for k in korean
            ]
    client.close()
    served = Counter((r["prompt_label"], r["prompt_version"]) for r in results)
    assert set(served) == {("production", 1), ("candidate", 2)}
    assert 170 <= served[("candidate", 2)] <= 230, served
    expected = [choose_label({"production": 80, "candidate": 20}, "classify", k) for k in KEYS]
    assert [r["prompt_label"] for r in results] == expected, "the gateway chooses as the SDK does"
    assert [r["prompt_version"] for r in by_user] == [r["prompt_version"] for r in results[:50]]
    assert by_utf8_header == [choose_label({"production": 80, "candidate": 20}, "classify", k) for k in korean]
    assert sum(CANDIDATE_TEXT in json.dumps(r.messages) for r in fake_llm.journal) == served[("candidate", 2)] + sum(
        r["prompt_version"] == 2 for r in by_user
    ) + by_utf8_header.count("candidate")
    # every usage row names the version and label that served it
    store = open_usage_store(os.environ["PROMPTSHIP_USAGE_URL"])
    rows = list(store.query(UsageQuery()))
    store.close()
    assert len(rows) == len(KEYS) + 50 + len(korean) and {r.source for r in rows} == {"gateway"}
    recorded = Counter((r.prompt, r.prompt_label, r.prompt_version) for r in rows)
    in_answers = Counter(("classify", r["prompt_label"], r["prompt_version"]) for r in results + by_user)
    in_answers.update(("classify", label, 2 if label == "candidate" else 1) for label in by_utf8_header)
    assert recorded == in_answers


# -- the policy ----------------------------------------------------------------------------------------------

BAD_SPLITS = """\
rules:
  - {ref: main, labels: [production]}
splits:
  classify: {production: 80, candidate: 30}
  clasify: {production: 50, latest: 50}
"""


def test_an_invalid_split_is_a_located_error_and_nothing_serves(tmp_path: Path, run_cli) -> None:
    root = make_repo(tmp_path, items=2)
    release = root / "policies/release.yaml"
    release.write_text(BAD_SPLITS)
    result = run_cli("--root", str(root), "validate")
    assert result.code == 1
    assert "policies/release.yaml:4:3: error[E004]" in result.out + result.err
    assert "add up to 110: production 80 + candidate 30" in result.out + result.err
    release.write_text(BAD_SPLITS.replace("30", "20"))
    result = run_cli("--root", str(root), "validate")
    assert "policies/release.yaml:5:3: error[E408] split of unknown prompt 'clasify'" in result.out + result.err
    assert "did you mean 'classify'?" in result.out + result.err
    assert "policies/release.yaml:4:30: error[E409] split label 'candidate' of 'classify'" in result.out + result.err
    assert "{ref: candidate/*, labels: [candidate]}" in result.out + result.err
    with pytest.raises(RepositoryInvalid) as refused:
        Client(root, langfuse=False)
    assert {d.code for d in refused.value.diagnostics} == {"E408", "E409"}
    sync = run_cli("--root", str(root), "sync", "--ref", "main", "--branch", "main")
    assert sync.code == 1 and "E409" in sync.err and "Traceback" not in sync.err


def test_an_idempotency_key_reused_with_another_split_key_is_refused_not_replayed(
    split_repo: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_REVIEWS_SHA256", key_digest(GATEWAY_KEY))
    (split_repo / "policies/credentials.yaml").write_text(
        "mode: production\nprojects:\n  reviews: {gateway_key_sha256_env: GW_REVIEWS_SHA256}\n"
    )
    split = {"production": 80, "candidate": 20}
    base = next(k for k in KEYS if choose_label(split, "classify", k) == "production")
    other = next(k for k in KEYS if choose_label(split, "classify", k) == "candidate")
    client = Client(split_repo)
    keys = KeyStore.from_policy(client.repo.policies.credentials, os.environ)
    with RunningGateway(create_app(client, keys, MemoryCounters())) as gateway:
        url = f"http://127.0.0.1:{gateway.port}/v1/prompts/classify/completions"
        auth = {"Authorization": f"Bearer {GATEWAY_KEY}", "Idempotency-Key": "retry-1"}
        with httpx.Client(timeout=30) as http:

            def post(split_key: str | None) -> httpx.Response:
                extra = {"x-promptship-split-key": split_key} if split_key is not None else {}
                return http.post(url, json={"variables": REVIEW}, headers={**auth, **extra})

            first = post(base)
            assert first.status_code == 200, first.text
            assert first.json()["promptship"]["prompt_label"] == "production"
            replayed = post(base)
            assert replayed.status_code == 200 and replayed.json() == first.json()
            calls = len(fake_llm.journal)
            # another user's retry with the same key would get the first user's version: refused
            for changed in (other, None):
                reused = post(changed)
                assert reused.status_code == 422, reused.text
                assert reused.json()["error"]["code"] == "idempotency_key_reused"
            assert len(fake_llm.journal) == calls
    client.close()
