"""Korean person names: a surname plus a one- or two-syllable given name, reported only with a cue.

A Hangul run that starts with a surname is a candidate. It becomes a finding when a cue says it is a
person, strongest first:

- an honorific attached or right after it (``김민수님``, ``이서연 고객님``, ``김건 씨``): 0.85;
- a label before it (``예금주 박지영``, ``받는 사람: 장수빈``), a title or sign-off after it (``오세훈 기사``,
  ``담당자 양희은 드림``), a receiver particle (``박지영한테``), or ``대신`` after a subject (``김민수가
  대신``): 0.8;
- a copula (``김민수입니다``) only at the start of a sentence or after a lead such as 안녕하세요 or 저는: 0.8;
- a bare full name at the start of a field right before a phone number (``윤서아 010-…``): 0.65.

Every cue but an honorific needs a three- or four-syllable candidate (two-syllable names are rare and
two-syllable words are not). A candidate is never a name when it is an ordinary word (``words.STOPWORDS``),
such a word plus an ending (``이름을``, ``조리중``, ``주문한``), a title or kinship word (``선배``, ``장모``),
surname + role (``김사장``) or a quantity (``오천원``, ``한시간``); with a weak cue, not a place (``강남점``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .finding import Finding
from .words import (
    AGENT_CUES,
    ANIMATE_CUES,
    BANK_NAMES,
    COMPOUND_SURNAMES,
    COPULA_CUES,
    COPULA_FORMS,
    COPULA_LEAD_ENDINGS,
    COPULA_LEADS,
    ENGLISH_NAME_LABELS,
    FOLLOWING_CUES,
    FOLLOWING_HONORIFICS,
    HONORIFIC_CUES,
    LABEL_ENDINGS,
    NATIVE_NUMBERS,
    NOT_HONORIFICS,
    NUMBER_SYLLABLES,
    PAIRED_PARTICLES,
    PARTICLES,
    PLACE_ENDINGS,
    PRECEDING_CUES,
    ROLE_WORDS,
    ROMAN_COMMON,
    ROMAN_SURNAMES,
    SHORT_NAME_HONORIFICS,
    STOPWORDS,
    SURNAMES,
    TITLES,
    UNIT_ENDINGS,
    UNITS,
    WORD_ENDINGS,
)

HONORIFIC, LABELLED, COPULA, BARE = 0.85, 0.8, 0.8, 0.65

#: Hangul runs that start with a surname: the only runs that can hold a name (one C-speed scan).
_NAME_RUN = re.compile(
    "(?<![가-힣0-9])(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])[가-힣]{1,11}(?![가-힣])"
)
#: Cues at the end of a run, longest first within each group (the leftmost match is the longest).
_RUN_CUE = re.compile(
    "(?:(?P<honorific>" + "|".join(HONORIFIC_CUES) + ")"
    "|(?P<copula>" + "|".join(COPULA_CUES) + ")"
    "|(?P<animate>" + "|".join(ANIMATE_CUES) + "))$"
)
#: The word after a run: not an honorific (고객센터), an honorific, a title or sign-off, or 대신.
_FOLLOWING = re.compile(
    "[ \t]*(?:(?P<not>"
    + "|".join(NOT_HONORIFICS)
    + ")|(?P<honorific>"
    + "|".join(FOLLOWING_HONORIFICS)
    + ")|(?P<title>"
    + "|".join(map(re.escape, FOLLOWING_CUES))
    + ")|(?P<agent>"
    + "|".join(AGENT_CUES)
    + "))"
)
_PARTICLE = re.compile("(?:" + "|".join(PARTICLES) + ")$")
#: A phone or bank account starting right after a bare name ("윤서아 010-…", "고아라 / 신한 110-…").
_NUMBER_AFTER = re.compile(
    r"[ \t/,:|(]{0,3}(?:\+82|\(?0[1-9]\d|\d{6} ?[-\u2013] ?[1-8]|(?:" + "|".join(BANK_NAMES) + r")[가-힣]{0,4} ?\d)"
)
#: Digits right before a name, then a space or an opening parenthesis ("…456789 김민수", "…5678(이정민)").
_NUMBER_BEFORE = re.compile(r"\d[ \t]?[(/]?[ \t]?$")
#: The end of a field after a name: end of text or line, or a closing parenthesis or separator.
_FIELD_END = re.compile(r"[ \t]*(?:$|[\n)/,|.])")
_SENTENCE_END = ".!?~"
_LEAD_STRIP = " \t,~!?.:;"
_HANGUL_BASE, _JONGSEONG_COUNT, _RIEUL = 0xAC00, 28, 8


def _final_consonant(syllable: str) -> int:
    """The index of the syllable's final consonant (받침), 0 for none."""
    return (ord(syllable) - _HANGUL_BASE) % _JONGSEONG_COUNT


