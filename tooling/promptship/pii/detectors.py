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
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from .address import detect_address
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
    "address",
    "ip_address",
    "business_phone",
    "corporate_registration_number",
)
_PRIORITY = {name: rank for rank, name in enumerate(TYPES)}
#: Types that identify a company, not a person: a policy allows them unless it lists them.
COMPANY_TYPES = frozenset({"business_phone", "corporate_registration_number"})
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
#: Unicode spaces (no-break, ideographic U+3000, thin, narrow no-break …) and zero-width characters.
UNICODE_SPACES = "\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200E))) + "\u202f\u205f\u2060\u3000\ufeff"
_TO_ASCII_NEEDED = re.compile("[\uff01-\uff5e" + UNICODE_SPACES + "]")
#: Full-width ASCII (U+FF01–FF5E) → ASCII and Unicode spaces → " ", one character for one, so offsets are kept.
_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {ord(space): " " for space in UNICODE_SPACES}


def _digits(text: str) -> str:
    """The digits of ``text`` ("010-1" → "0101")."""
    return _NON_DIGITS.sub("", text)


def any_of(*words: str) -> re.Pattern[str]:
    """A pattern matching any of ``words`` literally."""
    return re.compile("|".join(re.escape(word) for word in words))


#: The end of a sentence: ". ", "? " or "! ", but not after an abbreviation ("No. ", "Tel. ", "Fax. ").
_SENTENCE_END = re.compile(r"(?<!No)(?<!NO)(?<!no)(?<!Tel)(?<!TEL)(?<!tel)(?<!Fax)(?<!FAX)(?<!fax)[.?!] ")


def _clause_before(text: str, start: int, limit: int) -> str:
    """Up to ``limit`` characters before ``start``, cut at the line or sentence before them."""
    window = text[max(0, start - limit) : start].rpartition("\n")[2]
    if "? " in window or "! " in window or ". " in window:
        ends = list(_SENTENCE_END.finditer(window))
        if ends:
            window = window[ends[-1].end() :]
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
#: Words that make a registration-number shape a company's (법인등록번호) or an order's number.
CORPORATE_WORDS = any_of("법인")
ORDER_WORDS = any_of("주문", "배송", "배달", "결제", "예약", "접수", "환불", "취소", "구매")
#: Without a keyword, a birth date this young or this old reads as a date-prefixed number (240126-…).
_YOUNGEST, _OLDEST = 14, 100


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
        born = birth_date(digits, today)
        if born is None or is_reference(text, m.start()):
            continue
        if _near(text, m.start(), m.end(), CORPORATE_WORDS, before=20, after=0):
            continue  # a corporate registration number (법인등록번호), see detect_corporate_number
        checked = rrn_check_digit_ok(digits)
        keyword = _near(text, m.start(), m.end(), RRN_WORDS)
        if (
            m[4]
            and not keyword
            and (not _YOUNGEST <= today.year - born.year <= _OLDEST or _near(text, m.start(), m.end(), ORDER_WORDS))
        ):
            confidence = WEAK  # "240126-3351680 주문 건": a date-prefixed order number, not a person
        elif m[4]:
            confidence = (0.95 if checked else 0.8) - (0.05 if not m[4].strip() else 0)
        elif digits.startswith("880") and _ean13_ok(digits):
            continue  # a Korean product barcode (EAN-13, prefix 880), not a person
        elif keyword:
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
    r"(1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|80|50[2-8])"
    r"(\) ?|" + _SEP + r")?(\d{3,4})(" + _SEP + r")?(\d{4})(?!\d)"
)


_CORPORATE = re.compile(r"(?<![\d-])(\d{6})( ?" + _DASH + r" ?| )?(\d{7})(?![\d-])")


def detect_corporate_number(text: str) -> Iterator[Finding]:
    """Corporate registration numbers (법인등록번호, 6-7 digits) after 법인: a company's, not a person's."""
    for m in _CORPORATE.finditer(text):
        if _near(text, m.start(), m.end(), CORPORATE_WORDS, before=20, after=0):
            yield Finding(m.start(), m.end(), "corporate_registration_number", 0.9)


