"""Classification: label_accuracy (the run aggregates a per-label confusion matrix from `detail`)."""

from __future__ import annotations

from pydantic import Field

from .registry import Params, Sample, Score, evaluator


class LabelParams(Params):
    labels: list[str] = Field(min_length=2, description="The allowed labels.")
    case_sensitive: bool = False


def extract_label(output: str, params: LabelParams) -> str | None:
    """The allowed label the output names: an exact answer, else the earliest label mentioned."""

    def fold(s: str) -> str:
        return s if params.case_sensitive else s.casefold()

    text = fold(output.strip().strip(".!\"'` "))
    for label in params.labels:
        if text == fold(label):
            return label
    positions = [(fold(output).find(fold(label)), label) for label in params.labels]
    found = sorted((pos, -len(label), label) for pos, label in positions if pos >= 0)
    return found[0][2] if found else None


@evaluator("label_accuracy", LabelParams, reads=("expected",))
def label_accuracy(params: LabelParams, sample: Sample) -> Score:
    """1 when the predicted label equals `expected`; records predicted/expected for the confusion matrix."""
    predicted = extract_label(sample.output, params)
    expected = str(sample.expected) if sample.expected is not None else None
    ok = predicted is not None and expected is not None and predicted.casefold() == expected.casefold()
    return Score(float(ok), ok, {"predicted": predicted, "expected": expected})
