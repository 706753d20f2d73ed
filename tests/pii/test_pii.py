"""Korean-first PII detection: detector behaviour, corpus quality, linear time, policy, CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from promptship.pii import PiiBlockedError, PiiPolicy, detect, guard_data, guard_messages, guard_text
from promptship.pii.detectors import rrn_check_digit_ok
from promptship.pii.scan import scan_jsonl

from .markup import HELDOUT, parse, records, render

CORPUS = Path(__file__).with_name("corpus.jsonl")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "pii_quality.py"
DEFAULT = PiiPolicy()


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
    for business in ("1588-1234", "1544-5678", "1600-1234", "1661-0000", "080-023-4567"):
        assert types_in(f"고객센터 {business} 로 전화주세요") == [("business_phone", business)], business
        guard_text(f"고객센터 {business} 로 전화주세요", DEFAULT)  # company types are allowed by default


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("가게 전화 02-555-1234로 하시면 사장님이 받아요", "business_phone", "02-555-1234"),
        ("팩스 02-3456-7890로 서류 보내주세요", "business_phone", "02-3456-7890"),
        ("Tel. 1544-9970 / Fax. 02-6003-1234", "business_phone", "02-6003-1234"),
        ("매장 문의: 0507-1420-3321", "business_phone", "0507-1420-3321"),
        ("가게 사장님 번호 010-7788-9900인데 안 받아요", "phone", "010-7788-9900"),
        ("고객님 번호 02-876-5432로 연락 안 돼요", "phone", "02-876-5432"),
        ("매장 말고 고객 자택 02-876-5432로", "phone", "02-876-5432"),
    ],
)
def test_landlines_after_a_business_word_are_business_phones_and_mobiles_never_are(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in types_in(text)


def test_business_phone_is_its_own_type_that_policies_can_allow_or_mask() -> None:
    text = "가게 전화 02-555-1234, 제 번호 010-1234-5678"
    assert guard_text(text, PiiPolicy(types={"phone": "mask"})).masked_messages[0]["content"] == (
        "가게 전화 02-555-1234, 제 번호 [PHONE_1]"
    )
    masked = guard_text(text, PiiPolicy(types={"phone": "mask", "business_phone": "mask"}))
    assert masked.masked_messages[0]["content"] == "가게 전화 [BUSINESS_PHONE_1], 제 번호 [PHONE_1]"


@pytest.mark.parametrize(
    "text",
    [
        "법인등록번호 110111-1234567",
        "(주)한빛푸드 법인등록번호: 134511-0098822",
        "법인번호 110111-6543210 로 세금계산서 발행해주세요",
    ],
)
def test_corporate_registration_numbers_are_not_resident_numbers(text: str) -> None:
    assert [kind for kind, _ in reported(text)] == ["corporate_registration_number"]
    guard_text(text, DEFAULT)


@pytest.mark.parametrize(
    "text",
    [
        "240126-3351680 주문 건 언제 와요?",
        "250301-1002345 이거 제 주문인데 취소할게요",
        "주문 ORD-20240115-1234567890 국민은행 환불 요청합니다",
        "A2024011512345678 주문 확인 부탁드려요, 카드 결제했어요",
        "상품코드 PRD-9001011234568 재입고 언제 되나요",
        "환불 계좌 말고 주문 ID ORD9001011234568 확인해주세요",
    ],
)
def test_date_prefixed_order_numbers_and_digits_inside_ids_are_not_personal(text: str) -> None:
    assert reported(text) == []


def test_a_resident_number_keeps_its_type_next_to_order_words_when_named() -> None:
    assert reported("주민번호 240126-3351680 으로 주문했어요") == [("rrn", "240126-3351680")]
    assert reported("주민등록번호 900101-1234568") == [("rrn", "900101-1234568")]


@pytest.mark.parametrize("space", ["\u3000", "\u00a0", "\u2009", "\u202f", "\u2002", "\u200b"])
def test_unicode_spaces_separate_digit_groups(space: str) -> None:
    phone, rrn = f"010{space}1234{space}5678", f"900101{space}-{space}1234568"
    assert reported(f"연락처 {phone} 입니다") == [("phone", phone)]
    assert reported(f"주민번호 {rrn}") == [("rrn", rrn)]
    card = space.join(["4111", "1111", "1111", "1111"])
    assert reported(f"카드번호 {card}") == [("card_number", card)]


def test_passport_after_an_abbreviation_and_ip_addresses() -> None:
    assert reported("Passport No. M12345678") == [("passport", "M12345678")]
    assert reported("PASSPORT NO. M98765432 확인했습니다") == [("passport", "M98765432")]
    assert reported("접속 IP 203.241.88.117 에서 로그인") == [("ip_address", "203.241.88.117")]
    assert reported("IPv6 2001:db8:85a3::8a2e:370:7334 차단") == [("ip_address", "2001:db8:85a3::8a2e:370:7334")]
    for text in (
        "버전 1.2.3.4 업데이트",
        "앱 v10.4.2.1 입니다",
        "12:30:45 도착",
        "평점 4.5, 2024.01.15",
        "256.1.1.1",
        "서브넷 마스크 255.255.255.0, DNS 8.8.8.8 / 168.126.63.1",
        "예시 번호 010-0000-0000 은 없는 번호예요",
    ):
        assert reported(text) == [], text


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("배송지: 서울특별시 마포구 월드컵로 212, 104동 1502호 문 앞", "서울특별시 마포구 월드컵로 212, 104동 1502호"),
        ("주소 부산 해운대구 우동 1408-3 2층이에요", "부산 해운대구 우동 1408-3 2층"),
        ("경기 성남시 분당구 정자일로 95번길 12 입니다", "경기 성남시 분당구 정자일로 95번길 12"),
        ("은하아파트 101동 1203호인데 공동현관 비번은", "은하아파트 101동 1203호"),
        ("상계주공 7단지 703동 1204호로 출발", "상계주공 7단지 703동 1204호"),
        ("(06236) 서울특별시 강남구 역삼동 737 로비", "서울특별시 강남구 역삼동 737"),
        ("202동 1104호 문고리에 걸어주세요", "202동 1104호"),
        ("1,김민서,010-3815-2640,서울특별시 강남구 테헤란로 152", "서울특별시 강남구 테헤란로 152"),
        ("동작구 사당동 거주하시는 70대 여성분", "동작구 사당동"),
        ("현 거주지: 서울특별시 노원구 상계동 임시 거처", "서울특별시 노원구 상계동"),
        ("분묘 소재지: 청주시 흥덕구 강내면 산47-3 일원", "청주시 흥덕구 강내면 산47-3"),
        ("임대 대상: 충청남도 천안시 서북구 직산읍 4공단로 88-3 일원", "충청남도 천안시 서북구 직산읍 4공단로 88-3"),
    ],
)
def test_addresses_road_lot_and_units(text: str, address: str) -> None:
    assert ("address", address) in reported(text)


@pytest.mark.parametrize(
    "text",
    [
        "테헤란로 쪽은 점심시간에 배달이 늦어요",
        "부산 해운대구 지역은 배달비 3000원 추가",
        "문자로 1234 보내드렸어요",
        "앞으로 2번 더 주문하면 쿠폰",
        "2호선 강남역 11번 출구",
        "1동 2동 사이 놀이터",
        "서울로 3시에 출발해요",
        "101번 버스 정류장 앞",
    ],
)
def test_place_words_without_a_building_number_are_not_addresses(text: str) -> None:
    assert [kind for kind, _ in reported(text) if kind == "address"] == []


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


def reported(text: str) -> list[tuple[str, str]]:
    """Findings the default policy acts on (confidence >= 0.5)."""
    return [(f.type, text[f.start : f.end]) for f in detect(text) if f.confidence >= DEFAULT.min_confidence]


def test_decomposed_hangul_is_read_composed_and_masked_whole() -> None:
    """Hangul typed as conjoining jamo (NFD: macOS, some keyboards and exports) is the same name and
    address to a reader; it was invisible to the name and address detectors."""
    text = unicodedata.normalize("NFD", "고객 김도현 님, 배송지 서울특별시 송파구 올림픽로 300, 010-1234-5678")
    assert [(t, unicodedata.normalize("NFC", v)) for t, v in reported(text)] == [
        ("person_name", "김도현"),
        ("address", "서울특별시 송파구 올림픽로 300"),
        ("phone", "010-1234-5678"),
    ]
    masking = PiiPolicy(types={"person_name": "mask", "address": "mask", "phone": "mask"})
    masked = guard_text(text, masking).masked_messages[0]["content"]
    assert unicodedata.normalize("NFC", masked) == "고객 [PERSON_NAME_1] 님, 배송지 [ADDRESS_1], [PHONE_1]"


@pytest.mark.parametrize(
    "text",
    ['{"이름": "김도현"}', '{"customer_name": "김도현", "review": "맛있어요"}', "recipient: '김도현'", '{"예금주":"김도현"}'],
)
def test_a_name_in_a_json_or_yaml_field_named_for_a_person_is_found(text: str) -> None:
    """Dataset files and traced variables are fields: the field's name is the label a name needs."""
    assert reported(text) == [("person_name", "김도현")]