def _has_batchim(syllable: str) -> bool:
    return _final_consonant(syllable) != 0


def _fits_after(word: str, ending: str) -> bool:
    """Can ``ending`` follow ``word`` grammatically (은/는, 이/가, 을/를, 과/와, 으로/로, 이랑/랑)?"""
    for after_consonant, after_vowel in PAIRED_PARTICLES:
        if ending == after_consonant:
            return _has_batchim(word[-1])
        if ending == after_vowel:
            return not _has_batchim(word[-1]) or (ending == "로" and _final_consonant(word[-1]) == _RIEUL)
    return ending in WORD_ENDINGS


#: Label words are never names themselves ("임차인 이메일", "임대인 서명").
_LABEL_WORDS = frozenset(cue for cue in PRECEDING_CUES if " " not in cue)
#: Last syllables that are a particle or verb ending, not a given name's ("배정을", "선임의", "진료가").
_ENDING_SYLLABLES = frozenset(
    ["을", "를", "의", "에", "가", "로", "와", "과", "됨", "함", "음", "쳐", "할", "된", "상", "으"]
)


def _is_word(candidate: str) -> bool:
    """An ordinary word, or an ordinary word plus a particle or ending ("이름을", "조리중", "이번에")."""
    if candidate in STOPWORDS or candidate in TITLES or candidate in _LABEL_WORDS:
        return True
    return any(
        candidate[:k] in STOPWORDS and _fits_after(candidate[:k], candidate[k:]) for k in range(2, len(candidate))
    )


def _is_quantity(candidate: str) -> bool:
    """A number and a unit ("오천원", "이만원", "한시간", "한그릇")."""
    for unit in UNITS:
        if candidate.endswith(unit) and len(candidate) > len(unit):
            amount = candidate[: -len(unit)]
            if all(ch in NUMBER_SYLLABLES for ch in amount) or amount in NATIVE_NUMBERS:
                return True
    return False


def plausible_name(candidate: str, *, min_length: int = 3) -> bool:
    """Surname + a one- or two-syllable given name, at least ``min_length`` syllables, and no ordinary word."""
    if not min_length <= len(candidate) <= 4:
        return False
    if candidate[:2] in COMPOUND_SURNAMES and len(candidate) >= 3:
        given = candidate[2:]
    elif candidate[0] in SURNAMES and len(candidate) <= 3:
        given = candidate[1:]
    else:
        return False
    return given not in ROLE_WORDS and not _is_word(candidate) and not _is_quantity(candidate)


def _strip_particle(token: str) -> tuple[str, str]:
    """``김민수가`` → (``김민수``, ``가``). Three-syllable tokens are left whole: most names have three."""
    if len(token) > 3:
        particle = _PARTICLE.search(token, 3)
        if particle is not None:
            return token[: particle.start()], particle.group()
    return token, ""


def _lead_allows_copula(text: str, start: int) -> bool:
    """Is the copula name at the start of a sentence, or after a lead such as 안녕하세요 / 저는 / 분은?"""
    before = text[max(0, start - 16) : start].rpartition("\n")[2]
    stripped = before.rstrip(" \t")
    if not stripped or stripped[-1] in _SENTENCE_END:
        return True
    word = stripped.rstrip(_LEAD_STRIP).rpartition(" ")[2]
    return word in COPULA_LEADS or word.endswith(COPULA_LEAD_ENDINGS)


def _field_start(text: str, start: int) -> bool:
    """Does a field start here: line start, or right after a separator such as ``/``, ``,`` or ``:``?"""
    before = text[max(0, start - 4) : start].rstrip(" \t")
    return not before or before[-1] in "\n/,:|()[]-"


def _beside_number(text: str, start: int, end: int) -> bool:
    """A bare full name as its own field right before a phone or account ("윤서아 010-…"), or right
    after one at the end of a field ("… 110-123-456789 김민수", "010-…(이정민)")."""
    if _field_start(text, start) and _NUMBER_AFTER.match(text, end):
        return True
    if text.startswith(COPULA_FORMS, start) or _FIELD_END.match(text, end) is None:
        return False
    return _NUMBER_BEFORE.search(text, max(0, start - 4), start) is not None


