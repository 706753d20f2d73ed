"""`promptship eval` end to end: the runner through LiteLLM's real HTTP path to the fake LLM server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptship.eval.runs import load_run

from ..conftest import commit_all, git
from ..doubles.fake_llm import FakeLLM, Rule

ROUTING = """\
aliases:
  primary:
    deployments:
      - id: fake-primary
        model: openai/m-primary
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
    retries: 3
    timeout_s: 0.5
    fallbacks: [backup]
    content_policy_fallbacks: [safe]
  backup:
    deployments:
      - id: fake-backup
        model: openai/m-backup
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
    retries: 2
    timeout_s: 2
  safe:
    deployments:
      - id: fake-safe
        model: openai/m-safe
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 3.0, output_per_million: 6.0}
    retries: 1
    timeout_s: 2
profiles:
  offline:
    all: [{id: local, model: local/smollm2}]
"""
PROMPT = """\
type: chat
model: primary
params: {temperature: 0, max_tokens: 5}
variables:
  review: {type: string}
messages:
  - role: system
    content: Classify the review as positive or negative. One word.
  - role: user
    content: "Review: {{ review }}"
"""
SUITE = """\
prompt: classify
dataset: reviews
models: [primary]
evaluators:
  - type: label_accuracy
    name: accuracy
    params: {labels: [positive, negative]}
  - type: python
    name: custom
    params: {function: "evals/scorers.py:flaky"}
gates:
  min: {accuracy: 0.5}
"""
SCORERS = """\
def flaky(item, output, expected):
    if item["id"] == "r003":
        raise RuntimeError("scorer bug on r003")
    return output == expected
