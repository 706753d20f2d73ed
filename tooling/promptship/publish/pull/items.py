"""Traced generations → candidate dataset items (pure): selection, PII policy, ids, duplicates.

Every decision about one generation is :func:`consider`; :class:`Tally` counts them for the summary.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...files.schema.prompt import Variable
from ...files.secrets import find_secrets
from ...pii import PiiPolicy, detect, guard_data
from .filters import Filter
from .reader import Generation

Outcome = Literal["written", "filtered", "no_variables", "duplicate", "pii", "mismatch"]


@dataclass
class Tally:
    """What a pull did with every generation it read (the summary's numbers)."""

    read: int = 0
    written: int = 0
    filtered: int = 0
    duplicates: int = 0
    no_variables: int = 0
    mismatched: int = 0
    pii_dropped: int = 0
    #: items dropped because their line held a literal secret (an API key, a token) `validate` would flag.
    secrets_dropped: int = 0
    #: type → items dropped because they held that blocked type (an item may count under several).
    pii_dropped_by_type: Counter[str] = field(default_factory=Counter)
    #: type → values masked in the items written.
    pii_masked_by_type: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "written": self.written,
            "skipped_duplicates": self.duplicates,
            "dropped_pii": self.pii_dropped,
            "dropped_pii_by_type": dict(sorted(self.pii_dropped_by_type.items())),
            "dropped_secrets": self.secrets_dropped,
            "masked_pii_by_type": dict(sorted(self.pii_masked_by_type.items())),
            "filtered": self.filtered,
            "skipped_no_variables": self.no_variables,
            "skipped_variable_mismatch": self.mismatched,
        }


@dataclass(frozen=True)
class Selection:
    """Which generations a pull keeps: ``label`` (with the version holding it now, for generations
    that recorded no label) and ``filters`` (all must hold)."""

    label: str | None = None
    label_version: int | None = None
    filters: tuple[Filter, ...] = ()

    def keeps(self, generation: Generation, scores: Mapping[str, Sequence[float | str]]) -> bool:
        if self.label is not None:
            recorded = generation.label
            if recorded is not None and recorded != self.label:
                return False
            if recorded is None and (self.label_version is None or generation.prompt_version != self.label_version):
                return False
        return all(f.holds(generation.metrics, scores) for f in self.filters)


def item_id(generation: Generation) -> str:
    """``lf-`` + 16 hex digits of the trace and observation ids: the same generation, the same id."""
    digest = hashlib.sha256(f"{generation.trace_id}/{generation.id}".encode()).hexdigest()
    return f"lf-{digest[:16]}"


def input_key(values: Mapping[str, Any]) -> str:
    """Canonical JSON of an item's input in NFC: equal inputs, equal keys (key order, spacing and
    Unicode normalisation ignored: Hangul composed or as conjoining jamo reads the same)."""
    return unicodedata.normalize("NFC", json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def variable_problem(values: Mapping[str, Any], variables: Mapping[str, Variable], *, typed: bool) -> str | None:
    """Why ``values`` could not be an item of a prompt declaring ``variables`` (the checks of
    ``validate``: E203 missing, E204 undeclared, E208 wrong type), or None."""
    missing = sorted(n for n, v in variables.items() if v.required and n not in values)
    if missing:
        return f"lacks {', '.join(missing)}"
    unknown = sorted(values.keys() - variables.keys())
    if unknown:
        return f"has undeclared {', '.join(unknown)}"
    if typed:
        for name, value in values.items():
            problem = variables[name].type_error(value)
            if problem is not None:
                return f"{name}: {problem}"
    return None


@dataclass
class Dataset:
    """The target's items as far as duplicates go: ids and canonical inputs (existing and written)."""

    ids: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)


def consider(
    generation: Generation,
    *,
    scores: Mapping[str, Sequence[float | str]],
    selection: Selection,
    policy: PiiPolicy,
    variables: Mapping[str, Variable],
    typed: bool,
    dataset: Dataset,
    tally: Tally,
) -> dict[str, Any] | None:
    """The item to write for ``generation`` (a dict in the JSONL item shape), or None; counts it in
    ``tally`` and, when written, records its id and input in ``dataset``.

    Order: selection (label, filters) → variables recorded → id already in the dataset → PII policy
    over input and expected (a blocked type drops the item; any other finding — allowed company
    types too, since ``validate`` accepts none in a dataset of real data — is masked) → the prompt's
    variables → identical input already in the dataset → the finished line scanned once more, for
    personal data and for literal secrets (a key a caller pasted, a token an answer echoed: the
    secret scan of ``validate`` would reject the file, and a dataset is committed), either drops it.
    """
    tally.read += 1
    if not selection.keeps(generation, scores):
        tally.filtered += 1
        return None
    raw = generation.variables
    if raw is None:
        tally.no_variables += 1
        return None
    identifier = item_id(generation)
    if identifier in dataset.ids:
        tally.duplicates += 1
        return None
    guarded_input, guarded_expected = guard_data([raw, generation.output], policy, mask_allowed=True)
    blocked = guarded_input.blocked + guarded_expected.blocked
    if blocked:
        tally.pii_dropped += 1
        tally.pii_dropped_by_type.update(set(blocked))
        return None
    if variable_problem(guarded_input.value, variables, typed=typed) is not None:
        tally.mismatched += 1
        return None
    key = input_key(guarded_input.value)
    if key in dataset.inputs:
        tally.duplicates += 1
        return None
    item: dict[str, Any] = {"id": identifier, "input": guarded_input.value}
    if guarded_expected.value is not None:
        item["expected"] = guarded_expected.value
    item["metadata"] = _metadata(generation, selection, scores)
    residual = {f.type for f in detect(line(item)) if f.confidence >= policy.min_confidence}
    if residual:  # what `validate` would still call personal data (E601): never written
        tally.pii_dropped += 1
        tally.pii_dropped_by_type.update(residual)
        return None
    if find_secrets(line(item)):
        tally.secrets_dropped += 1
        return None
    tally.written += 1
    tally.pii_masked_by_type.update(guarded_input.masked + guarded_expected.masked)
    dataset.ids.add(identifier)
    dataset.inputs.add(key)
    return item


def _metadata(
    generation: Generation, selection: Selection, scores: Mapping[str, Sequence[float | str]]
) -> dict[str, Any]:
    """Where the item came from, for the reviewer: trace and observation ids, version, label, time,
    the scores the filters read (means), and that ``expected`` is the production answer, unreviewed."""
    metadata: dict[str, Any] = {
        "source": "langfuse",
        "expected_is": "production output (candidate: review it)",
        "langfuse_trace_id": generation.trace_id,
        "langfuse_observation_id": generation.id,
        "observed_at": generation.start_time,
    }
    if generation.prompt_version is not None:
        metadata["prompt_version"] = generation.prompt_version
    if generation.label is not None:
        metadata["prompt_label"] = generation.label
    names = {f.subject for f in selection.filters if f.is_score}
    read = {
        name: round(sum(numbers) / len(numbers), 4)
        for name, values in sorted(scores.items())
        if (name in names or "score" in names) and (numbers := [v for v in values if isinstance(v, int | float)])
    }
    if read:
        metadata["scores"] = read
    return metadata


def line(item: Mapping[str, Any]) -> str:
    """One JSONL line (no newline), UTF-8 text kept readable (``ensure_ascii=False``)."""
    return json.dumps(item, ensure_ascii=False)
