"""`promptship diff` end to end: a real git repo with main and a PR branch, against the fake LLM."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from promptship.diff.affected import affected_suites
from promptship.files.repo import load_repo

from ..conftest import commit_all, git
from ..doubles.fake_llm import FakeLLM, Rule

SNAPSHOT = Path(__file__).parent / "snapshots" / "diff_report.md"

ROUTING = """\
aliases:
  fast:
    deployments:
      - id: fake-fast
        model: openai/m-fast
        api_base_env: FAKE_LLM_BASE
        api_key_env: FAKE_LLM_KEY
        pricing: {input_per_million: 1.0, output_per_million: 4.0}
    retries: 1
    timeout_s: 5
"""


def prompt(system: str, variable: str, calls_per_day: int = 1000) -> str:
    return (
        f"type: chat\nmodel: fast\ndescription: example\nvariables:\n  {variable}: {{type: string}}\n"
        f"messages:\n  - role: system\n    content: {system}\n"
        f'  - role: user\n    content: "Review: {{{{ {variable} }}}}"\n'
        f"traffic:\n  calls_per_day: {calls_per_day}\n"
    )


def suite(name: str, evaluator: str, gates: str) -> str:
    return f"prompt: {name}\ndataset: {name}\nmodels: [fast]\nevaluators:\n{evaluator}gates:\n{gates}"


def dataset(name: str, variable: str, items: int = 20) -> dict[str, str]:
    lines = [
        json.dumps(
            {
                "id": f"{name}-{i:02d}",
                "input": {variable: f"{'good' if i % 2 else 'bad'} meal {i}"},
                "expected": "positive" if i % 2 else "negative",
            }
        )
        for i in range(items)
    ]
    return {
        f"datasets/{name}.yaml": f"kind: golden\nsynthetic: true\nprompt: {name}\n",
        f"datasets/{name}.jsonl": "\n".join(lines) + "\n",
    }


SENTIMENT_EVAL = "  - type: label_accuracy\n    name: accuracy\n    params: {labels: [positive, negative]}\n"
SUMMARY_EVAL = "  - type: contains\n    name: mentions_refund\n    params: {values: [refund]}\n"

RULES = [
    Rule(r"exactly one word[\s\S]*Review: good", "positive"),
    Rule(r"exactly one word[\s\S]*Review: bad", "negative"),
    Rule(r"Classify[\s\S]*Review:", "I think it is positive"),
    Rule(r"Summarize briefly", "The customer wants a refund"),
    Rule(r"Summarize", "The customer is unhappy and wants their money back, please handle it with care"),
    Rule(r"tagline", "Tasty!"),
]


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


@pytest.fixture
def pr_repo(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: three suites. Branch `pr`: sentiment better, summary worse, tagline only reformatted."""
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    fake_llm.set_rules(RULES)
    root = tmp_path / "repo"
    files = {
        "policies/routing.yaml": ROUTING,
        "prompts/sentiment.yaml": prompt("Classify the sentiment.", "review"),
        "prompts/summary.yaml": prompt("Summarize briefly.", "review", 5000),
        "prompts/tagline.yaml": prompt("Write a tagline.", "review"),
        "evals/sentiment.yaml": suite("sentiment", SENTIMENT_EVAL, "  max_regression: {accuracy: 0.05}\n"),
        "evals/summary.yaml": suite(
            "summary", SUMMARY_EVAL, "  max_regression: {mentions_refund: 0.1}\n  max_cost_increase_pct: 500\n"
        ),
        "evals/tagline.yaml": suite("tagline", "  - type: length\n    params: {max: 50}\n", "  min: {length: 0.5}\n"),
        **dataset("sentiment", "review"),
        **dataset("summary", "review"),
        **dataset("tagline", "review"),
    }
    write(root, files)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "main")
    git(root, "checkout", "-q", "-b", "pr")
    write(
        root,
        {
            "prompts/sentiment.yaml": prompt("Classify the sentiment. Answer with exactly one word.", "review"),
            "prompts/summary.yaml": prompt("Summarize.", "review", 5000),
            # Reformatted only: keys reordered, comments and flow style; same content.
            "prompts/tagline.yaml": "# tagline prompt\ntraffic: {calls_per_day: 1000}\nmodel: fast\ntype: chat\n"
            "description: example\nmessages:\n- {role: system, content: Write a tagline.}\n"
            "- role: user\n  content: 'Review: {{ review }}'\nvariables:\n  review:\n"
            "    type: string\n",
        },
    )
    commit_all(root, "pr changes")
    return root