"""


def make_repo(root: Path, items: int = 20, pii: str | None = None) -> Path:
    files = {
        "policies/routing.yaml": ROUTING,
        "prompts/classify.yaml": PROMPT,
        "datasets/reviews.yaml": "kind: golden\nsynthetic: true\nprompt: classify\n",
        "datasets/reviews.jsonl": "".join(
            json.dumps(
                {
                    "id": f"r{i:03d}",
                    "input": {"review": f"{'good' if i % 2 else 'bad'} food number {i}"},
                    "expected": "positive" if i % 2 else "negative",
                }
            )
            + "\n"
            for i in range(items)
        ),
        "evals/classify.yaml": SUITE,
        "evals/scorers.py": SCORERS,
    }
    if pii:
        files["policies/pii.yaml"] = pii
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "eval fixture")
    return root


SENTIMENT = [Rule(r"Review: good", "positive"), Rule(r"Review: bad", "negative")]


@pytest.fixture
def env(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> FakeLLM:
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    fake_llm.set_rules(SENTIMENT)
    return fake_llm


def run_json(run_cli, root: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("--root", str(root), "eval", "--format", "json", "--quiet", *args)
    assert result.out or result.err
    return result.code, json.loads(result.out) if result.out.strip().startswith("{") else {"err": result.err}


def test_faults_are_absorbed_and_every_attempt_is_accounted_for(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=40)
    env.faults("m-primary", error_500=0.2, error_429=0.1, retry_after_s=0, hang=0.05, hang_s=5, seed=7)
    code, data = run_json(run_cli, repo, "--concurrency", "16")
    run = data["runs"][0]
    assert code == 0, data
    samples = run["samples"]
    assert len(samples) == 40 and all(s["error"] is None for s in samples), [s["error"] for s in samples if s["error"]]
    assert run["aggregates"]["primary"]["scores"]["accuracy"] == 1.0
    assert run["aggregates"]["primary"]["confusion"]["accuracy"] == {
        "positive": {"positive": 20},
        "negative": {"negative": 20},
    }
    attempts = [a for s in samples for a in s["attempts"]]
    assert env.count() == len(attempts), "the server saw exactly the attempts the artifact reports"
    outcomes = {a["outcome"] for a in attempts}
    assert {"server_error", "rate_limited", "timeout", "ok"} <= outcomes
    assert env.count(outcome="500") == sum(a["outcome"] == "server_error" for a in attempts)
    assert run["aggregates"]["primary"]["attempts"] == len(attempts)


def test_retry_after_of_a_429_is_waited_out_before_the_retry(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=1)
    env.faults("m-primary", rate_limit_first_n=1, retry_after_s=1.5)
    code, data = run_json(run_cli, repo)
    sample = data["runs"][0]["samples"][0]
    assert code == 0 and sample["error"] is None and sample["fallback_used"] is None, "no need to fall back"
    assert [a["outcome"] for a in sample["attempts"]] == ["rate_limited", "ok"]
    assert sample["attempts"][0]["retry_after_s"] == 1.5
    first, second = env.journal
    assert second.at - first.at >= 1.5, "the retry came before the server's Retry-After"


def test_persistent_failure_falls_back_and_is_recorded(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=4)
    env.faults("m-primary", error_500=1.0)
    code, data = run_json(run_cli, repo)
    samples = data["runs"][0]["samples"]
    assert all(s["fallback_used"] == "backup" and s["error"] is None for s in samples)
    assert all([a["outcome"] for a in s["attempts"]] == ["server_error"] * 4 + ["ok"] for s in samples)
    env.faults("*", error_500=1.0)
    env.reset()
    env.faults("*", error_500=1.0)
    code, data = run_json(run_cli, repo, "--no-cache")
    samples = data["runs"][0]["samples"]
    assert all(s["error"]["kind"] == "model" and len(s["attempts"]) == 4 + 3 for s in samples), "never dropped"
    assert data["runs"][0]["aggregates"]["primary"]["errors"] == 4
    assert code == 3, "nothing could be evaluated: not a verdict on the prompt's accuracy"
    assert [g["kind"] for g in data["gate_failures"]] == ["evaluation", "evaluation"]


def test_latency_is_what_the_caller_waited_across_retries_and_fallbacks(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    """A hung primary (timeout 0.5 s, 3 retries) then a fast fallback: the sample's latency is the whole
    wait, so max_latency and p95 gates see it; each attempt keeps its own time in the artifact."""
    repo = make_repo(tmp_path, items=1)
    env.faults("m-primary", hang=1.0, hang_s=5)
    _, data = run_json(run_cli, repo)
    [sample] = data["runs"][0]["samples"]
    attempts = sample["attempts"]
    assert sample["fallback_used"] == "backup" and [a["outcome"] for a in attempts] == ["timeout"] * 4 + ["ok"]
    assert attempts[-1]["latency_ms"] < 1000, "the fallback itself was fast"
    assert sample["latency_ms"] >= sum(a["latency_ms"] for a in attempts) >= 4 * 500
    assert data["runs"][0]["aggregates"]["primary"]["latency_p95_ms"] == sample["latency_ms"]


@pytest.mark.parametrize("kind", ["openai_refusal", "finish_refusal"])
def test_a_refusal_is_its_own_outcome_and_goes_to_the_content_policy_fallback(
    tmp_path: Path, env: FakeLLM, run_cli, kind: str
) -> None:
    """A 200 whose message is a refusal (or finish_reason refusal, content null) is not an empty 'ok' answer."""
    repo = make_repo(tmp_path, items=4)
    env.faults("m-primary", content_filter_pattern="number [13]$", content_filter_kind=kind)
    env.faults("m-safe", content_filter_pattern="number 3$", content_filter_kind=kind)
    code, data = run_json(run_cli, repo)
    by_id = {s["item_id"]: s for s in data["runs"][0]["samples"]}
    rescued = by_id["r001"]
    assert rescued["fallback_used"] == "safe" and rescued["error"] is None and rescued["output"] == "positive"
    assert [a["outcome"] for a in rescued["attempts"]] == ["refusal", "ok"]
    refused = by_id["r003"]
    assert refused["error"]["kind"] == "refusal" and refused["output"] is None
    assert [a["outcome"] for a in refused["attempts"]] == ["refusal", "refusal"]
    summary = data["runs"][0]["aggregates"]["primary"]
    assert summary["error_kinds"] == {"refusal": 1} and summary["not_evaluated"] == 0, "counted, as the prompt's"
    assert env.count(model="m-backup") == 0


@pytest.mark.parametrize("kind", ["azure", "azure_finish", "openai", "gemini"])
def test_content_filter_refusals_go_to_the_content_policy_fallback(
    tmp_path: Path, env: FakeLLM, run_cli, kind: str
) -> None:
    repo = make_repo(tmp_path, items=4)
    env.faults("m-primary", content_filter_pattern="number [13]$", content_filter_kind=kind)
    env.faults("m-backup", error_500=1.0)
    code, data = run_json(run_cli, repo)
    by_id = {s["item_id"]: s for s in data["runs"][0]["samples"]}
    for item_id in ("r001", "r003"):
        sample = by_id[item_id]
        assert sample["fallback_used"] == "safe" and sample["error"] is None
        assert [a["outcome"] for a in sample["attempts"]] == ["content_filter", "ok"]
    assert by_id["r000"]["fallback_used"] is None
    assert env.count(model="m-backup") == 0, "a content-filter refusal never goes to the generic fallback"


def test_rerun_is_served_from_cache_and_cache_only_fails_on_a_miss(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=6)
    code, first = run_json(run_cli, repo)
    assert code == 0 and env.count() == 6 and first["runs"][0]["cache_misses"] == 6
    code, second = run_json(run_cli, repo)
    assert code == 0 and env.count() == 6, "an unchanged rerun makes zero model calls"
    assert second["runs"][0]["cache_hits"] == 6
    assert [s["output"] for s in second["runs"][0]["samples"]] == [s["output"] for s in first["runs"][0]["samples"]]
    code, _ = run_json(run_cli, repo, "--cache-only")
    assert code == 0
    prompt = repo / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("One word.", "Answer in one word."))
    result = run_cli("--root", str(repo), "eval", "--cache-only", "--quiet")
    assert result.code == 1 and "error[E811] 6 request(s) are not in the response cache" in result.err
    assert env.count() == 6, "--cache-only sends nothing"


def test_scorer_exception_is_recorded_and_run_continues(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=5)
    code, data = run_json(run_cli, repo)
    by_id = {s["item_id"]: s for s in data["runs"][0]["samples"]}
    broken = by_id["r003"]["scores"]["custom"]
    assert broken["value"] is None and "RuntimeError: scorer bug on r003" in broken["error"]
    assert "Traceback" in broken["error"] and 'evals/scorers.py", line 3' in broken["error"]
    assert by_id["r002"]["scores"]["custom"]["passed"] is True
    custom_values = [1.0 if by_id[i]["scores"]["custom"]["passed"] else 0.0 for i in sorted(by_id)]
    assert data["runs"][0]["aggregates"]["primary"]["scores"]["custom"] == sum(custom_values) / 5, (
        "an answer the scorer could not score counts as 0, so a crashing scorer cannot lift a mean"
    )


MISBEHAVING = """\
import sys, time

