"""Labs end to end in a real browser: the PM's workflow on a scratch repository with the fake LLM.

Tests run in file order and share one Labs server and one chromium: the experiments started here
are the runs the comparison opens, and the saved branch is the one `promptship diff` reads.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

from ..conftest import PROJECT, git
from ..doubles.fake_llm import count_tokens
from .conftest import FAKE_KEY, LabsServer, screenshot

#: A 1×1 PNG, attached as an image in the single test.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def no_secret_in(html: str) -> None:
    assert FAKE_KEY not in html


def test_prompts_list_and_detail_show_owners_tags_model_messages_and_history(labs_server: LabsServer, page) -> None:
    page.goto(f"{labs_server.url}/prompts")
    row = page.locator('tr[data-prompt="classify"]')
    assert "reviews-team" in row.inner_text() and "labs-demo" in row.inner_text() and "fast" in row.inner_text()
    assert page.locator("#prompts tbody tr").count() == 2
    screenshot(page, "prompts")
    row.get_by_role("link", name="classify").click()
    page.wait_for_url(f"{labs_server.url}/prompts/classify")
    assert "Classify the review as positive or negative" in page.locator("#messages").inner_text()
    assert "review" in page.locator("#variables").inner_text()
    assert "labs scratch repository" in page.locator("#history").inner_text()
    assert "not configured" in page.locator("#labels").inner_text()
    screenshot(page, "prompt")
    no_secret_in(page.content())
    assert page.problems == []


def test_unknown_pages_say_what_is_missing(labs_server: LabsServer, page) -> None:
    response = page.goto(f"{labs_server.url}/prompts/nope")
    assert response is not None and response.status == 404
    assert "no prompt 'nope'" in page.locator("#error-message").inner_text()
    response = page.goto(f"{labs_server.url}/runs/classify-000000000000-000000")
    assert response is not None and response.status == 404


def test_single_test_streams_answers_of_two_models_side_by_side(labs_server: LabsServer, page) -> None:
    before = labs_server.llm.count()
    page.goto(f"{labs_server.url}/test?prompt=classify")
    page.select_option("#item-select", "reviews:r02")
    assert page.locator('[data-var="review"]').input_value() == "bad food, cold"
    page.check('input[name="alias"][value="smart"]')
    page.click("#run-test")
    fast, smart = page.locator('.answer[data-alias="fast"]'), page.locator('.answer[data-alias="smart"]')
    page.wait_for_selector('.answer[data-alias="fast"].done')
    page.wait_for_selector('.answer[data-alias="smart"].done')
    assert fast.locator("pre").inner_text() == "negative" and smart.locator("pre").inner_text() == "negative"
    stats = smart.locator(".stats").inner_text()
    shown = re.search(r"[\d.]+ ms · (\d+) in / (\d+) out tokens · \$([\d.]+) · fake-smart", stats)
    assert shown, stats
    tokens_in, tokens_out, cost = int(shown[1]), int(shown[2]), float(shown[3])
    assert tokens_in > 0 and tokens_out == count_tokens("negative")
    assert cost == round(tokens_in * 5.0e-6 + tokens_out * 10.0e-6, 6)  # the smart alias's prices
    assert labs_server.llm.count() == before + 2
    assert labs_server.llm.journal[-1].params.get("stream") is True
    screenshot(page, "test")
    assert not list((labs_server.root / ".promptship").glob("runs/**/*.json")), "a single test writes nothing"


def test_single_test_shows_model_markup_as_text_and_applies_the_pii_policy(labs_server: LabsServer, page) -> None:
    page.goto(f"{labs_server.url}/test?prompt=classify")
    page.fill('[data-var="review"]', "<b>great</b> call me at 010-1234-5678")
    page.set_input_files("#images", files=[{"name": "dish.png", "mimeType": "image/png", "buffer": PNG}])
    page.click("#run-test")
    page.wait_for_selector('.answer[data-alias="fast"].done')
    shown = page.locator('.answer[data-alias="fast"] pre').inner_text()
    assert shown.startswith("<b>bold</b><script>")
    assert page.locator(".answer b, .answer script, .answer img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert "phone ×1" in page.locator("#pii-note").inner_text()
    text_part, image_part = labs_server.llm.journal[-1].messages[-1]["content"]
    assert "010-1234-5678" not in text_part["text"] and "PHONE" in text_part["text"]
    assert image_part["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert page.problems == []


def test_experiment_shows_live_progress_then_the_run_with_filters(labs_server: LabsServer, page) -> None:
    page.goto(f"{labs_server.url}/runs")
    page.select_option("#suite-select", "classify")
    for prompt in ("", "classify-terse"):  # the suite's own prompt, then another prompt on its dataset
        page.select_option("#prompt-select", prompt)
        page.click("#run-experiment")
        page.wait_for_selector("#experiment-run")
        assert "finished: 12 samples" in page.locator("#experiment-text").inner_text()
        assert page.locator("#experiment-progress").evaluate("bar => bar.value === bar.max")
        run_link = page.locator("#experiment-run").get_attribute("href")
        page.wait_for_selector(f'#runs a[href="{run_link}"]')  # the stored-runs table shows it
    screenshot(page, "runs-experiment")
    page.click("#experiment-run")
    page.wait_for_url(re.compile(r".*/runs/classify-[0-9a-f]{12}-[0-9a-f]{6}$"))
    assert "classify-terse" in page.locator("dl.facts").inner_text()
    aggregates = page.locator("#aggregates").inner_text()
    assert "fast" in aggregates and "smart" in aggregates
    rows = page.locator("#samples tbody tr")
    assert rows.count() == 12
    page.check('.filters .filter[value="failed"]')
    visible = page.locator("#samples tbody tr:not([hidden])")
    assert visible.count() == 3  # fast calls the two bad and the mixed review positive on the terse prompt
    assert all("fast" in visible.nth(i).inner_text() for i in range(3))
    page.uncheck('.filters .filter[value="failed"]')
    page.check('.filters .filter[value="changed"]')  # since the suite's run with its own prompt
    assert page.locator("#samples tbody tr:not([hidden])").count() == 3
    page.uncheck('.filters .filter[value="changed"]')
    page.fill(".filters .search", "packaging")
    assert page.locator("#samples tbody tr:not([hidden])").count() == 2
    assert "2 of 12 shown" in page.locator(".filters .count").inner_text()
    screenshot(page, "run")
    assert page.problems == []


def test_compare_two_runs_shows_paired_statistics_charts_and_highlighted_differences(
    labs_server: LabsServer, page
) -> None:
    page.goto(f"{labs_server.url}/runs")
    base = page.locator('#runs tr[data-prompt="classify"]').get_attribute("data-run")
    head = page.locator('#runs tr[data-prompt="classify-terse"]').get_attribute("data-run")
    page.goto(f"{labs_server.url}/compare?runs={base},{head}&models=fast")
    assert page.locator("#columns li").count() == 2
    assert page.locator("#charts figure").count() >= 5
    stats = page.locator("table.stats").first.inner_text()
    assert "accuracy" in stats and "mcnemar" in stats and "pass_rate" in stats
    row = page.locator('#items tr[data-item="r04"]')
    assert row.locator("del").inner_text() == "negative" and row.locator("ins").inner_text() == "positive"
    page.check('.filters .filter[value="changed"]')
    assert page.locator("#items tbody tr:not([hidden])").count() == 3
    screenshot(page, "compare")
    assert page.problems == []


def test_edit_validates_as_you_type_and_saves_to_a_new_branch_that_diff_picks_up(labs_server: LabsServer, page) -> None:
    root = labs_server.root
    head_before = git(root, "rev-parse", "HEAD").strip()
    page.goto(f"{labs_server.url}/edit?prompt=classify")
    page.wait_for_selector("#valid")
    editor = page.locator("#editor")
    text = editor.input_value()
    editor.fill(text.replace("Review: {{ review }}", "Review: {{ reviw }}"))
    page.wait_for_selector("#validation li.error")
    assert "prompts/classify.yaml:13:" in page.locator("#validation").inner_text()
    assert "E101" in page.locator("#validation").inner_text()
    editor.fill(text.replace("One word.", "Answer with one lowercase word."))
    page.wait_for_selector("#valid")
    page.fill("#branch-name", "labs/one-lowercase-word")
    page.click("#save")
    page.wait_for_selector("#saved-branch")
    assert "Saved to branch labs/one-lowercase-word" in page.locator("#saved-branch").inner_text()
    assert "promptship diff --base main --head labs/one-lowercase-word" in page.locator("#diff-command").inner_text()
    screenshot(page, "edit")
    # The current branch, index and working tree are untouched; the branch holds exactly the edit.
    assert git(root, "rev-parse", "HEAD").strip() == head_before
    assert git(root, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(root, "status", "--porcelain").strip() == ""
    assert "Answer with one lowercase word." in git(root, "show", "labs/one-lowercase-word:prompts/classify.yaml")
    assert git(root, "diff", "--name-only", "main", "labs/one-lowercase-word").split() == ["prompts/classify.yaml"]
    # Saving to the same branch again is refused; nothing moves.
    page.click("#save")
    page.wait_for_selector("#save-result.error")
    assert "exists already" in page.locator("#save-result").inner_text()
    # promptship diff picks the branch up: the classify suite is affected by the edit.
    # (The real CLI in a subprocess: Playwright's sync API owns this thread's event loop.)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from promptship.cli.main import entry_point; entry_point()",
            "--root",
            str(root),
            "diff",
            "--base",
            "main",
            "--head",
            "labs/one-lowercase-word",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "tooling")},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    affected = {s["suite"]: s["status"] for s in report["suites"]}
    assert affected == {"classify": "changed"}


def test_uploaded_csv_rows_are_mapped_validated_and_saved_to_a_new_branch(labs_server: LabsServer, page) -> None:
    root = labs_server.root
    page.goto(f"{labs_server.url}/prompts/classify")
    page.get_by_role("link", name="add rows").click()
    page.wait_for_url(re.compile(r".*/edit\?dataset=reviews$"))
    csv_text = "review_id,text,label\nr07,good noodles,positive\nr01,bad soup,negative\n"
    page.set_input_files(
        "#rows-file", files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}]
    )
    page.wait_for_selector('#mapping[data-loaded="1"]')
    assert page.locator('select[data-field="expected"]').input_value() == "label"  # guessed by name
    page.select_option('select[data-field="id"]', "review_id")
    page.select_option('select[data-var="review"]', "text")
    page.click("#rows-preview")
    page.wait_for_selector("#invalid")
    assert "datasets/reviews.jsonl:8:" in page.locator("#validation").inner_text()  # r01 is taken
    assert "E202" in page.locator("#validation").inner_text()
    csv_text = csv_text.replace("r01,", "r08,")
    page.set_input_files(
        "#rows-file", files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}]
    )
    page.wait_for_selector('#mapping[data-loaded="2"]')
    page.select_option('select[data-field="id"]', "review_id")
    page.select_option('select[data-var="review"]', "text")
    page.click("#rows-preview")
    page.wait_for_selector("#valid")
    assert "2 row(s) will be appended to datasets/reviews.jsonl" in page.locator("#rows-count").inner_text()
    assert page.locator("#rows-added tbody tr").count() == 2
    page.click("#save")
    page.wait_for_selector("#saved-branch")
    screenshot(page, "dataset-rows")
    lines = git(root, "show", "labs/reviews-rows:datasets/reviews.jsonl").splitlines()
    assert len(lines) == 8 and json.loads(lines[-1]) == {
        "id": "r08",
        "input": {"review": "bad soup"},
        "expected": "negative",
    }
    assert len((root / "datasets/reviews.jsonl").read_text().splitlines()) == 6
    assert page.problems == []
