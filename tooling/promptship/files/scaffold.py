"""``promptship init``: write a working starter repository (files shipped in ``files/starter/``).

The starter holds an example prompt, its dataset and suite, policies with an ``offline`` profile, the
JSON Schemas (generated from the format models, so they are never stale), a pre-commit config, the
three GitHub workflows (pull request, comment, main) and a README. It validates and runs
``promptship eval --profile offline`` as written.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from ..errors import UsageError

#: Starter file names that would be hidden (or ignored by packaging) under their real name.
_RENAMED = {"dot-github": ".github", "gitignore": ".gitignore", "pre-commit-config.yaml": ".pre-commit-config.yaml"}
#: Token in the workflow templates replaced by the ``uses:`` reference of promptship's action.
ACTION_TOKEN = "@@ACTION@@"
#: ``OWNER/REPO[/PATH]@REF`` or a local ``./PATH`` (what a workflow's ``uses:`` accepts).
_ACTION = re.compile(r"^(\./[\w./-]*|[\w.-]+/[\w.-]+(/[\w./-]+)?@[\w./-]+)$")


@dataclass(frozen=True)
class StarterFile:
    path: str  # POSIX path relative to the target directory
    text: str


def default_action() -> str:
    """``promptship/promptship@v<installed version>``: the action of the promptship that wrote the files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"promptship/promptship@v{version('promptship')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "promptship/promptship@main"


def _walk(node: Traversable, prefix: PurePosixPath) -> list[tuple[PurePosixPath, Traversable]]:
    found = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        path = prefix / _RENAMED.get(child.name, child.name)
        found += _walk(child, path) if child.is_dir() else [(path, child)]
    return found


#: The example content (left out by ``init --no-example``, e.g. before importing prompts).
EXAMPLE_DIRS = ("prompts/", "datasets/", "evals/")


def starter_files(action: str, *, example: bool = True) -> list[StarterFile]:
    """Every file ``init`` writes, in path order; ``action`` fills the workflows' ``uses:``;
    without ``example``, no example prompt, dataset or suite.

    Raises :class:`UsageError` (E941) when ``action`` is not something ``uses:`` accepts.
    """
    from .schema import schema_documents

    if not _ACTION.match(action):
        raise UsageError(
            f"--action {action!r} is not OWNER/REPO@REF or ./PATH",
            code="E941",
            hint="e.g. --action my-org/promptship@v0.1.0 (pin a commit sha for supply-chain safety)",
        )
    files = [
        StarterFile(str(path), entry.read_text(encoding="utf-8").replace(ACTION_TOKEN, action))
        for path, entry in _walk(resources.files("promptship.files").joinpath("starter"), PurePosixPath())
    ]
    files += [StarterFile(f"schemas/{name}", text) for name, text in schema_documents().items()]
    if not example:
        files = [f for f in files if not f.path.startswith(EXAMPLE_DIRS)]
    return sorted(files, key=lambda f: f.path)


def _inside_git(target: Path) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=target, capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stdout.strip() == "true"


def scaffold(target: Path, *, action: str | None = None, git: bool = True, example: bool = True) -> list[str]:
    """Write the starter repository into ``target`` (created when missing); return the paths written.

    Refuses (:class:`UsageError` E940, nothing written) when any file it would write already exists,
    or ``target`` is a file. With ``git``, a directory outside any git work tree becomes a repository
    on branch ``main`` (git itself is then required).
    """
    files = starter_files(action or default_action(), example=example)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file", code="E940", hint="give a directory (new or existing)")
    clashes = [f.path for f in files if (target / f.path).exists() or (target / f.path).is_symlink()]
    if clashes:
        shown = ", ".join(clashes[:5]) + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else "")
        raise UsageError(
            f"{target}: {len(clashes)} file(s) already exist: {shown}; nothing was written",
            code="E940",
            hint="init never overwrites: run it in an empty or new directory, or move those files away",
        )
    for starter in files:
        path = target / starter.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter.text, encoding="utf-8")
    if git and not _inside_git(target):
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True, capture_output=True)
    return [f.path for f in files]