def test_guarded_data_reads_keys_as_labels_and_masks_keys() -> None:
    masking = PiiPolicy(types={"person_name": "mask", "phone": "mask"})
    (guarded,) = guard_data(
        [{"order": {"name": "김도현", "dish_name": "김치찌개", "010-3847-2261": "call first"}}], masking
    )
    assert guarded.value == {"order": {"name": "[PERSON_NAME_1]", "dish_name": "김치찌개", "[PHONE_1]": "call first"}}
    assert guarded.masked == {"person_name": 1, "phone": 1}


def test_a_support_message_masks_only_the_name_and_the_phone() -> None:
    text = "안녕하세요 김민수입니다. 주문한 음식이 한 시간째 안 와요. 010-1234-5678로 연락 주세요"
    masking = PiiPolicy(types={"person_name": "mask", "phone": "mask"})  # everything else blocks
    masked = guard_text(text, masking).masked_messages[0]["content"]
    assert masked == "안녕하세요 [PERSON_NAME_1]입니다. 주문한 음식이 한 시간째 안 와요. [PHONE_1]로 연락 주세요"
    assert reported("정우성 님 앞으로 주문했는데 받는 분 이름을 바꿀 수 있나요") == [("person_name", "정우성")]
    assert reported("배송지 서울시 강남구 테헤란로 123, 010-1234-5678") == [
        ("address", "서울시 강남구 테헤란로 123"),
        ("phone", "010-1234-5678"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "안녕하세요 조리중입니다",
        "현재 배송중입니다",
        "배달팁 포함해서 오천원인데요",
        "최소주문금액이 이만원이에요",
        "선배님이 추천했어요",
        "여사님께서 받으세요",
        "차장님 법인카드로요",
        "이사님 도시락이요",
        "배달원님 감사해요",
        "오늘 들어온 신상입니다",
        "주문자 정보와 받는 분 정보가 달라요",
        "받는 분 성함이 틀렸어요",
        "저는 이번에 처음 주문했어요",
        "강남점 사장님 친절하세요",
        "정문 앞으로 와주세요",
        "한시간째 기다리고 있어요",
        "강아지한테 줄 간식이에요",
        "우수회원 혜택이 안 보여요",
        "진상 고객이에요",
        "안녕하세요 김가네입니다",
        "신세계 고객센터에 물어봤어요",
        "기업은행 01012345678901 이에요",
    ],
)
def test_ordinary_words_with_name_cues_are_not_names(text: str) -> None:
    assert [kind for kind, _ in reported(text)] in ([], ["bank_account"]), reported(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("받는사람 장수빈 / 010-4432-9087", "장수빈"),
        ("보내는 사람 문태윤, 포장 부탁드려요", "문태윤"),
        ("예약자 황보라 이름으로 예약했어요", "황보라"),
        ("입금자명 송지아로 입금했습니다", "송지아"),
        ("송금인 노유나 확인 부탁드립니다", "노유나"),
        ("수취인명 유재석 맞습니다", "유재석"),
        ("김민수가 대신 받을 거예요", "김민수"),
        ("박지영한테 전화해 주세요", "박지영"),
        ("안녕하세요 오세훈 기사입니다", "오세훈"),
        ("픽업하실 분은 류현진입니다", "류현진"),
        ("저 남궁민수예요", "남궁민수"),
        ("김건님 주문 확인했습니다", "김건"),
        ("환불 요청: 고아라 / 신한 110-987-654321", "고아라"),
        ("010-4545-2323(이정민) 으로 전화 부탁드려요", "이정민"),
        ("성함이 어떻게 되세요? 박지영이요", "박지영"),
        ("배정남 손님 포장 나왔습니다", "배정남"),
        ("대표 김상훈 / 사업자등록번호 223-30-79242", "김상훈"),
    ],
)
def test_names_with_cues_are_found(text: str, name: str) -> None:
    assert ("person_name", name) in reported(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("신청인: 김영희", ["김영희"]),
        ("보호자 박정숙 연락처 010-2233-4455", ["박정숙"]),
        ("지점장 최동훈 배상", ["최동훈"]),
        ("담당 MD 정수아 드림", ["정수아"]),
        ("재판장 판사 한지민", ["한지민"]),
        ("청구인(피보험자): 곽재민", ["곽재민"]),
        ("수검자명: 정해린", ["정해린"]),
        ("작성: 운영팀 고민지", ["고민지"]),
        ("홍길동 (인)", ["홍길동"]),
        ("작성자: 윤서영 (서명)", ["윤서영"]),
        ("송미란 750823-2456781", ["송미란"]),
        ("임차인 오현수(801225-1009473)", ["오현수"]),
        ("상담사 백서윤이었습니다. 좋은 하루 되세요", ["백서윤"]),
        ("참석자: 권오성, 이다인, 표예진", ["권오성", "이다인", "표예진"]),
        ("Name: Kim Minsu", ["Kim Minsu"]),
        ("Passenger: LEE SEOYEON", ["LEE SEOYEON"]),
        ("Jihoon Choi 고객님 주문 접수되었습니다", ["Jihoon Choi"]),
        ("Contact person: Hong Gil-dong", ["Hong Gil-dong"]),
        ("예약자명 Park Jiyoung으로 되어 있어요", ["Park Jiyoung"]),
        ("선정자 김태윤(820512-1058392) 님은 오는 11월", ["김태윤"]),
        ("상세 문의는 중개사 박소연(010-4829-1034) 또는 이메일", ["박소연"]),
        (
            "김민준: 서류 보냈어요\n이지수: 네 확인할게요\n김민준: 감사합니다\n이지수: 네",
            ["김민준", "이지수", "김민준", "이지수"],
        ),
    ],
)
def test_names_after_roles_labels_in_signatures_before_resident_numbers_and_romanised(
    text: str, names: list[str]
) -> None:
    assert [value for kind, value in reported(text) if kind == "person_name"] == names