_HAS_CAPITAL = re.compile("[A-Z][A-Za-z]{1,9} [A-Z]")
_QUALIFIER = re.compile(r"\([^()\n]{1,12}\)$")


#: Quotes around a field's name and value in JSON and YAML.
_QUOTES = "\"'"
#: How many names a label can head in a comma-separated list.
_MAX_LISTED = 6


def _labelled(text: str, start: int, depth: int = 0) -> bool:
    """Does a label come right before ``start``: a cue such as 예금주, 신청인 or 판사 (a qualifier such as
    ``청구인(피보험자):`` allowed), any word ending like a person label before a colon (``수검자명:``),
    or an organisational unit (``운영팀``, ``비서실``)?"""
    window = text[max(0, start - 24) : start].rpartition("\n")[2]
    stripped = window.rstrip(" \t")
    quoted = stripped.rstrip(_QUOTES + " \t")  # a JSON or YAML field: "예금주": "김도현"
    colon = quoted.endswith((":", "："))
    if colon:
        stripped = quoted
    label = _QUALIFIER.sub("", stripped.rstrip(" \t:：-")).rstrip(" \t")
    if colon:
        label = label.rstrip(_QUOTES)
    if label.endswith(PRECEDING_CUES):
        return True
    word = label.rpartition(" ")[2]
    if colon and len(word) >= 2 and word.endswith(LABEL_ENDINGS):
        return True
    key = word.rpartition(_QUOTES[0])[2].rpartition("{")[2].lower().replace("_", "").replace("-", "")
    if colon and key in ENGLISH_NAME_LABELS:
        return True
    if stripped.endswith(",") and depth < _MAX_LISTED:  # "참석자: 권오성, 이다인, 표예진"
        head = stripped[:-1].rstrip(" \t")
        previous = head.rpartition(" ")[2]
        first = start - len(window) + len(head) - len(previous)
        return plausible_name(previous) and _labelled(text, first, depth + 1)
    return not colon and len(word) >= 2 and word.endswith(UNIT_ENDINGS)


def _run_with_cue(text: str, start: int, run: str, cue: re.Match[str]) -> Finding | None:
    name = run[: cue.start()]
    if cue.lastgroup == "honorific":
        ok, confidence = plausible_name(name, min_length=2), HONORIFIC
    elif cue.lastgroup == "copula":
        lead = _lead_allows_copula(text, start) or _labelled(text, start)
        ok, confidence = plausible_name(name) and lead, COPULA
    else:
        ok, confidence = plausible_name(name), LABELLED
    if ok and (confidence == HONORIFIC or (name[-1] not in PLACE_ENDINGS and name[-1] not in _ENDING_SYLLABLES)):
        return Finding(start, start + len(name), "person_name", confidence)
    return None


def _separate_cue(text: str, start: int, end: int, name: str, particle: str) -> float | None:
    """The confidence given by the words around a run without a cue of its own, if any."""
    following = _FOLLOWING.match(text, end)
    kind = following.lastgroup if following is not None else None
    if kind == "honorific" and not particle:
        short_ok = following is not None and following.group("honorific") in SHORT_NAME_HONORIFICS
        return HONORIFIC if plausible_name(name, min_length=2 if short_ok else 3) else None
    if (kind == "agent" if particle else kind == "title") or _labelled(text, start):
        confidence = LABELLED
    elif not particle and len(name) == 3 and _beside_number(text, start, end):
        confidence = BARE
    elif not particle and len(name) == 3 and text.startswith("(", end) and _NUMBER_AFTER.match(text, end):
        confidence = LABELLED  # "김철수(920315-1058421)", "중개사 박소연(010-4829-1034)"
    else:
        return None
    weak_ending = name[-1] in PLACE_ENDINGS or name[-1] in _ENDING_SYLLABLES
    return confidence if plausible_name(name) and not weak_ending else None


