"""promptship: GitOps prompt-as-code.

The public API, imported lazily so that importing the package (and `promptship --help`) stays cheap:

- ``load_repo(root, ref=None)`` / ``validate_repo(root, ref=None)``: the repository as typed objects;
  diagnostics.
- ``render_prompt(prompt, variables)``: the messages a prompt sends.
- ``evaluate(root, EvalRequest(...))``: run eval suites (the library behind ``promptship eval``).
- ``run_diff(root, DiffRequest(...))``: base vs head comparison (``promptship diff``).
- ``Client``: the runtime SDK (prompt by label, completion with routing, PII guard and tracing).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_repo": "files.repo",
    "load_valid_repo": "files.validate",
    "validate_repo": "files.validate",
    "render_prompt": "files.render",
    "evaluate": "eval.evaluation",
    "EvalRequest": "eval.evaluation",
    "run_diff": "diff.change",
    "DiffRequest": "diff.change",
    "Client": "runtime.sdk",
    "CompletionResult": "runtime.sdk",
    "PromptshipError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'promptship' has no attribute {name!r}")
    return getattr(import_module(f"promptship.{_EXPORTS[name]}"), name)
