"""pydantic validation errors → located, actionable :class:`Diagnostic` objects."""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ...errors import Diagnostic
from .prompt import MESSAGE_TAGS

Locator = Callable[[Sequence[str | int]], tuple[int, int]]
#: The source text of a plain YAML scalar that YAML 1.1 reads as a boolean, null or number (else None).
Written = Callable[[Sequence[str | int]], str | None]


def _unwrap(annotation: Any) -> list[Any]:
    """Candidate model classes inside an annotation (Optional, list, dict values, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        return [c for arg in typing.get_args(annotation) for c in _unwrap(arg)]
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    return [annotation]


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class that holds the field addressed by ``loc`` (best effort)."""
    current: type[BaseModel] | None = model
    pending = list(loc)
    while pending and current is not None:
        step = pending.pop(0)
        if isinstance(step, int):
            continue
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        info = fields.get(step)
        if info is None:
            # A dict key (e.g. a variable name): stay on the same candidate.
            continue
        candidates = [c for c in _unwrap(info.annotation) if isinstance(c, type) and issubclass(c, BaseModel)]
        if not candidates:
            return None
        current = candidates[0]
        # Dict-of-model fields consume one extra key step.
        if typing.get_origin(info.annotation) is dict and pending and isinstance(pending[0], str):
            pending.pop(0)
    return current


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items() if n != "schema_ref"]


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _value_hint(ctx: dict[str, Any], model: type[BaseModel]) -> str:
    if "expected" in ctx:
        return f"expected {ctx['expected']}"
    if "pattern" in ctx:
        return f"the value must match {ctx['pattern']}"
    bounds = {
        "ge": ">=",
        "gt": ">",
        "le": "<=",
        "lt": "<",
        "min_length": "length >=",
        "max_length": "length <=",
    }
    limits = [f"{op} {ctx[key]}" for key, op in bounds.items() if key in ctx]
    if limits:
        return "allowed: " + ", ".join(limits)
    return f"see the {model.__name__} format in docs/formats.md"


def _field_description(model: type[BaseModel] | None, name: str) -> str | None:
    """The description of field ``name`` (by name or alias) of ``model``, if it has one."""
    if model is None:
        return None
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            if info.description:
                return info.description.rstrip(".")
            choices = typing.get_args(info.annotation) if typing.get_origin(info.annotation) is Literal else ()
            return f"one of: {', '.join(map(str, choices))}" if choices else None
    return None


def quote_hint(written: str, value: Any) -> str:
    """How to keep ``written`` as text when YAML 1.1 reads it as ``value`` (``no`` → false, ``012`` → 10)."""
    read_as = "null" if value is None else json.dumps(value)
    return f'YAML reads {written or "an empty value"} as {read_as}, not as text: quote it, e.g. "{written}"'


def diagnostics_from_validation(
    exc: ValidationError, path: str, locate: Locator, model: type[BaseModel], written: Written | None = None
) -> list[Diagnostic]:
    """One diagnostic per pydantic error, positioned with ``locate`` and carrying a fix hint.

    ``written`` (for YAML files) names the text of an unquoted scalar that YAML read as a boolean,
    null or number, so a text field given ``no`` is told how to quote it.
    """
    found = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        loc = [p for i, p in enumerate(loc) if not (p in MESSAGE_TAGS and i > 0 and isinstance(loc[i - 1], int))]
        loc = [p for p in loc if p != "[key]"]  # pydantic's marker of an invalid mapping key: the key names it
        kind = err["type"]
        line, col = locate(loc)
        hint = None
        if kind == "extra_forbidden":
            known = _field_names(_model_at(model, loc[:-1]))
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            code, message = "E003", f"unknown field `{_dotted(loc)}`"
            hint = f"did you mean `{close[0]}`?" if close else f"allowed fields: {', '.join(known)}"
        elif kind == "missing":
            code, message = "E002", f"missing required field `{_dotted(loc)}`"
            description = _field_description(_model_at(model, loc[:-1]), str(loc[-1]))
            hint = f"add `{loc[-1]}:` ({description})" if description else f"add `{loc[-1]}:`"
        else:
            code = "E004"
            text = err["msg"].removeprefix("Value error, ")
            message = f"invalid value for `{_dotted(loc)}`: {text}" if loc else text
            hint = _value_hint(err.get("ctx") or {}, model)
            text_written = written(loc) if written is not None and kind == "string_type" else None
            if text_written is not None:
                hint = quote_hint(text_written, err.get("input"))
        found.append(Diagnostic(path, line, col, code, message, hint))
    return found