def test_affected_suites_ignore_reformatting(pr_repo: Path) -> None:
    base, head = load_repo(pr_repo, "main").repo, load_repo(pr_repo, "pr").repo
    assert base.policies.routing and head.policies.routing
    changes = {c.suite: c for c in affected_suites(base, base.policies.routing, head, head.policies.routing)}
    assert changes["tagline"].status == "unchanged"
    assert changes["sentiment"].status == "changed" and changes["sentiment"].reasons == ("prompt",)
    assert changes["summary"].status == "changed"


def normalize(markdown: str) -> str:
    markdown = re.sub(r"\(([0-9a-f]{7})\)", "(SHA)", markdown)
    markdown = re.sub(r"\| \d+ → \d+ \| \d+ → \d+ \|", "| P50 | P95 |", markdown)
    return markdown


def test_pr_diff_reports_improvement_regression_and_unaffected(
    pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "--root",
        str(pr_repo),
        "diff",
        "--base",
        "main",
        "--quiet",
        "--markdown",
        str(out / "c.md"),
        "--json",
        str(out / "r.json"),
        "--html",
        str(out / "r.html"),
        "--format",
        "text",
    )
    assert result.code == 1, result.err
    text = result.out.splitlines()
    assert text[-1].startswith("❌ gate failed: summary / fast: max_regression:mentions_refund"), "verdict last"
    assert any("mentions_refund" in line and "1.000" in line and "0.000" in line and "worse" in line for line in text)
    assert not any("<details>" in line or "<!--" in line for line in text), "no GitHub HTML in a terminal"
    report = json.loads((out / "r.json").read_text())
    suites = {s["suite"]: s for s in report["suites"]}
    assert set(suites) == {"sentiment", "summary"} and report["unaffected"] == ["tagline"]
    accuracy = next(m for m in suites["sentiment"]["comparisons"][0]["metrics"] if m["metric"] == "accuracy")
    assert (accuracy["base"], accuracy["head"], accuracy["significant"]) == (0.5, 1.0, True)
    # label_accuracy with one repeat is pass/fail per item: exact McNemar, 10 of 10 moved items improved.
    assert accuracy["test"] == "mcnemar" and accuracy["p_value"] == pytest.approx(2 / 2**10)
    refund = next(m for m in suites["summary"]["comparisons"][0]["metrics"] if m["metric"] == "mentions_refund")
    assert (refund["base"], refund["head"], refund["significant"]) == (1.0, 0.0, True)
    assert refund["test"] == "mcnemar" and refund["p_value"] < 0.001
    passes = next(m for m in suites["summary"]["comparisons"][0]["metrics"] if m["metric"] == "pass_rate")
    assert passes["test"] == "mcnemar" and passes["p_value"] < 0.001
    summary = suites["summary"]["comparisons"][0]
    assert summary["cost_per_call_head"] > summary["cost_per_call_base"]
    expected_monthly = (summary["cost_per_call_head"] - summary["cost_per_call_base"]) * 5000 * 30
    assert summary["monthly_cost_delta"] == pytest.approx(expected_monthly)
    assert len(summary["item_changes"]) == 20 and summary["item_changes"][0]["change"] == "newly_failing"
    assert fake_llm.count() == 4 * 20, "two affected suites × base and head; the reformatted one made no call"
    assert "tagline" not in json.dumps([r.messages for r in fake_llm.journal])
    html = (out / "r.html").read_text()
    assert "<svg" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")

    markdown = (out / "c.md").read_text()
    assert len(markdown) < 65_536 and markdown.startswith("<!-- promptship:report -->")
    if os.environ.get("PROMPTSHIP_UPDATE_SNAPSHOTS"):  # review the written file like code
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(normalize(markdown))
    assert normalize(markdown) == SNAPSHOT.read_text(), "PR comment format changed: review, then update the snapshot"

    again = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json")
    assert again.code == 1 and fake_llm.count() == 80, "a second diff makes zero model calls"
    assert json.loads(again.out)["model_calls"] == 0


