"""Repository loading: from the working tree and from git refs, and canonical content hashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptship.errors import GitError
from promptship.files.repo import load_repo

from ..conftest import commit_all, git


def snapshot(root: Path, ref: str | None = None) -> dict[str, object]:
    result = load_repo(root, ref)
    repo = result.repo
    return {
        "prompts": {n: e.hash for n, e in repo.prompts.items()},
        "datasets": {n: (e.hash, len(e.items)) for n, e in repo.datasets.items()},
        "suites": {n: e.hash for n, e in repo.suites.items()},
        "routing": repo.policies.routing,
        "diagnostics": [d.format() for d in result.diagnostics],
    }


def test_example_repository_loads_without_errors(example_repo: Path) -> None:
    result = load_repo(example_repo)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert {"catalog/menu-description", "reviews/sentiment", "support/reply"} <= set(result.repo.prompts)
    assert all(len(d.items) >= 25 for d in result.repo.datasets.values())
    assert len(result.repo.suites) >= 3


def test_loading_at_a_ref_equals_loading_a_checkout_of_that_ref(example_repo: Path, tmp_path: Path) -> None:
    first = git(example_repo, "rev-parse", "HEAD").strip()
    prompt = example_repo / "prompts/reviews/sentiment.yaml"
    prompt.write_text(prompt.read_text().replace("exactly one word", "one lowercase word"))
    (example_repo / "datasets/reviews/sentiment-golden.jsonl").write_text(
        '{"id": "only", "input": {"review": "좋아요"}, "expected": "positive"}\n'
    )
    commit_all(example_repo, "edit")
    checkout = tmp_path / "checkout"
    git(example_repo, "worktree", "add", "-q", str(checkout), first)

    assert snapshot(example_repo, first) == snapshot(checkout)
    assert snapshot(example_repo, "HEAD") == snapshot(example_repo)
    assert snapshot(example_repo, first) != snapshot(example_repo, "HEAD")
    assert load_repo(example_repo, "HEAD~1").repo.commit == first


def test_ref_load_ignores_uncommitted_changes(example_repo: Path) -> None:
    before = snapshot(example_repo, "HEAD")
    (example_repo / "prompts/reviews/sentiment.yaml").write_text("type: [broken\n")
    assert snapshot(example_repo, "HEAD") == before
    assert snapshot(example_repo)["diagnostics"]


def test_unknown_ref_is_a_clear_git_error(example_repo: Path) -> None:
    with pytest.raises(GitError) as info:
        load_repo(example_repo, "no-such-branch")
    assert "unknown git ref 'no-such-branch'" in info.value.message
    assert info.value.hint and "fetch" in info.value.hint


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_reformatting_and_reordering_keep_the_hash(example_repo: Path) -> None:
    path = example_repo / "prompts/reviews/sentiment.yaml"
    before = load_repo(example_repo).repo.prompts["reviews/sentiment"].hash
    text = path.read_text(encoding="utf-8")
    # Move `tags` to the end, add comments and blank lines, switch a list to flow style.
    _rewrite(path, "tags: [reviews, classification]\n", "")
    path.write_text("# a comment\n\n" + path.read_text(encoding="utf-8") + "\ntags:\n  - reviews\n  - classification\n")
    after = load_repo(example_repo).repo.prompts["reviews/sentiment"].hash
    assert text != path.read_text(encoding="utf-8")
    assert after == before


def test_changing_a_word_changes_the_hash(example_repo: Path) -> None:
    before = load_repo(example_repo).repo.prompts["reviews/sentiment"].hash
    _rewrite(example_repo / "prompts/reviews/sentiment.yaml", "exactly one word", "exactly one token")
    assert load_repo(example_repo).repo.prompts["reviews/sentiment"].hash != before


def test_dataset_hash_ignores_item_order_but_not_content(example_repo: Path) -> None:
    path = example_repo / "datasets/reviews/sentiment-golden.jsonl"
    before = load_repo(example_repo).repo.datasets["reviews/sentiment-golden"].hash
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    assert load_repo(example_repo).repo.datasets["reviews/sentiment-golden"].hash == before
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert load_repo(example_repo).repo.datasets["reviews/sentiment-golden"].hash != before


def test_policy_hash_is_layout_independent_but_content_sensitive(example_repo: Path) -> None:
    routing = example_repo / "policies/routing.yaml"
    before = load_repo(example_repo).repo.policies.hash("routing")
    text = routing.read_text()
    flowed = "# reformatted\n" + "\n".join(line.rstrip() + "   " for line in text.splitlines()) + "\n"
    routing.write_text(flowed.replace("timeout_s: 30", "timeout_s:    30.0", 1))
    assert load_repo(example_repo).repo.policies.hash("routing") == before
    routing.write_text(text.replace("retries: 2", "retries: 3", 1))
    assert load_repo(example_repo).repo.policies.hash("routing") != before


def test_folders_make_prompt_names(tmp_path: Path, example_repo: Path) -> None:
    nested = example_repo / "prompts/a/b/c.yaml"
    nested.parent.mkdir(parents=True)
    shutil.copy(example_repo / "prompts/reviews/sentiment.yaml", nested)
    assert "a/b/c" in load_repo(example_repo).repo.prompts


def test_loading_writes_nothing_under_the_working_folder(example_repo: Path) -> None:
    """Nothing is cached from a load: what is validated is always parsed from the files themselves."""
    cold = snapshot(example_repo)
    assert not (example_repo / ".promptship").exists()
    prompt = example_repo / "prompts/reviews/sentiment.yaml"
    prompt.write_text(prompt.read_text().replace("exactly one word", "one word"))
    assert snapshot(example_repo)["prompts"]["reviews/sentiment"] != cold["prompts"]["reviews/sentiment"]


def test_the_redactor_replaces_every_form_of_a_known_credential_and_nothing_short() -> None:
    from promptship.files.redact import Redactor

    env = {"MY_KEY": "sk-live/abc+def 0123", "SHORT": "true", "OTHER": "unrelated-value"}
    redactor = Redactor(env, ["MY_KEY", "SHORT"])
    text = 'raw sk-live/abc+def 0123, url sk-live%2Fabc%2Bdef%200123, form sk-live%2Fabc%2Bdef+0123, "true"'
    assert redactor(text) == 'raw [redacted MY_KEY], url [redacted MY_KEY], form [redacted MY_KEY], "true"'
    env["MY_KEY"] = "rotated-key-000"
    assert redactor("now rotated-key-000") == "now [redacted MY_KEY]", "values are read when redacting"
    assert redactor.data({"a": ["rotated-key-000", 1]}) == {"a": ["[redacted MY_KEY]", 1]}


def test_a_yaml_alias_bomb_is_a_located_error_not_a_memory_error(example_repo: Path, run_cli) -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    (example_repo / "prompts/bomb.yaml").write_text(bomb + "type: chat\nmodel: chat-fast\nmessages: *i\n")
    (example_repo / "prompts/loop.yaml").write_text("a: &a [*a]\n")
    (example_repo / "prompts/deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1 and "Traceback" not in result.err
    assert "prompts/bomb.yaml:2:8: error[E001] invalid YAML: aliases expand to more than 100,000 values" in result.out
    assert "prompts/loop.yaml:1:4: error[E001] invalid YAML: found unconstructable recursive node" in result.out
    assert "prompts/deep.yaml:1:1: error[E001] invalid YAML: values are nested more than 200 levels deep" in result.out


def test_symlinks_out_of_the_repository_are_refused_at_their_path(example_repo: Path, tmp_path: Path, run_cli) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("type: chat\nmodel: chat-fast\nmessages:\n  - {role: user, content: 'sk-live-secret from /etc'}\n")
    (example_repo / "prompts/stolen.yaml").symlink_to(outside)
    (example_repo / "prompts/passwd.yaml").symlink_to("/etc/passwd")
    (example_repo / "prompts/alias.yaml").symlink_to("reviews/sentiment.yaml")  # inside: read as its target
    commit_all(example_repo, "links")
    for args in ((), ("--ref", "HEAD")):
        result = run_cli("--root", str(example_repo), "validate", *args)
        assert result.code == 1 and "Traceback" not in result.err, result.err
        for name in ("stolen", "passwd"):
            assert f"prompts/{name}.yaml:1:1: error[E005] symbolic link to a file outside the repository" in result.out
        assert "alias.yaml" not in result.out and "root:" not in result.out
    assert "alias" in load_repo(example_repo).repo.prompts and "stolen" not in load_repo(example_repo).repo.prompts
    assert "alias" in load_repo(example_repo, "HEAD").repo.prompts


def test_a_json_schema_evaluator_never_fetches_a_remote_ref(example_repo: Path, run_cli) -> None:
    suite = example_repo / "evals/remote.yaml"
    suite.write_text(
        "prompt: reviews/sentiment\ndataset: reviews/sentiment-golden\nmodels: [chat-fast]\nevaluators:\n"
        "  - type: json_schema\n    params:\n      schema:\n        type: object\n        properties:\n"
        "          a: {$ref: 'https://schemas.example.invalid/a.json'}\n"
    )
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1 and "Traceback" not in result.err
    line = next(line for line in result.out.splitlines() if line.startswith("evals/remote.yaml:"))
    assert "points outside the schema" in line and "never fetches" in line and ":7:" in line


def test_jsonl_and_csv_edge_cases_are_located_errors_never_crashes(example_repo: Path, run_cli) -> None:
    path = example_repo / "datasets/reviews/sentiment-golden.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    separators = json.dumps({"id": "sep", "input": {"review": "one\u2028two\u0085three"}, "expected": "neutral"}, ensure_ascii=False)
    extra = [
        separators,  # 31: U+2028/U+0085 inside a string are not line ends
        '{"id": "dup", "input": {"review": "a"}, "id": "dup2"}',  # 32
        '{"id": "nan", "input": {"review": "a"}, "metadata": {"score": NaN}}',  # 33
        '{"id": "deep", "input": {"review": "a"}, "metadata": {"x": ' + "[" * 1500 + "]" * 1500 + "}}",  # 34
        '{"id": "deep2", "input": {"review": "a"}, "metadata": {"x": ' + "[" * 300 + "]" * 300 + "}}",  # 35
    ]
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    (example_repo / "datasets/big.yaml").write_text(
        "kind: golden\nsynthetic: true\nprompt: reviews/sentiment\ncsv: {id: id, input: {review: text}}\n"
    )
    (example_repo / "datasets/big.csv").write_text("id,text\nok,fine\nhuge," + "x" * 140_000 + "\nafter,fine\n")
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    jsonl = "datasets/reviews/sentiment-golden.jsonl"
    assert f"{jsonl}:31:" not in result.out, "a string holding U+2028 or U+0085 is one line"
    assert f"{jsonl}:32:1: error[E205] duplicate key 'id'" in result.out
    assert f"{jsonl}:33:1: error[E205] NaN is not JSON" in result.out
    assert f"{jsonl}:34:1: error[E205] values are nested more than 200 levels deep" in result.out
    assert f"{jsonl}:35:1: error[E205] values are nested more than 200 levels deep" in result.out
    assert "datasets/big.csv:3:1: error[E207] malformed CSV record: a cell is longer than 131,072 characters" in (
        result.out
    )
    items = load_repo(example_repo).repo.datasets["reviews/sentiment-golden"].items
    assert next(i for i in items if i.id == "sep").input["review"] == "one\u2028two\u0085three"
    assert [i.id for i in load_repo(example_repo).repo.datasets["big"].items] == ["ok", "after"]


def test_unwritable_outputs_and_non_utf8_comment_bodies_are_located_errors(
    example_repo: Path, run_cli, tmp_path: Path, monkeypatch
) -> None:
    from promptship.files.atomic import write_atomically

    write_atomically(tmp_path / "missing" / "deeper" / "run.json", "{}")
    assert (tmp_path / "missing/deeper/run.json").read_text() == "{}", "missing folders are created"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(Exception, match=r"cannot write .*a-file/run.json") as info:
        write_atomically(blocker / "run.json", "{}")
    assert type(info.value).__name__ == "UsageError"
    body = tmp_path / "comment.md"
    body.write_bytes(b"\xff\xfe not utf-8")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_unused")
    result = run_cli("ci", "comment", "--repo", "a/b", "--pr", "1", "--body-file", str(body), "--api-url", "http://127.0.0.1:9")
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{body}: not UTF-8 (byte 0xff at offset 0)" in result.err