#: Words before a landline that make it a shop's, office's or call centre's (가게 전화 02-…, 팩스 …).
BUSINESS_PHONE_WORDS = any_of(
    "가게",
    "매장",
    "업체",
    "식당",
    "점포",
    "지점",
    "본점",
    "본사",
    "사무실",
    "사무소",
    "대표번호",
    "대표 번호",
    "대표전화",
    "대표 전화",
    "센터",
    "팩스",
    "FAX",
    "Fax",
    "fax",
    "문의",
    "상담",
    "영업소",
    "대리점",
    "가맹점",
    "병원",
    "약국",
    "회사",
    "사업장",
    "민원실",
    "접수처",
    "수신자부담",
    "무료",
    "ARS",
    "가게번호",
)
#: Words after a business word that make the number a person's again ("가게 사장님 번호" is a mobile anyway).
PERSONAL_PHONE_WORDS = any_of("고객", "주문자", "받는", "수령", "휴대", "핸드폰", "개인", "보호자", "자택", "집")
#: Service numbers without an area code: 15xx, 16xx, 18xx (대표번호), always a business's.
_SERVICE = re.compile(r"(?<![\d\-.A-Za-z])(1[568]\d{2})(" + _DASH + r"| |\.)?(\d{4})(?![\d]|" + _DASH + r"\d)")


#: After a number: "… 은 가게 번호예요", "… 광주 매장입니다".
_BUSINESS_AFTER = re.compile(
    r"[ \t]?(?:[은는이가]|으로|로)?[ \t]?(?:[가-힣]{1,4} )?(?:가게|매장|업체|식당|사무실|본사|지점|대표)"
)


def _business_context(text: str, start: int, end: int | None = None) -> bool:
    """A business word in the clause before ``start`` and no personal word after it, or a business word
    naming the number right after ``end`` ("02-555-0000 은 가게 번호예요")."""
    window = _clause_before(text, start, 20)
    business = list(BUSINESS_PHONE_WORDS.finditer(window))
    if business and PERSONAL_PHONE_WORDS.search(window, business[-1].end()) is None:
        return True
    return end is not None and _BUSINESS_AFTER.match(text, end) is not None


def detect_service_number(text: str) -> Iterator[Finding]:
    """15xx/16xx/18xx numbers (``1588-1234``): business_phone; bare eight digits need a business word."""
    for m in _SERVICE.finditer(text):
        if m[2] or _business_context(text, m.start()):
            yield Finding(m.start(), m.end(), "business_phone", 0.9 if m[2] else 0.7)


def detect_phone(text: str) -> Iterator[Finding]:
    """Mobile (010 …), landline (02, 031 …, also as ``(02) 345-6789`` or ``031)123-4567``), 070, 050x and
    +82 numbers. Toll-free 080 numbers, and landlines, 070 and 050x numbers after a business word
    (가게 전화, 매장, 고객센터, 팩스 …) are ``business_phone``; a mobile number is always a person's."""
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
        if int(middle) == 0 and int(m[6]) == 0:
            continue  # "010-0000-0000" is a placeholder
        confidence = 0.95 if mobile or international else 0.85
        if not sep1 and not mobile:
            confidence -= 0.15  # bare landline digits are easily confused with ids
        business = area == "80" or (not mobile and _business_context(text, start, m.end()))
        yield Finding(start, m.end(), "business_phone" if business else "phone", confidence)


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


#: The older form with the region's name instead of its code ("서울 11-998877-21").
_LICENSE_NAMED = re.compile(
    r"(?<![가-힣])(?:서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산) ?"
    r"(\d{2})(" + _DASH + r")\d{6}\2\d{2}(?![\d-])"
)


def detect_driver_license(text: str) -> Iterator[Finding]:
    """Region code (or region name: ``서울 11-…``) + 2-6-2 digits; 0.9 near 면허, else 0.75 (a region name
    alone 0.85); unseparated digits only near 면허."""
    for m in _LICENSE_NAMED.finditer(text):
        licence_word = _near(text, m.start(), m.end(), _LICENSE_WORDS)
        yield Finding(m.start(), m.end(), "driver_license", 0.9 if licence_word else 0.85)
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


#: Any country's passport number right after 여권 / passport (``여권번호: C8842019``, ``여권 552901447``).
_FOREIGN_PASSPORT = re.compile(r"(?<![0-9A-Za-z])([A-Z]{1,2}\d{7,8}|\d{9})(?![0-9A-Za-z])")


def detect_passport(text: str) -> Iterator[Finding]:
    """Korean passport numbers (M/S/R/O/D/G + 8 digits, or the 2021 form ``M123A4567``) near 여권 or
    passport (0.9), and any country's (one or two letters and 7–8 digits, or 9 digits) right after it (0.85)."""
    found = set()
    for m in _PASSPORT.finditer(text):
        if _near(text, m.start(), m.end(), _PASSPORT_WORDS, before=30):
            found.add(m.start())
            yield Finding(m.start(), m.end(), "passport", 0.9)
    for m in _FOREIGN_PASSPORT.finditer(text):
        if m.start() not in found and _near(text, m.start(), m.end(), _PASSPORT_WORDS, before=14, after=0):
            yield Finding(m.start(), m.end(), "passport", 0.85)


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


