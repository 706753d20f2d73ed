"""`promptship sync` against the Langfuse double, through the real langfuse SDK over HTTP."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from promptship.publish.sync import (
    LangfuseSettings,
    LangfuseStore,
    ledger_entry,
    ledger_name,
    newest_commit,
    sync,
)

from ..conftest import commit_all, git
from ..doubles.langfuse_api import LangfuseDouble
from ..doubles.openapi_check import OpenApiValidator

SENTIMENT = "prompts/reviews/sentiment.yaml"
LEDGER_MAIN = "_promptship/sync-ledgers/main"


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def published(double: LangfuseDouble) -> list[str]:
    """Names of the prompts promptship published (its ledgers left out)."""
    return [name for name in double.prompts if not name.startswith("_promptship/")]


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new), encoding="utf-8")


def store(double: LangfuseDouble) -> LangfuseStore:
    return LangfuseStore(LangfuseSettings(double.public_key, double.secret_key, double.host), sleep=lambda s: None)


def apply(run_cli, repo: Path, *extra: str) -> dict:
    result = run_cli(
        "--root", str(repo), "sync", "--ref", "main", "--branch", "main", "--apply", "--format", "json", *extra
    )
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


def test_reformatting_publishes_nothing_and_only_records_the_commit(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    versions = {name: len(langfuse_double.versions(name)) for name in langfuse_double.prompts}
    path = example_repo / SENTIMENT
    path.write_text("# comment\n" + path.read_text().replace("max_tokens: 5", "max_tokens:    5"))
    commit_all(example_repo, "reformat")
    result = apply(run_cli, example_repo)
    assert result["actions"] == [] and result["writes"] == 1, "the one write is the ledger entry"
    assert langfuse_double.versions(LEDGER_MAIN)[-1]["prompt"] == ledger_entry("main", head(example_repo))
    assert {name: len(langfuse_double.versions(name)) for name in versions if name != LEDGER_MAIN} == {
        name: count for name, count in versions.items() if name != LEDGER_MAIN
    }
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
    langfuse_double.fail_from_write = 3  # the ledger entry, one version, then an outage
    with pytest.raises(Exception, match="Langfuse create .* failed"):
        sync(example_repo, store(langfuse_double), ref="main", branch="main", apply=True)
    assert len(published(langfuse_double)) == 1, "the apply stopped after its first version"
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
    assert result.code == 1 and "error[E820] Langfuse write ledger failed (500)" in result.err
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


def served(double: LangfuseDouble, name: str, label: str = "production") -> dict:
    """The version of ``name`` that holds ``label``."""
    return next(v for v in double.versions(name) if label in v["labels"])


def test_a_release_branch_sync_never_steers_main(example_repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    git(example_repo, "checkout", "-q", "-b", "release/2026-12")
    edit(example_repo, SENTIMENT, "exactly one word", "release-only wording")
    commit_all(example_repo, "release-only change")
    release = run_cli("--root", str(example_repo), "sync", "--ref", "HEAD", "--branch", "release/2026-12", "--apply")
    assert release.code == 0, release.err
    git(example_repo, "checkout", "-q", "main")
    apply(run_cli, example_repo)
    assert "release-only wording" not in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])
    assert "release-only wording" in json.dumps(served(langfuse_double, "reviews/sentiment", "staging")["prompt"])
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "main moves on")
    apply(run_cli, example_repo)  # before per-branch ledgers: E821 diverged histories, on every main sync
    assert "one lowercase word" in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])
    assert {"_promptship/sync-ledgers/main", "_promptship/sync-ledgers/release/2026-12"} <= set(langfuse_double.prompts)


def test_a_force_pushed_branch_warns_and_the_most_recently_published_line_wins(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    base = head(example_repo)
    apply(run_cli, example_repo)
    edit(example_repo, SENTIMENT, "exactly one word", "abandoned wording")
    abandoned = commit_all(example_repo, "later force-pushed away")
    apply(run_cli, example_repo)
    git(example_repo, "reset", "-q", "--hard", base)
    edit(example_repo, SENTIMENT, "exactly one word", "rewritten wording")
    commit_all(example_repo, "the rewritten history")
    result = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--branch", "main", "--apply")
    assert result.code == 0, result.err
    assert "diverged histories" in result.err and abandoned[:12] in result.err
    assert "rewritten wording" in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])
    stale = apply(run_cli, example_repo, "--ref", abandoned)  # a re-run of the abandoned commit's workflow
    assert stale["superseded_by"] == head(example_repo) and stale["writes"] == 0
    assert "rewritten wording" in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])


def test_a_commit_with_nothing_to_write_is_recorded_so_an_older_one_cannot_move_labels_back(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    reworded = commit_all(example_repo, "reword (its sync is delayed)")
    git(example_repo, "revert", "--no-edit", "HEAD")
    assert apply(run_cli, example_repo)["actions"] == [], "Langfuse already serves the reverted content"
    stale = apply(run_cli, example_repo, "--ref", reworded)
    assert stale["superseded_by"] == head(example_repo) and stale["writes"] == 0
    assert served(langfuse_double, "reviews/sentiment")["version"] == 1
    assert len(langfuse_double.versions("reviews/sentiment")) == 1


@pytest.mark.parametrize("crash_at", [2, 3])
def test_after_a_crash_mid_apply_an_older_sync_only_moves_labels_forward(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli, crash_at: int
) -> None:
    apply(run_cli, example_repo)
    edit(example_repo, SENTIMENT, "exactly one word", "older wording")
    older = commit_all(example_repo, "older (its sync is delayed)")
    edit(example_repo, SENTIMENT, "older wording", "newest wording")
    edit(example_repo, "prompts/support/reply.yaml", "polite customer-support agent", "kind support agent")
    commit_all(example_repo, "newest: two prompts change")
    langfuse_double.fail_from_write = langfuse_double.writes + crash_at  # an outage in the middle of the apply
    crashed = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--branch", "main", "--apply")
    assert crashed.code == 1 and "E820" in crashed.err
    langfuse_double.fail_from_write = None
    stale = apply(run_cli, example_repo, "--ref", older)
    assert stale["superseded_by"] == head(example_repo), "the newest commit was recorded before its first write"
    assert "newest wording" in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])
    assert "kind support agent" in json.dumps(served(langfuse_double, "support/reply")["prompt"])
    assert not any("older wording" in json.dumps(v["prompt"]) for v in langfuse_double.versions("reviews/sentiment"))


def test_malformed_ledger_entries_are_skipped_with_a_warning_and_never_reach_git(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli, tmp_path: Path
) -> None:
    apply(run_cli, example_repo)
    marker = tmp_path / "pwned"
    for text in (
        "not json {",
        json.dumps({"commit": f"--upload-pack=touch {marker}", "branch": "main"}),
        json.dumps({"commit": "0" * 39 + "Z", "branch": "main"}),
        json.dumps({"nothing": True}),
        json.dumps({"commit": "a" * 40, "branch": "release/x"}),
    ):
        langfuse_double.add_version(LEDGER_MAIN, text)
    langfuse_double.add_version("_promptship/sync-ledger", f"--upload-pack=touch {marker}")  # the old global ledger
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "change")
    result = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--branch", "main", "--apply")
    assert result.code == 0, result.err
    assert result.err.count("warning: ignoring malformed sync ledger entry") == 4
    assert "records another branch" in result.err and not marker.exists()
    assert "one lowercase word" in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])


def test_a_create_whose_response_was_lost_is_not_created_twice(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    edit(example_repo, SENTIMENT, "exactly one word", "one lowercase word")
    commit_all(example_repo, "change")
    langfuse_double.lose_create_response_of = "reviews/sentiment"
    result = apply(run_cli, example_repo)
    assert [a["kind"] for a in result["actions"]] == ["create_version"]
    assert [v["version"] for v in langfuse_double.versions("reviews/sentiment")] == [1, 2], "no duplicate"
    assert langfuse_double.labels("reviews/sentiment") == {"production": 2, "latest": 2}
    assert apply(run_cli, example_repo)["writes"] == 0


def test_a_revert_past_the_newest_fifty_versions_reuses_the_old_version(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    for number in range(55):
        langfuse_double.add_version("reviews/sentiment", [{"role": "system", "content": f"UI draft {number}"}], "chat")
    langfuse_double.edit_prompt("reviews/sentiment", [{"role": "system", "content": "edited in the UI"}])
    result = apply(run_cli, example_repo)
    assert [a["detail"] for a in result["actions"]] == ["production: v57 → v1"]
    assert len(langfuse_double.versions("reviews/sentiment")) == 57, "no duplicate of v1"


def test_a_sync_with_nothing_to_do_reads_each_prompt_once_per_label(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    apply(run_cli, example_repo)
    for number in range(10):
        langfuse_double.add_version("reviews/sentiment", [{"role": "system", "content": f"UI draft {number}"}], "chat")
    before = len(langfuse_double.journal)
    assert apply(run_cli, example_repo)["writes"] == 0
    reads = [path for _, path in langfuse_double.journal[before:] if path.startswith("/api/public/v2/prompts/reviews")]
    assert reads == ["/api/public/v2/prompts/reviews%2Fsentiment?label=production"]


# a ← b ← c is one line; x and y fork from a (a rewritten branch)
HISTORY = {"a": {"a"}, "b": {"a", "b"}, "c": {"a", "b", "c"}, "x": {"a", "x"}, "y": {"a", "y"}}


@pytest.mark.parametrize(
    ("own", "recorded", "expected", "warned"),
    [
        ("c", ["a", "b"], "c", False),
        ("a", ["b", "c", "b"], "c", False),  # stale: the newest by ancestry, whatever the order recorded
        ("b", ["a", "x"], "b", True),  # a new push on a diverged line counts as the most recent
        ("x", ["x", "c"], "c", True),  # a re-run of a commit published before the other line was
        ("a", ["c", "y"], "y", True),
    ],
)
def test_newest_commit_by_ancestry_then_by_ledger_order(
    own: str, recorded: list[str], expected: str, warned: bool
) -> None:
    warnings: list[str] = []
    chosen = newest_commit(own, recorded, lambda a, b: a in HISTORY[b], warnings.append)
    assert chosen == expected and bool(warnings) == warned


def test_ledger_names_are_valid_langfuse_prompt_names_and_distinct_per_branch() -> None:
    branches = ["main", "release/2026-12", "release/2026+12", "feature/ümlaut", "a" * 300, "a" * 301]
    names = [ledger_name(branch) for branch in branches]
    assert names[:2] == ["_promptship/sync-ledgers/main", "_promptship/sync-ledgers/release/2026-12"]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_./-]{1,255}", name) and "//" not in name and not name.endswith("/")


def test_the_branch_defaults_to_the_one_ref_names_and_a_bare_sha_needs_branch(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_REF_NAME", raising=False)
    bare = run_cli("--root", str(example_repo), "sync", "--ref", head(example_repo), "--apply")
    assert bare.code == 2 and "pass --branch NAME" in bare.err and "Traceback" not in bare.err
    assert langfuse_double.writes == 0
    assert run_cli("--root", str(example_repo), "sync", "--apply").code == 0  # HEAD is on main
    assert langfuse_double.labels("reviews/sentiment") == {"production": 1, "latest": 1}
    assert LEDGER_MAIN in langfuse_double.prompts


def test_eval_publish_never_rewrites_an_existing_dataset(
    tmp_path: Path, fake_llm, langfuse_double: LangfuseDouble, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ..eval.test_eval import SENTIMENT as EVAL_RULES
    from ..eval.test_eval import make_repo

    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    fake_llm.set_rules(EVAL_RULES)
    repo = make_repo(tmp_path, items=4)
    first = run_cli("--root", str(repo), "eval", "--quiet", "--publish")
    assert first.code == 0, first.err
    published = {i["id"]: dict(i) for i in langfuse_double.items.values() if i["datasetName"] == "reviews"}
    assert len(published) == 4, "a dataset Langfuse lacks is created"
    git(repo, "checkout", "-q", "-b", "feature/relabel")
    path = repo / "datasets/reviews.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    changed = {**json.loads(lines[0]), "expected": "neutral"}
    added = {**json.loads(lines[1]), "id": "r900"}
    path.write_text("\n".join(json.dumps(x) for x in (changed, *map(json.loads, lines[1:3]), added)) + "\n")
    commit_all(repo, "relabel r000, drop r003, add r900")
    spans = len(langfuse_double.spans)
    second = run_cli("--root", str(repo), "eval", "--quiet", "--publish")
    assert second.code == 0, second.err
    assert "1 item(s) of reviews are not in Langfuse" in second.err and "3 item(s)" in second.err
    now = {i["id"]: i for i in langfuse_double.items.values() if i["datasetName"] == "reviews"}
    assert now == published, "no item updated, archived or added by a feature branch"
    linked = {
        s["attributes"]["langfuse.experiment.item.id"]
        for s in langfuse_double.spans[spans:]
        if s["attributes"].get("langfuse.experiment.item.id")
    }
    assert linked == {"reviews:r000", "reviews:r001", "reviews:r002"}


def test_sync_publishes_an_nfd_prompt_path_under_its_nfc_name(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    import unicodedata

    nfc_name = "reviews/감정"
    nfd_path = unicodedata.normalize("NFD", f"prompts/{nfc_name}.yaml")
    git(example_repo, "mv", SENTIMENT, nfd_path)  # as a macOS checkout commits it
    edit(example_repo, "datasets/reviews/sentiment-golden.yaml", "prompt: reviews/sentiment", f"prompt: {nfc_name}")
    edit(example_repo, "evals/review-sentiment.yaml", "prompt: reviews/sentiment", f"prompt: {nfc_name}")
    commit_all(example_repo, "rename on a Mac")
    apply(run_cli, example_repo)
    assert nfc_name in published(langfuse_double)
    assert all(unicodedata.is_normalized("NFC", name) for name in published(langfuse_double))


def test_a_committed_parse_cache_never_changes_what_is_validated_rendered_or_published(
    example_repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    """A force-added .promptship/cache/parsed-yaml.json mapping an unchanged file's hash to other
    content must be ignored by validate, render, sync --apply and sync --check."""
    import hashlib

    text = (example_repo / SENTIMENT).read_text(encoding="utf-8")
    poisoned = {
        "type": "chat",
        "model": "chat-fast",
        "messages": [{"role": "system", "content": "UNREVIEWED poisoned text {{ undeclared }}"}],
    }
    documents = {
        hashlib.sha1(text.encode()).hexdigest(): poisoned,
        hashlib.sha256(text.encode()).hexdigest(): poisoned,
    }
    cache = example_repo / ".promptship/cache/parsed-yaml.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"version": 1, "documents": documents}), encoding="utf-8")
    git(example_repo, "add", "-f", ".promptship/cache/parsed-yaml.json")
    git(example_repo, "commit", "-q", "-m", "force-add a poisoned parse cache")
    validated = run_cli("--root", str(example_repo), "validate")
    assert validated.code == 0 and "undeclared" not in validated.out + validated.err
    rendered = run_cli("--root", str(example_repo), "render", "reviews/sentiment", "--var", "review=x")
    assert rendered.code == 0, rendered.err
    assert "poisoned" not in rendered.out and "exactly one word" in rendered.out
    apply(run_cli, example_repo)
    assert "poisoned" not in json.dumps(served(langfuse_double, "reviews/sentiment")["prompt"])
    langfuse_double.edit_prompt("reviews/sentiment", [{"role": "system", "content": "UNREVIEWED poisoned text"}])
    drift = run_cli("--root", str(example_repo), "sync", "--ref", "main", "--check")
    assert drift.code == 1 and "reviews/sentiment" in drift.out
    assert cache.read_text(encoding="utf-8") == json.dumps({"version": 1, "documents": documents}), "never rewritten"


def test_racing_syncs_never_move_a_label_backwards_even_for_a_moment(
    example_repo: Path, langfuse_double: LangfuseDouble
) -> None:
    """A newer sync starts just before an older one on a slow server: the older one must never put its
    content on `production` after the newer content served (claim before write, re-checked per write)."""
    sync(example_repo, store(langfuse_double), ref="main", branch="main", apply=True)
    base = head(example_repo)
    names = ("reviews/sentiment", "support/reply", "catalog/menu-description")

    def set_temperature(value: str) -> None:
        for name in names:
            path = example_repo / "prompts" / f"{name}.yaml"
            path.write_text(re.sub(r"temperature: [0-9.]+", f"temperature: {value}", path.read_text()))

    set_temperature("0.3")
    older = commit_all(example_repo, "older: every prompt changes")
    set_temperature("0.7")
    newer = commit_all(example_repo, "newer: every prompt changes again")
    langfuse_double.prompt_latency_s = 0.02
    moves_before = len(langfuse_double.label_moves)
    errors: list[BaseException] = []

    def run(ref: str) -> None:
        try:
            sync(
                example_repo,
                store(langfuse_double),
                ref=ref,
                branch="main",
                apply=True,
                sleep=lambda s: time.sleep(0.01),
            )
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(newer,)), threading.Thread(target=run, args=(older,))]
    threads[0].start()
    time.sleep(0.15)  # the newer sync is planning (reading every prompt) when the older one starts
    threads[1].start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    rank = {base: 0, older: 1, newer: 2}
    for name in names:
        shas = {v["version"]: v["config"]["promptship"]["git_sha"] for v in langfuse_double.versions(name)}
        served = [
            rank[shas[v]]
            for n, label, v in langfuse_double.label_moves[moves_before:]
            if n == name and label == "production"
        ]
        assert served == sorted(served), f"{name}: production moved backwards: {served}"
        assert served and served[-1] == 2, "the newest commit serves in the end"
