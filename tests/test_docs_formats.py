"""docs/formats.md documents every field, evaluator and diagnostic code that the code defines.

The checks read only the hand-written part of the page (everything before the generated field
reference that `promptship schema` appends), so a field added to a model fails here until someone
explains it in plain words, with its meaning, in the section of its file kind.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from promptship.eval.evaluators import registry
from promptship.files.schema import SCHEMA_FILES
from promptship.files.schema.reference import BEGIN
from promptship.files.validate import CODES

from .conftest import PROJECT

DOC = PROJECT / "docs" / "formats.md"


def _written() -> str:
    """The hand-written part of docs/formats.md (the generated reference would list every field anyway)."""
    text = DOC.read_text(encoding="utf-8")
    return text.split(BEGIN, 1)[0]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Model classes anywhere inside an annotation: Optional, list, dict values, Annotated, unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _reachable(roots: list[type[BaseModel]]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    pending = list(roots)
    while pending:
        model = pending.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            pending += _models_in(field.annotation)
    return seen


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items() if (field.alias or name) != "$schema"]


MODELS = _reachable(list(SCHEMA_FILES.values()))
SCHEMA_FIELDS = [(model.__name__, name) for model in MODELS for name in _field_names(model)]
EVALUATORS = sorted(registry().items())
EVALUATOR_PARAMS = [(name, param) for name, definition in EVALUATORS for param in _field_names(definition.params)]


def test_the_walk_reaches_nested_models() -> None:
    names = {model.__name__ for model in MODELS}
    # A few models that only appear nested (inside dicts, lists or optionals): the walk must find them.
    assert {"Deployment", "Pricing", "Profile", "JsonSchemaFormat", "Attempt", "Aggregate", "PiiAllowance"} <= names
    assert len(SCHEMA_FIELDS) > 100


@pytest.mark.parametrize(("model", "field"), SCHEMA_FIELDS, ids=[f"{m}.{f}" for m, f in SCHEMA_FIELDS])
def test_every_schema_field_is_documented(model: str, field: str) -> None:
    assert f"`{field}`" in _written(), f"{model}.{field} is not explained in docs/formats.md"


@pytest.mark.parametrize("name", [name for name, _ in EVALUATORS])
def test_every_evaluator_is_documented(name: str) -> None:
    assert f"`{name}`" in _written(), f"evaluator {name} is not explained in docs/formats.md"


@pytest.mark.parametrize(("evaluator", "param"), EVALUATOR_PARAMS, ids=[f"{e}.{p}" for e, p in EVALUATOR_PARAMS])
def test_every_evaluator_param_is_documented(evaluator: str, param: str) -> None:
    written = _written()
    heading = f"### `{evaluator}`"
    assert heading in written, f"docs/formats.md has no `{heading}` section"
    section = written.split(heading, 1)[1].split("\n### ", 1)[0]
    assert f"`{param}`" in section, f"parameter {param} of {evaluator} is not in its section of docs/formats.md"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_diagnostic_code_is_documented(code: str) -> None:
    written = _written()
    assert f"`{code}`" in written, f"diagnostic {code} is not in docs/formats.md"
    row = next((line for line in written.splitlines() if line.startswith(f"| `{code}` |")), None)
    assert row is not None, f"diagnostic {code} has no row in the codes table"
    assert f"`{CODES[code]}`" in row or f" {CODES[code]} " in row, f"the row of {code} does not give its name"


def _codes_raised_by_commands() -> list[str]:
    """Every error code written in the package's source (``"E123"``), the validate table's excepted."""
    found = set()
    for path in (PROJECT / "tooling" / "promptship").rglob("*.py"):
        found |= set(re.findall(r'"(E\d{3})"', path.read_text(encoding="utf-8")))
    return sorted(found - set(CODES))


@pytest.mark.parametrize("code", _codes_raised_by_commands())
def test_every_command_error_code_is_documented(code: str) -> None:
    row = next((line for line in _written().splitlines() if line.startswith(f"| `{code}` |")), None)
    assert row is not None, f"error code {code} is raised by a command but has no row in docs/formats.md"


def test_every_pii_type_is_documented() -> None:
    from promptship.pii.detectors import TYPES

    written = _written()
    missing = [t for t in TYPES if f"`{t}`" not in written]
    assert not missing, f"PII types missing from docs/formats.md: {missing}"


def test_the_generated_reference_is_kept() -> None:
    # `promptship schema` refreshes the block in place; removing it would make it append a new one.
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text
