"""`promptship import langfuse`: a Langfuse project becomes files that publish back to exactly what it serves."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ..conftest import commit_all, git

REPLY_CONFIG = {"model": "gpt-4o", "temperature": 0.3, "max_tokens": 200, "owner": "support"}


def reply(version: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"You answer {{{{customer}}}} politely (style {version})."},
        {"role": "user", "content": "{{question}}"},
    ]


def seed(double) -> None:
    """A project as teams have it: chat and text prompts, folders, placeholders, labels on several
    versions, configs that are not promptship's, one prompt never released, datasets."""
    for number, labels in ((1, []), (2, ["production"]), (3, ["staging"])):
        double.add_version("support/reply", reply(number), "chat", labels, f"edit {number}", REPLY_CONFIG, ["support"])
    double.add_version(
        "summarize", "Summarize: {{text}}", "text", ["production", "beta"], None, {"model": "gpt-4o-mini"}
    )
    history = [
        {"role": "system", "content": "Be brief."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}"},
    ]
    double.add_version("chat/with-history", history, "chat", ["production"], None, {"model": "openai/gpt-4o-mini"})
    double.add_version("draft", "Draft a note about {{topic}}", "text", [], None, {})
    double.add_dataset(
        "support/reply-cases",
        [
            {
                "id": "item-1",
                "input": {"customer": "Jane", "question": "Where is my order?"},
                "expectedOutput": "On its way",
                "metadata": {"source": "ticket"},
            },
            {"id": "item-2", "input": {"customer": "Min", "question": "Can I pay by card?"}},
            {"id": "item-3", "input": {"customer": "Old", "question": "Gone?"}, "status": "ARCHIVED"},
        ],
        description="Real tickets, cleaned",
    )
    double.add_dataset("orphan", [{"id": "o-1", "input": {"foo": "bar"}}])


PROMPTS = ("support/reply", "summarize", "chat/with-history", "draft")


@pytest.fixture
def repo(tmp_path: Path, run_cli) -> Path:
    root = tmp_path / "repo"
    assert run_cli("init", "--no-example", str(root)).code == 0
    assert not (root / "prompts").exists()
    commit_all(root, "start")
    return root


def snapshot(double) -> tuple[dict, dict, dict]:
    versions = {n: [(v["version"], v["prompt"], v["config"]) for v in double.versions(n)] for n in PROMPTS}
    labels = {n: double.labels(n) for n in PROMPTS}
    return versions, labels, copy.deepcopy(double.items)


def test_a_langfuse_project_round_trips_through_import_and_sync(repo: Path, run_cli, langfuse_double) -> None:
    seed(langfuse_double)
    done = run_cli("--root", str(repo), "import", "langfuse", "--model", "chat")
    assert done.code == 0, done.err
    for path in (
        "prompts/support/reply.yaml",
        "prompts/summarize.yaml",
        "prompts/chat/with-history.yaml",
        "prompts/draft.yaml",
        "datasets/support/reply-cases.yaml",
        "datasets/support/reply-cases.jsonl",
    ):
        assert f"wrote {path}" in done.out, path
    assert not (repo / "datasets/orphan.yaml").exists()
    notes = done.err
    for expected in (
        "prompt support/reply: label 'staging' stays on v3",
        "prompt draft: no version has label 'production'",
        "dataset orphan: no imported prompt takes its inputs (foo)",
        "dataset support/reply-cases: 1 archived item(s) not imported",
        "config owner is published unchanged",
    ):
        assert expected in notes, expected

    imported = yaml.safe_load((repo / "prompts/support/reply.yaml").read_text())
    assert imported["messages"] == reply(2) and imported["langfuse_config"] == REPLY_CONFIG
    assert imported["model"] == "gpt-4o" and imported["params"] == {"temperature": 0.3, "max_tokens": 200}
    assert imported["tags"] == ["support"] and set(imported["variables"]) == {"customer", "question"}
    summarize = yaml.safe_load((repo / "prompts/summarize.yaml").read_text())
    assert summarize["model"] == "chat", "the starter's alias already routes to openai/gpt-4o-mini"
    assert summarize["release"] == {"rules": [{"ref": "main", "labels": ["production", "beta"]}]}
    history = yaml.safe_load((repo / "prompts/chat/with-history.yaml").read_text())
    assert history["messages"][1] == {"type": "placeholder", "name": "history"}
    assert history["variables"]["history"] == {"type": "list"}
    cases = (repo / "datasets/support/reply-cases.jsonl").read_text().splitlines()
    assert [yaml.safe_load(line)["id"] for line in cases] == ["item-1", "item-2"]
    assert run_cli("--root", str(repo), "validate").code == 0

    rendered = run_cli(
        "--root",
        str(repo),
        "render",
        "chat/with-history",
        "--var",
        "question=And now?",
        "--var",
        'history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]',
        "--format",
        "json",
    )
    assert rendered.code == 0, rendered.err
    assert [m["content"] for m in yaml.safe_load(rendered.out)["messages"]] == ["Be brief.", "hi", "hello", "And now?"]

    commit_all(repo, "import from Langfuse")
    before = snapshot(langfuse_double)
    check = run_cli("--root", str(repo), "sync", "--check", "--branch", "main")
    assert check.code == 0 and "no drift" in check.err, check.out + check.err
    applied = run_cli("--root", str(repo), "sync", "--apply", "--branch", "main")
    assert applied.code == 0, applied.err
    assert snapshot(langfuse_double) == before, "no version, label or dataset item was written"
    assert "0 change(s)" in applied.out

    edited = imported | {"messages": reply(4)}
    (repo / "prompts/support/reply.yaml").write_text(yaml.safe_dump(edited))
    commit_all(repo, "edit the reply prompt")
    assert run_cli("--root", str(repo), "sync", "--apply", "--branch", "main").code == 0
    newest = langfuse_double.versions("support/reply")[-1]
    assert newest["version"] == 4 and newest["prompt"] == reply(4) and "production" in newest["labels"]
    assert {k: v for k, v in newest["config"].items() if k != "promptship"} == REPLY_CONFIG


