"""`diff --shard K/N` in a CI matrix: N jobs on separate clones, `runs merge`, then `diff` gives the report an
unsharded `diff` gives, with no model call after the merge."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..conftest import git
from ..doubles.fake_llm import FakeLLM
from .test_diff import pr_repo  # noqa: F401 - a fixture used by name


def clone(origin: Path, where: Path, cache_from: Path | None = None) -> Path:
    """A fresh checkout of branch `pr` with `main` fetched (one CI machine), optionally with a response cache."""
    git(where.parent, "clone", "-q", "--no-local", str(origin), where.name)
    git(where, "checkout", "-q", "pr")
    git(where, "branch", "-q", "main", "origin/main")
    if cache_from is not None:
        shutil.copytree(cache_from / ".promptship" / "cache", where / ".promptship" / "cache")
    return where


def report(run_cli, repo: Path, out: Path) -> tuple[dict, str]:
    result = run_cli(
        "--root", str(repo), "diff", "--base", "main", "--quiet", "--format", "json", "--markdown", str(out)
    )
    assert result.code in (0, 1), result.err
    data = json.loads(result.out)
    for suite in data["suites"]:
        suite["base"]["source"] = suite["head"]["source"] = "(source)"
    markdown = re.sub(r"base (stored|evaluated), head (stored|evaluated)", "base –, head –", out.read_text())
    return data, markdown


def test_sharded_diff_merges_into_the_unsharded_report(
    pr_repo: Path,  # noqa: F811
    fake_llm: FakeLLM,
    run_cli,
    tmp_path: Path,
) -> None:
    # Without a cache, the three jobs split the model calls between them: each call is made once.
    calls = []
    for k in (1, 2, 3):
        job = clone(pr_repo, tmp_path / f"fresh{k}")
        before = fake_llm.count()
        result = run_cli("--root", str(job), "diff", "--base", "main", "--quiet", "--shard", f"{k}/3")
        assert result.code == 0, result.err
        assert "sentiment (head): shard" in result.out and "summary (base): shard" in result.out
        assert "tagline" not in result.out, "an unaffected suite is not evaluated"
        calls.append(fake_llm.count() - before)
    assert sum(calls) == 2 * 2 * 20 and all(calls), calls

    # The same answers for both ways (a response cache replayed), so the reports can be equal to the byte.
    warm = clone(pr_repo, tmp_path / "warm")
    assert run_cli("--root", str(warm), "diff", "--base", "main", "--quiet").code in (0, 1)
    unsharded_job = clone(pr_repo, tmp_path / "unsharded", cache_from=warm)
    calls_before = fake_llm.count()
    unsharded, unsharded_md = report(run_cli, unsharded_job, tmp_path / "unsharded.md")
    shards = tmp_path / "artifacts"
    for k in (1, 2, 3):
        job = clone(pr_repo, tmp_path / f"job{k}", cache_from=warm)
        result = run_cli(
            "--root",
            str(job),
            "diff",
            "--base",
            "main",
            "--quiet",
            "--shard",
            f"{k}/3",
            "--out-dir",
            str(shards / f"s{k}"),
        )
        assert result.code == 0 and str(shards / f"s{k}") in result.out, result.err
    assert len(list(shards.rglob("*.json"))) == 3 * 4, "3 jobs × (2 suites × base and head)"

    merger = clone(pr_repo, tmp_path / "merge")  # no response cache: only the merged runs
    merged = run_cli("--root", str(merger), "runs", "merge", str(shards))
    assert merged.code == 0, merged.err
    assert merged.out.count("merged ") == 4 and merged.out.count("3 shard(s), 20 item(s), 20 sample(s)") == 4
    sharded, sharded_md = report(run_cli, merger, tmp_path / "sharded.md")
    assert fake_llm.count() == calls_before, "diff after the merge made no model call"
    assert sharded["model_calls"] == 0
    assert sharded == unsharded
    assert sharded_md == unsharded_md
    assert "sentiment" in sharded_md and "summary" in sharded_md


def test_diff_shard_skips_a_side_whose_whole_run_is_stored_and_refuses_reports(
    pr_repo: Path,  # noqa: F811
    fake_llm: FakeLLM,
    run_cli,
    tmp_path: Path,
) -> None:
    git(pr_repo, "checkout", "-q", "main")
    assert run_cli("--root", str(pr_repo), "eval", "--quiet").code in (0, 1), "main's results, as the CI cache has"
    git(pr_repo, "checkout", "-q", "pr")
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--shard", "2/2")
    assert result.code == 0, result.err
    assert "sentiment (base): a whole run is stored" in result.out and "sentiment (head): shard 2/2" in result.out
    refused = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--shard", "1/2", "--markdown", "c.md")
    assert refused.code == 2 and "error[E980]" in refused.err and "runs merge" in refused.err
    alone = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--out-dir", "x")
    assert alone.code == 2 and "error[E980]" in alone.err
