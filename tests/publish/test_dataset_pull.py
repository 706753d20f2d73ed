"""`promptship dataset pull --from langfuse`: production calls back into a reviewed dataset file.

Traces are seeded in the Langfuse double (as another client or an older SDK would have traced them:
raw personal data in the variables and answers) or made by the real SDK; the real CLI pulls them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptship.publish.pull import Generation, item_id

from ..conftest import commit_all
from ..doubles.langfuse_api import LangfuseDouble
from ..eval.test_eval import make_repo

#: The project's own PII policy (policies/pii.yaml): ids and cards block, contact data is masked.
PII_POLICY = """\
default: block
min_confidence: 0.5
types:
  rrn: block
  card_number: block
  passport: block
  driver_license: block
  bank_account: mask
  phone: mask
  email: mask
  person_name: mask
  address: mask
  ip_address: mask
  business_registration_number: allow
  business_phone: allow
  corporate_registration_number: allow
"""

# Realistic personal data, from the public Korean PII development set (/work/shared/data/pii/,
# ko-pii records kopii-gen-0001, -0061, -0192, -0264, -0344, -0352, -0495, -0015) and English phrasings.
MASKED_REVIEWS = {
    "ko-contact": "배달이 늦었어요. 사무관 정민호에게 문의하시기 바랍니다. (휴대전화 010-3847-2261, 이메일 mhjung@korea.kr)",
    "ko-refund": "환불해 주세요. 입금계좌: 신한은행 110-389-204517 (예금주 오현주)",
    "ko-address": "서류는 우편(서울특별시 송파구 올림픽로 300, 1801호)으로 회신 부탁드립니다. 음식은 식었어요",
    "ko-ip": "고객 한지수 님 계좌 로그인 시 해외 IP(203.0.113.88)에서 접속 시도, 앱이 느려요",
    "en-contact": "The food was cold. Call me back at 010-9921-3375 or write to soojin.bae84@gmail.com",
}
BLOCKED_REVIEWS = {
    "ko-rrn": ("임대인 권태석 (590412-1083920) 연락처 010-3328-7741 음식이 별로예요", "rrn"),
    "ko-card": ("구하영 | 010-2207-4419 | guhy91@daum.net | 신한카드 5412-8830-7765-1198 두 번 결제됨", "card_number"),
    "en-card": ("My card 4221-8830-1947-6054 was charged twice for one order", "card_number"),
}
CLEAN_REVIEWS = {"clean-good": "good food, fast delivery", "clean-bad": "bad food, cold and late"}
#: Every personal value seeded above: none may reach the dataset file.
SEEDED_VALUES = [
    "정민호", "010-3847-2261", "mhjung@korea.kr", "110-389-204517", "오현주", "서울특별시 송파구 올림픽로 300",
    "한지수", "203.0.113.88", "010-9921-3375", "soojin.bae84@gmail.com", "권태석", "590412-1083920",
    "010-3328-7741", "구하영", "010-2207-4419", "guhy91@daum.net", "5412-8830-7765-1198", "4221-8830-1947-6054",
    "010-5520-7741",
]  # fmt: skip
TARGET = "datasets/production/classify"


@pytest.fixture
def repo(tmp_path: Path, langfuse_double: LangfuseDouble) -> Path:
    return make_repo(tmp_path / "repo", items=2, pii=PII_POLICY)


def seed(double: LangfuseDouble) -> dict[str, Generation]:
    """One generation per review (answers repeat a phone number once), plus one traced without variables."""
    seeded = {}
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    reviews = {**MASKED_REVIEWS, **{k: v for k, (v, _) in BLOCKED_REVIEWS.items()}, **CLEAN_REVIEWS}
    for number, (key, review) in enumerate(reviews.items()):
        answer = "negative, we will call you at 010-5520-7741" if key == "ko-contact" else "negative"
        row = double.traces.add_generation(
            "classify",
            1,
            variables={"review": review},
            output=answer,
            label="production",
            start=start + dt.timedelta(minutes=number),
        )
        seeded[key] = generation_of(row)
    double.traces.add_generation("classify", 1, variables=None, output="positive", start=start)
    double.traces.add_generation("other-prompt", 1, variables={"review": "good"}, output="positive", start=start)
    return seeded


def generation_of(row: dict) -> Generation:
    return Generation(row["id"], row["traceId"], row["startTime"], 1, None, None, {}, None, None)


def pull(run_cli, repo: Path, *args: str):
    return run_cli("--root", str(repo), "dataset", "pull", "--from", "langfuse", "--prompt", "classify", *args)


def items_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_pull_writes_a_dataset_that_validates_and_holds_no_personal_data(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    seeded = seed(langfuse_double)
    result = pull(run_cli, repo, "--to", TARGET, "--format", "json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["read"] == 11, "the other prompt's generation is not read"
    assert summary["written"] == 7 and summary["skipped_duplicates"] == 0 and summary["filtered"] == 0
    assert summary["dropped_pii"] == 3 and summary["dropped_pii_by_type"] == {"card_number": 2, "rrn": 1}
    assert summary["skipped_no_variables"] == 1
    assert summary["masked_pii_by_type"]["phone"] >= 3 and summary["masked_pii_by_type"]["email"] == 2
    files = [repo / "datasets/production/classify.jsonl", repo / "datasets/production/classify.yaml"]
    assert summary["files"] == [str(p.relative_to(repo)) for p in files]
    written = "".join(p.read_text(encoding="utf-8") for p in files)
    for value in SEEDED_VALUES:
        assert value not in written, value
    items = {item["id"]: item for item in items_of(files[0])}
    expected_ids = {item_id(seeded[key]) for key in (*MASKED_REVIEWS, *CLEAN_REVIEWS)}
    assert set(items) == expected_ids, "ids come from the trace and observation ids"
    contact = items[item_id(seeded["ko-contact"])]
    assert contact["input"]["review"].startswith("배달이 늦었어요. 사무관 [PERSON_NAME_1]에게")
    assert "[PHONE_1]" in contact["input"]["review"] and "[EMAIL_1]" in contact["input"]["review"]
    assert contact["expected"] == "negative, we will call you at [PHONE_2]"
    assert contact["metadata"]["langfuse_trace_id"] == seeded["ko-contact"].trace_id
    assert contact["metadata"]["prompt_version"] == 1 and contact["metadata"]["prompt_label"] == "production"
    assert items[item_id(seeded["clean-good"])]["input"] == {"review": CLEAN_REVIEWS["clean-good"]}
    commit_all(repo, "pulled")
    validated = run_cli("--root", str(repo), "validate")
    assert validated.code == 0, validated.out + validated.err


def test_pulling_again_writes_nothing_new(repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    seed(langfuse_double)
    assert pull(run_cli, repo, "--to", TARGET).code == 0
    items = repo / "datasets/production/classify.jsonl"
    before = items.read_bytes()
    again = pull(run_cli, repo, "--to", TARGET, "--format", "json")
    summary = json.loads(again.out)
    assert summary["written"] == 0 and summary["skipped_duplicates"] == 7 and summary["files"] == []
    assert items.read_bytes() == before
    # A new call with an input already in the dataset (a different trace) is a duplicate too.
    langfuse_double.traces.add_generation("classify", 1, variables={"review": CLEAN_REVIEWS["clean-bad"]})
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "new: too salty"}, output="negative")
    third = json.loads(pull(run_cli, repo, "--to", TARGET, "--format", "json").out)
    assert (third["written"], third["skipped_duplicates"]) == (1, 8)
    assert items.read_bytes().startswith(before), "existing lines are kept as they were"
    assert items_of(items)[-1]["input"] == {"review": "new: too salty"}


def test_filters_select_by_score_and_latency(repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    traces = langfuse_double.traces
    rows = {
        name: traces.add_generation(
            "classify", 1, variables={"review": f"{name} review"}, output="positive", latency_s=s
        )
        for name, s in (("low", 0.4), ("high", 0.5), ("slow", 3.0), ("unscored", 0.3), ("mixed", 0.2))
    }
    traces.add_score("helpfulness", 0.2, trace_id=rows["low"]["traceId"])  # on the trace
    traces.add_score("helpfulness", 0.9, trace_id=rows["high"]["traceId"], observation_id=rows["high"]["id"])
    traces.add_score("helpfulness", 0.3, trace_id=rows["slow"]["traceId"], observation_id=rows["slow"]["id"])
    traces.add_score("helpfulness", 0.1, trace_id=rows["mixed"]["traceId"])
    traces.add_score("helpfulness", 0.7, trace_id=rows["mixed"]["traceId"], observation_id=rows["mixed"]["id"])
    traces.add_score("thumbs", False, trace_id=rows["high"]["traceId"])

    def pulled(*filters: str) -> set[str]:
        args = [arg for f in filters for arg in ("--filter", f)]
        result = pull(run_cli, repo, "--to", TARGET, "--dry-run", "--format", "json", *args)
        assert result.code == 0, result.err
        summary = json.loads(result.out)
        assert summary["read"] == 5 and summary["filtered"] == 5 - summary["written"] and summary["files"] == []
        return {name for name, row in rows.items() if item_id(generation_of(row)) in summary["items"]}

    assert pulled("helpfulness<0.5") == {"low", "slow", "mixed"}, "mean of the trace's and the generation's"
    assert pulled("helpfulness<0.5", "latency<=1") == {"low", "mixed"}
    assert pulled("latency>2") == {"slow"}
    assert pulled("score<0.5") == {"low", "slow", "mixed", "high"}, "any score (thumbs down is 0)"
    assert pulled("thumbs==false") == {"high"}
    assert pulled("cost>1") == set()
    assert not (repo / "datasets/production").exists(), "--dry-run writes nothing"
    written = pull(run_cli, repo, "--to", TARGET, "--filter", "helpfulness<0.25", "--format", "json")
    item = items_of(repo / "datasets/production/classify.jsonl")
    assert json.loads(written.out)["written"] == 1 and item[0]["metadata"]["scores"] == {"helpfulness": 0.2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "helpfulness<<0.5"], "invalid --filter 'helpfulness<<0.5'"),
        (["--filter", "latency<fast"], "'fast' is not a number (latency is numeric)"),
        (["--filter", "helpfulness"], "no comparison found"),
        (["--since", "yesterday"], "invalid --since 'yesterday'"),
        (["--until", "2026-13-45"], "invalid --until '2026-13-45'"),
        (["--since", "1d", "--until", "2d"], "--until is not after --since"),
    ],
)
def test_bad_options_exit_2_before_any_request(
    repo: Path, langfuse_double: LangfuseDouble, run_cli, args: list[str], message: str
) -> None:
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "good"})
    result = pull(run_cli, repo, "--to", TARGET, *args)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert "hint:" in result.err
    assert not [p for m, p in langfuse_double.journal if "observations" in p]
    assert not (repo / "datasets/production").exists()


def test_targets_that_cannot_take_production_items_are_refused(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "good"})
    synthetic = pull(run_cli, repo, "--to", "datasets/reviews")
    assert synthetic.code == 2 and "synthetic: true" in synthetic.err
    outside = pull(run_cli, repo, "--to", "prompts/classify")
    assert outside.code == 2 and "not a dataset path" in outside.err
    (repo / "prompts/other.yaml").write_text((repo / "prompts/classify.yaml").read_text())
    (repo / "datasets/other.yaml").write_text("kind: evaluation\nsynthetic: false\nprompt: other\n")
    (repo / "datasets/other.jsonl").write_text('{"id": "o1", "input": {"review": "fine"}}\n')
    mismatch = pull(run_cli, repo, "--to", "datasets/other")
    assert mismatch.code == 2 and "feeds prompt 'other', not 'classify'" in mismatch.err
    unknown = run_cli("--root", str(repo), "dataset", "pull", "--from", "langfuse", "--prompt", "nope", "--to", TARGET)
    assert unknown.code == 2 and "no prompt 'nope'" in unknown.err
    assert (repo / "datasets/reviews.jsonl").read_text().count("\n") == 2


def test_appends_in_the_format_of_an_existing_dataset(repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    (repo / "datasets/live.yaml").write_text(
        "kind: evaluation\nsynthetic: false\nprompt: classify\ncsv: {id: id, input: {review: text}, expected: label}\n"
    )
    (repo / "datasets/live.csv").write_text('id,text,label\nl1,"cold, late",negative\n')
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "cold, late"}, output="negative")
    langfuse_double.traces.add_generation("classify", 1, variables={"review": 'so "good"'}, output="positive")
    result = json.loads(pull(run_cli, repo, "--to", "datasets/live", "--format", "json").out)
    assert (result["written"], result["skipped_duplicates"], result["files"]) == (1, 1, ["datasets/live.csv"])
    text = (repo / "datasets/live.csv").read_text()
    assert text.startswith('id,text,label\nl1,"cold, late",negative\n')
    assert text.endswith(f'{result["items"][0]},"so ""good""",positive\n')
    assert run_cli("--root", str(repo), "validate").code == 0