@pytest.mark.parametrize(
    "text",
    [
        "이메일 주소로 영수증 보내주세요",
        "임차인 이메일: suzy@example.com",
        "천원이요? 더 싸게 안 되나요",
        "심사팀입니다. 서류 보완 요청드립니다",
        "정산팀이에요. 입금일 안내드려요",
        "임대인 서명: 날인 필요",
        "숙소 객실 배정을 위해 회신해 주세요",
        "채무자 소유의 부동산을 가압류한다",
        "충청북도 청주시 상당구 상당로 155 시청 민원실 앞으로 가져다 주세요",
        "Do Not Disturb 표시 해주세요",
        "Go Home 세트 하나요",
        "Park Hyatt 호텔 로비로 와주세요",
        "지급액은 142,500원이며, 등록하신 계좌로 입금됩니다",
        "5,000원이요? 더 싸게 안 되나요",
        "진단명: 뇌경색\n진료일: 2026.04.02\n진단명: 편마비\n진료일: 2026.04.03",
    ],
)
def test_ordinary_words_and_english_phrases_are_not_names(text: str) -> None:
    assert [value for kind, value in reported(text) if kind == "person_name"] == []


@pytest.mark.parametrize(
    "text",
    [
        "주문 번호 2403151234567 확인 부탁드려요",
        "영수증 번호 2501024123456 인데 취소해 주세요",
        "결제번호 9001011234568 환불 처리해주세요",
        "거래번호 9001014280386 확인 좀요",
        "예약번호 240601-3280842 예약 확인 부탁해요",
        "주문번호 2024031215901094 언제 와요?",
        "기프티콘 번호 9123 4567 8912 3456 사용이 안 돼요",
        "환불 요청합니다 접수번호 20240315001",
        "토스로 결제했어요. 거래 ID 2024031599887",
        "주민번호 301231-4123456 이라고 나오는데 이상해요",
    ],
)
def test_reference_numbers_and_impossible_dates_are_not_blocked(text: str) -> None:
    assert reported(text) == []
    guard_text(text, DEFAULT)  # the default policy blocks rrn and card_number: this must not raise


