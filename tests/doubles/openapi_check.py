"""Validate JSON bodies against a schema of Langfuse's real OpenAPI spec (vendored under reference/).

OpenAPI 3.0 schemas are JSON Schema plus ``nullable``; this converts ``nullable: true`` into
``anyOf [..., null]`` and validates with ``jsonschema`` (Draft 2020-12) through a referencing registry
holding the whole spec, so ``$ref: '#/components/schemas/X'`` resolves as in the spec.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

#: Langfuse's public REST API spec, vendored from langfuse/langfuse (see reference/README.md).
SPEC = Path(__file__).resolve().parent / "reference" / "langfuse-openapi.yml"
SPEC_URI = "urn:langfuse-openapi"


def _convert(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _convert(v) for k, v in node.items() if k != "nullable"}
        if "$ref" in converted:
            converted["$ref"] = SPEC_URI + converted["$ref"]
        if node.get("nullable") is True:
            return {"anyOf": [converted, {"type": "null"}]}
        return converted
    if isinstance(node, list):
        return [_convert(v) for v in node]
    return node


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)  # type: ignore[no-any-return]  # noqa: S506


@cache
def documented_parameters(path: str, method: str = "get") -> frozenset[str]:
    """The query parameters the spec documents for ``method`` on ``path`` (a key of ``paths``)."""
    operation = _spec()["paths"][path][method]
    return frozenset(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")


@lru_cache(maxsize=1)
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = _spec()
    return Registry().with_resource(SPEC_URI, Resource(contents=_convert(spec), specification=DRAFT202012))


class OpenApiValidator:
    """``problem(schema_name, body)`` → None if ``body`` matches, else the first error, located."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def problem(self, schema_name: str, body: Any) -> str | None:
        import jsonschema

        validator = self._validators.get(schema_name)
        if validator is None:
            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}, registry=_registry()
            )
            self._validators[schema_name] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: {error.message[:300]}"
