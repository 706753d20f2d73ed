"""``.promptship/``: promptship's working folder in a repository (run artifacts, caches)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import GitError, UsageError
from .sources import tracked_files

NAME = ".promptship"


def workdir(root: Path) -> Path:
    """``root/.promptship``, created holding a ``.gitignore`` of ``*`` (as pytest does for its cache),
    so ``git add -A`` never commits runs or caches, whatever the repository's own .gitignore says
    (``diff`` refuses results tracked by git)."""
    path = root / NAME
    ignore = path / ".gitignore"
    if not ignore.exists():
        try:
            path.mkdir(parents=True, exist_ok=True)
            ignore.write_text("# promptship's runs and caches: never committed\n*\n", encoding="utf-8")
        except OSError:
            pass  # a read-only checkout: nothing will be written here either
    return path


def refuse_tracked_results(root: Path, results_dirs: Sequence[Path] = ()) -> None:
    """:class:`UsageError` (E910) when git tracks anything under ``.promptship/`` or a results folder.

    Stored runs and cached answers are trusted as evidence (``diff``'s gates, ``eval --publish``), so
    they must come from promptship (or the CI cache), never from the tree under review: a PR could
    commit a made-up run whose fingerprint matches, or cached answers a model never gave. Outside a
    git repository nothing is tracked and nothing is refused.
    """
    try:
        tracked = tracked_files(root, [Path(NAME), *results_dirs])
    except GitError:
        return  # not a git repository (or no git): nothing can be tracked
    if tracked:
        raise UsageError(
            f"{len(tracked)} stored run or cache file(s) are tracked by git (e.g. {tracked[0]}); "
            "promptship trusts only results it produced itself",
            code="E910",
            hint="untrack them: git rm -r --cached .promptship && echo .promptship/ >> .gitignore",
        )