def test_bare_look_alike_digits_are_reported_below_the_threshold() -> None:
    """A Luhn-valid 16-digit or date-shaped 13-digit number with no keyword is reported weakly (for
    ``pii scan``) but not acted on; the same digits after a keyword are."""
    (card,) = detect("어제 시킨 거 2024031215901094 아직도 준비중이래요")
    assert card.type == "card_number" and card.confidence < DEFAULT.min_confidence
    assert reported("카드 2024031215901094 로 결제했어요") == [("card_number", "2024031215901094")]
    (rrn,) = detect("9001011234568 맞나요")
    assert rrn.type == "rrn" and rrn.confidence < DEFAULT.min_confidence
    assert reported("주민번호 9001011234568 맞나요") == [("rrn", "9001011234568")]


def test_rrn_rejects_future_births_and_reads_full_width_digits() -> None:
    assert reported("주민번호 301231-4123456") == [], "gender 4 means born in 2030"
    assert reported("주민번호 301231-2123456") == [("rrn", "301231-2123456")], "gender 2: born 1930"
    assert reported("주민번호 ９００１０１－１２３４５６８") == [("rrn", "９００１０１－１２３４５６８")]


@pytest.mark.parametrize(
    "number",
    [
        "(02) 345-6789",
        "(031)234-5678",
        "031)123-4567",
        "010 - 1234 - 5678",
        "010\u20131234\u20135678",
        "010ㅡ1234ㅡ5678",
        "(010) 2345-6789",
        "０１０－２３４５－６７８９",
    ],
)
def test_phone_with_parentheses_spaced_dashes_and_look_alike_dashes(number: str) -> None:
    assert reported(f"연락처 {number} 입니다") == [("phone", number)]


