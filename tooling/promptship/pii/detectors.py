"""Korean-first personal-data detectors. Pure and linear-time.

Every detector scans candidates with regular expressions that cannot backtrack catastrophically
(no nested unbounded quantifiers; e-mail addresses are grown around each ``@`` by hand) and then
validates them in Python (dates, check digits, Luhn, context words). ``detect`` resolves overlaps so
each character belongs to at most one finding. Full-width characters are read as ASCII and dashes
may be any of ``DASHES``.

Numbers right after a reference label (주문 번호, 영수증 번호, 거래 ID, 운송장 …, see ``REFERENCE``)
are never registration, card, account or licence numbers: a date-shaped 13-digit order number would
otherwise block a whole request as an ``rrn``. Bare digit strings that only look like a type are
reported below the default policy threshold (0.5) unless a keyword names the type (주민번호, 카드 …).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from .finding import Finding
from .names import detect_person_name
from .words import BANK_NAMES

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
#: Hyphen, en and em dash, minus, Unicode hyphens, full-width hyphen, and ㅡ typed as a dash.
DASHES = "-\u2013\u2014\u2212\u2010\u2011\uff0d\u3161"
_DASH = "[" + DASHES + "]"
#: Every numeric type has at least nine digits, with short separators between them (a superset check).
_NINE_DIGITS = re.compile(r"\d(?:[" + DASHES + r"./() /]{0,3}\d){8}")
#: Below the default policy threshold: reported by ``pii scan`` with its confidence, not acted on.
WEAK = 0.4

#: Labels of numbers that are references, not personal data ("주문 번호 2403151234567", "거래 ID 2024…").
REFERENCE = re.compile(
    r"(?:주문|접수|결제|거래|승인|예약|영수증|배송|조회|택배|등기|회원|상품|티켓|일련|문의|요청|취소|가맹점|멤버십|적립)"
    r" ?(?:번호|ID|id|No|NO|no|코드|넘버)"
    r"|운송장|송장|바코드|쿠폰|상품권|기프티콘|기프트|바우처|트래킹|tracking|order|Order"
)


_NON_DIGITS = re.compile(r"\D+")
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")
#: Full-width ASCII (U+FF01–FF5E) → ASCII, one character for one, so offsets are kept.
_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _digits(text: str) -> str:
    """The digits of ``text`` ("010-1" → "0101")."""
    return _NON_DIGITS.sub("", text)


def any_of(*words: str) -> re.Pattern[str]:
    """A pattern matching any of ``words`` literally."""
    return re.compile("|".join(re.escape(word) for word in words))


def _clause_before(text: str, start: int, limit: int) -> str:
    """Up to ``limit`` characters before ``start``, cut at the line or sentence before them."""
    window = text[max(0, start - limit) : start].rpartition("\n")[2]
    for end in (". ", "? ", "! "):
        window = window.rpartition(end)[2]
    return window


def _near(text: str, start: int, end: int, words: re.Pattern[str], before: int = 24, after: int = 12) -> bool:
    """Does ``words`` match within ``before`` characters before or ``after`` after the span, in its sentence?"""
    window_after = text[end : end + after].partition("\n")[0]
    return words.search(_clause_before(text, start, before) + " " + window_after) is not None


def is_reference(text: str, start: int) -> bool:
    """Does a reference label (주문번호, 영수증 번호, 운송장 …) come shortly before ``start`` in its clause?"""
    return REFERENCE.search(_clause_before(text, start, 20).rpartition(", ")[2]) is not None


# -- resident / foreigner registration numbers -------------------------------------------------------

_RRN = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})( ?" + _DASH + r" ?| )?([1-8])(\d{6})(?!\d)")
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
RRN_WORDS = any_of("주민", "외국인", "등록번호", "생년월일", "뒷자리", "본인인증", "성인인증", "실명", "인증")


def rrn_check_digit_ok(digits: str) -> bool:
    """The pre-2020 check digit (numbers issued since Oct 2020 may not follow it)."""
    total = sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def _ean13_ok(digits: str) -> bool:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def birth_date(digits: str, today: date) -> date | None:
    """The birth date an RRN encodes (gender digit 1/2/5/6: 1900s, 3/4/7/8: 2000s), if real and not future."""
    century = 1900 if digits[6] in "1256" else 2000
    try:
        born = date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None
    return born if born <= today else None


def detect_rrn(text: str) -> Iterator[Finding]:
    """Hyphenated numbers with a real birth date are reported (0.95 with the old check digit, else 0.8);
    bare 13 digits need an RRN keyword nearby, else they are ``WEAK``; reference numbers are skipped."""
    today = date.today()
    for m in _RRN.finditer(text):
        digits = _digits(m[0])
        if birth_date(digits, today) is None or is_reference(text, m.start()):
            continue
        checked = rrn_check_digit_ok(digits)
        if m[4]:
            confidence = (0.95 if checked else 0.8) - (0.05 if not m[4].strip() else 0)
        elif digits.startswith("880") and _ean13_ok(digits):
            continue  # a Korean product barcode (EAN-13, prefix 880), not a person
        elif _near(text, m.start(), m.end(), RRN_WORDS):
            confidence = 0.9 if checked else 0.75
        else:
            confidence = WEAK if checked else WEAK - 0.1
        yield Finding(m.start(), m.end(), "rrn", confidence)


# -- phone numbers -------------------------------------------------------------------------------------

#: A separator between digit groups: a dash or dot with optional spaces around it, a slash, or a space.
_SEP = "(?: ?[" + DASHES + ".] ?|/| )"
_PHONE = re.compile(
    r"(?<![\dA-Za-z+])"
    r"(\+82[-. ]?(?:\(0\))?0?|\(0|0)"
    r"(1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50[2-8])"
    r"(\) ?|" + _SEP + r")?(\d{3,4})(" + _SEP + r")?(\d{4})(?!\d)"
)


def detect_phone(text: str) -> Iterator[Finding]:
    """Mobile (010 …), landline (02, 031 …, also as ``(02) 345-6789`` or ``031)123-4567``), 070, 050x and
    +82 numbers; never 15xx/16xx business numbers (they have no leading 0)."""
    for m in _PHONE.finditer(text):
        prefix, area, sep1, middle, sep2 = m[1], m[2], m[3] or "", m[4], m[5] or ""
        start, international, parenthesised = m.start(), prefix.startswith("+"), ")" in sep1
        if prefix.startswith("(") and not parenthesised:
            start += 1  # "(010-1234-5678)": the parenthesis wraps the whole number
        mobile = area.startswith("1")
        if mobile and len(middle) == 3 and area == "10":
            continue  # 010 numbers have four middle digits
        if not parenthesised and not international and bool(sep1) != bool(sep2):
            continue  # "010-12345678" style mixes are usually something else
        confidence = 0.95 if mobile or international else 0.85
        if not sep1 and not mobile:
            confidence -= 0.15  # bare landline digits are easily confused with ids
        yield Finding(start, m.end(), "phone", confidence)


# -- card numbers ----------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\d-])(\d{4})((?:" + _DASH + r"| )?)(\d{4})\2(\d{4})\2(\d{1,7})(?![\d-])")
_AMEX = re.compile(r"(?<![\d-])(3[47]\d{2})(" + _DASH + r"| )(\d{6})\2(\d{5})(?![\d-])")
CARD_WORDS = any_of(
    "카드",
    "card",
    "Card",
    "CARD",
    "신용",
    "체크",
    "비자",
    "VISA",
    "Visa",
    "마스터",
    "Master",
    "아멕스",
    "AMEX",
    "Amex",
)


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


def _card_confidence(text: str, m: re.Match[str], digits: str, grouped: bool) -> float | None:
    """0.9 with a card keyword; grouped digits without one 0.7; bare digits without one are ``WEAK``."""
    if not 14 <= len(digits) <= 19 or not luhn_ok(digits) or digits[0] not in "2345689":
        return None
    if is_reference(text, m.start()):
        return None  # order, gift-card or coupon number
    if _near(text, m.start(), m.end(), CARD_WORDS):
        return 0.9
    if grouped:
        return 0.7
    if _near(text, m.start(), m.end(), _BANK_OR_ACCOUNT):
        return None  # bare digits beside a bank name are an account number, not a card
    return WEAK if len(digits) in (15, 16) else None


def detect_card(text: str) -> Iterator[Finding]:
    """Luhn-valid 14–19 digit numbers (4-4-4-x groups, or 4-6-5 for American Express)."""
    for m in _CARD.finditer(text):
        if m[2] and len(m[5]) > 4:
            continue
        confidence = _card_confidence(text, m, _digits(m[0]), grouped=bool(m[2]))
        if confidence is not None:
            yield Finding(m.start(), m.end(), "card_number", confidence)
    for m in _AMEX.finditer(text):
        confidence = _card_confidence(text, m, _digits(m[0]), grouped=True)
        if confidence is not None:
            yield Finding(m.start(), m.end(), "card_number", confidence)


# -- business registration numbers -----------------------------------------------------------------------

_BRN = re.compile(r"(?<![\d-])(\d{3})(" + _DASH + r"?)(\d{2})\2(\d{5})(?![\d-])")
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_BRN_WORDS = any_of("사업자", "등록번호")


def brn_checksum_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], _BRN_WEIGHTS, strict=True))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10 == int(digits[9])


def detect_business_number(text: str) -> Iterator[Finding]:
    """3-2-5 digits with a valid checksum; bare ten digits need 사업자 / 등록번호 nearby."""
    for m in _BRN.finditer(text):
        digits = _digits(m[0])
        if not brn_checksum_ok(digits) or is_reference(text, m.start()):
            continue
        if not m[2] and not _near(text, m.start(), m.end(), _BRN_WORDS):
            continue
        yield Finding(m.start(), m.end(), "business_registration_number", 0.9)


# -- driver licences -------------------------------------------------------------------------------------------

_LICENSE = re.compile(r"(?<![\d-])(1[1-9]|2[0-8])(" + _DASH + r"| )(\d{2})\2(\d{6})\2(\d{2})(?![\d-])")
_LICENSE_WORDS = any_of("면허")
_LICENSE_PLAIN = re.compile(r"(?<!\d)(1[1-9]|2[0-8])(\d{10})(?!\d)")


def detect_driver_license(text: str) -> Iterator[Finding]:
    """Region code + 2-6-2 digits; 0.9 near 면허, else 0.75; unseparated digits only near 면허."""
    for m in _LICENSE.finditer(text):
        if not is_reference(text, m.start()):
            licence_word = _near(text, m.start(), m.end(), _LICENSE_WORDS)
            yield Finding(m.start(), m.end(), "driver_license", 0.9 if licence_word else 0.75)
    for m in _LICENSE_PLAIN.finditer(text):
        if _near(text, m.start(), m.end(), _LICENSE_WORDS) and not is_reference(text, m.start()):
            yield Finding(m.start(), m.end(), "driver_license", 0.8)


# -- passports -------------------------------------------------------------------------------------------------

_PASSPORT = re.compile(r"(?<![0-9A-Za-z])([MSRODG](?:\d{8}|\d{3}[A-Z]\d{4}))(?![0-9A-Za-z])")
_PASSPORT_WORDS = any_of("여권", "passport", "Passport", "PASSPORT")


def detect_passport(text: str) -> Iterator[Finding]:
    for m in _PASSPORT.finditer(text):
        if _near(text, m.start(), m.end(), _PASSPORT_WORDS, before=30):
            yield Finding(m.start(), m.end(), "passport", 0.9)


# -- bank accounts ----------------------------------------------------------------------------------------------

#: Two to five groups joined by one kind of separator (the last group may be a single digit), or 10–14 digits.
_ACCOUNT = re.compile(
    r"(?<![\d-])(\d{2,6}(" + _DASH + r"| )(?:\d{2,7}\2){0,3}\d{1,7}|\d{10,14})(?![\d-]|" + _DASH + r"\d| \d)"
)
ACCOUNT_WORDS = ("계좌", "입금", "환불", "예금주", "송금", "이체", "통장", "무통장")
_BANKS = any_of(*BANK_NAMES)
_ACCOUNT_WORDS = any_of(*ACCOUNT_WORDS)
_BANK_OR_ACCOUNT = any_of(*BANK_NAMES, *ACCOUNT_WORDS)
_NOT_ACCOUNT_WORDS = any_of("사업자")


def detect_bank_account(text: str) -> Iterator[Finding]:
    """10–14 digits near a bank name (0.9) or an account word such as 계좌 / 환불 (0.75)."""
    for m in _ACCOUNT.finditer(text):
        start, end = m.span()
        if not _near(text, start, end, _BANK_OR_ACCOUNT, before=24, after=16):
            continue  # the common case (phone numbers, ids), settled by one window
        if _near(text, start, end, _BANKS, before=16, after=4):
            confidence = 0.9
        elif _near(text, start, end, _ACCOUNT_WORDS, before=24, after=16):
            confidence = 0.75
        else:
            continue
        if not 10 <= len(_digits(m[0])) <= 14 or is_reference(text, start):
            continue
        if not _near(text, start, end, _NOT_ACCOUNT_WORDS, before=14, after=0):
            yield Finding(start, end, "bank_account", confidence)


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


#: Types whose values have nine or more digits. Their detectors look only at one line at a time
#: (matches, context windows and reference labels never cross a newline), so ``detect`` runs them
#: only on the lines where ``_NINE_DIGITS`` matches.
_NUMERIC = tuple(name for name in TYPES if name not in ("email", "person_name", "passport"))
_HANGUL = re.compile("[가-힣]")


def _digit_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line holding nine or more digits, in order, each line once."""
    match = _NINE_DIGITS.search(text)
    while match is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end == -1 else end
        yield start, end
        match = _NINE_DIGITS.search(text, end)


