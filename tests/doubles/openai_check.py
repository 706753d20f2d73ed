"""Validate gateway answers against OpenAI's published OpenAPI schemas (vendored under reference/).

``assert_openai(body, "CreateChatCompletionResponse")`` raises an AssertionError listing every place
where ``body`` departs from the schema; see reference/README.md for the source commit.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "reference" / "openai-schemas.json"


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    definitions = json.loads(SCHEMAS.read_text(encoding="utf-8"))["$defs"]
    if name not in definitions:
        raise KeyError(f"no schema {name!r} in {SCHEMAS.name}")
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": definitions})


def openai_problems(body: Any, name: str) -> list[str]:
    """Every schema violation of ``body`` as ``path: message`` (empty when it conforms)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in _validator(name).iter_errors(body)
    ]


def assert_openai(body: Any, name: str) -> None:
    problems = openai_problems(body, name)
    assert not problems, f"not a valid OpenAI {name}:\n" + "\n".join(problems)
