"""`promptship sync` against the Langfuse double, through the real langfuse SDK over HTTP."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from promptship.langfuse_sync import LangfuseSettings, LangfuseStore, sync

from .conftest import commit_all, git
from .doubles.langfuse_api import LangfuseDouble
from .doubles.openapi_check import OpenApiValidator

SENTIMENT = "prompts/reviews/sentiment.yaml"


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new), encoding="utf-8")


def store(double: LangfuseDouble) -> LangfuseStore:
    return LangfuseStore(LangfuseSettings(double.public_key, double.secret_key, double.host), sleep=lambda s: None)


def apply(run_cli, repo: Path, *extra: str) -> dict:
    result = run_cli("--root", str(repo), "sync", "--ref", "main", "--apply", "--format", "json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out[result.out.index("{") :])


def test_merge_creates_versions_and_production_and_a_second_sync_writes_nothing(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    plan = run_cli("--root", str(example_repo), "sync", "--ref", "main")
    assert plan.code == 0 and "plan  create_version  reviews/sentiment" in plan.out
    assert langfuse_double.writes == 0, "--plan writes nothing"
    first = apply(run_cli, example_repo)
    assert first["writes"] > 0
    assert langfuse_double.labels("reviews/sentiment") == {"production": 1, "latest": 1}
    version = langfuse_double.versions("reviews/sentiment")[0]
    commit = git(example_repo, "rev-parse", "main").strip()
    assert version["config"]["promptship"]["git_sha"] == commit and version["config"]["model"] == "chat-fast"
    assert version["commitMessage"].startswith(f"promptship {commit[:12]}")
    items = [i for i in langfuse_double.items.values() if i["datasetName"] == "reviews/sentiment-golden"]
    assert len(items) == 30 and all(i["status"] == "ACTIVE" for i in items)
    writes = langfuse_double.writes
    second = apply(run_cli, example_repo)
    assert second["writes"] == 0 and langfuse_double.writes == writes and second["actions"] == []


def test_revert_repoints_production_without_a_new_version(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "reword")
    apply(run_cli, example_repo)
    assert langfuse_double.labels("reviews/sentiment")["production"] == 2
    git(example_repo, "revert", "--no-edit", "HEAD")
    result = apply(run_cli, example_repo)
    assert [a["kind"] for a in result["actions"]] == ["move_label"]
    assert langfuse_double.labels("reviews/sentiment") == {"production": 1, "latest": 2}
    assert len(langfuse_double.versions("reviews/sentiment")) == 2, "no duplicate version"


def test_reformatting_publishes_nothing(example_repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    apply(run_cli, example_repo)
    path = example_repo / SENTIMENT
    path.write_text("# comment\n" + path.read_text().replace("max_tokens: 5", "max_tokens:    5"))
    commit_all(example_repo, "reformat")
    assert apply(run_cli, example_repo)["writes"] == 0


def test_out_of_order_sync_of_an_older_commit_changes_nothing(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    older = git(example_repo, "rev-parse", "main").strip()
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "newer")
    apply(run_cli, example_repo)
    writes = langfuse_double.writes
    result = apply(run_cli, example_repo, "--ref", older)
    assert result["superseded_by"] == git(example_repo, "rev-parse", "main").strip()
    assert langfuse_double.writes == writes
    assert langfuse_double.labels("reviews/sentiment")["production"] == 1  # the only version is the newer content
    assert langfuse_double.versions("reviews/sentiment")[0]["config"]["promptship"]["git_sha"] != older


def test_two_racing_syncs_end_on_the_newest_commit(example_repo: Path, langfuse_double: LangfuseDouble) -> None:
    older = git(example_repo, "rev-parse", "main").strip()
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    newer = commit_all(example_repo, "newer")
    errors: list[BaseException] = []

    def run(ref: str) -> None:
        try:
            sync(example_repo, store(langfuse_double), ref=ref, branch="main", apply=True)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(ref,)) for ref in (newer, older, older, newer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    versions = {v["version"]: v for v in langfuse_double.versions("reviews/sentiment")}
    production = versions[langfuse_double.labels("reviews/sentiment")["production"]]
    assert production["config"]["promptship"]["git_sha"] in (newer, older)
    assert "one lowercase word" in production["prompt"][0]["content"], "the newest commit's content serves"
    final = sync(example_repo, store(langfuse_double), ref=older, branch="main", apply=True)
    assert final.writes == 0 and final.plan.empty


def test_a_crash_between_writes_converges_on_rerun(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    langfuse_double.fail_from_write = 2
    with pytest.raises(Exception, match="Langfuse create .* failed"):
        sync(example_repo, store(langfuse_double), ref="main", branch="main", apply=True)
    assert len(langfuse_double.prompts) == 1, "the apply stopped after its first write"
    langfuse_double.fail_from_write = None
    apply(run_cli, example_repo)
    assert all(
        langfuse_double.labels(name)["production"] == 1
        for name in ("catalog/menu-description", "reviews/sentiment", "support/reply")
    )
    assert all(len(langfuse_double.versions(name)) == 1 for name in langfuse_double.prompts if not name.startswith("_"))
    assert apply(run_cli, example_repo)["writes"] == 0


def test_transient_errors_are_retried_and_persistent_ones_fail_clearly(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    langfuse_double.fail_writes = [503, 502]
    apply(run_cli, example_repo)
    assert langfuse_double.labels("support/reply")["production"] == 1
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "change")
    langfuse_double.fail_writes = [500] * 50
    result = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--apply")
    assert result.code == 1 and "error[E820] Langfuse create reviews/sentiment failed (500)" in result.err
    assert "Traceback" not in result.err and langfuse_double.secret_key not in result.out + result.err


def test_check_reports_drift_after_an_edit_in_the_ui(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    assert run_cli("--root", str(example_repo), "sync", "--ref", "main", "--check").code == 0
    langfuse_double.edit_prompt("reviews/sentiment", [{"role": "system", "content": "edited in the UI"}])
    drift = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--check")
    assert drift.code == 1
    assert "drift  reviews/sentiment: label production on v2: edited outside promptship" in drift.out
    apply(run_cli, example_repo)
    assert langfuse_double.labels("reviews/sentiment")["production"] == 1, "sync restores Git's version"
    assert run_cli("--root", str(example_repo), "sync", "--ref", "main", "--check").code == 0


def test_release_policy_labels_per_branch(example_repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    git(example_repo, "checkout", "-q", "-b", "release/2026-12")
    result = run_cli("--root", str(example_repo), "sync", "--ref", "HEAD", "--branch", "release/2026-12", "--apply")
    assert result.code == 0
    assert langfuse_double.labels("reviews/sentiment") == {"staging": 1, "latest": 1}


def test_dataset_items_are_updated_and_removed_items_archived(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    path = example_repo / "datasets/reviews/sentiment-golden.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["expected"] = "neutral"
    path.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:-1]]) + "\n", encoding="utf-8")
    commit_all(example_repo, "relabel one, drop one")
    result = apply(run_cli, example_repo)
    kinds = sorted(a["detail"].split()[0] for a in result["actions"])
    assert kinds == ["archive", "update"]
    items = langfuse_double.items
    assert items["reviews__sentiment-golden:review-001"]["expectedOutput"] == "neutral"
    assert items["reviews__sentiment-golden:review-030"]["status"] == "ARCHIVED"


def test_missing_credentials_are_named_never_shown(
    example_repo: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-do-not-print-me")
    monkeypatch.delenv("LANGFUSE_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("LANGFUSE_HOST", raising=False)
    result = run_cli("--root", str(example_repo), "sync", "--apply")
    assert result.code == 2 and "LANGFUSE_PUBLIC_KEY, LANGFUSE_HOST" in result.err
    assert "do-not-print-me" not in result.out + result.err
    assert os.environ["LANGFUSE_SECRET_KEY"] == "sk-lf-do-not-print-me"


def test_double_rejects_responses_that_break_the_openapi_spec() -> None:
    validator = OpenApiValidator()
    good = {"name": "a", "version": 1, "type": "text", "prompt": "x", "config": {}, "labels": [], "tags": []}
    assert validator.problem("Prompt", good) is None
    assert validator.problem("Prompt", {**good, "version": "1"}) is not None
    assert validator.problem("Prompt", {k: v for k, v in good.items() if k != "labels"}) is not None
    meta = {"data": [], "meta": {"page": 1, "limit": 50, "totalItems": 0}}
    assert "totalPages" in (validator.problem("PromptMetaListResponse", meta) or "")


def test_double_semantics_through_the_sdk(langfuse_double: LangfuseDouble) -> None:
    from langfuse import Langfuse

    client = Langfuse(
        public_key=langfuse_double.public_key,
        secret_key=langfuse_double.secret_key,
        host=langfuse_double.host,
        tracing_enabled=False,
    )
    client.create_prompt(name="team/p", prompt="hello", type="text", labels=["production"])
    client.create_prompt(name="team/p", prompt="hello", type="text", labels=[])
    assert [v["version"] for v in langfuse_double.versions("team/p")] == [1, 2], "identical content: new version"
    assert client.get_prompt("team/p", cache_ttl_seconds=0).version == 1, "no label means production"
    client.update_prompt(name="team/p", version=2, new_labels=["production"])
    assert langfuse_double.labels("team/p") == {"production": 2, "latest": 2}
    with pytest.raises(Exception, match="Prompt not found: 'team/p' with label 'staging'"):
        client.api.prompts.get("team%2Fp", label="staging")
    with pytest.raises(Exception, match="different prompt type"):
        client.create_prompt(name="team/p", prompt=[{"role": "user", "content": "x"}], type="chat")
    bad = Langfuse(public_key="pk-wrong", secret_key="sk-wrong", host=langfuse_double.host, tracing_enabled=False)
    with pytest.raises(Exception, match="Invalid credentials"):
        bad.api.prompts.list()
