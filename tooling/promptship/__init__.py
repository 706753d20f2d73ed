"""promptship: GitOps prompt-as-code.

The public API. Functions and result types are imported lazily so that importing the package (and
``promptship --help``) stays cheap; type checkers see them through the ``TYPE_CHECKING`` imports.

- ``load_repo(root, ref=None)`` → ``LoadResult`` / ``validate_repo(root, ref=None)`` → ``list[Diagnostic]``;
  ``load_valid_repo`` → ``Repository`` or ``RepositoryInvalid``.
- ``render_prompt(prompt, variables)``: the messages a prompt sends.
- ``evaluate(root, EvalRequest(...))`` → ``EvalOutcome``: run eval suites (the library behind ``promptship eval``).
- ``run_diff(root, DiffRequest(...))`` → ``DiffReport``: base vs head comparison (``promptship diff``).
- ``Client``: the runtime SDK (prompt by label, completion with routing, PII guard and tracing) →
  ``CompletionResult``, whose ``usage`` is a ``Usage`` (tokens in/out, cost, latency, attempts).
- ``load_usage_report(root, env, since=..., until=..., by=...)`` → ``UsageReport``: calls, cost, tokens,
  errors and latency per group from the ``UsageRow`` s the SDK and the gateway record (``promptship usage``).
- ``pull_dataset(root, repo, TraceReader(LangfuseStore(LangfuseSettings...)), PullRequest(...))`` →
  ``PullResult``: production calls traced in Langfuse into a reviewed dataset file (``promptship dataset pull``).
- Errors: ``PromptshipError`` and its category classes (``UserInputError``, ``ConfigurationError``,
  ``ProviderError``, ``PublishingError``, ``InternalError``) with their concrete classes; ``CODES`` is
  the code table (code → name, category, raising class).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    CODES,
    CacheMissError,
    Category,
    ConfigurationError,
    CredentialError,
    Diagnostic,
    GitError,
    GitHubError,
    GitHubUnavailable,
    InternalError,
    LocalModelCannotEmbed,
    LocalModelUnavailable,
    MalformedMessageError,
    ModelCallFailed,
    PiiBlockedError,
    PromptNotFound,
    PromptshipError,
    ProviderError,
    PublishingError,
    RenderError,
    RepositoryInvalid,
    SyncError,
    UsageError,
    UsageStoreError,
    UserInputError,
)

if TYPE_CHECKING:
    from .diff.change import DiffReport, DiffRequest, run_diff
    from .eval.evaluation import EvalOutcome, EvalRequest, evaluate
    from .files.render import render_prompt
    from .files.repo import LoadResult, Repository, load_repo
    from .files.validate import load_valid_repo, validate_repo
    from .llm.usage import Usage
    from .ops.usage import UsageRow
    from .ops.usage_report import UsageReport, load_usage_report
    from .publish.pull import PullRequest, PullResult, TraceReader, pull_dataset
    from .publish.sync import LangfuseSettings, LangfuseStore
    from .runtime.sdk import Client, CompletionResult

_LAZY = {
    "load_repo": "files.repo",
    "LoadResult": "files.repo",
    "Repository": "files.repo",
    "load_valid_repo": "files.validate",
    "validate_repo": "files.validate",
    "render_prompt": "files.render",
    "evaluate": "eval.evaluation",
    "EvalRequest": "eval.evaluation",
    "EvalOutcome": "eval.evaluation",
    "run_diff": "diff.change",
    "DiffRequest": "diff.change",
    "DiffReport": "diff.change",
    "Client": "runtime.sdk",
    "CompletionResult": "runtime.sdk",
    "Usage": "llm.usage",
    "UsageRow": "ops.usage",
    "UsageReport": "ops.usage_report",
    "load_usage_report": "ops.usage_report",
    "pull_dataset": "publish.pull",
    "PullRequest": "publish.pull",
    "PullResult": "publish.pull",
    "TraceReader": "publish.pull",
    "LangfuseSettings": "publish.sync",
    "LangfuseStore": "publish.sync",
}

__all__ = [
    "CODES",
    "CacheMissError",
    "Category",
    "Client",
    "CompletionResult",
    "ConfigurationError",
    "CredentialError",
    "Diagnostic",
    "DiffReport",
    "DiffRequest",
    "EvalOutcome",
    "EvalRequest",
    "GitError",
    "GitHubError",
    "GitHubUnavailable",
    "InternalError",
    "LangfuseSettings",
    "LangfuseStore",
    "LoadResult",
    "LocalModelCannotEmbed",
    "LocalModelUnavailable",
    "MalformedMessageError",
    "ModelCallFailed",
    "PiiBlockedError",
    "PromptNotFound",
    "PromptshipError",
    "ProviderError",
    "PublishingError",
    "PullRequest",
    "PullResult",
    "RenderError",
    "Repository",
    "RepositoryInvalid",
    "SyncError",
    "TraceReader",
    "Usage",
    "UsageError",
    "UsageReport",
    "UsageRow",
    "UsageStoreError",
    "UserInputError",
    "evaluate",
    "load_repo",
    "load_usage_report",
    "load_valid_repo",
    "pull_dataset",
    "render_prompt",
    "run_diff",
    "validate_repo",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'promptship' has no attribute {name!r}")
    return getattr(import_module(f"promptship.{_LAZY[name]}"), name)