def misbehaving(item, output, expected):
    print("scorer chatter on stdout")
    what = item["input"]["review"].split()[-1]
    if what == "1":
        sys.exit(0)
    if what == "2":
        return float("nan")
    if what == "3":
        return 1.5
    if what == "4":
        return {"a": float("inf")}
    if what == "5":
        time.sleep(30)
    if what == "6":
        input()
    return output == expected
"""


def test_misbehaving_scorers_are_errors_on_their_items(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    """sys.exit, NaN, out-of-range or infinite scores, print, input and a hang: each an error on its own item;
    the run finishes, JSON output stays JSON, and no bad number reaches a mean or a gate."""
    repo = make_repo(tmp_path, items=8)
    (repo / "evals/scorers.py").write_text(MISBEHAVING)
    suite = (repo / "evals/classify.yaml").read_text()
    suite = suite.replace('evals/scorers.py:flaky"}', 'evals/scorers.py:misbehaving", timeout_s: 1}')
    (repo / "evals/classify.yaml").write_text(suite.replace("min: {accuracy: 0.5}", "min: {custom: 0.1}"))
    result = run_cli("--root", str(repo), "eval", "--format", "json", "--quiet")
    data = json.loads(result.out)  # print() inside the scorer did not corrupt it
    assert "chatter" not in result.out + result.err
    custom = {s["item_id"]: s["scores"]["custom"] for s in data["runs"][0]["samples"]}
    assert "sys.exit(0)" in custom["r001"]["error"]
    assert "nan" in custom["r002"]["error"] and "inf" in custom["r004"]["error"]
    assert "1.5" in custom["r003"]["error"]
    assert "longer than 1 s" in custom["r005"]["error"]
    assert "EOFError" in custom["r006"]["error"], "input() reads nothing, never promptship's requests"
    assert custom["r000"]["passed"] is True and custom["r007"]["passed"] is True, "the process restarts"
    assert all(custom[i]["value"] is None for i in ("r001", "r002", "r003", "r004", "r005", "r006"))
    mean = data["runs"][0]["aggregates"]["primary"]["scores"]["custom"]
    assert mean == 0.25 and result.code == 0, "errors count as 0: 2 of 8"


def test_progress_is_printed_as_lines_in_a_log(tmp_path: Path, env: FakeLLM, run_cli, monkeypatch) -> None:
    """stderr is not a terminal (CI): lines with done/total, errors and ETA instead of a bar; --quiet: none."""
    repo = make_repo(tmp_path, items=3)
    monkeypatch.setenv("PROMPTSHIP_PROGRESS_INTERVAL_S", "0")
    result = run_cli("--root", str(repo), "eval")
    lines = [line for line in result.err.splitlines() if line.startswith("eval classify:")]
    assert lines[-1].startswith("eval classify: 3/3 done, 0 error(s)") and len(lines) == 3, result.err
    assert "ETA" in lines[0]
    assert "eval classify:" not in run_cli("--root", str(repo), "eval", "--quiet").err


def test_show_prints_input_expected_and_output_per_item(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=5)  # the custom scorer raises on r003
    failures = run_cli("--root", str(repo), "eval", "--quiet", "--show", "failures").out
    assert "✗ r003 (primary, repeat 0)" in failures and "✓ r002" not in failures
    block = failures[failures.index("✗ r003") :]
    assert '"review": "good food number 3"' in block and "expected: positive" in block
    assert "output:   positive" in block and "custom error: RuntimeError: scorer bug on r003" in block
    everything = run_cli("--root", str(repo), "eval", "--quiet", "--show", "all").out
    assert "✓ r002 (primary, repeat 0)" in everything and "✗ r003" in everything


def test_a_run_whose_calls_mostly_failed_fails_its_error_rate_gate(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=10)
    env.faults("m-primary", content_filter_pattern="number [0-8]$")  # 9 of 10 refused ...
    env.faults("m-safe", error_500=1.0)  # ... and their content-policy fallback is down
    code, data = run_json(run_cli, repo)
    summary = data["runs"][0]["aggregates"]["primary"]
    assert summary["errors"] == 9 and summary["scores"]["accuracy"] == 1.0, "the one answer was right"
    assert [(g["gate"], g["kind"], g["message"]) for g in data["gate_failures"]] == [
        ("max_error_rate", "evaluation", "9 of 10 calls could not be evaluated (9 model), limit 10%")
    ], "the accuracy minimum alone would have passed on the one answer"
    assert code == 3, "the fallback was down: could not evaluate, not a quality verdict"


def test_eval_refuses_an_invalid_repository_before_any_call(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=3)
    suite = repo / "evals/classify.yaml"
    suite.write_text(suite.read_text().replace("type: label_accuracy", "type: label_acc"))
    result = run_cli("--root", str(repo), "eval", "--quiet")
    assert result.code == 1 and "Traceback" not in result.err
    assert "evals/classify.yaml:5:5: error[E304] unknown evaluator 'label_acc'" in result.err
    assert env.count() == 0


def test_runs_record_the_commit_of_the_working_tree(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=2)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert run_json(run_cli, repo)[1]["runs"][0]["git_sha"] == head
    items = repo / "datasets/reviews.jsonl"
    items.write_text(items.read_text().replace("food number 1", "food number one"))
    assert run_json(run_cli, repo)[1]["runs"][0]["git_sha"] == f"{head}-dirty"


def test_selection_options(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=10)
    _, sampled = run_json(run_cli, repo, "--sample", "4")
    _, again = run_json(run_cli, repo, "--sample", "4")
    ids = [s["item_id"] for s in sampled["runs"][0]["samples"]]
    assert len(ids) == 4 and ids == [s["item_id"] for s in again["runs"][0]["samples"]], "a stable sample"
    _, chosen = run_json(run_cli, repo, "--items", "r001,r002")
    assert [s["item_id"] for s in chosen["runs"][0]["samples"]] == ["r001", "r002"]
    result = run_cli("--root", str(repo), "eval", "--items", "nope", "--quiet")
    assert result.code == 2 and "unknown item id(s): nope" in result.err
    result = run_cli("--root", str(repo), "eval", "--models", "backup", "--quiet")
    assert result.code == 2 and "does not evaluate backup" in result.err


def test_missing_credentials_are_named_and_nothing_is_sent(
    tmp_path: Path, fake_llm: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, items=3)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.delenv("FAKE_LLM_KEY", raising=False)
    result = run_cli("--root", str(repo), "eval", "--quiet")
    assert result.code == 2 and "FAKE_LLM_KEY" in result.err and "Traceback" not in result.err
    assert fake_llm.count() == 0


PII_POLICY = "default: block\ntypes:\n  phone: mask\n  person_name: mask\n  rrn: block\n"


def test_pii_policy_masks_or_blocks_before_sending(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=0, pii=PII_POLICY)
    (repo / "datasets/reviews.jsonl").write_text(
        "\n".join(
            json.dumps(i, ensure_ascii=False)
            for i in [
                {
                    "id": "phone",
                    "input": {"review": "good, call 김민수님 at 010-1234-5678 or 010-1234-5678"},
                    "expected": "positive",
                },
                {"id": "rrn", "input": {"review": "bad, my number is 900101-1234568"}, "expected": "negative"},
                {"id": "clean", "input": {"review": "good food"}, "expected": "positive"},
            ]
        )
        + "\n"
    )
    (repo / "datasets/reviews.yaml").write_text(
        "kind: golden\nsynthetic: true\nprompt: classify\npii_allow:\n"
        "  - {type: phone, reason: test}\n  - {type: rrn, reason: test}\n  - {type: person_name, reason: test}\n"
    )
    code, data = run_json(run_cli, repo)
    by_id = {s["item_id"]: s for s in data["runs"][0]["samples"]}
    assert by_id["rrn"]["error"]["kind"] == "pii_blocked" and "rrn" in by_id["rrn"]["error"]["message"]
    assert "900101" not in json.dumps(data), "a blocked value never appears in the artifact"
    assert by_id["phone"]["pii_masked"] == {"phone": 2, "person_name": 1}
    sent = [m["content"] for r in env.journal for m in r.messages]
    assert not any("010-1234-5678" in text or "900101" in text or "김민수" in text for text in sent)
    assert any("call [PERSON_NAME_1]님 at [PHONE_1] or [PHONE_1]" in text for text in sent)
    assert env.count() == 2 and data["runs"][0]["aggregates"]["primary"]["pii_blocked"] == 1


def test_ctrl_c_stops_cleanly_and_keeps_completed_samples(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    """...and the interrupted run never replaces the complete run stored before it (`--no-cache`)."""
    repo = make_repo(tmp_path, items=30)
    assert run_cli("--root", str(repo), "eval", "--quiet").code == 0
    [complete_path] = list((repo / ".promptship/runs/classify").glob("*.json"))
    complete_text = complete_path.read_text()
    env.faults("*", latency_s=0.4)
    calls_before = env.count()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from promptship.cli.main import main; sys.exit(main(sys.argv[1:]))",
            "--root",
            str(repo),
            "eval",
            "--quiet",
            "--concurrency",
            "2",
            "--no-cache",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.time() + 30
    while env.count() < calls_before + 6 and time.time() < deadline:  # concurrency 2: the 6th means 4 finished
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert "Traceback" not in err
    assert complete_path.read_text() == complete_text, "the complete run is untouched"
    stored = list((repo / ".promptship/runs/classify").glob("*.interrupted.json"))
    assert len(stored) == 1
    run = load_run(stored[0])
    assert run is not None and run.complete is False
    finished = [s for s in run.samples if s.error is None]
    interrupted = [s for s in run.samples if s.error and s.error.kind == "interrupted"]
    assert len(finished) >= 4 and interrupted and len(finished) + len(interrupted) == 30
    assert "interrupted" in out


def test_ctrl_c_stops_a_looping_scorer(tmp_path: Path, env: FakeLLM) -> None:
    repo = make_repo(tmp_path, items=4)
    (repo / "evals/scorers.py").write_text("def flaky(item, output, expected):\n    while True:\n        pass\n")
    suite = (repo / "evals/classify.yaml").read_text()
    (repo / "evals/classify.yaml").write_text(suite.replace('flaky"}', 'flaky", timeout_s: 300}'))
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from promptship.cli.main import main; sys.exit(main(sys.argv[1:]))"]
        + ["--root", str(repo), "eval", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.time() + 30
    while env.count() < 4 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the scorer is spinning now
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)  # without isolation the loop never gives Ctrl-C a chance
    assert "Traceback" not in err and "interrupted" in out


@pytest.mark.slow
def test_real_embedded_model_runs_the_example_suite(example_repo: Path, run_cli) -> None:
    code, data = run_json(
        run_cli, example_repo, "review-sentiment", "--profile", "offline", "--sample", "4", "--models", "chat-fast"
    )
    run = data["runs"][0]
    assert all(s["error"] is None and s["output"] for s in run["samples"])
    assert all(s["deployment"] == "local-smollm2@chat-fast" and s["cost_usd"] == 0 for s in run["samples"])
    assert all(s["prompt_tokens"] > 20 and s["completion_tokens"] >= 1 for s in run["samples"])
    again = run_json(
        run_cli,
        example_repo,
        "review-sentiment",
        "--profile",
        "offline",
        "--sample",
        "4",
        "--models",
        "chat-fast",
        "--no-cache",
    )[1]["runs"][0]
    assert [s["output"] for s in again["samples"]] == [s["output"] for s in run["samples"]], "deterministic at t=0"
    assert run["environment"]["local_model"] is True
    shown = run_cli(
        "--root", str(example_repo), "eval", "review-sentiment", "--profile", "offline", "--sample", "4",
        "--models", "chat-fast", "--quiet",
    )  # fmt: skip
    assert "Smoke test" in shown.out and "do not predict production quality" in shown.out, "cached: no model call"


POOL_ROUTING = """\
aliases:
  primary:
    deployments:
      - {id: pool-a, model: openai/m-a, api_base_env: FAKE_LLM_BASE, api_key_env: FAKE_LLM_KEY,
         pricing: {input_per_million: 1.0, output_per_million: 2.0}}
      - {id: pool-b, model: openai/m-b, api_base_env: FAKE_LLM_BASE, api_key_env: FAKE_LLM_KEY,
         pricing: {input_per_million: 1.0, output_per_million: 2.0}}
    retries: 4
    timeout_s: 2
    content_policy_fallbacks: [safe]
  safe:
    deployments:
      - {id: safe-azure, model: azure/safe-deployment, api_base_env: FAKE_LLM_ROOT, api_key_env: FAKE_LLM_KEY,
         params: {api_version: "2024-10-21"}, pricing: {input_per_million: 3.0, output_per_million: 6.0}}
    retries: 1
    timeout_s: 2