def test_bank_accounts_with_spaces_or_a_one_digit_last_group() -> None:
    assert reported("우리은행 1002 345 678901 로 환불해주세요") == [("bank_account", "1002 345 678901")]
    assert reported("새마을금고 9002-1234-5678-9 로 보내주세요") == [("bank_account", "9002-1234-5678-9")]


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
        "서울 " * 50_000 + "거주",
        "강남구 " * 50_000 + "거주",
        "테헤란로 1, " * 20_000,
        "101동 " * 50_000 + "1203호",
        "아파트 " * 50_000 + "1203호",
        "1." * 100_000,
        "a:" * 100_000 + "::",
        "Kim " * 50_000,
    ],
)
@pytest.mark.timeout(10)
def test_adversarial_inputs_finish_in_linear_time(text: str) -> None:
    detect(text)


ALL_TYPES = {
    "address",
    "ip_address",
    "business_phone",
    "corporate_registration_number",
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


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("path", "size", "negatives"), [(CORPUS, 500, 150), (HELDOUT, 300, 150)])
def test_corpora_are_large_and_consistent(path: Path, size: int, negatives: int) -> None:
    lines = _lines(path)
    assert len(lines) >= size
    assert {s["type"] for line in lines for s in line["spans"]} <= ALL_TYPES
    assert sum(1 for line in lines if not line["spans"]) >= negatives, "hard negatives"
    assert len({line["id"] for line in lines}) == len(lines)
    for line in lines:
        for span in line["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(line["text"])


def test_heldout_jsonl_is_built_from_the_hand_written_markup() -> None:
    assert HELDOUT.read_text(encoding="utf-8") == render(records()), "run: python -m tests.pii.markup"


def test_markup_derives_offsets_and_rejects_mistakes() -> None:
    assert parse("예금주 [[name:박지영]], [[phone:010-1234-5678]]") == (
        "예금주 박지영, 010-1234-5678",
        [{"type": "person_name", "start": 4, "end": 7}, {"type": "phone", "start": 9, "end": 22}],
    )
    with pytest.raises(ValueError, match="unknown type"):
        parse("[[ssn:123]]")
    with pytest.raises(ValueError, match="malformed"):
        parse("[[name:김민수]")


def _bench() -> ModuleType:
    sys.path.insert(0, str(BENCH.parent))
    try:
        import pii_quality
    finally:
        sys.path.remove(str(BENCH.parent))
    return pii_quality


def test_heldout_quality_meets_the_issue_targets() -> None:
    """Held-out corpus: personal lines caught >= 0.95, clean lines acted on <= 0.02, names recall >= 0.85,
    addresses recall >= 0.90, every type's precision >= 0.90 (see bench/pii_quality.py)."""
    bench = _bench()
    result = bench.score(bench.HELDOUT)
    assert bench.shortfalls(result) == [], result


def test_generated_corpus_quality_does_not_regress() -> None:
    bench = _bench()
    for kind, row in bench.score(bench.CORPUS)["types"].items():
        assert row["recall"] >= 0.95 and row["precision"] >= 0.95, (kind, row)


def test_quality_docs_page_is_current() -> None:
    """docs/pii-quality.md publishes the per-type figures; regenerate with bench/pii_quality.py --write-docs."""
    bench = _bench()
    assert bench.DOCS.read_text(encoding="utf-8") == bench.docs_page(), "run: python bench/pii_quality.py --write-docs"


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


def test_ko_pii_format_is_converted_to_spans_without_the_public_set(tmp_path: Path) -> None:
    bench = _bench()
    source, public = tmp_path / "large.jsonl", tmp_path / "dev.jsonl"
    records = [
        {
            "text": "김민수 010-1234-5678, 문의 1588-1234",
            "pii": [
                {"type": "PERSON", "text": "김민수"},
                {"type": "PHONE", "text": "010-1234-5678"},
                {"type": "PHONE", "text": "1588-1234"},
                {"type": "AGE", "text": "5"},
            ],
        },
        {"text": "이미 본 문서", "pii": []},
    ]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    public.write_text(json.dumps({"text": "이미 본 문서", "spans": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    converted = bench.convert_ko_pii(source, public)
    (record,) = _lines(converted)
    converted.unlink()
    assert [(s["type"], record["text"][s["start"] : s["end"]]) for s in record["spans"]] == [
        ("person_name", "김민수"),
        ("phone", "010-1234-5678"),
        ("business_phone", "1588-1234"),
        ("other:AGE", "5"),
        ("other:AGE", "5"),
    ]


def test_guard_data_masks_every_value_and_counts_blocked_types_without_raising() -> None:
    from promptship.pii import guard_data

    policy = PiiPolicy.model_validate({"default": "block", "types": {"phone": "mask", "email": "mask"}})
    first, second, earlier = guard_data(
        [
            {"id": "kim@example.com", "nested": ["call 010-2345-6789", 3]},  # every key is read, "id" too
            "again 010-2345-6789, rrn 900101-1234568",
            {"review": "[RRN_1] and [PHONE_4]"},  # placeholders an earlier mask left
        ],
        policy,
    )
    assert first.value == {"id": "[EMAIL_1]", "nested": ["call [PHONE_5]", 3]}, "numbers continue after [PHONE_4]"
    assert first.masked == {"email": 1, "phone": 1} and not first.blocked
    assert second.value == "again [PHONE_5], rrn [RRN_2]" and second.blocked == {"rrn": 1}
    assert earlier.blocked == {"rrn": 1} and earlier.value == {"review": "[RRN_1] and [PHONE_4]"}