# -- IP addresses -----------------------------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(r"(?<![\d.])" + _OCTET + r"(?:\." + _OCTET + r"){3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Fa-f:])")
_VERSION = re.compile(r"(?:[vV]|버전|ver|Ver|version|Version) ?$")
#: Public DNS resolvers: everyone's, so nobody's (Google, Cloudflare, Quad9, OpenDNS, KT, LG U+).
PUBLIC_RESOLVERS = frozenset(
    ("8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "208.67.220.220")
    + ("168.126.63.1", "168.126.63.2", "164.124.101.2", "164.124.107.9")
)


def _ipv6_ok(candidate: str) -> bool:
    """Eight groups, or fewer with one ``::``; at least three groups, not all digits (times, ratios)."""
    groups = [group for group in candidate.split(":") if group]
    compressed = candidate.count("::") == 1 and ":::" not in candidate
    shaped = len(groups) == 8 and "::" not in candidate or compressed and len(groups) >= 3
    return shaped and any(not group.isdigit() for group in groups)


def detect_ip_address(text: str) -> Iterator[Finding]:
    """IPv4 dotted quads (each part 0–255; not a netmask starting 255 or 0) and IPv6 addresses; a number
    after ``v`` or 버전 is a version."""
    for m in _IPV4.finditer(text):
        if m[0].startswith(("255.", "0.")) or m[0] in PUBLIC_RESOLVERS:
            continue
        if _VERSION.search(text, max(0, m.start() - 8), m.start()) is None:
            yield Finding(m.start(), m.end(), "ip_address", 0.85)
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            if _ipv6_ok(m[0]):
                yield Finding(m.start(), m.end(), "ip_address", 0.85)


#: Each detector and the types it may report (a detector runs when one of its types is wanted).
DETECTORS: dict[str, tuple[Callable[[str], Iterator[Finding]], tuple[str, ...]]] = {
    "rrn": (detect_rrn, ("rrn",)),
    "card_number": (detect_card, ("card_number",)),
    "business_registration_number": (detect_business_number, ("business_registration_number",)),
    "corporate_registration_number": (detect_corporate_number, ("corporate_registration_number",)),
    "driver_license": (detect_driver_license, ("driver_license",)),
    "phone": (detect_phone, ("phone", "business_phone")),
    "service_number": (detect_service_number, ("business_phone",)),
    "passport": (detect_passport, ("passport",)),
    "bank_account": (detect_bank_account, ("bank_account",)),
    "email": (detect_email, ("email",)),
    "person_name": (detect_person_name, ("person_name",)),
    "address": (detect_address, ("address",)),
    "ip_address": (detect_ip_address, ("ip_address",)),
}


#: Types whose values have nine or more digits. Their detectors look only at one line at a time
#: (matches, context windows and reference labels never cross a newline), so ``detect`` runs them
#: only on the lines where ``_NINE_DIGITS`` matches.
_NUMERIC = (
    "rrn",
    "card_number",
    "business_registration_number",
    "corporate_registration_number",
    "driver_license",
    "phone",
    "bank_account",
)
_ALL = frozenset(TYPES)
_IP_HINT = re.compile(r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]::?[0-9A-Fa-f]{1,4}:")
_ADDRESS_HINT = re.compile(
    r"[로길동리가면읍] ?(?:산 ?)?\d|\d ?호|[시구군동읍면리] ?(?:에서 |에 )?거주"
    r"|(?:거주지|주거지|주소|예정지)[ \t]*[:：(]"
)


def _digit_lines(text: str, hint: re.Pattern[str] = _NINE_DIGITS) -> Iterator[tuple[int, int]]:
    """(start, end) of each line where ``hint`` matches (by default: nine or more digits), in order, each once."""
    match = hint.search(text)
    while match is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end == -1 else end
        yield start, end
        match = hint.search(text, end)


#: Cheap C-speed pre-checks that skip whole-text detectors which cannot match.
_PRECHECKS: dict[str, re.Pattern[str]] = {
    "email": re.compile("@"),
    "person_name": re.compile("[가-힣]|[A-Z][A-Za-z]{1,9} [A-Z]"),
    "service_number": re.compile(r"1[568]\d\d"),
}
#: Detectors that look only within a line, run only on the lines where their hint matches.
_LINE_HINTS = {"address": _ADDRESS_HINT, "ip_address": _IP_HINT, "passport": re.compile("여권|(?i:passport)")}

Detector = Callable[[str], Iterator[Finding]]
#: Detectors that cannot match a text without a digit (one search skips them all).
_NEED_DIGITS = frozenset({*_NUMERIC, "service_number", "ip_address", "passport"})
_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=64)
def _plan(
    wanted: frozenset[str],
    has_digit: bool,
) -> tuple[
    tuple[tuple[Detector, re.Pattern[str] | None], ...],
    tuple[tuple[Detector, re.Pattern[str]], ...],
    tuple[Detector, ...],
]:
    """The detectors to run for ``wanted`` types on a text with or without digits: (whole-text with their
    pre-check, line-hinted with their hint, numeric)."""
    run = [
        name
        for name, (_, yields) in DETECTORS.items()
        if wanted.intersection(yields) and (has_digit or name not in _NEED_DIGITS)
    ]
    whole = tuple((DETECTORS[n][0], _PRECHECKS.get(n)) for n in run if n not in _NUMERIC and n not in _LINE_HINTS)
    hinted = tuple((DETECTORS[n][0], _LINE_HINTS[n]) for n in run if n in _LINE_HINTS)
    return whole, hinted, tuple(DETECTORS[n][0] for n in run if n in _NUMERIC)


