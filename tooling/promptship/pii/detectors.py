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

from .words import (
    COMPOUND_SURNAMES,
    FOLLOWING_CUES,
    PARTICLES,
    PRECEDING_CUES,
    ROLE_WORDS,
    STOPWORDS,
    SUFFIX_CUES,
    SURNAMES,
)

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
#: Every numeric type has at least nine digits in a row, single separators allowed.
_NINE_DIGITS = re.compile(r"\d(?:[-. ]?\d){8}")


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


def _line_end(text: str, start: int, limit: int) -> int:
    """``start + limit``, or the end of the line if that comes first."""
    newline = text.find("\n", start, start + limit)
    return start + limit if newline == -1 else newline


def _near(text: str, start: int, end: int, words: Iterable[str], before: int = 24, after: int = 12) -> bool:
    """Is any of ``words`` within ``before`` characters before or ``after`` after the span, on its line?"""
    window_before = text[max(0, start - before) : start].rpartition("\n")[2]
    window_after = text[end : end + after].partition("\n")[0]
    window = window_before + " " + window_after
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
        if not 14 <= len(digits) <= 19 or not luhn_ok(digits) or digits[0] not in "2345689":
            continue
        if m[2] and len(m[5]) not in (1, 2, 3, 4):
            continue
        if not m[2]:
            bank_context = _near(text, m.start(), m.end(), BANK_NAMES + ACCOUNT_WORDS)
            if len(digits) not in (15, 16) or (bank_context and not _near(text, m.start(), m.end(), ("카드",))):
                continue  # bare digits beside a bank name are an account number, not a card
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
        yield Finding(m.start(), m.end(), "driver_license", 0.9 if _near(text, m.start(), m.end(), ("면허",)) else 0.75)
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

_HANGUL_RUN = re.compile(r"[가-힣]+")
_PARTICLE = re.compile("(?:" + "|".join(PARTICLES) + ")$")
#: The leftmost match ending the run is the longest cue, as ``SUFFIX_CUES`` lists longer cues first.
_SUFFIX_CUE = re.compile("(?:" + "|".join(SUFFIX_CUES) + ")$")
#: Hangul runs that start with a surname: the only runs that can hold a name (one C-speed scan).
_NAME_RUN = re.compile(
    "(?<![가-힣])(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])[가-힣]{1,11}(?![가-힣])"
)


def _valid_name(token: str) -> bool:
    """Surname + a one- or two-syllable given name, and not an ordinary word."""
    if not 2 <= len(token) <= 4 or token in STOPWORDS:
        return False
    if token[:2] in COMPOUND_SURNAMES and len(token) >= 3:
        given = token[2:]
    elif token[0] in SURNAMES and len(token) <= 3:
        given = token[1:]
    else:
        return False
    return given not in ROLE_WORDS


def _strip_particle(token: str) -> str:
    """``김민수가`` → ``김민수``. Three-syllable tokens are left whole: most Korean names have three."""
    if len(token) <= 3:
        return token
    particle = _PARTICLE.search(token, 2)
    if particle is not None and _valid_name(token[: particle.start()]):
        return token[: particle.start()]
    return token


def detect_person_name(text: str) -> Iterator[Finding]:
    """Names need a cue: a suffix (님, 씨, 고객님, 입니다), a following role word, a preceding label
    (예금주, 받는 분, 주문자), or a phone/account number right after a bare full name."""
    for m in _NAME_RUN.finditer(text):
        run, start = m.group(), m.start()
        cue = _SUFFIX_CUE.search(run, 1)
        if cue is not None:
            name = run[: cue.start()]
            if _valid_name(name):
                yield Finding(start, start + len(name), "person_name", 0.85)
            continue
        name = _strip_particle(run)
        if not _valid_name(name):
            continue
        following = text[m.end() : m.end() + 6].lstrip()
        preceding = text[max(0, start - 8) : start].rstrip(" :：-")
        if following.startswith(FOLLOWING_CUES) or preceding.endswith(PRECEDING_CUES):
            yield Finding(start, start + len(name), "person_name", 0.8)
        elif (
            len(name) == 3 == len(run)
            and run[-1] not in "은는을를의에도가"
            and _NINE_DIGITS.search(text, m.end(), _line_end(text, m.end(), 40))
        ):
            # "홍길동 / 010-…": a bare full name right before a phone or account number.
            yield Finding(start, start + 3, "person_name", 0.65)


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
    taken.sort(key=lambda f: f.start)
    return taken


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
