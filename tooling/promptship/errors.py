"""One exception hierarchy and one diagnostic type for every user-facing problem.

Library code raises :class:`PromptshipError` subclasses (or returns :class:`Diagnostic` lists from
validation). Only the CLI edge (``promptship.cli.main``) turns them into text and an exit code, so a
user mistake never shows a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_FAILED = 1  # validation failed, a gate failed, drift found
EXIT_USAGE = 2  # bad invocation, bad configuration, unreachable service


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

    ``code`` is stable (documented in docs/formats.md), ``hint`` says how to fix it, and
    ``path``/``line``/``col`` locate it when it comes from a repository file.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        code: str = "E000",
        hint: str | None = None,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.path = path
        self.line = line
        self.col = col

    def format(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + (f":{self.col}" if self.col else "")
            where += ": "
        text = f"{where}error[{self.code}] {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class UsageError(PromptshipError):
    """The command was invoked wrongly (unknown prompt name, bad --var syntax, ...)."""


class GitError(PromptshipError):
    """A git ref could not be resolved or read."""


class RepositoryInvalid(PromptshipError):
    """The repository has errors, so a command that needs a valid tree cannot run."""

    exit_code = EXIT_FAILED

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        where: str = "the repository",
        hint: str = "run `promptship validate` and fix the errors it lists",
    ) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{where} has {len(errors)} error(s)", code="E900", hint=hint)
        self.diagnostics = diagnostics

    def format(self) -> str:
        lines = [d.format() for d in self.diagnostics if d.severity == "error"]
        return "\n".join([*lines, super().format()])


class RenderError(PromptshipError):
    """A prompt could not be rendered with the given variables."""


class CredentialError(PromptshipError):
    """A credential named by a policy is missing. Messages name the variable, never a value."""


class SyncError(PromptshipError):
    """Publishing to Langfuse failed (after retries) or cannot be decided safely."""

    exit_code = EXIT_FAILED