def _shifted(findings: Iterable[Finding], offset: int) -> list[Finding]:
    return [Finding(f.start + offset, f.end + offset, f.type, f.confidence) for f in findings]


#: Digits glued to an identifier ("ORD-2024…", "A2024…", "#B0123…", "…5678AB"): part of an id, not a number.
_ID_BEFORE = re.compile(r"(?:[A-Za-z#_]|[A-Za-z0-9][-_])$")
_ID_AFTER = re.compile(r"[A-Za-z_]")


def _inside_id(text: str, finding: Finding) -> bool:
    return (
        _ID_BEFORE.search(text, max(0, finding.start - 2), finding.start) is not None
        or _ID_AFTER.match(text, finding.end) is not None
    )


def _candidates(text: str, wanted: frozenset[str]) -> list[Finding]:
    """Every detector's findings of the wanted types, overlapping ones included."""
    whole, hinted, numeric = _plan(wanted, _DIGIT.search(text) is not None)
    found = [f for detector, check in whole if check is None or check.search(text) for f in detector(text)]
    for detector, hint in hinted:
        for start, end in _digit_lines(text, hint):
            found += _shifted(detector(text[start:end]), start) if start or end < len(text) else detector(text)
    for start, end in _digit_lines(text) if numeric else ():
        if start == 0 and end == len(text):  # a one-line message: no slicing, no shifting
            found += [f for detector in numeric for f in detector(text) if not _inside_id(text, f)]
            continue
        line = text[start:end]
        for detector in numeric:
            found += [
                Finding(f.start + start, f.end + start, f.type, f.confidence)
                for f in detector(line)
                if not _inside_id(line, f)
            ]
    return found if wanted is _ALL else [f for f in found if f.type in wanted]


def _composed(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` in NFC, with the original span of each composed character: (composed, starts, ends).

    The text is cut before every character that nothing before it can compose with (combining class 0
    and not a Hangul vowel or final jamo), and each piece is composed on its own; every character of a
    piece maps to the whole piece, so a finding in the composed text covers whole original characters.
    """
    cuts = [i for i, ch in enumerate(text) if i == 0 or (not unicodedata.combining(ch) and not _JAMO_VT(ch))]
    cuts.append(len(text))
    pieces, starts, ends = [], [], []
    for start, end in itertools.pairwise(cuts):
        piece = unicodedata.normalize("NFC", text[start:end])
        pieces.append(piece)
        starts += [start] * len(piece)
        ends += [end] * len(piece)
    return "".join(pieces), starts, ends


def _JAMO_VT(ch: str) -> bool:  # noqa: N802 - reads as the Unicode class it tests
    """A Hangul medial vowel or final consonant jamo (old ones included): composes with what precedes it."""
    return "\u1161" <= ch <= "\u11ff" or "\ud7b0" <= ch <= "\ud7ff"


def detect(text: str, types: Iterable[str] | None = None) -> list[Finding]:
    """Every finding in ``text`` (sorted by start), overlaps resolved by type priority then confidence.

    Full-width digits and punctuation (０１０－１２３４) are read as ASCII and Unicode spaces (U+3000, U+00A0,
    thin and zero-width spaces …) as a space; offsets are unchanged. A text not in NFC (Hangul typed
    as conjoining jamo, as macOS file names and some keyboards send it; decomposed accents) is read
    composed, and each finding's offsets are those of the original characters it covers.
    """
    if not unicodedata.is_normalized("NFC", text):
        composed, starts, ends = _composed(text)
        return [Finding(starts[f.start], ends[f.end - 1], f.type, f.confidence) for f in _detect(composed, types)]
    return _detect(text, types)


def _detect(text: str, types: Iterable[str] | None) -> list[Finding]:
    """:func:`detect` of a text read as it is."""
    wanted = _ALL if types is None else frozenset(types)
    if _TO_ASCII_NEEDED.search(text) is not None:
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