def _may_contain(name: str, text: str) -> bool:
    """Cheap C-speed pre-checks that skip the non-numeric detectors which cannot match."""
    if name == "passport":
        return "여권" in text or "passport" in text.lower()
    if name == "email":
        return "@" in text
    if name == "person_name":
        return _HANGUL.search(text) is not None
    return True


def _candidates(text: str, wanted: tuple[str, ...]) -> list[Finding]:
    """Every detector's findings, overlapping ones included."""
    numeric = [name for name in wanted if name in _NUMERIC]
    found = [f for name in wanted if name not in _NUMERIC and _may_contain(name, text) for f in DETECTORS[name](text)]
    for start, end in _digit_lines(text) if numeric else ():
        if start == 0 and end == len(text):  # a one-line message: no slicing, no shifting
            found += [f for name in numeric for f in DETECTORS[name](text)]
            continue
        line = text[start:end]
        for name in numeric:
            found += [Finding(f.start + start, f.end + start, f.type, f.confidence) for f in DETECTORS[name](line)]
    return found


def detect(text: str, types: Iterable[str] | None = None) -> list[Finding]:
    """Every finding in ``text`` (sorted by start), overlaps resolved by type priority then confidence.

    Full-width digits and punctuation (０１０－１２３４) are read as ASCII; offsets are unchanged.
    """
    wanted = TYPES if types is None else tuple(t for t in TYPES if t in set(types))
    if _FULL_WIDTH.search(text) is not None:
        text = text.translate(_TO_ASCII)
    candidates = _candidates(text, wanted)
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
