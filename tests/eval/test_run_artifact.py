"""Run format 3: samples stream to a JSON Lines file while the run goes; a manifest names them at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from promptship.eval.evaluation import EvalRequest, evaluate
from promptship.eval.runs import find_run, load_run, runs_dir
from promptship.eval.summary import aggregate
from promptship.files.schema.run import SampleResult
from promptship.labs.runstore import list_runs

from ..doubles.fake_llm import FakeLLM
from .test_eval import env, make_repo  # noqa: F401  (the fixture is used by name)

SUITE_DIR = ".promptship/runs/classify"


def samples_files(repo: Path) -> list[Path]:
    return sorted((repo / SUITE_DIR).glob("*.samples.jsonl"))


def test_samples_are_on_disk_before_the_run_ends(tmp_path: Path, env: FakeLLM) -> None:  # noqa: F811
    """At every finished sample, the samples file already holds it, and no manifest exists yet."""
    repo = make_repo(tmp_path, items=8)
    seen: list[tuple[int, int, bool]] = []

    def progress(done: int, total: int) -> None:
        [samples] = samples_files(repo)
        lines = samples.read_text(encoding="utf-8").splitlines()
        for line in lines:
            SampleResult.model_validate_json(line)  # every line written so far is a whole sample
        manifests = [p for p in (repo / SUITE_DIR).glob("*.json")]
        seen.append((done, len(lines), bool(manifests)))

    outcome = evaluate(repo, EvalRequest(concurrency=1, cache_mode="off", on_progress=progress))
    assert [(done, lines) for done, lines, _ in seen] == [(n, n) for n in range(1, 9)], "one line per finished sample"
    assert not any(manifest for _, _, manifest in seen), "the manifest is written only at the end"
    [path] = outcome.saved
    manifest = json.loads(path.read_text())
    assert manifest["format_version"] == 3 and "samples" not in manifest
    assert manifest["sample_count"] == 8 and (path.parent / manifest["samples_file"]).is_file()


def test_incremental_aggregates_equal_those_of_the_stored_samples(tmp_path: Path, env: FakeLLM) -> None:  # noqa: F811
    """Faults, a scorer that raises on one item, two repeats: the manifest's aggregates (computed as the
    samples finished, in any order) are exactly the aggregates of the samples read back from disk."""
    repo = make_repo(tmp_path, items=24)
    suite = repo / "evals/classify.yaml"
    suite.write_text(suite.read_text().replace("models: [primary]", "models: [primary]\nrepeats: 2"))
    routing = repo / "policies/routing.yaml"
    routing.write_text(routing.read_text().replace("retries: 3", "retries: 0").replace("retries: 2", "retries: 0"))
    env.faults("*", error_500=0.5, seed=3)
    outcome = evaluate(repo, EvalRequest(concurrency=6, cache_mode="off"))
    stored = load_run(outcome.saved[0])
    assert stored is not None
    samples = list(stored.samples)
    assert len(samples) == stored.sample_count == 48
    keys = [(s.item_id, s.model, s.repeat) for s in samples]
    assert keys == sorted(keys), "samples are stored in job order (item id, model, repeat), not finishing order"
    assert stored.aggregates == aggregate(samples, stored.models)
    summary = stored.aggregates["primary"]
    assert summary.errors > 0 and summary.samples == 48, "the faults made some calls fail"
    assert summary.confusion["accuracy"], "label confusion counted"


def test_a_killed_run_leaves_readable_samples_and_is_never_reused(tmp_path: Path, env: FakeLLM) -> None:  # noqa: F811
    repo = make_repo(tmp_path, items=40)
    env.faults("*", latency_s=0.3)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from promptship.cli.main import main; sys.exit(main(sys.argv[1:]))",
            *("--root", str(repo), "eval", "--quiet", "--concurrency", "2", "--no-cache"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        files = samples_files(repo)
        if files and len(files[0].read_text(encoding="utf-8").splitlines()) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    [samples] = samples_files(repo)
    lines = [line for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert 3 <= len(lines) < 40
    assert all(SampleResult.model_validate_json(line).error is None for line in lines[:3])
    assert not list((repo / SUITE_DIR).glob("*.json")), "no manifest: the run is recognisably incomplete"
    assert list_runs(repo) == [], "a samples file without a manifest is not a run"

    env.faults("*", latency_s=0.0)
    outcome = evaluate(repo, EvalRequest(concurrency=4, cache_mode="off"))
    run = outcome.runs[0]
    assert run.complete and run.sample_count == 40 and env.count(model="m-primary") >= 40, "evaluated again"
    assert run.samples.path != samples and samples.is_file(), "the killed run's samples are left alone"


def test_a_stored_run_is_reused_only_with_its_own_intact_samples(tmp_path: Path, env: FakeLLM) -> None:  # noqa: F811
    repo = make_repo(tmp_path, items=6)
    outcome = evaluate(repo, EvalRequest(concurrency=2, cache_mode="off"))
    run = outcome.runs[0]
    again = find_run([runs_dir(repo)], "classify", run.fingerprint.suite, run.selection)
    assert again is not None and again.aggregates == run.aggregates

    path = run.samples.path
    assert path is not None
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[0]) | {"output": "negative" if "positive" in lines[0] else "positive"}
    path.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n", encoding="utf-8")
    assert find_run([runs_dir(repo)], "classify", run.fingerprint.suite, run.selection) is None, "edited"
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert find_run([runs_dir(repo)], "classify", run.fingerprint.suite, run.selection) is None, "truncated"


def test_a_rerun_replaces_the_samples_file_of_the_run_it_replaces(tmp_path: Path, env: FakeLLM) -> None:  # noqa: F811
    repo = make_repo(tmp_path, items=4)
    first = evaluate(repo, EvalRequest(concurrency=2, cache_mode="off")).runs[0]
    second = evaluate(repo, EvalRequest(concurrency=2, cache_mode="off")).runs[0]
    assert first.samples.path != second.samples.path
    assert samples_files(repo) == [second.samples.path], "no stale samples file is left behind"


def test_out_file_holds_the_samples_inline_in_job_order(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = make_repo(tmp_path, items=5)
    out = tmp_path / "run.json"
    assert run_cli("--root", str(repo), "eval", "--quiet", "--out", str(out)).code == 0
    document = json.loads(out.read_text())
    assert document["format_version"] == 3 and "samples_file" not in document
    assert [s["item_id"] for s in document["samples"]] == [f"r{i:03d}" for i in range(5)]
    stored = load_run(repo / SUITE_DIR / next(p.name for p in (repo / SUITE_DIR).glob("*.json")))
    assert stored is not None and [s.model_dump(mode="json") for s in stored.samples] == document["samples"]
