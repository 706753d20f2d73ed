"""Shared base for every file-format model: unknown keys are errors, so typos never pass silently."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _valid_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` itself, if it is a valid JSON Schema (draft 2020-12); ValueError naming the fault."""
    import jsonschema  # only files that hold a JSON Schema pay for the import

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    for path, ref in _references(schema, ()):
        if not ref.startswith("#"):
            raise ValueError(
                f"not a usable JSON Schema at {'/'.join(path) or '(top level)'}: $ref {ref!r} points outside "
                "the schema, and promptship never fetches schemas (copy the definition under $defs and "
                "refer to it as '#/$defs/NAME')"
            )
    return schema


def _references(value: Any, where: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """``(path, target)`` of every ``$ref`` / ``$dynamicRef`` in a JSON Schema."""
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(child, str):
                found.append((where, child))
            else:
                found.extend(_references(child, (*where, str(key))))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_references(child, (*where, str(index))))
    return found


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: names typed on macOS (NFD) and elsewhere (NFC) compare equal."""
    return unicodedata.normalize("NFC", text)


#: The name of a prompt, dataset or suite as another file refers to it (compared in NFC).
Name = Annotated[str, AfterValidator(nfc)]

#: A JSON Schema held in a file: checked when the file is loaded, not when a model answers.
JsonSchema = Annotated[dict[str, Any], AfterValidator(_valid_json_schema)]
