"""Korean postal addresses: road-name (도로명) and lot-number (지번) addresses and apartment 동/호 details.

An address is found from its *core*, then grown over the words around it:

- a road and building number (``테헤란로 311``, ``판교로 256번길 18``, ``서초대로 74길 11``);
- a neighbourhood and lot number (``역삼동 737``, ``신림동 1423-7``, ``효자동3가 1234``, ``산 12``);
- a building and unit (``101동 1203호``, ``가동 201호``, ``한빛빌라 302호``).

Leftwards the span takes the administrative units before the core (``서울특별시 강남구``, ``경기 성남시
분당구``) and, for a unit, the housing complex name (``은하아파트``, ``상계주공 7단지``); rightwards the
detail after a road or lot core (``, 104동 1502호``, ``아남타워 9층``, ``(성산동, 월드컵아파트)``).

A road or lot core is reported (0.85) only with evidence that it is an address: an administrative unit
before it, a label (주소, 배송지 …) shortly before, a detail after it, or a form only addresses take
(``번길``, ``대로``, a hyphenated lot number); alone it is ``WEAK`` ("문자로 1234" is no address). A
number followed by a unit (``3시``, ``2번``, ``5분``, ``10층``) is never a building number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .finding import Finding

WEAK, FOUND, UNIT_ONLY = 0.4, 0.85, 0.8

_PROVINCES = [
    "서울특별시",
    "서울시",
    "서울",
    "부산광역시",
    "부산시",
    "부산",
    "대구광역시",
    "대구시",
    "대구",
    "인천광역시",
    "인천시",
    "인천",
    "광주광역시",
    "광주시",
    "광주",
    "대전광역시",
    "대전시",
    "대전",
    "울산광역시",
    "울산시",
    "울산",
    "세종특별자치시",
    "세종시",
    "세종",
    "경기도",
    "경기",
    "강원특별자치도",
    "강원도",
    "강원",
    "충청북도",
    "충북",
    "충청남도",
    "충남",
    "전북특별자치도",
    "전라북도",
    "전북",
    "전라남도",
    "전남",
    "경상북도",
    "경북",
    "경상남도",
    "경남",
    "제주특별자치도",
    "제주도",
    "제주",
]
#: An administrative unit: a province, or a Hangul word ending in 시/군/구/읍/면 (``성남시``, ``일산동구``).
_ADMIN = re.compile("(?:" + "|".join(sorted(_PROVINCES, key=len, reverse=True)) + r"|[가-힣]{1,5}[시군구읍면])$")
#: Words that end in 구/시 but are no administrative unit.
_NOT_ADMIN = frozenset(
    [
        "입구",
        "출구",
        "창구",
        "가구",
        "도구",
        "친구",
        "요구",
        "연구",
        "부탁드립니다시",
        "이시",
        "하시",
        "오시",
        "주시",
        "가시",
        "보시",
        "계시",
    ]
)
#: Housing complexes and buildings (the word before a unit number, or before ``101동``).
_HOUSING = re.compile(
    r"(?:아파트|빌라|맨션|오피스텔|빌딩|타워|하우스|마을|단지|주공|자이|캐슬|푸르지오|래미안|아이파크|더샵|힐스테이트"
    r"|파크|뷰|하이츠|타운|센터|스퀘어|프라자|플라자|레지던스|기숙사|홀|관|\d{1,2}차|\d{1,2}단지)$"
)
_LABELS = re.compile(
    r"주소|배송지|배달지|수령지|거주지|주거지|소재지|주소지|자택|반송지|도착지|address|Address|ADDRESS"
)
#: A district without a building number: an address only where someone lives ("동작구 사당동 거주",
#: "거주지: 서울특별시 마포구"). Two or more units, the last may be a neighbourhood.
_DISTRICT = re.compile(
    "(?<![가-힣])(?:" + "|".join(sorted(_PROVINCES, key=len, reverse=True)) + "|[가-힣]{1,5}[시군구])"
    r"(?: [가-힣]{1,5}[시군구읍면]){0,4}(?: [가-힣]{1,6}\d?(?:동|읍|면|리|가))?(?![가-힣])"
)
_RESIDES = re.compile(r" ?(?:에서 |에 )?(?:거주|살고|살아요|삽니다)")
_RESIDENCE_LABELS = re.compile(r"(?:거주지|주거지|거주 예정지|주소|주소지)[ \t]*[:：(]?[ \t]*$")

_ROAD = re.compile(
    r"(?<![가-힣A-Za-z0-9])([가-힣0-9][가-힣A-Za-z0-9]{0,11}(?:대로|로|길))"
    r"((?: ?\d{1,4}(?:번)?길)?)"
    r" ?(\d{1,5}(?:-\d{1,5})?)(?![\d-])"
)
_LOT = re.compile(
    r"(?<![가-힣A-Za-z0-9])([가-힣]{1,6}(?:동|리|가|읍|면)(?:\d{1,2}가)?) (산 ?)?(\d{1,5}(?:-\d{1,5})?)(?![\d-])"
)
_UNIT = re.compile(r"(?<![\dA-Za-z])(?:(\d{1,4}|[가-하A-H])동 ?(\d{1,4})호|([가-힣A-Za-z0-9]{2,}) (\d{2,4})호)(?!\d)")
#: What may follow a building or lot number without making it a count or a time.
_UNITS = (
    r"(?:번(?!지)|분|시(?!청)|원|개|명|살|배|권|장|잔|병|캔|대|곳|그릇|인분|마리|회|차(?!\d)"
    r"|박|일|월|년|초|만|천|층|%|m|km|kg|g)"
)
#: A unit attached to the number ("3시", "2번"), or after a space when no word goes on ("1500-6 원룸" is no unit).
_NUMBER_UNIT = re.compile(_UNITS + "| " + _UNITS + "(?![가-힣])")
_ROAD_NOT = frozenset(
    [
        "그대로",
        "새로",
        "바로",
        "따로",
        "제대로",
        "서로",
        "별로",
        "정말로",
        "실제로",
        "대로",
        "처음으로",
        "혼자로",
        "앞으로",
        "뒤로",
        "위로",
        "아래로",
        "쪽으로",
        "이대로",
        "멋대로",
        "마음대로",
        "순서대로",
        "요청대로",
        "주문대로",
        "말씀대로",
        "그길",
        "이길",
        "저길",
        "가는길",
        "오는길",
        "지름길",
        "골목길",
    ]
)
#: Details after a road or lot core: ``, 104동 1502호``, ``아남타워 9층``, ``B1층``, ``302호``.
_DETAIL = re.compile(
    r"(?:,? ?(?:제?\d{1,4}|[가-하A-H])동 ?(?:제?\d{1,4}호)?|,? ?(?:지하 ?|B)?\d{1,3}층(?: ?\d{1,4}호)?|,? ?\d{1,4}호"
    r"|,? ?[가-힣A-Za-z0-9]{2,15}(?: [가-힣A-Za-z0-9]{1,15}){0,2} (?:(?:제?\d{1,4}|[가-하A-H])동 ?(?:제?\d{1,4}호)?"
    r"|(?:지하 ?|B)?\d{1,3}층(?: ?\d{1,4}호)?|\d{1,4}호))"
)
_PARENTHESISED = re.compile(r" ?\([가-힣0-9]{1,8}[동가리](?:, ?[가-힣A-Za-z0-9 ]{1,20})?\)")


_LAST_WORD = re.compile(r"[^\s,(:/]+$")


def _admin_start(text: str, start: int) -> int:
    """The start of the administrative units right before ``start`` (``start`` itself if none)."""
    while True:
        before = text[max(0, start - 12) : start]
        if not before.endswith(" "):
            return start
        word = _LAST_WORD.search(before[:-1])
        if word is None or _ADMIN.search(word[0]) is None or word[0] in _NOT_ADMIN:
            return start
        start -= len(word[0]) + 1


def _housing_start(text: str, start: int) -> int:
    """The start of a housing complex name right before a unit (``상계주공 7단지 ``, ``은하아파트 ``)."""
    for _ in range(3):
        before = text[max(0, start - 20) : start]
        if not before.endswith(" "):
            return start
        word = before[:-1].rpartition(" ")[2].rpartition("\n")[2]
        if not word or _HOUSING.search(word) is None or not re.search("[가-힣]", word) and word[-1] not in "차지":
            return start
        start -= len(word) + 1
        if re.fullmatch(r"\d{1,2}(?:차|단지)", word):
            prefix = text[max(0, start - 16) : start]
            name = prefix[:-1].rpartition(" ")[2] if prefix.endswith(" ") else ""
            if re.fullmatch("[가-힣A-Za-z]{2,10}", name):
                start -= len(name) + 1
    return start


def _detail_end(text: str, end: int) -> int:
    """The end of the details after a road or lot core (``end`` itself if none)."""
    detail = _DETAIL.match(text, end)
    if detail is not None:
        end = detail.end()
    parenthesised = _PARENTHESISED.match(text, end)
    return parenthesised.end() if parenthesised is not None else end


def _labelled(text: str, start: int) -> bool:
    window = text[max(0, start - 16) : start].rpartition("\n")[2]
    return _LABELS.search(window) is not None


def _core_findings(text: str, pattern: re.Pattern[str], is_road: bool) -> Iterator[Finding]:
    for m in pattern.finditer(text):
        name = m[1]
        if is_road and (name in _ROAD_NOT or name.endswith("으로")):
            continue
        if _NUMBER_UNIT.match(text, m.end()) is not None:
            continue
        start, end = _admin_start(text, m.start()), _detail_end(text, m.end())
        number = m[3]
        strong_form = "-" in number or (is_road and (bool(m[2]) or name.endswith("대로")))
        evidence = start < m.start() or end > m.end() or _labelled(text, start) or strong_form
        if not is_road and not (start < m.start() or end > m.end() or _labelled(text, start)):
            evidence = False  # a lot number needs an administrative unit, a label or a detail
        yield Finding(start, end, "address", FOUND if evidence else WEAK)


def _units(text: str) -> Iterator[Finding]:
    for m in _UNIT.finditer(text):
        if m[3] is not None and _HOUSING.search(m[3]) is None:
            continue  # "302호" needs a building before it
        start = _admin_start(text, _housing_start(text, m.start() if m[3] is None else m.start(3)))
        yield Finding(start, m.end(), "address", UNIT_ONLY)


def _districts(text: str) -> Iterator[Finding]:
    for m in _DISTRICT.finditer(text):
        if " " not in m[0]:
            continue
        resides = _RESIDES.match(text, m.end()) is not None
        labelled = _RESIDENCE_LABELS.search(text[max(0, m.start() - 12) : m.start()]) is not None
        if resides or labelled:
            yield Finding(m.start(), m.end(), "address", UNIT_ONLY)


def detect_address(text: str) -> Iterator[Finding]:
    """Road, lot and unit addresses (see the module docstring). Overlapping candidates are merged into
    one finding with the highest confidence among them."""
    candidates = sorted(
        [
            *_core_findings(text, _ROAD, is_road=True),
            *_core_findings(text, _LOT, is_road=False),
            *_units(text),
            *_districts(text),
        ]
    )
    merged: Finding | None = None
    for finding in candidates:
        if merged is not None and finding.start < merged.end:
            merged = Finding(
                merged.start, max(merged.end, finding.end), "address", max(merged.confidence, finding.confidence)
            )
            continue
        if merged is not None:
            yield merged
        merged = finding
    if merged is not None:
        yield merged