_ROMAN_SYLLABLE = (
    r"(?:kk|tt|pp|ss|jj|ch|sh|[bcdghjkmnprstwy])?"
    r"(?:yeo|you|yae|wae|wi|wo|we|wa|ae|eo|eu|oe|ui|ou|ya|yo|yu|ye|oo|ee|[aeiou])"
    r"(?:ng|n|m|l|k|p|t)?"
)
_ROMAN_GIVEN = re.compile(f"(?i:{_ROMAN_SYLLABLE}(?:-?{_ROMAN_SYLLABLE})?)")
_ROMAN_PAIR = re.compile(
    r"(?<![A-Za-z])([A-Z][a-z]{1,6}|[A-Z]{2,7}) "
    r"([A-Z][a-z]{1,9}(?:-[a-z]{1,5})?|[A-Z]{2,10}(?:-[A-Z]{1,5})?)(?![A-Za-z])"
)
_ROMAN_LABEL = re.compile(
    r"(?:Name|NAME|name|Passenger|PASSENGER|Contact person|Guest|Customer|Mr\.|Ms\.|Mrs\.|Dr\."
    r"|영문 ?이름|영문명|영문 성명|성명\(영문\)|영문)[ \t]*[:：]?[ \t]*$"
)
_ROMAN_HONORIFIC = re.compile(r"[ \t]?(?:님|씨|고객님|고객|회원님|\(인\)|\(서명\))")


def _roman_given_ok(word: str) -> bool:
    return _ROMAN_GIVEN.fullmatch(word) is not None and len(word.replace("-", "")) >= 3


def detect_romanised_name(text: str) -> Iterator[Finding]:
    """Romanised Korean names: a surname and a one- or two-syllable given name in either order
    (``Kim Minsu``, ``Jihoon Choi``, ``LEE SEOYEON``, ``Hong Gil-dong``). A surname that is also an English
    word (``Do``, ``So``, ``Go``…) needs a cue: a label before (``Name:``, ``영문 이름``, any Korean label) or
    님/씨/고객님 after."""
    for m in _ROMAN_PAIR.finditer(text):
        first, second = m[1].capitalize(), m[2].capitalize()
        if first in ROMAN_SURNAMES and _roman_given_ok(second):
            surname = first
        elif second in ROMAN_SURNAMES and _roman_given_ok(first) and first not in ROMAN_SURNAMES:
            surname = second
        else:
            continue
        before = text[max(0, m.start() - 24) : m.start()].rpartition("\n")[2]
        cue = _ROMAN_LABEL.search(before) is not None or _labelled(text, m.start())
        cue = cue or _ROMAN_HONORIFIC.match(text, m.end()) is not None
        if cue:
            yield Finding(m.start(), m.end(), "person_name", LABELLED)
        elif surname not in ROMAN_COMMON:
            yield Finding(m.start(), m.end(), "person_name", BARE)


#: Last syllables of form fields ("진단명", "진료일", "진료비"): never a chat speaker.
_FIELD_ENDINGS = frozenset("명일비과의력득액료처지소자번호")
#: A chat turn: a line that starts with a speaker's name and a colon ("김민준: 알겠습니다").
_SPEAKER = re.compile(r"^([가-힣]{2,4})[ \t]?:[ \t]", re.MULTILINE)


def detect_speakers(text: str) -> Iterator[Finding]:
    """Speakers of a chat transcript: a plausible full name that opens two or more lines with a colon
    (a label opening one line is more often a form's field, such as ``정산일:``; fields ending like
    ``진단명``, ``진료일``, ``진료비`` are never speakers)."""
    speakers = [m for m in _SPEAKER.finditer(text) if plausible_name(m[1]) and m[1][-1] not in _FIELD_ENDINGS]
    turns = Counter(m[1] for m in speakers)
    for m in speakers:
        if turns[m[1]] >= 2:
            yield Finding(m.start(1), m.end(1), "person_name", LABELLED)


def detect_person_name(text: str) -> Iterator[Finding]:
    """Names with a cue (see the module docstring), each span covering surname and given name only."""
    if _HAS_CAPITAL.search(text) is not None:
        yield from detect_romanised_name(text)
    if ":" in text:
        yield from detect_speakers(text)
    for m in _NAME_RUN.finditer(text):
        run, start = m.group(), m.start()
        cue = _RUN_CUE.search(run, 2)
        if cue is not None:
            finding = _run_with_cue(text, start, run, cue)
            if finding is not None:
                yield finding
            continue
        name, particle = _strip_particle(run)
        if len(name) > 4 or name in STOPWORDS:
            continue  # cheap rejections first: most runs are ordinary words
        confidence = _separate_cue(text, start, m.end(), name, particle)
        if confidence is not None:
            yield Finding(start, start + len(name), "person_name", confidence)
