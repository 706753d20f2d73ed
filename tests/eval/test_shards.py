"""Sharded evaluation: `eval --shard K/N` picks a stable 1/N of the items, and `runs merge` rebuilds the
exact run an unsharded eval gives (real suite, fake LLM server, the real CLI)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promptship.eval.runs import load_run
from promptship.eval.shards import ShardSpec, shard_of, take_shard

from ..conftest import commit_all
from ..doubles.fake_llm import FakeLLM
from .test_eval import env, make_repo  # noqa: F401 - env is a fixture used by name

SUITE = """\
prompt: classify
dataset: reviews
models: [primary, backup]
repeats: 2
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


def sharded_repo(root: Path, items: int = 30) -> Path:
    repo = make_repo(root, items=items)
    (repo / "evals/classify.yaml").write_text(SUITE)
    commit_all(repo, "two models, two repeats")
    return repo


def eval_json(run_cli, repo: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("--root", str(repo), "eval", "--quiet", "--format", "json", *args)
    assert result.out.strip().startswith("{"), result.err
    return result.code, json.loads(result.out)


def stored(repo: Path) -> list[Path]:
    return sorted((repo / ".promptship" / "runs").rglob("*.json"))


def whole(run: dict) -> dict:
    """A run without its timestamps (two evaluations never share them)."""
    return {k: v for k, v in run.items() if k not in ("started_at", "finished_at")}


def test_shard_assignment_depends_on_the_id_alone() -> None:
    ids = [f"review-{i}" for i in range(3000)]
    spec = [ShardSpec(k, 4) for k in range(1, 5)]
    before = {k.index: set(take_shard(ids, k, str)) for k in spec}
    assert set().union(*before.values()) == set(ids) and sum(map(len, before.values())) == len(ids), "a partition"
    assert all(600 <= len(part) <= 900 for part in before.values()), {k: len(v) for k, v in before.items()}
    shuffled = ids[:]
    random.Random(4).shuffle(shuffled)
    grown = shuffled + [f"new-{i}" for i in range(500)]
    for k in spec:
        after = take_shard(grown, k, str)
        assert set(after) & set(ids) == before[k.index], "reordering and new items never move an item"
        assert after == [i for i in grown if i in set(after)], "in the order given"
    # sha256, not Python's salted hash(): another interpreter with another hash seed agrees.
    code = "from promptship.eval.shards import shard_of; print([shard_of(f'review-{i}', 4) for i in range(200)])"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    assert json.loads(other.stdout) == [shard_of(f"review-{i}", 4) for i in range(200)]


def test_sharded_eval_merges_into_exactly_the_unsharded_run(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = sharded_repo(tmp_path / "repo")
    jobs = 30 * 2 * 2
    shard_items = []
    for k in (1, 2, 3):
        code, data = eval_json(run_cli, repo, "--shard", f"{k}/3")
        (run,) = data["runs"]
        assert code == 0 and data["gate_failures"] == [], "no gate judges a part"
        assert run["selection"]["shard"]["index"] == k and run["selection"]["full"] is False
        shard_items.append(run["selection"]["items"])
    assert env.count() == jobs, "every item × model × repeat was asked exactly once across the shards"
    assert sorted(i for part in shard_items for i in part) == [f"r{i:03d}" for i in range(30)]
    assert all(part for part in shard_items)

    code, data = eval_json(run_cli, repo, "--out", str(tmp_path / "unsharded.json"))
    assert code == 0 and env.count() == jobs, "the shards' answers cover the whole suite: no new call"
    unsharded = data["runs"][0]
    (stored_whole,) = [load_run(p) for p in stored(repo) if load_run(p).selection.shard is None]

    for k in (1, 2, 3):  # the shards again, now replayed like the unsharded run
        assert eval_json(run_cli, repo, "--shard", f"{k}/3")[0] == 0
    shard_files = [p for p in stored(repo) if load_run(p).selection.shard is not None]
    assert len(shard_files) == 3
    result = run_cli("--root", str(repo), "runs", "merge", *map(str, shard_files), "--output", str(tmp_path / "m.json"))
    assert result.code == 0, result.err
    assert "merged classify" in result.out and "3 shard(s), 30 item(s), 120 sample(s)" in result.out
    merged = json.loads((tmp_path / "m.json").read_text())
    assert whole(merged) == whole(unsharded)
    assert [(s["item_id"], s["model"], s["repeat"]) for s in merged["samples"]] == [
        (f"r{i:03d}", model, repeat) for i in range(30) for model in ("primary", "backup") for repeat in (0, 1)
    ]
    assert merged["aggregates"]["primary"]["samples"] == 60 and merged["selection"]["full"] is True
    # Stored under the whole run's key, in place of the unsharded run: its samples file is byte for byte the same.
    (merged_whole,) = [load_run(p) for p in stored(repo) if load_run(p).selection.shard is None]
    assert merged_whole.samples_file != stored_whole.samples_file
    assert merged_whole.samples_sha256 == stored_whole.samples_sha256
    assert merged_whole.aggregates == stored_whole.aggregates and merged_whole.selection == stored_whole.selection


def test_shard_runs_are_never_taken_for_whole_runs(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    """Two items in one shard of one: that shard holds every item, yet it is a shard run with its own key."""
    repo = sharded_repo(tmp_path / "repo", items=2)
    _, data = eval_json(run_cli, repo, "--shard", "1/1")
    _, full = eval_json(run_cli, repo)
    shard_run, whole_run = data["runs"][0], full["runs"][0]
    assert shard_run["selection"]["items"] == whole_run["selection"]["items"]
    assert shard_run["selection"]["key"] != whole_run["selection"]["key"] and not shard_run["selection"]["full"]
    assert len(stored(repo)) == 2


def test_reordering_and_adding_items_keeps_each_item_in_its_shard(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = sharded_repo(tmp_path / "repo", items=24)
    before = {
        k: set(eval_json(run_cli, repo, "--shard", f"{k}/3")[1]["runs"][0]["selection"]["items"]) for k in (1, 2, 3)
    }
    data = repo / "datasets/reviews.jsonl"
    lines = data.read_text().splitlines()
    extra = [json.dumps({"id": f"x{i}", "input": {"review": "good"}, "expected": "positive"}) for i in range(9)]
    data.write_text("\n".join([*reversed(lines), *extra]) + "\n")
    commit_all(repo, "reorder and grow the dataset")
    for k in (1, 2, 3):
        after = set(eval_json(run_cli, repo, "--shard", f"{k}/3")[1]["runs"][0]["selection"]["items"])
        assert {i for i in after if i.startswith("r")} == before[k]


@pytest.mark.parametrize("bad", ["0/3", "4/3", "3", "a/b", "1/0", "-1/3", "1/3/3", ""])
def test_a_bad_shard_is_a_usage_error(tmp_path: Path, run_cli, bad: str) -> None:
    result = run_cli("--root", str(tmp_path), "eval", "--shard", bad)
    assert result.code == 2 and "error[E980]" in result.err and "K/N" in result.err, result.err
    assert "Traceback" not in result.err


def test_a_shard_is_never_published_as_the_whole_experiment(tmp_path: Path, run_cli) -> None:
    result = run_cli("--root", str(tmp_path), "eval", "--shard", "1/2", "--publish")
    assert result.code == 2 and "error[E980]" in result.err and "--publish" in result.err


def test_merge_refuses_missing_doubled_and_mismatched_shards(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = sharded_repo(tmp_path / "repo", items=12)
    files: dict[str, Path] = {}
    for spec, extra in [("1/3", ()), ("2/3", ()), ("3/3", ()), ("1/2", ()), ("3/3", ("--models", "primary"))]:
        out = tmp_path / f"{spec.replace('/', 'of')}{'-primary' if extra else ''}.json"
        assert eval_json(run_cli, repo, "--shard", spec, "--out", str(out), *extra)[0] == 0
        files[out.stem] = out
    before = stored(repo)

    def merge(*names: str) -> str:
        result = run_cli("--root", str(repo), "runs", "merge", *(str(files[n]) for n in names))
        assert result.code == 2 and "error[E981]" in result.err and "Traceback" not in result.err, result.err
        assert stored(repo) == before, "nothing is written when the shards do not merge"
        return result.err

    assert "shard 2/3 is missing (given: 1/3 (" in merge("1of3", "3of3")
    shutil.copy(files["2of3"], tmp_path / "again.json")
    files["again"] = tmp_path / "again.json"
    assert f"shard 2/3 is given twice: {files['2of3']} and {files['again']}" in merge("1of3", "2of3", "again", "3of3")
    assert "split the suite differently" in merge("1of3", "2of3", "3of3", "1of2")
    assert "differs from" in merge("1of3", "2of3", "3of3-primary") and "in models" in merge(
        "1of3", "2of3", "3of3-primary"
    )

    prompt = repo / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("One word.", "Exactly one word."))
    commit_all(repo, "another prompt")
    files["changed"] = tmp_path / "changed.json"
    assert eval_json(run_cli, repo, "--shard", "3/3", "--out", str(files["changed"]))[0] == 0
    before = stored(repo)
    error = merge("1of3", "2of3", "changed")
    assert "shard 3/3 is missing" in error and "shard 1/3, 2/3 are missing" in error
    assert "different fingerprints never merge" in error

    whole_run = tmp_path / "whole.json"
    assert eval_json(run_cli, repo, "--out", str(whole_run))[0] == 0
    before = stored(repo)
    files["whole"] = whole_run
    assert "is not a shard run" in merge("whole")


def test_merge_refuses_an_edited_or_interrupted_shard(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = sharded_repo(tmp_path / "repo", items=8)
    for k in (1, 2):
        assert eval_json(run_cli, repo, "--shard", f"{k}/2")[0] == 0
    manifests = sorted(p for p in stored(repo) if load_run(p).selection.shard is not None)
    first = load_run(manifests[0])
    index = first.selection.shard.index
    samples = manifests[0].parent / first.samples_file
    samples.write_text(samples.read_text().replace('"positive"', '"negative"', 1))

    named = run_cli("--root", str(repo), "runs", "merge", *map(str, manifests))
    assert named.code == 2 and f"{manifests[0]}: its samples file" in named.err and "edited" in named.err
    in_folder = run_cli("--root", str(repo), "runs", "merge", str(repo / ".promptship" / "runs"))
    assert in_folder.code == 2 and f"shard {index}/2 is missing" in in_folder.err, in_folder.err
    assert f"{manifests[0]}: its samples file" in in_folder.err, "the folder's broken shard is named too"

    out = tmp_path / "interrupted.json"
    assert eval_json(run_cli, repo, "--shard", f"{index}/2", "--out", str(out))[0] == 0
    document = json.loads(out.read_text())
    document["complete"] = False
    out.write_text(json.dumps(document))
    other = next(p for p in manifests if load_run(p).selection.shard.index != index)
    refused = run_cli("--root", str(repo), "runs", "merge", str(out), str(other))
    assert refused.code == 2 and f"shard {index}/2 ({out}) was interrupted" in refused.err, refused.err


def test_an_empty_shard_still_merges(tmp_path: Path, env: FakeLLM, run_cli) -> None:  # noqa: F811
    repo = sharded_repo(tmp_path / "repo", items=2)
    sizes = []
    for k in (1, 2, 3, 4, 5):
        code, data = eval_json(run_cli, repo, "--shard", f"{k}/5")
        assert code == 0
        sizes.append(len(data["runs"][0]["selection"]["items"]))
    assert 0 in sizes and sum(sizes) == 2
    merged = run_cli("--root", str(repo), "runs", "merge", str(repo / ".promptship" / "runs"))
    assert merged.code == 0 and "5 shard(s), 2 item(s), 8 sample(s)" in merged.out, merged.err
