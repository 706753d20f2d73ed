"""One exception tree, one code table, and the diagnostic type for every user-facing problem.

Library code raises :class:`PromptshipError` subclasses (or returns :class:`Diagnostic` lists from
validation). Every code is defined once, in :data:`CODES`, with its short name, its
:class:`Category` and the one class that raises it (``None``: reported only as a diagnostic).
The edges map a category to what they answer, each in one place: the CLI to an exit status
(:data:`EXIT_STATUS`, applied by ``promptship.cli.main``), the gateway to an HTTP status
(``promptship.runtime.gateway.errors.STATUS``). A user mistake never shows a Python traceback.

The tree (each class raises only codes of its category)::

    PromptshipError
    ├── UserInputError ........ the invocation, a request or the repository's files are wrong
    │   ├── UsageError, GitError, RepositoryInvalid, RenderError
    │   ├── PiiBlockedError, MalformedMessageError, PromptNotFound
    ├── ConfigurationError .... the environment is incomplete (a credential, an optional package)
    │   ├── CredentialError, LocalModelUnavailable
    ├── ProviderError ......... no model answer could be had
    │   ├── ModelCallFailed, CacheMissError
    ├── PublishingError ....... Langfuse or GitHub failed or cannot be written safely
    │   ├── SyncError, GitHubError ─ GitHubUnavailable
    └── InternalError ......... a bug in promptship
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from .files.schema.run import Attempt
    from .pii.finding import Finding

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_FAILED = 1  # validation failed, a gate failed, drift found; a provider or publishing failure
EXIT_USAGE = 2  # bad invocation, invalid repository, bad configuration
EXIT_NOT_EVALUATED = 3  # eval/diff: calls failed or were interrupted, so quality could not be judged


class Category(StrEnum):
    """Whose move it is: what the user typed or committed, the environment, a vendor, a publisher, or us."""

    USER_INPUT = "user input"
    CONFIGURATION = "configuration"
    PROVIDER = "provider"
    PUBLISHING = "publishing"
    INTERNAL = "internal"


#: The CLI's exit status for an error of each category (the only place that picks it; the one
#: exception is :class:`RepositoryInvalid`, the verdict of ``validate``: 1, except in ``diff``).
EXIT_STATUS: dict[Category, int] = {
    Category.USER_INPUT: EXIT_USAGE,
    Category.CONFIGURATION: EXIT_USAGE,
    Category.PROVIDER: EXIT_FAILED,
    Category.PUBLISHING: EXIT_FAILED,
    Category.INTERNAL: EXIT_FAILED,
}


@dataclass(frozen=True)
class Code:
    """One row of the code table: ``E101`` ``undeclared-variable``, its category, the class raising it."""

    code: str
    name: str
    category: Category
    raised_by: str | None = None
    #: Reported by ``validate`` as a :class:`Diagnostic` (some are also raised, e.g. by rendering).
    diagnostic: bool = False


_U, _C, _P, _X, _I = (
    Category.USER_INPUT,
    Category.CONFIGURATION,
    Category.PROVIDER,
    Category.PUBLISHING,
    Category.INTERNAL,
)


def _diagnostic(code: str, name: str, category: Category, raised_by: str | None = None) -> Code:
    return Code(code, name, category, raised_by, diagnostic=True)


_ROWS = [
    # Diagnostics of `validate` (files in the repository).
    _diagnostic("E001", "yaml-syntax", _U),
    _diagnostic("E002", "missing-field", _U),
    _diagnostic("E003", "unknown-field", _U),
    _diagnostic("E004", "invalid-value", _U),
    _diagnostic("E005", "unexpected-file", _U),
    _diagnostic("E006", "not-utf8", _U),
    _diagnostic("E101", "undeclared-variable", _U),
    _diagnostic("E102", "unused-variable", _U),
    _diagnostic("E103", "template-syntax", _U, "RenderError"),
    _diagnostic("E104", "unknown-model-alias", _U),
    _diagnostic("E201", "dataset-files", _U),
    _diagnostic("E202", "duplicate-item-id", _U),
    _diagnostic("E203", "missing-item-variable", _U, "RenderError"),
    _diagnostic("E204", "unknown-item-variable", _U, "RenderError"),
    _diagnostic("E205", "invalid-jsonl", _U),
    _diagnostic("E206", "dataset-unknown-prompt", _U),
    _diagnostic("E207", "csv-mapping", _U),
    _diagnostic("E208", "item-variable-type", _U, "RenderError"),
    _diagnostic("E209", "empty-dataset", _U),
    _diagnostic("E301", "suite-unknown-prompt", _U),
    _diagnostic("E302", "suite-unknown-dataset", _U),
    _diagnostic("E303", "suite-unknown-alias", _U),
    _diagnostic("E304", "unknown-evaluator", _U),
    _diagnostic("E305", "invalid-evaluator-params", _U),
    _diagnostic("E306", "unknown-gate-metric", _U),
    _diagnostic("E307", "dataset-prompt-mismatch", _U),
    _diagnostic("E308", "item-without-expected", _U),
    _diagnostic("E401", "fallback-cycle", _U),
    _diagnostic("E402", "unknown-fallback-alias", _U),
    _diagnostic("E403", "unpriced-model", _U),
    _diagnostic("E404", "profile-unknown-alias", _U),
    _diagnostic("E405", "missing-routing-policy", _U),
    _diagnostic("E406", "project-without-budget", _U),
    _diagnostic("E407", "alias-kind-mismatch", _U),
    _diagnostic("E408", "split-unknown-prompt", _U),
    _diagnostic("E409", "split-unpublished-label", _U),
    _diagnostic("E501", "literal-secret", _U),
    _diagnostic("E601", "pii-in-file", _U),
    # Command errors.
    Code("E000", "usage", _U, "UsageError"),
    Code("E602", "pii-blocked", _U, "PiiBlockedError"),
    Code("E603", "pii-scan-input", _U, "UsageError"),
    Code("E604", "pii-scan-path", _U, "UsageError"),
    Code("E605", "unreadable-message", _U, "MalformedMessageError"),
    Code("E801", "missing-credential", _C, "CredentialError"),
    Code("E802", "local-model-missing", _C, "LocalModelUnavailable"),
    Code("E803", "local-model-cannot-embed", _C, "LocalModelCannotEmbed"),
    Code("E810", "model-call-failed", _P, "ModelCallFailed"),
    Code("E811", "cache-miss", _P, "CacheMissError"),
    Code("E820", "langfuse-failed", _X, "SyncError"),
    Code("E822", "ledger-commit-unknown", _X, "SyncError"),
    Code("E823", "sync-not-converging", _X, "SyncError"),
    Code("E824", "experiment-items-unmatched", _X, "SyncError"),
    Code("E830", "prompt-not-found", _U, "PromptNotFound"),
    Code("E900", "repository-invalid", _U, "RepositoryInvalid"),
    Code("E901", "github-token-missing", _C, "CredentialError"),
    Code("E902", "github-unavailable", _X, "GitHubUnavailable"),
    Code("E903", "github-refused", _X, "GitHubError"),
    Code("E904", "invalid-repository-name", _U, "UsageError"),
    Code("E905", "comment-too-long", _U, "UsageError"),
    Code("E906", "invalid-head-sha", _U, "UsageError"),
    Code("E907", "no-pr-for-head", _U, "UsageError"),
    Code("E908", "untrusted-pr-number", _U, "UsageError"),
    Code("E909", "several-prs-for-head", _U, "UsageError"),
    Code("E910", "results-tracked-by-git", _U, "UsageError"),
    Code("E920", "git-failed", _U, "GitError"),
    Code("E940", "init-would-overwrite", _U, "UsageError"),
    Code("E941", "invalid-action-ref", _U, "UsageError"),
    Code("E942", "import-would-overwrite", _U, "UsageError"),
    Code("E943", "routing-aliases-not-block", _U, "UsageError"),
    Code("E944", "unreadable-import", _U, "UsageError"),
    Code("E945", "import-without-model", _U, "UsageError"),
    Code("E950", "labs-needs-token", _U, "UsageError"),
    Code("E951", "branch-refused", _U, "BranchRefused"),
    Code("E952", "edit-rejected", _U, "EditRejected"),
    Code("E953", "push-failed", _X, "PushFailed"),
    Code("E960", "usage-store-unavailable", _C, "UsageStoreError"),
    Code("E961", "usage-store-unsupported", _C, "UsageStoreError"),
    Code("E962", "invalid-time", _U, "UsageError"),
    Code("E970", "invalid-pull-filter", _U, "UsageError"),
    Code("E971", "invalid-pull-target", _U, "UsageError"),
    Code("E980", "invalid-shard", _U, "UsageError"),
    Code("E981", "shards-do-not-merge", _U, "UsageError"),
    Code("E990", "gateway-workers-need-redis", _U, "UsageError"),
    Code("E999", "internal", _I, "InternalError"),
]

#: Every code promptship reports, defined once (documented in docs/formats.md).
CODES: dict[str, Code] = {row.code: row for row in _ROWS}

#: The diagnostic codes of ``validate`` with their short names (``E101`` → ``undeclared-variable``).
DIAGNOSTIC_CODES: dict[str, str] = {row.code: row.name for row in _ROWS if row.diagnostic}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem found in a repository file, located at ``path:line:col`` (1-based)."""

    path: str
    line: int
    col: int
    code: str
    message: str
    hint: str | None = field(default=None, compare=False)
    severity: Literal["error", "warning"] = field(default="error", compare=False)

    def format(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.severity}[{self.code}] {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class PromptshipError(Exception):
    """Base of every error promptship reports to a user.

    ``code`` is stable (a row of :data:`CODES`, documented in docs/formats.md), ``hint`` says how to
    fix it, and ``path``/``line``/``col`` locate it when it comes from a repository file. Its
    :attr:`category` (from the code's row) decides the CLI's exit status and the gateway's HTTP status.
    """

    #: The code a class raises when none is given.
    default_code: ClassVar[str] = "E999"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint
        self.path = path
        self.line = line
        self.col = col

    @property
    def category(self) -> Category:
        """The category of this error's code (``internal`` for a code missing from the table: a bug)."""
        row = CODES.get(self.code)
        return row.category if row else Category.INTERNAL

    @property
    def exit_code(self) -> int:
        """The CLI's exit status: :data:`EXIT_STATUS` of the category."""
        return EXIT_STATUS[self.category]

    def format(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + (f":{self.col}" if self.col else "")
            where += ": "
        text = f"{where}error[{self.code}] {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


# ---------------------------------------------------------------------------------------- categories


class UserInputError(PromptshipError):
    """The invocation, a request or the repository's files are wrong; the user can fix it."""

    default_code = "E000"


class ConfigurationError(PromptshipError):
    """The environment is incomplete: a credential is not set, an optional package is missing."""


class ProviderError(PromptshipError):
    """No model answer could be had (every attempt failed, or the cache was required and missed)."""


class PublishingError(PromptshipError):
    """Langfuse or GitHub failed after retries, or a write cannot be decided safely."""


class InternalError(PromptshipError):
    """A bug in promptship; the message asks to report it."""


# ---------------------------------------------------------------------------------------- user input


class UsageError(UserInputError):
    """The command was invoked wrongly (unknown prompt name, bad --var syntax, ...)."""


class GitError(UserInputError):
    """A git ref could not be resolved or read."""

    default_code = "E920"


class RepositoryInvalid(UserInputError):
    """The repository has errors, so a command that needs a valid tree cannot run."""

    default_code = "E900"

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        where: str = "the repository",
        hint: str = "run `promptship validate` and fix the errors it lists",
    ) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{where} has {len(errors)} error(s)", hint=hint)
        self.diagnostics = diagnostics
        #: Exit 1 like ``validate`` (the check failed); ``diff``, where 1 means a gate failed, clears it.
        self.verdict = True

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.verdict else EXIT_STATUS[self.category]

    def format(self) -> str:
        lines = [d.format() for d in self.diagnostics if d.severity == "error"]
        return "\n".join([*lines, super().format()])


class RenderError(UserInputError):
    """A prompt could not be rendered with the given variables."""

    default_code = "E103"


class PiiBlockedError(UserInputError):
    """A request carried personal data that the policy blocks. Never contains the values.

    ``located`` pairs each finding with where it is (``message 2``, ``message 2 name``,
    ``message 3 tool_calls[0].function.arguments``…); positions are character offsets in that string.
    """

    default_code = "E602"

    def __init__(self, located: list[tuple[str, Finding]]) -> None:
        self.findings = [f for _, f in located]
        self.types = sorted({f.type for f in self.findings})
        where = ", ".join(f"{f.type} at {place} chars {f.start}-{f.end}" for place, f in located[:10])
        more = f" and {len(located) - 10} more" if len(located) > 10 else ""
        super().__init__(
            f"blocked by the PII policy: {where}{more}",
            hint="remove the personal data, or change policies/pii.yaml if this type may be sent (mask or allow)",
        )


class MalformedMessageError(UserInputError):
    """A chat message the guard cannot read completely; it is refused rather than sent unchecked."""

    default_code = "E605"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="send OpenAI chat messages: content is a string or a list of parts")


