"""The field reference of docs/formats.md, generated from the format models and the evaluator
registry so the documentation cannot drift from the code (a test checks it is current)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

BEGIN = "<!-- BEGIN GENERATED REFERENCE (promptship schema) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} → {_type_name(args[1])}"
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in args)
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    return f"`{value!r}`"


def model_table(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    lines = [f"**{model.__name__}**", "", "| field | type | default | meaning |", "|---|---|---|---|"]
    nested: list[type[BaseModel]] = []
    for name, field in model.model_fields.items():
        if name == "schema_ref":
            continue
        lines.append(
            f"| `{field.alias or name}` | {_cell(_type_name(field.annotation))} | {_cell(_default(field))} "
            f"| {_cell(field.description or '')} |"
        )
        nested += _models_in(field.annotation)
    lines.append("")
    for child in nested:
        lines += model_table(child, seen)
    return lines


def reference_markdown() -> str:
    """The generated section (between :data:`BEGIN` and :data:`END`)."""
    from ...eval.evaluators import registry
    from . import SCHEMA_FILES

    lines = [BEGIN, "", "### Field reference (generated)", ""]
    seen: set[type[BaseModel]] = set()
    for filename, model in SCHEMA_FILES.items():
        lines += [f"#### `schemas/{filename}`", ""] + model_table(model, seen)
    lines += ["### Evaluators (generated)", ""]
    for name, definition in sorted(registry().items()):
        lines += [f"#### `{name}`", "", definition.description, ""]
        fields = definition.params.model_fields
        if fields:
            lines += ["| param | type | default | meaning |", "|---|---|---|---|"]
            for field_name, field in fields.items():
                lines.append(
                    f"| `{field.alias or field_name}` | {_cell(_type_name(field.annotation))} | "
                    f"{_cell(_default(field))} | {_cell(field.description or '')} |"
                )
            lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_reference(document: str) -> str:
    """``document`` with its generated section replaced (or appended)."""
    generated = reference_markdown()
    if BEGIN in document and END in document:
        before = document[: document.index(BEGIN)]
        after = document[document.index(END) + len(END) :].lstrip("\n")
        return before + generated + ("\n" + after if after else "")
    return document.rstrip("\n") + "\n\n" + generated