"""


def test_multi_deployment_alias_goes_through_the_litellm_router(
    tmp_path: Path, env: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, items=12)
    (repo / "policies/routing.yaml").write_text(POOL_ROUTING)
    monkeypatch.setenv("FAKE_LLM_ROOT", env.root_url)
    env.faults("m-b", content_filter_pattern="number 5$", content_filter_kind="openai")
    env.faults("m-a", error_500=0.5, seed=3, content_filter_pattern="number 5$", content_filter_kind="openai")
    code, data = run_json(run_cli, repo)
    samples = data["runs"][0]["samples"]
    assert all(s["error"] is None for s in samples), [s["error"] for s in samples if s["error"]]
    assert {s["deployment"] for s in samples} >= {"pool-a", "pool-b"}, "the Router balances over both"
    filtered = next(s for s in samples if s["item_id"] == "r005")
    assert filtered["fallback_used"] == "safe" and filtered["deployment"] == "safe-azure"
    assert env.journal[-1].path.startswith("/openai/deployments/") or env.count(model="safe-deployment") == 1
    sent = [a for s in samples for a in s["attempts"] if a["outcome"] != "unavailable"]
    assert env.count() == len(sent), "every attempt that left the process reached the server"
    assert not any(a["outcome"] == "timeout" for a in sent), "no call waits for litellm's import"


def test_publish_records_experiment_runs_in_langfuse(tmp_path: Path, env: FakeLLM, langfuse_double, run_cli) -> None:
    repo = make_repo(tmp_path, items=5)
    result = run_cli("--root", str(repo), "eval", "--quiet", "--publish")
    assert result.code == 0, result.err
    assert "published classify · primary · " in result.err
    items = [i for i in langfuse_double.items.values() if i["datasetName"] == "reviews"]
    assert len(items) == 5
    item_spans = [s for s in langfuse_double.spans if s["attributes"].get("langfuse.experiment.item.id")]
    assert {s["attributes"]["langfuse.experiment.item.id"] for s in item_spans} == {i["id"] for i in items}
    assert all("classify · primary" in s["attributes"].get("langfuse.experiment.name", "") for s in item_spans)
    names = {}
    for score in langfuse_double.scores:
        names.setdefault(score["name"], []).append(score["value"])
    assert len(names["accuracy"]) == 5 and set(names["accuracy"]) == {1.0}
    assert len(names["cost_usd"]) == 5 and all(v > 0 for v in names["cost_usd"])
    assert len(names["latency_ms"]) == 5
    assert env.count() == 5, "publishing replays recorded answers: no extra model call"


def test_publish_without_langfuse_credentials_fails_before_any_call(
    tmp_path: Path, env: FakeLLM, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, items=3)
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli("--root", str(repo), "eval", "--quiet", "--publish")
    assert result.code == 2 and "LANGFUSE_PUBLIC_KEY" in result.err and env.count() == 0


def test_eval_refuses_answers_cached_in_a_tracked_working_folder(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    """A committed response cache would be scored, gated and published (eval --publish) as real answers."""
    repo = make_repo(tmp_path, items=3)
    assert run_cli("--root", str(repo), "eval", "--quiet").code == 0
    calls = env.count()
    git(repo, "add", "-f", ".promptship/cache")
    git(repo, "commit", "-q", "-m", "bring my own answers")
    result = run_cli("--root", str(repo), "eval", "--quiet")
    assert result.code == 2 and "error[E910]" in result.err and ".promptship/cache/" in result.err
    assert "Traceback" not in result.err and env.count() == calls


def test_eval_runs_outside_a_git_repository(tmp_path: Path, env: FakeLLM, run_cli) -> None:
    repo = make_repo(tmp_path, items=2)
    shutil.rmtree(repo / ".git")
    result = run_cli("--root", str(repo), "eval", "--quiet")
    assert result.code == 0, result.err


def test_names_with_markup_and_escape_sequences_print_literally_and_inert(
    tmp_path: Path, env: FakeLLM, run_cli
) -> None:
    """A suite named `x[/red]` crashed every eval (rich markup); escape sequences in names or upstream
    texts must never reach the terminal or a CI log."""
    repo = make_repo(tmp_path, items=2)
    (repo / "evals/x[").mkdir()
    (repo / "evals/classify.yaml").rename(repo / "evals/x[/red]\x1b]0;pwned\x07\x1b[2J.yaml")
    commit_all(repo, "hostile suite name")
    env.set_rules([Rule(r"Review: good", "\x1b[2J\x1b]52;c;cHduZWQ=\x07positive\u202e")])
    result = run_cli("--root", str(repo), "eval")
    assert result.code in (0, 1), result.err
    assert "Traceback" not in result.err and "MarkupError" not in result.err
    assert "x[/red]]0;pwned" not in result.out, "the OSC sequence is removed whole"
    assert "x[/red]" in result.out and "[2J" not in result.out
    for control in ("\x1b", "\x07", "\u202e"):
        assert control not in result.out + result.err