def test_every_version_becomes_git_history(repo: Path, run_cli, langfuse_double) -> None:
    seed(langfuse_double)
    done = run_cli("--root", str(repo), "import", "langfuse", "--model", "chat", "--versions", "all")
    assert done.code == 0, done.err
    log = git(repo, "log", "--format=%s", "--", "prompts/support/reply.yaml").splitlines()
    assert log == [
        "Langfuse import: the labelled versions, datasets and release policy",
        "Langfuse support/reply v3: edit 3",
        "Langfuse support/reply v2: edit 2",
        "Langfuse support/reply v1: edit 1",
    ]
    assert git(repo, "status", "--porcelain").strip() == ""
    assert yaml.safe_load((repo / "prompts/support/reply.yaml").read_text())["messages"] == reply(2)
    check = run_cli("--root", str(repo), "sync", "--check", "--branch", "main")
    assert check.code == 0 and "no drift" in check.err


def test_import_refuses_files_in_the_way(repo: Path, run_cli, langfuse_double) -> None:
    seed(langfuse_double)
    (repo / "prompts").mkdir()
    (repo / "prompts" / "summarize.yaml").write_text("mine\n")
    done = run_cli("--root", str(repo), "import", "langfuse", "--model", "chat")
    assert done.code == 2 and "error[E942]" in done.err and "prompts/summarize.yaml" in done.err
    assert not (repo / "prompts" / "support").exists() and (repo / "prompts/summarize.yaml").read_text() == "mine\n"
    without_model = run_cli("--root", str(repo), "import", "langfuse", "--label", "beta")
    assert without_model.code == 2 and "error[E945]" in without_model.err and "draft" in without_model.err


def test_the_sdk_serves_an_imported_version_with_the_files_model_and_params(
    repo: Path, run_cli, langfuse_double
) -> None:
    from promptship import Client

    seed(langfuse_double)
    assert run_cli("--root", str(repo), "import", "langfuse", "--model", "chat").code == 0
    client = Client(repo, env={**__import__("os").environ, "OPENAI_API_KEY": "sk-test-not-a-real-key-000000000000"})
    try:
        served = client.prompt("support/reply")
        assert served.source == "langfuse" and served.version == 2
        assert served.prompt.model == "gpt-4o" and served.prompt.params.temperature == 0.3
        history = client.prompt("chat/with-history").prompt
        assert [p.name for _, p in history.placeholders()] == ["history"] and history.variables[
            "history"
        ].type == "list"
    finally:
        client.close()
