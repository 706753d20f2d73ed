"""Korean-first personal-data detectors. Pure and linear-time.

Every detector scans candidates with regular expressions that cannot backtrack catastrophically
(no nested unbounded quantifiers; e-mail addresses are grown around each ``@`` by hand) and then
validates them in Python (dates, check digits, Luhn, context words). ``detect`` resolves overlaps so
each character belongs to at most one finding.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

#: Every type name, in overlap priority order (earlier wins a tie).
TYPES = (
    "rrn",
    "card_number",
    "business_registration_number",
    "driver_license",
    "phone",
    "passport",
    "bank_account",
    "email",
    "person_name",
)
_PRIORITY = {name: rank for rank, name in enumerate(TYPES)}


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    type: str
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 2),
        }


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _near(text: str, start: int, end: int, words: Iterable[str], before: int = 24, after: int = 12) -> bool:
    window = text[max(0, start - before) : start] + " " + text[end : end + after]
    return any(word in window for word in words)


# -- resident / foreigner registration numbers -------------------------------------------------------

_RRN = re.compile(r"(?<![0-9])(\d{2})(\d{2})(\d{2})([- ]?)([1-8])(\d{6})(?![0-9])")
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def rrn_check_digit_ok(digits: str) -> bool:
    """The pre-2020 check digit (numbers issued since Oct 2020 may not follow it)."""
    total = sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def _ean13_ok(digits: str) -> bool:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def detect_rrn(text: str) -> Iterator[Finding]:
    for m in _RRN.finditer(text):
        yy, mm, dd, sep, gender = int(m[1]), int(m[2]), int(m[3]), m[4], m[5]
        century = 1900 if gender in "1256" else 2000
        try:
            date(century + yy, mm, dd)
        except ValueError:
            continue
        digits = _digits(m[0])
        if not sep and digits.startswith("880") and _ean13_ok(digits):
            continue  # a Korean product barcode (EAN-13, prefix 880), not a person
        if not sep and _near(text, m.start(), m.end(), ("바코드", "주문번호", "운송장", "송장")):
            continue
        confidence = 0.95 if rrn_check_digit_ok(digits) else 0.8
        if not sep:
            confidence -= 0.15
        yield Finding(m.start(), m.end(), "rrn", confidence)


# -- phone numbers -------------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])"
    r"(\+82[-. ]?(?:\(0\))?0?|0)"
    r"(1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50[2-8])"
    r"([-. )]?)(\d{3,4})([-. ]?)(\d{4})(?![0-9])"
)


def detect_phone(text: str) -> Iterator[Finding]:
    for m in _PHONE.finditer(text):
        prefix, area, sep1, middle, sep2 = m[1], m[2], m[3], m[4], m[5]
        mobile = area.startswith("1")
        if mobile and len(middle) == 3 and area != "11" and area != "16" and area != "17" and area != "19":
            continue  # 010 numbers have four middle digits
        if bool(sep1) != bool(sep2) and not prefix.startswith("+"):
            continue  # "010-12345678" style mixes are usually something else
        confidence = 0.95 if mobile or prefix.startswith("+") else 0.85
        if not sep1 and not mobile:
            confidence -= 0.15  # bare landline digits are easily confused with ids
        yield Finding(m.start(), m.end(), "phone", confidence)


# -- card numbers ----------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![0-9-])(\d{4})([- ]?)(\d{4})\2(\d{4})\2(\d{1,7})(?![0-9-])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def detect_card(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        digits = _digits(m[0])
        if not 13 <= len(digits) <= 19 or not luhn_ok(digits) or digits[0] not in "2345689":
            continue
        if m[2] and len(m[5]) not in (1, 2, 3, 4):
            continue
        yield Finding(m.start(), m.end(), "card_number", 0.9 if m[2] else 0.75)


# -- business registration numbers -----------------------------------------------------------------------

_BRN = re.compile(r"(?<![0-9-])(\d{3})(-?)(\d{2})\2(\d{5})(?![0-9-])")
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def brn_checksum_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], _BRN_WEIGHTS, strict=True))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def detect_business_number(text: str) -> Iterator[Finding]:
    for m in _BRN.finditer(text):
        digits = _digits(m[0])
        if not brn_checksum_ok(digits):
            continue
        if not m[2] and not _near(text, m.start(), m.end(), ("사업자", "등록번호")):
            continue
        yield Finding(m.start(), m.end(), "business_registration_number", 0.9)


# -- driver licences -------------------------------------------------------------------------------------------

_LICENSE = re.compile(r"(?<![0-9-])(1[1-9]|2[0-8])([- ])(\d{2})\2(\d{6})\2(\d{2})(?![0-9-])")
_LICENSE_PLAIN = re.compile(r"(?<![0-9])(1[1-9]|2[0-8])(\d{10})(?![0-9])")


def detect_driver_license(text: str) -> Iterator[Finding]:
    for m in _LICENSE.finditer(text):
        yield Finding(
            m.start(), m.end(), "driver_license", 0.9 if _near(text, m.start(), m.end(), ("면허",)) else 0.75
        )
    for m in _LICENSE_PLAIN.finditer(text):
        if _near(text, m.start(), m.end(), ("면허",)):
            yield Finding(m.start(), m.end(), "driver_license", 0.8)


# -- passports -------------------------------------------------------------------------------------------------

_PASSPORT = re.compile(r"(?<![0-9A-Za-z])([MSRODG](?:\d{8}|\d{3}[A-Z]\d{4}))(?![0-9A-Za-z])")


def detect_passport(text: str) -> Iterator[Finding]:
    for m in _PASSPORT.finditer(text):
        if _near(text, m.start(), m.end(), ("여권", "passport", "Passport", "PASSPORT"), before=30):
            yield Finding(m.start(), m.end(), "passport", 0.9)


# -- bank accounts ----------------------------------------------------------------------------------------------

_ACCOUNT = re.compile(r"(?<![0-9-])(\d{2,6}(?:-\d{2,7}){1,3}|\d{10,14})(?![0-9-])")
BANK_NAMES = (
    "국민",
    "KB",
    "신한",
    "우리",
    "하나",
    "농협",
    "NH",
    "기업",
    "IBK",
    "카카오",
    "토스",
    "케이뱅크",
    "K뱅크",
    "SC제일",
    "제일은행",
    "새마을",
    "우체국",
    "수협",
    "부산은행",
    "대구은행",
    "경남은행",
    "광주은행",
    "전북은행",
    "제주은행",
    "씨티",
    "신협",
    "산업은행",
    "iM뱅크",
    "은행",
)
ACCOUNT_WORDS = ("계좌", "입금", "환불", "예금주", "송금", "이체", "통장", "무통장")
NOT_ACCOUNT_WORDS = ("주문번호", "운송장", "송장", "쿠폰", "바코드", "주문 번호", "사업자")


def detect_bank_account(text: str) -> Iterator[Finding]:
    for m in _ACCOUNT.finditer(text):
        digits = _digits(m[0])
        if not 10 <= len(digits) <= 14:
            continue
        if _near(text, m.start(), m.end(), NOT_ACCOUNT_WORDS, before=14, after=0):
            continue
        if _near(text, m.start(), m.end(), BANK_NAMES, before=16, after=4):
            yield Finding(m.start(), m.end(), "bank_account", 0.9)
        elif _near(text, m.start(), m.end(), ACCOUNT_WORDS, before=24, after=16):
            yield Finding(m.start(), m.end(), "bank_account", 0.75)


# -- e-mail --------------------------------------------------------------------------------------------------------

_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_MAX_LOCAL, _MAX_DOMAIN = 64, 255


def detect_email(text: str) -> Iterator[Finding]:
    position = text.find("@")
    while position != -1:
        start = position
        while start > 0 and position - start < _MAX_LOCAL and text[start - 1] in _LOCAL:
            start -= 1
        end = position + 1
        while end < len(text) and end - position <= _MAX_DOMAIN and text[end] in _DOMAIN:
            end += 1
        domain = text[position + 1 : end].rstrip(".-")
        end = position + 1 + len(domain)
        local = text[start:position].lstrip(".")
        start = position - len(local)
        labels = domain.split(".")
        if local and len(labels) >= 2 and all(labels) and labels[-1].isalpha() and len(labels[-1]) >= 2:
            yield Finding(start, end, "email", 0.95)
        position = text.find("@", position + 1)


# -- person names ----------------------------------------------------------------------------------------------------

SURNAMES_2 = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")
SURNAMES_1 = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추"
    "도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부봉"
)
#: Ordinary words that begin with a surname syllable (foods, adverbs, roles, banks, everyday nouns).
STOPWORDS = frozenset(
    [
        "김치",
        "김밥",
        "김말이",
        "김가루",
        "이번",
        "이거",
        "이건",
        "이게",
        "이것",
        "이제",
        "이상",
        "이하",
        "이용",
        "이름",
        "이전",
        "이후",
        "이미",
        "이쪽",
        "이렇게",
        "이런",
        "이유",
        "이벤트",
        "이모",
        "박스",
        "박하",
        "박사",
        "정말",
        "정도",
        "정리",
        "정보",
        "정확",
        "정상",
        "정식",
        "정류장",
        "조금",
        "조리",
        "조심",
        "조용",
        "조만간",
        "조회",
        "최고",
        "최대",
        "최소",
        "최근",
        "최악",
        "최종",
        "최선",
        "강력",
        "강추",
        "강의",
        "한번",
        "한우",
        "한식",
        "한분",
        "한개",
        "한잔",
        "한정",
        "한참",
        "한국",
        "한테",
        "신선",
        "신라면",
        "신청",
        "신경",
        "신규",
        "신용",
        "신한",
        "오늘",
        "오징어",
        "오후",
        "오전",
        "오랜만",
        "오래",
        "오류",
        "오이",
        "전화",
        "전복",
        "전복죽",
        "전체",
        "전부",
        "전혀",
        "전달",
        "전에",
        "전날",
        "주문",
        "주소",
        "주말",
        "주의",
        "주세요",
        "주시",
        "주신",
        "배달",
        "배송",
        "배민",
        "배고",
        "배부",
        "고기",
        "고객",
        "고등어",
        "고추",
        "고민",
        "고생",
        "고마",
        "고맙",
        "문의",
        "문자",
        "문제",
        "문앞",
        "문",
        "안녕",
        "안내",
        "안쪽",
        "안에",
        "홍합",
        "홍보",
        "양념",
        "양파",
        "양이",
        "양도",
        "손님",
        "기사",
        "기사님",
        "기다",
        "기대",
        "기억",
        "기분",
        "사장",
        "사장님",
        "사진",
        "사용",
        "사랑",
        "사과",
        "사이",
        "우리",
        "우유",
        "우동",
        "하나",
        "하루",
        "하고",
        "하면",
        "국민",
        "국물",
        "기업",
        "남자",
        "남은",
        "남편",
        "여자",
        "여기",
        "여러",
        "유리",
        "유자",
        "유통",
        "서비스",
        "서울",
        "성함",
        "성공",
        "차가",
        "차이",
        "구매",
        "구성",
        "민원",
        "진짜",
        "진행",
        "나중",
        "나물",
        "지금",
        "지난",
        "지역",
        "원래",
        "원하",
        "천천",
        "방금",
        "방문",
        "공지",
        "공동",
        "현관",
        "현금",
        "함께",
        "변경",
        "연락",
        "연어",
        "위치",
        "표시",
        "명절",
        "반찬",
        "반품",
        "왕새우",
        "금액",
        "금요일",
        "육회",
        "인분",
        "인정",
        "맹물",
        "제일",
        "제육",
        "제품",
        "모두",
        "모든",
        "탁송",
        "어제",
        "어묵",
        "은행",
        "용기",
        "예약",
        "예금주",
        "경우",
        "봉투",
        "부분",
        "부탁",
        "석쇠",
        "선물",
        "설명",
        "마요",
        "마늘",
        "길이",
        "도착",
        "도시락",
        "소스",
        "소고기",
        "소금",
        "송장",
        "장님",
        "장소",
        "장조림",
        "임시",
        "황금",
        "허니",
        "심심",
        "노력",
        "곽티슈",
        "채소",
        "추가",
        "추천",
        "편의점",
        "마라",
        "도우",
    ]
)
#: Role words that follow a name ("김민수 고객님") or end a run ("민수님").
SUFFIX_CUES = (
    "고객님께서",
    "고객님께",
    "고객님이",
    "고객님은",
    "고객님",
    "회원님",
    "기사님",
    "선생님",
    "님께서",
    "님께",
    "님이",
    "님은",
    "님의",
    "님",
    "씨가",
    "씨는",
    "씨",
    "고객",
    "회원",
    "담당자",
    "입니다",
    "이에요",
    "예요",
    "이고요",
    "이라고",
    "라고",
)
FOLLOWING_CUES = ("고객님", "고객", "회원님", "님", "씨", "기사님", "담당자", "상담원")
PRECEDING_CUES = (
    "예금주",
    "받는 분",
    "받는분",
    "받으실 분",
    "수령인",
    "수취인",
    "주문자",
    "보내는 분",
    "보내는분",
    "이름",
    "성함",
    "고객명",
    "담당자",
    "기사님",
    "배달기사",
    "저는",
    "제 이름은",
)
_HANGUL_RUN = re.compile(r"[가-힣]+")
_PARTICLES = (
    "으로",
    "에게",
    "한테",
    "께서",
    "이가",
    "이는",
    "이를",
    "의",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "로",
    "께",
)


def _valid_name(token: str) -> bool:
    if not 2 <= len(token) <= 4 or token in STOPWORDS:
        return False
    if token[:2] in SURNAMES_2 and len(token) >= 3:
        given = token[2:]
    elif token[0] in SURNAMES_1:
        given = token[1:]
    else:
        return False
    if not 1 <= len(given) <= 2 or len(token) == 4 and token[:2] not in SURNAMES_2:
        return False
    return given not in ("님", "씨", "고객", "사장", "기사", "회원", "대리", "과장", "부장", "선생")


def _strip_particle(token: str) -> str:
    for particle in _PARTICLES:
        if (
            token.endswith(particle)
            and len(token) - len(particle) >= 2
            and _valid_name(token[: -len(particle)])
        ):
            return token[: -len(particle)]
    return token


def detect_person_name(text: str) -> Iterator[Finding]:
    for m in _HANGUL_RUN.finditer(text):
        run, start = m.group(), m.start()
        if len(run) < 2 or len(run) > 12:
            continue
        # 1. name + role/copula suffix in one run: 김민수님, 박지영입니다, 이서연고객님
        for cue in SUFFIX_CUES:
            if run.endswith(cue) and len(run) > len(cue):
                name = run[: -len(cue)]
                if _valid_name(name):
                    yield Finding(start, start + len(name), "person_name", 0.85)
                break
        else:
            name = _strip_particle(run)
            if not _valid_name(name):
                continue
            following = text[m.end() : m.end() + 5].lstrip()
            preceding = text[max(0, start - 8) : start].rstrip(" :：-")
            if following.startswith(FOLLOWING_CUES) or preceding.endswith(PRECEDING_CUES):
                yield Finding(start, start + len(name), "person_name", 0.8)


DETECTORS: dict[str, Callable[[str], Iterator[Finding]]] = {
    "rrn": detect_rrn,
    "card_number": detect_card,
    "business_registration_number": detect_business_number,
    "driver_license": detect_driver_license,
    "phone": detect_phone,
    "passport": detect_passport,
    "bank_account": detect_bank_account,
    "email": detect_email,
    "person_name": detect_person_name,
}


#: Every numeric type has at least nine digits in a row, single separators allowed.
_NINE_DIGITS = re.compile(r"\d(?:[-. ]?\d){8}")
_NUMERIC = frozenset(TYPES) - {"email", "person_name", "passport"}


def _may_contain(name: str, text: str) -> bool:
    """Cheap C-speed pre-checks that skip detectors which cannot match."""
    if name in _NUMERIC:
        return _NINE_DIGITS.search(text) is not None
    if name == "passport":
        return "여권" in text or "passport" in text.lower()
    if name == "email":
        return "@" in text
    if name == "person_name":
        return _HANGUL_RUN.search(text) is not None
    return True


def detect(text: str, types: Iterable[str] | None = None) -> list[Finding]:
    """Every finding in ``text`` (sorted by start), overlaps resolved by type priority then confidence."""
    wanted = TYPES if types is None else tuple(t for t in TYPES if t in set(types))
    wanted = tuple(name for name in wanted if _may_contain(name, text))
    candidates = [f for name in wanted for f in DETECTORS[name](text)]
    candidates.sort(key=lambda f: (_PRIORITY[f.type], -f.confidence, f.start))
    taken: list[Finding] = []
    starts: list[int] = []  # sorted starts of accepted, non-overlapping spans
    ends: list[int] = []
    for finding in candidates:
        index = bisect.bisect_left(starts, finding.start)
        if index < len(starts) and starts[index] < finding.end:
            continue  # overlaps the next accepted span
        if index > 0 and ends[index - 1] > finding.start:
            continue  # overlaps the previous accepted span
        starts.insert(index, finding.start)
        ends.insert(index, finding.end)
        taken.append(finding)
    return sorted(taken)


def mask_value(value: str) -> str:
    """A display form that never reveals the value: digits kept only at the edges, names by initial."""
    if any(ch.isdigit() for ch in value):
        digits = [i for i, ch in enumerate(value) if ch.isdigit()]
        keep = set(digits[:3] + digits[-2:]) if len(digits) > 6 else set()
        return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(value))
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "*" * (len(value) - 1)
