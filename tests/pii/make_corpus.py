"""Build the labelled PII corpus (tests/pii/corpus.jsonl) deterministically.

Messages are assembled from realistic delivery / customer-service sentences; every personal value
is inserted by code, so its span is exact. Hard negatives (order and tracking numbers, prices,
dates, barcodes, coupon codes, coordinates, food words that begin with a
surname syllable) are mixed in. Run: python -m tests.pii.make_corpus
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).with_name("corpus.jsonl")
rng = random.Random(20261124)

SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추도"
)
GIVEN = [
    "민수",
    "지영",
    "서연",
    "지훈",
    "현우",
    "수빈",
    "예린",
    "도윤",
    "하은",
    "준호",
    "유진",
    "성민",
    "다은",
    "태현",
    "소희",
    "재원",
    "은지",
    "우진",
    "가은",
    "시우",
    "영숙",
    "철수",
    "미경",
    "정호",
    "혜진",
    "동현",
    "나래",
    "윤서",
]
BANKS = [
    "국민은행",
    "KB국민",
    "신한은행",
    "신한",
    "우리은행",
    "하나은행",
    "농협",
    "NH농협",
    "IBK기업은행",
    "카카오뱅크",
    "토스뱅크",
    "케이뱅크",
    "SC제일은행",
    "새마을금고",
    "우체국",
    "부산은행",
]


def digits(n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def name() -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def rrn() -> str:
    year = rng.randint(50, 99) if rng.random() < 0.7 else rng.randint(0, 20)
    gender = rng.choice("12") if year >= 50 else rng.choice("34")
    if rng.random() < 0.15:
        gender = rng.choice("56" if year >= 50 else "78")  # foreigner registration numbers
    front = f"{year:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{gender}{digits(5)}"
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(int(d) * w for d, w in zip(front, weights, strict=True)) % 11) % 10
    if rng.random() < 0.25:
        check = (check + rng.randint(1, 9)) % 10  # issued after Oct 2020: no check digit rule
    number = front + str(check)
    return number[:6] + ("-" if rng.random() < 0.8 else "") + number[6:]


def phone() -> str:
    sep = rng.choice(["-", "-", "-", " ", ".", ""])
    kind = rng.random()
    if kind < 0.6:
        return f"010{sep}{digits(4)}{sep}{digits(4)}"
    if kind < 0.7:
        return f"02{sep}{digits(3 + rng.randint(0, 1))}{sep}{digits(4)}"
    if kind < 0.8:
        area = rng.choice(["031", "032", "051", "053", "062", "064", "042"])
        return f"{area}{sep or '-'}{digits(3)}{sep or '-'}{digits(4)}"
    if kind < 0.88:
        return f"070{sep}{digits(4)}{sep}{digits(4)}"
    if kind < 0.94:
        return f"+82 10{sep or '-'}{digits(4)}{sep or '-'}{digits(4)}"
    return f"0505-{digits(3)}-{digits(4)}"


def account() -> str:
    shape = rng.choice([(6, 2, 6), (3, 3, 6), (4, 3, 6), (3, 6, 5), (3, 4, 4, 2), (4, 2, 7), (3, 2, 6), (4, 4, 4)])
    if rng.random() < 0.15:
        return digits(sum(shape))
    return "-".join(digits(n) for n in shape)


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + digits(length - len(prefix) - 1)
    for check in "0123456789":
        total, candidate = 0, body + check
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError


def card() -> str:
    number = luhn_complete(rng.choice(["4", "51", "55", "9410", "3560", "2221"]), 16)
    sep = rng.choice(["-", " ", ""])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def email() -> str:
    user = rng.choice(["minsu", "jy.park", "seoyeon_k", "hello", "order.help", "kim1987", "yoon.sj"]) + digits(2)
    return f"{user}@{rng.choice(['naver.com', 'gmail.com', 'daum.net', 'kakao.com', 'example.co.kr'])}"


def passport() -> str:
    return rng.choice("MS") + (digits(8) if rng.random() < 0.6 else digits(3) + rng.choice("ABCDEFGH") + digits(4))


def license_number() -> str:
    return f"{rng.randint(11, 26)}-{digits(2)}-{digits(6)}-{digits(2)}"


def brn() -> str:
    while True:
        body = digits(9)
        weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
        total = sum(int(d) * w for d, w in zip(body, weights, strict=True)) + int(body[8]) * 5 // 10
        number = body + str((10 - total % 10) % 10)
        return f"{number[:3]}-{number[3:5]}-{number[5:]}"


def service_number() -> str:
    prefix = rng.choice(["1588", "1544", "1577", "1600", "1661", "1833"])
    return f"{prefix}-{digits(4)}" if rng.random() < 0.8 else f"080-{digits(3)}-{digits(4)}"


def shop_phone() -> str:
    area = rng.choice(["02", "031", "051", "064", "070", "0505"])
    return f"{area}-{digits(3 if area in ('02', '031', '051', '064') else 4)}-{digits(4)}"


CITIES = [
    "서울특별시 강남구",
    "서울 마포구",
    "경기도 성남시 분당구",
    "부산광역시 해운대구",
    "인천 연수구",
    "대전 유성구",
]
ROADS = ["테헤란로", "월드컵로", "판교역로", "센텀중앙로", "컨벤시아대로", "대학로", "정자일로 95번길"]
LOTS = ["역삼동", "합정동", "정자동", "우동", "송도동", "봉명동"]
COMPLEXES = ["은하아파트", "래미안 3단지", "한빛빌라", "푸르지오", "센트럴파크 2차", ""]


def unit() -> str:
    return f"{rng.randint(101, 120)}동 {rng.randint(1, 25)}{rng.randint(1, 4):02d}호"


def address() -> str:
    kind = rng.random()
    if kind < 0.4:
        road = f"{rng.choice(CITIES)} {rng.choice(ROADS)} {rng.randint(1, 400)}"
        return road + (f", {unit()}" if rng.random() < 0.5 else "")
    if kind < 0.7:
        return f"{rng.choice(CITIES)} {rng.choice(LOTS)} {rng.randint(1, 1500)}-{rng.randint(1, 30)}"
    return (rng.choice(COMPLEXES) + " " + unit()).strip()


VALUES: dict[str, Callable[[], str]] = {
    "rrn": rrn,
    "phone": phone,
    "bank_account": account,
    "card_number": card,
    "email": email,
    "person_name": name,
    "passport": passport,
    "driver_license": license_number,
    "business_registration_number": brn,
    "business_phone": service_number,
    "shop_phone": shop_phone,
    "address": address,
}
#: Slots whose type differs from their name.
SLOT_TYPES = {"shop_phone": "business_phone"}

# Templates: {type} slots are personal values; {bank} is a bank name (not personal data).
POSITIVE = [
    "배달 출발하면 {phone}로 문자 주세요",
    "연락처 {phone} 입니다. 도착하면 전화 부탁드려요",
    "문 앞에 두고 {phone} 으로 벨 대신 연락주세요!",
    "가게 번호가 바뀌었어요 {shop_phone}",
    "고객센터 {business_phone} 연결이 안 돼요",
    "{business_phone} 번으로 전화했는데 통화중이에요",
    "배송지 {address} 로 보내주세요",
    "주소: {address} / 연락처 {phone}",
    "{address} 문 앞에 놔주세요",
    "혹시 연락 안 되면 {phone} 이쪽으로 해주세요",
    "환불은 {bank} {bank_account} 으로 부탁드립니다",
    "{bank} {bank_account} 예금주 {person_name}",
    "환불 계좌 {bank_account} ({bank})",
    "입금 계좌: {bank} {bank_account}",
    "차액은 {bank_account} {bank} 계좌로 보내주세요",
    "{person_name}님 주문하신 음식이 출발했습니다",
    "안녕하세요 {person_name}입니다. 주문 취소하고 싶어요",
    "받는 분: {person_name} / 연락처 {phone}",
    "{person_name} 고객님, 불편을 드려 죄송합니다",
    "담당자 {person_name} 드림",
    "예금주 {person_name} 맞는지 확인 부탁드려요",
    "{person_name} 씨가 대신 받을 거예요",
    "주문자 {person_name}, 요청사항: 문 앞에 놓아주세요",
    "기사님 {person_name}님이 너무 친절하셨어요",
    "저는 {person_name}이고 어제 주문한 건 문의드립니다",
    "{person_name} 이름으로 주문했는데 아직 안 왔어요",
    "김치볶음밥 주문한 {person_name}인데요, 젓가락이 안 왔어요",
    "영수증은 {email} 으로 보내주세요",
    "이메일 {email} 로 쿠폰 보내주신다고 했는데 안 왔어요",
    "계정 이메일이 {email} 인데 로그인이 안 돼요",
    "카드번호 {card_number} 결제 취소해주세요",
    "{card_number} 카드로 두 번 결제됐어요",
    "결제한 카드 {card_number} 환불 확인 부탁드려요",
    "주민번호 {rrn} 로 본인인증 했는데 오류가 나요",
    "외국인등록번호 {rrn} 입니다",
    "생년월일이랑 뒷자리요 {rrn}",
    "주류 주문이라 성인인증 {rrn}",
    "여권번호 {passport} 로 인증했어요",
    "여권 {passport} 영문 이름이 달라요",
    "운전면허 {driver_license} 로 라이더 등록했습니다",
    "라이더 지원서 면허번호 {driver_license}",
    "사업자등록번호 {business_registration_number} 로 입점 신청했어요",
    "사업자 {business_registration_number} 세금계산서 발행해주세요",
    "{person_name}님, {phone} 번호로 배달 기사님이 연락드릴 예정입니다",
    "환불 요청: {person_name} / {bank} {bank_account} / {phone}",
]
NEGATIVE = [
    "주문번호 B2O1-20240315-{d6} 확인 부탁드려요",
    "주문번호 {d20} 로 문의합니다",
    "총 결제금액 {price}원 중 {price}원만 환불됐어요",
    "2024-03-{dd} 저녁 7시에 주문했어요",
    "2024.03.{dd} 오후 6:30 배달 예정",
    "CJ대한통운 운송장번호 {d12} 조회가 안 돼요",
    "바코드 880{d9}{d1} 상품이 품절이래요",
    "쿠폰 코드 WELCOME{d4} 적용이 안 됩니다",
    "가게 위치 37.{d4}, 126.{d4} 근처예요",
    "김치찌개 2인분이랑 공기밥 3개 주문했어요",
    "이번 주 금요일에 단체 주문 가능한가요?",
    "박스 포장 꼼꼼하게 부탁드려요",
    "정말 맛있어요! 최고예요 강추합니다",
    "조금 늦어도 괜찮아요. 천천히 오세요",
    "한우 불고기 덮밥 양이 좀 적었어요",
    "신라면 추가했는데 빠졌어요",
    "오징어볶음 덜 맵게 해주세요",
    "전복죽 두 개랑 홍합탕 하나요",
    "고등어구이 정식 {n}개 주문",
    "사장님 서비스 감사합니다~",
    "기사님이 친절하셨어요",
    "배달 예상 시간이 {n}분이라고 떠요",
    "포인트 {price}점 적립 언제 되나요",
    "리뷰 이벤트 참여했어요 ⭐⭐⭐⭐⭐",
    "영업시간 11:00~22:00 맞나요",
    "메뉴판 가격이 {price}원에서 {price}원으로 바뀌었네요",
    "아파트 단지 안 {n}동 앞 공동현관 비밀번호 #{d4}",
    "주문 수량 {n}개, 총 {price}원",
    "전화 주세요",
    "문의드립니다. 환불 가능한가요?",
    "송장번호 {d12}, 택배사 한진",
    "상품코드 SKU-{d6}-{d4} 재입고 알림",
    "정산 금액 {price}원 입금 예정일 알려주세요",
]


def fill(template: str) -> dict[str, object]:
    text, spans = "", []
    index = 0
    while index < len(template):
        if template[index] == "{":
            end = template.index("}", index)
            slot = template[index + 1 : end]
            if slot in VALUES:
                value = VALUES[slot]()
                spans.append({"type": SLOT_TYPES.get(slot, slot), "start": len(text), "end": len(text) + len(value)})
            elif slot == "bank":
                value = rng.choice(BANKS)
            elif slot == "price":
                value = f"{rng.randint(1, 80) * 500:,}"
            elif slot == "dd":
                value = f"{rng.randint(1, 28):02d}"
            elif slot == "n":
                value = str(rng.randint(1, 30))
            elif slot.startswith("d"):
                value = digits(int(slot[1:]))
            else:
                raise KeyError(slot)
            text += value
            index = end + 1
        else:
            text += template[index]
            index += 1
    return {"text": text, "spans": spans}


def build() -> list[dict[str, object]]:
    lines = []
    for n in range(420):
        record = fill(POSITIVE[n % len(POSITIVE)] if n < len(POSITIVE) else rng.choice(POSITIVE))
        lines.append({"id": f"pos-{n:04d}", **record})
    for n in range(260):
        record = fill(NEGATIVE[n % len(NEGATIVE)] if n < len(NEGATIVE) else rng.choice(NEGATIVE))
        lines.append({"id": f"neg-{n:04d}", **record})
    return lines


if __name__ == "__main__":
    with OUT.open("w", encoding="utf-8") as handle:
        for line in build():
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")