def test_calls_traced_by_the_sdk_come_back_as_items(
    repo: Path, langfuse_double: LangfuseDouble, fake_llm, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole loop: the SDK serves production and traces (variables masked), the pull reads it back."""
    from promptship import Client

    from ..eval.test_eval import SENTIMENT

    fake_llm.set_rules(SENTIMENT)
    monkeypatch.setenv("FAKE_LLM_BASE", fake_llm.base_url)
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-not-a-real-key-000000000000")
    # A separate process, as in CI: the Langfuse SDK keeps one client per public key per process, and
    # the sync's client has tracing off.
    done = subprocess.run(
        [Path(sys.executable).parent / "promptship", "--root", str(repo), "sync", "--ref", "main", "--apply"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    client = Client(repo)
    answers = [
        client.complete("classify", {"review": review})
        for review in ("good food, call 010-2345-6789", "bad food number 7", "bad food number 7")
    ]
    client.close()
    assert [a.prompt_version for a in answers] == [1, 1, 1]
    result = json.loads(pull(run_cli, repo, "--label", "production", "--to", TARGET, "--format", "json").out)
    assert (result["read"], result["written"], result["skipped_duplicates"]) == (3, 2, 1)
    items = sorted(items_of(repo / "datasets/production/classify.jsonl"), key=lambda i: i["input"]["review"])
    assert [i["input"]["review"] for i in items] == ["bad food number 7", "good food, call [PHONE_1]"]
    assert [i["expected"] for i in items] == ["negative", "positive"]
    assert "2345-6789" not in (repo / "datasets/production/classify.jsonl").read_text()
    candidate = json.loads(pull(run_cli, repo, "--label", "candidate", "--to", TARGET, "--format", "json").out)
    assert (candidate["read"], candidate["filtered"]) == (3, 3), "served under another label"


def test_reads_every_page_through_retries_and_untruncated_variables(
    repo: Path, langfuse_double: LangfuseDouble
) -> None:
    """Cursor pages are followed to the end, a 503 is retried (llm/retry.py decides), and variables
    longer than the API's 200-character metadata preview are read in full (expandMetadata)."""
    from promptship import (  # the public API, as docs/python-api.md shows it
        LangfuseSettings,
        LangfuseStore,
        PullRequest,
        TraceReader,
        load_valid_repo,
        pull_dataset,
    )

    long_review = "good " + "very tasty and warm, " * 20
    for number in range(7):
        langfuse_double.traces.add_generation("classify", 1, variables={"review": f"{long_review}#{number}"})
    langfuse_double.traces.fail_reads.extend([503, 429])
    store = LangfuseStore(
        LangfuseSettings(langfuse_double.public_key, langfuse_double.secret_key, langfuse_double.host),
        sleep=lambda seconds: None,
    )
    reader = TraceReader(store, page_size=3)
    result = pull_dataset(repo, load_valid_repo(repo), reader, PullRequest("classify", TARGET))
    assert (result.tally.read, result.tally.written) == (7, 7)
    assert reader.requests == 3, "three pages (the first one retried twice)"
    items = items_of(repo / "datasets/production/classify.jsonl")
    assert all(len(i["input"]["review"]) > 400 for i in items)
    pages = [p for m, p in langfuse_double.journal if p.startswith("/api/public/v2/observations")]
    assert len(pages) == 5 and all("expandMetadata=prompt_variables" in p for p in pages)


def test_nothing_is_half_written_when_langfuse_fails(repo: Path, langfuse_double: LangfuseDouble, run_cli) -> None:
    for number in range(5):
        langfuse_double.traces.add_generation("classify", 1, variables={"review": f"good {number}"})
    langfuse_double.traces.fail_reads.extend([500] * 10)
    result = pull(run_cli, repo, "--to", TARGET)
    assert result.code == 1 and "error[E820]" in result.err and "Traceback" not in result.err
    assert not (repo / "datasets/production").exists()


def test_decomposed_hangul_and_secrets_never_reach_the_dataset(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    """A name and address typed as conjoining jamo (NFD) are masked like composed ones; a key a caller
    pasted or an answer echoed drops the item (validate's secret scan would reject the file)."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "고객 김도현 님, 서울특별시 송파구 올림픽로 300 으로 보내주세요")
    langfuse_double.traces.add_generation("classify", 1, variables={"review": nfd}, output="negative")
    key = "sk-proj-" + "Ab3dE5fGh7JkLmN9pQrStUvWxYz0123456789abcdEFGH"
    langfuse_double.traces.add_generation("classify", 1, variables={"review": f"my key {key} works?"})
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "fine"}, output=f"use {token}")
    summary = json.loads(pull(run_cli, repo, "--to", TARGET, "--format", "json").out)
    assert (summary["written"], summary["dropped_secrets"]) == (1, 2)
    text = unicodedata.normalize("NFC", (repo / "datasets/production/classify.jsonl").read_text(encoding="utf-8"))
    assert "김도현" not in text and "올림픽로" not in text and key not in text and token not in text
    assert "[PERSON_NAME_1]" in text and "[ADDRESS_1]" in text
    commit_all(repo, "pulled")
    assert run_cli("--root", str(repo), "validate").code == 0


def test_a_dataset_folder_linking_out_of_the_repository_is_refused(
    repo: Path, langfuse_double: LangfuseDouble, run_cli, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "datasets/production").symlink_to(outside)
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "good"})
    result = pull(run_cli, repo, "--to", TARGET)
    assert result.code == 2 and "error[E971]" in result.err and "outside the repository" in result.err
    assert list(outside.iterdir()) == []
    assert not [p for m, p in langfuse_double.journal if "observations" in p], "refused before any request"


def test_inputs_equal_but_for_unicode_normalisation_are_one_item_and_csv_cells_stay_readable(
    repo: Path, langfuse_double: LangfuseDouble, run_cli
) -> None:
    """Hangul composed and as conjoining jamo is one input; a value longer than a CSV cell may be
    (validate's E207) is not appended to a CSV dataset."""
    import unicodedata

    review = "배달이 너무 늦어요"
    for text in (review, unicodedata.normalize("NFD", review)):
        langfuse_double.traces.add_generation("classify", 1, variables={"review": text}, output="negative")
    first = json.loads(pull(run_cli, repo, "--to", TARGET, "--format", "json").out)
    assert (first["written"], first["skipped_duplicates"]) == (1, 1)
    (repo / "datasets/live.yaml").write_text(
        "kind: evaluation\nsynthetic: false\nprompt: classify\ncsv: {id: id, input: {review: text}, expected: label}\n"
    )
    (repo / "datasets/live.csv").write_text("id,text,label\nl1,cold,negative\n")
    langfuse_double.traces.add_generation("classify", 1, variables={"review": "long " * 30_000}, output="negative")
    to_csv = json.loads(pull(run_cli, repo, "--to", "datasets/live", "--format", "json").out)
    assert to_csv["skipped_variable_mismatch"] == 1
    commit_all(repo, "pulled")
    assert run_cli("--root", str(repo), "validate").code == 0


@pytest.mark.parametrize("since", ["999999w", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_outside_the_calendar_is_a_usage_error(repo: Path, run_cli, since: str) -> None:
    result = pull(run_cli, repo, "--to", TARGET, "--since", since)
    assert result.code == 2 and "error[E962]" in result.err and "Traceback" not in result.err
