"""The file formats, as pydantic v2 models, and their JSON Schema export to ``schemas/``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from ...pii.policy import PiiPolicy
from ._base import nfc
from .dataset import CsvMapping, DatasetMeta, Item, PiiAllowance
from .policy import (
    AliasPolicy,
    Budget,
    BudgetPolicy,
    CredentialsPolicy,
    Deployment,
    Pricing,
    Profile,
    ReleasePolicy,
    RoutingPolicy,
)
from .prompt import Message, Params, Placeholder, Prompt, PromptRelease, ReleaseRule, Variable
from .run import Run, SampleResult
from .suite import EvaluatorSpec, Gates, Suite

#: schemas/<file> → the model it describes. Example files reference these with `$schema`.
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "prompt.schema.json": Prompt,
    "dataset.schema.json": DatasetMeta,
    "dataset-item.schema.json": Item,
    "suite.schema.json": Suite,
    "routing-policy.schema.json": RoutingPolicy,
    "release-policy.schema.json": ReleasePolicy,
    "pii-policy.schema.json": PiiPolicy,
    "budgets-policy.schema.json": BudgetPolicy,
    "credentials-policy.schema.json": CredentialsPolicy,
    "run.schema.json": Run,
    "run-sample.schema.json": SampleResult,
}


#: Schemas of YAML files, whose top level accepts ``x-*`` extension keys (anchors shared in a file).
_YAML_FILES = frozenset(SCHEMA_FILES) - {"dataset-item.schema.json", "run.schema.json", "run-sample.schema.json"}


def schema_documents() -> dict[str, str]:
    """File name → JSON Schema text (stable formatting, trailing newline)."""
    documents = {}
    for filename, model in SCHEMA_FILES.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        if filename in _YAML_FILES:
            schema["patternProperties"] = {"^x-": {"description": "Extension key: holds YAML anchors, ignored."}}
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://promptship.dev/schemas/{filename}"
        documents[filename] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return documents


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; return the files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for filename, text in schema_documents().items():
        target = directory / filename
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    return changed


__all__ = [
    "SCHEMA_FILES",
    "AliasPolicy",
    "Budget",
    "BudgetPolicy",
    "CredentialsPolicy",
    "CsvMapping",
    "DatasetMeta",
    "Deployment",
    "EvaluatorSpec",
    "Gates",
    "Item",
    "Message",
    "Params",
    "PiiAllowance",
    "PiiPolicy",
    "Placeholder",
    "Pricing",
    "Profile",
    "Prompt",
    "PromptRelease",
    "ReleasePolicy",
    "ReleaseRule",
    "RoutingPolicy",
    "Run",
    "Suite",
    "Variable",
    "export_schemas",
    "nfc",
    "schema_documents",
]
