"""Korean-first PII detection: detector behaviour, corpus quality, linear time, policy, CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from promptship.pii import PiiBlockedError, PiiPolicy, detect, guard_messages, guard_text
from promptship.pii.detectors import rrn_check_digit_ok
from promptship.pii.scan import scan_jsonl

CORPUS = Path(__file__).with_name("corpus.jsonl")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "pii_quality.py"


def types_in(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in detect(text)]


def test_rrn_check_digit_raises_confidence_but_is_not_required() -> None:
    valid, post_2020 = "900101-1234568", "900101-1234567"
    assert rrn_check_digit_ok(valid.replace("-", "")) and not rrn_check_digit_ok(post_2020.replace("-", ""))
    (first,), (second,) = detect(f"주민번호 {valid}"), detect(f"주민번호 {post_2020}")
    assert first.type == second.type == "rrn" and first.confidence > second.confidence >= 0.5
    assert detect("주민번호 901301-1234568") == [], "month 13 is not a birth date"
    assert detect("주민번호 900101-9234568") == [], "gender digit must be valid"


def test_phone_formats_and_business_numbers() -> None:
    for number in (
        "010-1234-5678",
        "010 1234 5678",
        "010.1234.5678",
        "01012345678",
        "02-123-4567",
        "031-123-4567",
        "070-1234-5678",
        "+82 10-1234-5678",
        "0505-123-4567",
    ):
        assert types_in(f"연락처 {number} 입니다") == [("phone", number)], number
    for business in ("1588-1234", "1544-5678", "1600-1234", "1661-0000"):
        assert detect(f"고객센터 {business} 로 전화주세요") == [], business


def test_bank_account_needs_context() -> None:
    assert types_in("환불은 국민은행 123456-01-234567 으로") == [("bank_account", "123456-01-234567")]
    assert detect("주문번호 123456-01-234567 확인") == []
    assert detect("상품 123456-01-234567") == []


def test_cards_need_luhn() -> None:
    assert types_in("카드 4111-1111-1111-1111") == [("card_number", "4111-1111-1111-1111")]
    assert detect("카드 4111-1111-1111-1112") == []


def test_names_need_cues_and_food_words_are_not_names() -> None:
    assert types_in("김민수님 주문 확인했습니다") == [("person_name", "김민수")]
    assert types_in("예금주 박지영 맞나요") == [("person_name", "박지영")]
    assert types_in("이서연 고객님 안녕하세요") == [("person_name", "이서연")]
    for text in (
        "김치찌개 정말 맛있어요",
        "이번 주 박스 포장",
        "최고예요 강추합니다",
        "조금 늦어도 돼요",
        "사장님 감사합니다",
        "기사님이 친절하셨어요",
        "한우 정식 2인분",
    ):
        assert detect(text) == [], text


def test_email_and_extras() -> None:
    assert types_in("메일 kim.minsu+order@example.co.kr 로") == [("email", "kim.minsu+order@example.co.kr")]
    assert types_in("여권번호 M12345678") == [("passport", "M12345678")]
    assert types_in("사업자등록번호 220-81-62517") == [("business_registration_number", "220-81-62517")]
    assert detect("사업자등록번호 220-81-62518") == [], "checksum"


@pytest.mark.parametrize(
    "text",
    [
        "9" * 200_000,
        "1-" * 100_000,
        "1 " * 100_000,
        "님" * 100_000,
        "김" * 100_000,
        "a" * 100_000 + "@",
        "@" + "a." * 100_000,
        ("010-1234-5678 " * 20_000),
    ],
)
@pytest.mark.timeout(10)
def test_adversarial_inputs_finish_in_linear_time(text: str) -> None:
    detect(text)


def test_corpus_is_large_and_consistent() -> None:
    lines = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 500
    types = {s["type"] for line in lines for s in line["spans"]}
    assert types == {
        "rrn",
        "phone",
        "bank_account",
        "card_number",
        "email",
        "person_name",
        "passport",
        "driver_license",
        "business_registration_number",
    }
    assert sum(1 for line in lines if not line["spans"]) >= 150, "hard negatives"
    for line in lines:
        for span in line["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(line["text"])


def test_corpus_quality_meets_targets() -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        from pii_quality import score
    finally:
        sys.path.remove(str(BENCH.parent))
    table = score(CORPUS)
    for kind, row in table.items():
        if kind == "person_name":
            assert row["recall"] >= 0.90, (kind, row)
        else:
            assert row["recall"] >= 0.98 and row["precision"] >= 0.95, (kind, row)


POLICY = PiiPolicy(default="block", types={"phone": "mask", "person_name": "mask", "email": "allow"})


def test_mask_placeholders_are_stable_across_messages_and_unmaskable() -> None:
    messages = [
        {"role": "system", "content": "고객 김민수님 연락처 010-1234-5678"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "다시 010-1234-5678, 그리고 010-9999-0000"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
    ]
    result = guard_messages(messages, POLICY)
    assert result.masked_messages[0]["content"] == "고객 [PERSON_NAME_1]님 연락처 [PHONE_1]"
    assert result.masked_messages[1]["content"][0]["text"] == "다시 [PHONE_1], 그리고 [PHONE_2]"
    assert result.masked_messages[1]["content"][1] == messages[1]["content"][1]
    assert result.counts == {"phone": 3, "person_name": 1}
    assert result.unmask("[PERSON_NAME_1]님께 [PHONE_2]로") == "김민수님께 010-9999-0000로"
    assert messages[0]["content"].startswith("고객 김민수"), "the input is not modified"


def test_block_lists_types_and_positions_never_values() -> None:
    with pytest.raises(PiiBlockedError) as info:
        guard_text("카드 4111-1111-1111-1111 로 결제, 주민번호 900101-1234568", POLICY)
    message = info.value.format()
    assert info.value.types == ["card_number", "rrn"]
    assert "card_number at message 1 chars 3-22" in message
    assert "4111" not in message and "900101" not in message
    assert guard_text("메일 a@b.com", POLICY).masked_messages[0]["content"] == "메일 a@b.com", "allow"


def test_policy_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match="unknown PII type"):
        PiiPolicy(types={"ssn": "block"})


def test_jsonl_contract(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [{"id": 1, "text": "연락처 010-1234-5678"}, {"id": "b", "text": "김치찌개 맛있어요"}]
        )
        + "\n"
    )
    done = subprocess.run(
        [Path(sys.executable).parent / "promptship", "pii", "scan", "--input", str(source), "--format", "jsonl"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [
        {"id": 1, "findings": [{"type": "phone", "start": 4, "end": 17, "confidence": 0.95}]},
        {"id": "b", "findings": []},
    ]


def test_jsonl_bad_line_is_located() -> None:
    from promptship.errors import PromptshipError

    with pytest.raises(PromptshipError) as info:
        scan_jsonl(['{"id": 1, "text": "ok"}', "not json"], io.StringIO(), source="in.jsonl")
    assert (info.value.path, info.value.line, info.value.code) == ("in.jsonl", 2, "E603")


def test_file_scan_reports_masked_positions(tmp_path: Path, run_cli) -> None:
    (tmp_path / "data.jsonl").write_text('{"id": "a"}\n{"id": "b", "note": "전화 010-1234-5678"}\n')
    result = run_cli("pii", "scan", str(tmp_path))
    assert result.code == 1
    assert result.out.strip() == f"{tmp_path / 'data.jsonl'}:2:25: pii[phone] 010-****-**78"
    (tmp_path / "data.jsonl").write_text('{"id": "a"}\n')
    assert run_cli("pii", "scan", str(tmp_path)).code == 0


def test_validate_catches_pii_in_a_non_synthetic_dataset(example_repo: Path, run_cli) -> None:
    sidecar = example_repo / "datasets/support/reply-golden.yaml"
    sidecar.write_text(sidecar.read_text().replace("synthetic: true", "synthetic: false"))
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1
    assert (
        "datasets/support/reply-golden.jsonl:1:" in result.out
        and "error[E601] personal data (person_name)" in result.out
    )
    assert "010-1234-5678" not in result.out
