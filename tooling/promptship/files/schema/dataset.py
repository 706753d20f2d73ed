"""``datasets/``: items in JSONL (or CSV with a column mapping) beside a sidecar YAML."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import Model, Name


class Item(Model):
    """One dataset item. ``id`` is stable: renaming it is deleting one item and adding another."""

    id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")] = Field(
        description="Stable, unique id."
    )
    input: dict[str, Any] = Field(description="The prompt's variables.")
    expected: Any = Field(default=None, description="What evaluators compare the answer with.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free data (difficulty, source...).")


class CsvMapping(Model):
    """How CSV columns become items: every mapped column must exist in the header."""

    id: str = Field(description="Column holding the item id.")
    input: dict[str, str] = Field(description="variable name → column.")
    expected: str | None = Field(default=None, description="Column holding the expected output.")
    metadata: list[str] = Field(default_factory=list, description="Columns copied into metadata.")
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","


class PiiAllowance(Model):
    """An explicit exception to the PII check for a synthetic dataset."""

    type: str
    items: list[str] = Field(default_factory=list, description="Item ids; empty means every item.")
    reason: str


class DatasetMeta(Model):
    """The sidecar ``datasets/NAME.yaml`` next to ``NAME.jsonl`` or ``NAME.csv``."""

    schema_ref: str | None = Field(default=None, alias="$schema", exclude=True)
    description: str | None = None
    kind: Literal["golden", "evaluation"]
    synthetic: bool = Field(description="true when no item comes from real service data.")
    prompt: Name = Field(description="Name of the prompt this dataset feeds.")
    csv: CsvMapping | None = Field(default=None, description="Required when the items are in NAME.csv.")
    pii_allow: list[PiiAllowance] = Field(
        default_factory=list, description="PII findings accepted in a synthetic dataset."
    )
    langfuse_item_ids: bool = Field(
        default=False,
        description=(
            "true: the item ids are Langfuse's own (written by `promptship import langfuse`), so sync "
            "publishes items under these ids with their metadata as is, instead of `DATASET:ID` ids whose "
            "metadata records `promptship_id`."
        ),
    )
