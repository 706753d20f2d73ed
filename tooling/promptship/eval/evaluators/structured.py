"""Structured output: json_valid, json_schema, numeric_close."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import Field

from ...files.schema._base import JsonSchema
from .registry import Params, Sample, Score, evaluator

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n```\s*$", re.DOTALL)


def parse_json_output(output: str) -> Any:
    """The JSON value in ``output`` (a surrounding ```json fence is tolerated); ValueError if none."""
    text = output.strip()
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


@evaluator("json_valid")
def json_valid(params: Params, sample: Sample) -> Score:
    """1 when the output parses as JSON."""
    try:
        parse_json_output(sample.output)
    except ValueError as exc:
        return Score(0.0, False, {"error": str(exc)})
    return Score(1.0, True)


def _NO_REMOTE_SCHEMAS() -> Any:  # noqa: N802 - reads as the registry it returns
    """A ``referencing`` registry that never retrieves anything: no schema is fetched during an eval
    (``validate`` already refuses a ``$ref`` outside the schema; this holds for any other path)."""
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> Any:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    return Registry(retrieve=refuse)  # type: ignore[call-arg]


class JsonSchemaParams(Params):
    schema_: JsonSchema = Field(alias="schema", description="JSON Schema (draft 2020-12).")


@evaluator("json_schema", JsonSchemaParams)
def json_schema(params: JsonSchemaParams, sample: Sample) -> Score:
    """1 when the output is JSON that validates against `schema`."""
    import jsonschema

    try:
        value = parse_json_output(sample.output)
    except ValueError as exc:
        return Score(0.0, False, {"error": f"not JSON: {exc}"})
    validator = jsonschema.Draft202012Validator(params.schema_, registry=_NO_REMOTE_SCHEMAS())
    errors = sorted(validator.iter_errors(value), key=str)
    if errors:
        return Score(0.0, False, {"error": errors[0].message, "errors": len(errors)})
    return Score(1.0, True)


class NumericCloseParams(Params):
    abs_tol: float = Field(default=0.0, ge=0)
    rel_tol: float = Field(default=1e-9, ge=0)


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?")


@evaluator("numeric_close", NumericCloseParams, reads=("expected",))
def numeric_close(params: NumericCloseParams, sample: Sample) -> Score:
    """1 when the first number in the output is within tolerance of `expected`."""
    match = _NUMBER.search(sample.output)
    if match is None or sample.expected is None:
        return Score(0.0, False, {"error": "no number in output" if match is None else "no expected value"})
    got = float(match.group().replace(",", ""))
    want = float(sample.expected)
    ok = math.isclose(got, want, rel_tol=params.rel_tol, abs_tol=params.abs_tol)
    return Score(float(ok), ok, {"got": got})