class PromptNotFound(UserInputError):
    """No prompt with that name and label in Langfuse or in the bundled files."""

    default_code = "E830"


class EditRejected(UserInputError):
    """A Labs edit cannot be saved: ``validate`` errors (in :attr:`diagnostics`), nothing changed, a bad path."""

    default_code = "E952"

    def __init__(self, message: str, *, hint: str | None = None, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics or []


class BranchRefused(UserInputError):
    """Labs would not create the branch: the name is not valid, or the branch exists (it never moves one)."""

    default_code = "E951"


# ---------------------------------------------------------------------------------------- configuration


class CredentialError(ConfigurationError):
    """A credential named by a policy (or GITHUB_TOKEN) is missing. Messages name the variable, never a value."""

    default_code = "E801"


class UsageStoreError(ConfigurationError):
    """The usage store cannot be opened or read (E960), or its URL names an unsupported kind (E961)."""

    default_code = "E960"


class LocalModelUnavailable(ConfigurationError):
    """The embedded local model (``promptship[local]``) is not installed."""

    default_code = "E802"


class LocalModelCannotEmbed(ConfigurationError):
    """An embedding alias is served by the embedded chat model, which cannot embed."""

    default_code = "E803"


# ---------------------------------------------------------------------------------------- provider


class ModelCallFailed(ProviderError):
    """Every attempt (retries and fallbacks) failed. ``kind`` is the last failure's outcome."""

    default_code = "E810"

    def __init__(
        self,
        message: str,
        kind: str,
        attempts: list[Attempt],
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        vendor_code: str | None = None,
        vendor_message: str | None = None,
    ) -> None:
        super().__init__(message, hint="see the attempts recorded in the run artifact")
        self.kind = kind
        self.attempts = attempts
        #: Of the last failure: HTTP status, Retry-After (s), the vendor's error code and message
        #: (the message unscrubbed: it may echo a key).
        self.status = status
        self.retry_after_s = retry_after_s
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message


class CacheMissError(ProviderError):
    """``--cache-only`` was asked and a request is not in the response cache."""

    default_code = "E811"


# ---------------------------------------------------------------------------------------- publishing


class SyncError(PublishingError):
    """Publishing to Langfuse failed (after retries) or cannot be decided safely."""

    default_code = "E820"


class PushFailed(PublishingError):
    """Pushing the branch Labs committed failed (the branch stays committed locally)."""

    default_code = "E953"


class GitHubError(PublishingError):
    """GitHub refused a request (permissions, a missing PR)."""

    default_code = "E903"


class GitHubUnavailable(GitHubError):
    """GitHub did not give a final answer (5xx, rate limit, network): the request may be retried.

    ``retry_after`` is how long GitHub asked to wait (or the backoff), in seconds.
    """

    default_code = "E902"

    def __init__(self, message: str, *, hint: str, retry_after: float) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


#: Every public error class by name (the code table's ``raised_by`` refers to these).
ERROR_CLASSES: dict[str, type[PromptshipError]] = {
    cls.__name__: cls
    for cls in (
        UsageError,
        GitError,
        RepositoryInvalid,
        RenderError,
        PiiBlockedError,
        MalformedMessageError,
        PromptNotFound,
        EditRejected,
        BranchRefused,
        CredentialError,
        UsageStoreError,
        LocalModelUnavailable,
        LocalModelCannotEmbed,
        ModelCallFailed,
        CacheMissError,
        SyncError,
        PushFailed,
        GitHubError,
        GitHubUnavailable,
        InternalError,
    )
}