def test_base_results_are_reused_from_a_results_dir(pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path) -> None:
    git(pr_repo, "checkout", "-q", "main")
    assert run_cli("--root", str(pr_repo), "eval", "--quiet").code == 0
    calls_on_main = fake_llm.count()
    results = tmp_path / "ci-cache"
    (pr_repo / ".promptship/runs").rename(results)
    (pr_repo / ".promptship/cache/responses.sqlite3").unlink()
    git(pr_repo, "checkout", "-q", "pr")
    result = run_cli(
        "--root", str(pr_repo), "diff", "--base", "main", "--results-dir", str(results), "--quiet", "--format", "json"
    )
    data = json.loads(result.out)
    assert {s["suite"]: s["base"]["source"] for s in data["suites"]} == {"sentiment": "stored", "summary": "stored"}
    assert fake_llm.count() - calls_on_main == 2 * 20, "only head was evaluated"


def test_new_and_deleted_suites_are_reported(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    (pr_repo / "evals/tagline.yaml").unlink()
    write(pr_repo, {"evals/sentiment-copy.yaml": suite("sentiment", SENTIMENT_EVAL, "  min: {accuracy: 0.9}\n")})
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json")
    data = json.loads(result.out)
    statuses = {s["suite"]: s["status"] for s in data["suites"]}
    assert statuses["tagline"] == "removed" and statuses["sentiment-copy"] == "added"
    added = next(s for s in data["suites"] if s["suite"] == "sentiment-copy")
    assert added["base"] is None and added["gates"][0]["passed"] is True


def test_bad_base_ref_is_a_usage_error(pr_repo: Path, run_cli) -> None:
    result = run_cli("--root", str(pr_repo), "diff", "--base", "nope", "--quiet")
    assert result.code == 2 and "unknown git ref 'nope'" in result.err and "Traceback" not in result.err


def test_markdown_is_shortened_to_the_limit_with_a_note(pr_repo: Path, fake_llm: FakeLLM) -> None:
    from promptship.diff.change import DiffRequest, run_diff
    from promptship.report.markdown import MARKER, render_markdown

    report = run_diff(pr_repo, DiffRequest(base="main"))
    full = render_markdown(report)
    short = render_markdown(report, limit=3000)
    assert len(short) <= 3000 < len(full)
    assert short.startswith(MARKER) and "detail section(s) omitted" in short
    assert "| sentiment | fast | accuracy |" in short, "the summary table is kept"
    tiny = render_markdown(report, limit=500)
    assert len(tiny) <= 500 and tiny.startswith(MARKER) and "truncated" in tiny


def test_invalid_head_tree_is_a_configuration_error(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    """0 pass / 1 gate failed / 2 usage or config error: a tree that does not validate is a 2."""
    write(pr_repo, {"evals/summary.yaml": suite("summary", "  - type: no_such_evaluator\n", "  min: {x: 0.5}\n")})
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "text")
    assert result.code == 2, result.err
    assert "E304" in result.err and "error[E900]" in result.err and "Traceback" not in result.err
    assert fake_llm.count() == 0


def test_an_invalid_base_is_named_as_the_base(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    git(pr_repo, "checkout", "-q", "-b", "broken-base", "main")
    summary_suite = (pr_repo / "evals/summary.yaml").read_text()
    write(pr_repo, {"evals/summary.yaml": suite("summary", "  - type: no_such_evaluator\n", "")})
    commit_all(pr_repo, "break the base")
    git(pr_repo, "checkout", "-q", "-b", "the-fix")
    write(pr_repo, {"evals/summary.yaml": summary_suite})  # the PR that repairs it
    result = run_cli("--root", str(pr_repo), "diff", "--base", "broken-base", "--quiet", "--format", "text")
    assert result.code == 2 and "evals/summary.yaml:6:1: error[E004]" in result.err
    assert "the base broken-base has 1 error(s)" in result.err and "not in the working tree" in result.err
    assert fake_llm.count() == 0


def test_an_interrupted_run_fails_the_verdict_and_says_why(pr_repo: Path, fake_llm: FakeLLM) -> None:
    from promptship.diff.change import DiffRequest, run_diff
    from promptship.report.markdown import render_markdown

    git(pr_repo, "checkout", "-q", "main")
    git(pr_repo, "checkout", "-q", "-b", "sentiment-only")
    write(
        pr_repo, {"prompts/sentiment.yaml": prompt("Classify the sentiment. Answer with exactly one word.", "review")}
    )
    report = run_diff(pr_repo, DiffRequest(base="main"))
    assert report.passed and report.verdict().startswith("✅ all gates passed")
    sentiment = report.suites[0]
    assert sentiment.head_run is not None
    sentiment.head_run = sentiment.head_run.model_copy(update={"complete": False})
    assert not report.passed and report.exit_code == 3, "an interrupted run proves nothing: could not evaluate"
    verdict = report.verdict()
    assert verdict.startswith("⚠️ could not evaluate: interrupted before every sample finished: sentiment (head)")
    assert "rerun" in verdict
    assert "✅" not in render_markdown(report).split("\n\n")[1]


def test_results_tracked_by_git_are_refused(pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path) -> None:
    """A PR cannot bring its own evidence: committed runs or cache entries make `diff` refuse (exit 2)."""
    assert run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json").code == 1
    calls = fake_llm.count()
    git(pr_repo, "add", "-f", ".promptship/runs")
    git(pr_repo, "commit", "-q", "-m", "bring my own results")
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "text")
    assert result.code == 2 and "error[E910]" in result.err and ".promptship/runs/" in result.err
    assert "git rm -r --cached .promptship" in result.err and "Traceback" not in result.err
    assert fake_llm.count() == calls and result.out == ""

    git(pr_repo, "rm", "-r", "-q", "--cached", ".promptship")
    git(pr_repo, "commit", "-q", "-m", "untrack")
    inside = pr_repo / "ci-results"
    (pr_repo / ".promptship/runs").rename(inside)
    git(pr_repo, "add", "ci-results")
    tracked_dir = run_cli(
        "--root", str(pr_repo), "diff", "--base", "main", "--results-dir", str(inside), "--quiet", "--format", "text"
    )
    assert tracked_dir.code == 2 and "ci-results/" in tracked_dir.err
    outside = tmp_path / "outside"
    inside.rename(outside)
    git(pr_repo, "rm", "-r", "-q", "--cached", "ci-results")
    ok = run_cli(
        "--root", str(pr_repo), "diff", "--base", "main", "--results-dir", str(outside), "--quiet", "--format", "text"
    )
    assert ok.code == 1 and ok.out.splitlines()[-1].startswith("❌ gate failed: summary"), "results outside are fine"


def test_a_partial_run_on_main_is_never_reused_as_the_full_base(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    """`eval --items` on main stored 2 of 20 items; reusing it as the base hid a real regression."""
    git(pr_repo, "checkout", "-q", "main")
    partial = run_cli("--root", str(pr_repo), "eval", "summary", "--items", "summary-00,summary-01", "--quiet")
    assert partial.code == 0, partial.err
    git(pr_repo, "checkout", "-q", "pr")
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json")
    data = json.loads(result.out)
    summary = next(s for s in data["suites"] if s["suite"] == "summary")
    assert summary["base"]["source"] == "evaluated", "a 2-item run does not stand in for 20 items"
    refund = next(m for m in summary["comparisons"][0]["metrics"] if m["metric"] == "mentions_refund")
    assert refund["n"] == 20 and refund["significant"]
    assert result.code == 1 and not data["passed"]
    # The full base run is stored now and reused by the next diff; the partial one stays separate.
    again = json.loads(run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json").out)
    assert {s["suite"]: s["base"]["source"] for s in again["suites"]}["summary"] == "stored"


def test_a_key_echoed_by_the_upstream_reaches_no_output(
    pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path, github_double, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upstream that repeats the key (in 401 bodies and in answers) leaks it nowhere: not in the
    terminal, the PR comment, report.json/html, the job summary, stored runs or the response cache."""
    from urllib.parse import quote

    key = os.environ["FAKE_LLM_KEY"]
    fake_llm.faults("m-fast", echo_key=0.4, echo_key_in_reply=True, seed=5)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "report"
    result = run_cli(
        "--root", str(pr_repo), "diff", "--base", "main", "--format", "text",
        "--markdown", str(out / "comment.md"), "--html", str(out / "report.html"), "--json", str(out / "report.json"),
    )  # fmt: skip
    assert result.code in (0, 1, 3), result.err  # 401s from the echoing upstream: 3 could not evaluate
    monkeypatch.setenv("GITHUB_TOKEN", github_double.token)
    handwritten = tmp_path / "handwritten.md"
    handwritten.write_text(f"<!-- promptship:report -->\nthe upstream said {key}")
    outputs = [result.out, result.err]
    for body in (out / "comment.md", handwritten):
        posted = run_cli(
            "ci",
            "comment",
            "--repo",
            "acme/menu",
            "--pr",
            "9",
            "--body-file",
            str(body),
            "--api-url",
            github_double.url,
        )
        assert posted.code == 0, posted.err
        outputs += [posted.out, posted.err, github_double.comments[("acme/menu", 9)][0]["body"]]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != handwritten]
    runs = [p for p in files if "/.promptship/runs/" in p.as_posix()]
    assert runs and any(p.name.endswith(".sqlite3") for p in files) and summary.exists()
    assert "[redacted FAKE_LLM_KEY]" in "".join(p.read_text() for p in runs), "the upstream did echo the key"
    assert "[redacted FAKE_LLM_KEY]" in outputs[-1]
    everything = b"".join(p.read_bytes() for p in files) + "".join(outputs).encode()
    for form in (key, quote(key), key[:20]):
        assert form.encode() not in everything


HOSTILE = (
    "@octocat @acme/security-team see #1 and GH-2 ![pixel](https://evil.example/p.png) "
    "[click me](https://evil.example) www.evil.example <img src=x> **bold** `tick` | cell"
)


def test_untrusted_text_cannot_inject_markdown_into_the_pr_comment(
    pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path
) -> None:
    """A prompt holding a ``` line stays inside its diff fence; model outputs and dataset values render
    no link, image, mention, issue reference or markup in the bot's comment."""
    from markdown_it import MarkdownIt

    fake_llm.set_rules([Rule(r"Summarize\.", HOSTILE), *RULES])
    summary = pr_repo / "prompts/summary.yaml"
    summary.write_text(
        "type: chat\nmodel: fast\ndescription: example\nvariables:\n  review: {type: string}\n"
        "messages:\n  - role: system\n    content: |\n      Summarize.\n      ```\n      </details> @octocat #3\n"
        "      [live](https://evil.example)\n  - role: user\n    content: 'Review: {{ review }}'\n"
        "traffic:\n  calls_per_day: 5000\n",
        encoding="utf-8",
    )
    commit_all(pr_repo, "a prompt with a fence line and mentions")
    out = tmp_path / "comment.md"
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--markdown", str(out))
    assert result.code == 1, result.err
    comment = out.read_text(encoding="utf-8")
    assert "newly failing" in comment and "evil" in comment, "the hostile output is in the comment"
    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(comment)
    inline = [child for token in tokens if token.children for child in token.children]
    assert not [t for t in inline if t.type in ("link_open", "image", "html_inline")]
    assert not [t for t in tokens if t.type == "html_block" and "<img" in t.content]
    fences = [t.content for t in tokens if t.type == "fence" and "Summarize." in t.content]
    assert len(fences) == 1 and "+```\n+</details> @octocat #3\n+[live](https://evil.example)" in fences[0]
    text = " ".join(t.content for t in inline if t.type == "text")
    for live in ("@octocat", "@acme/", "#1", "GH-2", "https://", "www.evil"):
        assert live not in text, live
    assert "**bold** `tick` | cell" in text, "shown as written, not as markup"


def test_a_price_only_change_reprices_both_sides_without_model_calls(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    """Pricing ×50 in a PR: no model call, both sides priced from stored usage, the price named as the cause."""
    git(pr_repo, "checkout", "-q", "main")
    assert run_cli("--root", str(pr_repo), "eval", "--quiet").code == 0
    calls = fake_llm.count()
    git(pr_repo, "checkout", "-q", "-b", "pricey")
    write(pr_repo, {"policies/routing.yaml": ROUTING.replace("input_per_million: 1.0", "input_per_million: 50.0")})
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json")
    data = json.loads(result.out)
    assert fake_llm.count() == calls and data["model_calls"] == 0, "a price change makes no model call"
    suites = {s["suite"]: s for s in data["suites"]}
    assert set(suites) == {"sentiment", "summary", "tagline"} and data["unaffected"] == []
    assert all(s["reasons"] == ["pricing"] and s["base"]["source"] == "stored" for s in suites.values())
    summary = suites["summary"]["comparisons"][0]
    usage = suites["summary"]["head"]["aggregates"]["fast"]
    answered = usage["samples"] - usage["errors"]
    expected_head = (usage["prompt_tokens"] * 50.0 + usage["completion_tokens"] * 4.0) / 1e6 / answered
    assert summary["cost_per_call_head"] == pytest.approx(expected_head, rel=1e-6)
    assert (
        summary["price_change_pct"] == pytest.approx(summary["cost_change_pct"]) and summary["cost_change_pct"] > 1000
    )
    assert summary["usage_change_pct"] == pytest.approx(0.0)
    assert data["price_changes"] == [
        {"deployment": "fake-fast", "input_per_million": [1.0, 50.0], "output_per_million": [4.0, 4.0]}
    ]
    assert result.code == 1 and "max_cost_increase_pct" in data["verdict"] and "price" in data["verdict"]
    assert any("cost per call" in w and "prices" in w for w in data["warnings"])


def test_cached_answers_are_priced_now_and_not_reported_as_spent(pr_repo: Path, fake_llm: FakeLLM, run_cli) -> None:
    first = json.loads(run_cli("--root", str(pr_repo), "eval", "summary", "--quiet", "--format", "json").out)
    before = first["runs"][0]["aggregates"]["fast"]
    assert before["spent_usd"] == pytest.approx(before["cost_usd"]) and before["cost_usd"] > 0
    write(pr_repo, {"policies/routing.yaml": ROUTING.replace("output_per_million: 4.0", "output_per_million: 40.0")})
    calls = fake_llm.count()
    again = json.loads(run_cli("--root", str(pr_repo), "eval", "summary", "--quiet", "--format", "json").out)
    after = again["runs"][0]["aggregates"]["fast"]
    assert fake_llm.count() == calls and after["cache_hits"] == 20
    expected = (after["prompt_tokens"] * 1.0 + after["completion_tokens"] * 40.0) / 1e6
    assert after["cost_usd"] == pytest.approx(expected, rel=1e-6), "priced at the prices in force"
    assert after["spent_usd"] == 0.0, "replayed answers cost nothing now"
    text = run_cli("--root", str(pr_repo), "eval", "summary", "--quiet").out
    assert "spent now $0" in text and "20 cached" in text


def test_another_endpoint_is_another_answer(pr_repo: Path, fake_llm: FakeLLM, run_cli, monkeypatch) -> None:
    """The same policy pointed at another server (api_base_env's value) never replays the first one's answers."""
    assert run_cli("--root", str(pr_repo), "eval", "summary", "--quiet").code == 0
    with FakeLLM() as other:
        other.set_rules(RULES)
        monkeypatch.setenv("FAKE_LLM_BASE", other.base_url)
        assert run_cli("--root", str(pr_repo), "eval", "summary", "--quiet").code == 0
        assert other.count() == 20


def sentiment_only_branch(pr_repo: Path) -> None:
    git(pr_repo, "checkout", "-q", "main")
    git(pr_repo, "checkout", "-q", "-b", "sentiment-only")
    write(
        pr_repo, {"prompts/sentiment.yaml": prompt("Classify the sentiment. Answer with exactly one word.", "review")}
    )


def test_failed_calls_are_could_not_evaluate_not_a_quality_regression(
    pr_repo: Path, fake_llm: FakeLLM, run_cli
) -> None:
    """4 of 20 head calls fail (an outage): the verdict says it could not evaluate, exits 3, and says what to do."""
    sentiment_only_branch(pr_repo)
    fake_llm.faults("*", fail_pattern=r"exactly one word[\s\S]*meal 1[0-3]$")
    result = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "json")
    data = json.loads(result.out)
    assert result.code == 3, data["verdict"]
    verdict = data["verdict"]
    assert verdict.startswith("⚠️ could not evaluate") and "4 of 20" in verdict and "sentiment / fast" in verdict
    assert "rerun" in verdict and "--concurrency" in verdict and "❌" not in verdict
    [evaluation] = [g for g in data["suites"][0]["gates"] if g["kind"] == "evaluation"]
    assert evaluation["gate"] == "max_error_rate" and not evaluation["passed"]
    quality = [g for g in data["suites"][0]["gates"] if g["kind"] == "quality"]
    assert all(g["passed"] for g in quality), "no quality gate failed: the 16 answered items improved"
    text = run_cli("--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "text")
    assert text.code == 3 and text.out.splitlines()[-1] == verdict


def test_every_view_states_the_denominator_and_agrees(
    pr_repo: Path, fake_llm: FakeLLM, run_cli, tmp_path: Path
) -> None:
    """Head could not answer 4 of 20: every view shows the paired means on 16 of 20 items, and the same numbers."""
    sentiment_only_branch(pr_repo)
    fake_llm.faults("*", fail_pattern=r"exactly one word[\s\S]*meal 1[0-3]$")
    out = tmp_path / "out"
    result = run_cli(
        "--root", str(pr_repo), "diff", "--base", "main", "--quiet", "--format", "text",
        "--markdown", str(out / "c.md"), "--html", str(out / "r.html"), "--json", str(out / "r.json"),
    )  # fmt: skip
    report = json.loads((out / "r.json").read_text())
    metrics = {m["metric"]: m for m in report["suites"][0]["comparisons"][0]["metrics"]}
    accuracy = metrics["accuracy"]
    assert (accuracy["n"], accuracy["items"]) == (16, 20)
    row = f"| sentiment | fast | accuracy | {accuracy['base']:.3f} | {accuracy['head']:.3f} |"
    markdown = (out / "c.md").read_text()
    assert row in markdown and "| 16 of 20 paired items |" in markdown
    assert row in result.out.replace("┃", "|") or f"{accuracy['base']:.3f}" in result.out
    html = (out / "r.html").read_text()
    assert "accuracy (on fast: 16 of 20 paired items)" in html and "<td class=l>16 of 20 paired items</td>" in html
    chart = html[html.index('aria-label="score: accuracy') : html.index("<figcaption>score: accuracy")]
    assert f">{accuracy['base']:.3f}<" in chart and f">{accuracy['head']:.3f}<" in chart, (
        "the chart shows the table's numbers"
    )
    assert "e-0" not in html, "no 3.1e-05 formatting"
