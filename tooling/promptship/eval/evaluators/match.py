"""String matching: exact_match, contains, not_contains, regex, similarity."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from .registry import Params, Sample, Score, evaluator


def _norm(text: str, case_sensitive: bool, strip: bool = True) -> str:
    text = text.strip() if strip else text
    return text if case_sensitive else text.casefold()


class ExactMatchParams(Params):
    case_sensitive: bool = False
    strip: bool = True


@evaluator("exact_match", ExactMatchParams, reads=("expected",))
def exact_match(params: ExactMatchParams, sample: Sample) -> Score:
    """1 when the output equals `expected` (after optional strip and case folding)."""
    ok = _norm(sample.output, params.case_sensitive, params.strip) == _norm(
        str(sample.expected or ""), params.case_sensitive, params.strip
    )
    return Score(float(ok), ok)


class ContainsParams(Params):
    values: list[str] | None = Field(default=None, description="Defaults to the item's `expected` value(s).")
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = False


def _reads_expected_without_values(params: ContainsParams) -> tuple[str, ...]:
    return ("expected",) if params.values is None else ()


def _needles(params: ContainsParams, sample: Sample) -> list[str]:
    if params.values is not None:
        return params.values
    expected = sample.expected
    if expected is None:
        return []
    return [str(v) for v in expected] if isinstance(expected, list) else [str(expected)]


def _hits(params: ContainsParams, sample: Sample) -> tuple[list[str], int]:
    needles = _needles(params, sample)
    haystack = _norm(sample.output, params.case_sensitive, strip=False)
    return [n for n in needles if _norm(n, params.case_sensitive, strip=False) in haystack], len(needles)


@evaluator("contains", ContainsParams, reads=_reads_expected_without_values)
def contains(params: ContainsParams, sample: Sample) -> Score:
    """1 when the output contains any (or all) of `values`; the value is the fraction found."""
    found, total = _hits(params, sample)
    ok = bool(found) if params.mode == "any" else len(found) == total
    return Score(len(found) / total if total else 0.0, ok and total > 0, {"found": found})


@evaluator("not_contains", ContainsParams, reads=_reads_expected_without_values)
def not_contains(params: ContainsParams, sample: Sample) -> Score:
    """1 when the output contains none (mode any) or not all (mode all) of `values`."""
    found, total = _hits(params, sample)
    ok = not found if params.mode == "any" else len(found) < total
    return Score(float(ok), ok, {"found": found})


class RegexParams(Params):
    pattern: str
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = Field(default_factory=list)
    full_match: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return pattern


#: Seconds one regex match may take: a backtracking pattern on a hostile output could run for ever.
REGEX_TIMEOUT_S = 1.0


@evaluator("regex", RegexParams)
def regex(params: RegexParams, sample: Sample) -> Score:
    """1 when `pattern` matches the output (search, or full match).

    Matched with the ``regex`` engine (re-compatible) under a :data:`REGEX_TIMEOUT_S` limit; a match
    that takes longer raises (the sample's score records the error, and the run goes on).
    """
    import regex as engine

    flags = 0
    for name in params.flags:
        flags |= getattr(engine, name)
    compiled = engine.compile(params.pattern, flags)
    try:
        found = (
            compiled.fullmatch(sample.output.strip(), timeout=REGEX_TIMEOUT_S)
            if params.full_match
            else compiled.search(sample.output, timeout=REGEX_TIMEOUT_S)
        )
    except TimeoutError:
        raise TimeoutError(
            f"regex {params.pattern!r} took longer than {REGEX_TIMEOUT_S:g} s on this output "
            "(catastrophic backtracking? avoid nested quantifiers such as (a+)+)"
        ) from None
    ok = bool(found)
    return Score(float(ok), ok)


class SimilarityParams(Params):
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.8
    case_sensitive: bool = False


@evaluator("similarity", SimilarityParams, reads=("expected",))
def similarity(params: SimilarityParams, sample: Sample) -> Score:
    """difflib ratio between output and `expected`; passes at or above `threshold`."""
    ratio = difflib.SequenceMatcher(
        None,
        _norm(sample.output, params.case_sensitive),
        _norm(str(sample.expected or ""), params.case_sensitive),
        autojunk=False,
    ).ratio()
    return Score(ratio, ratio >= params.threshold)
