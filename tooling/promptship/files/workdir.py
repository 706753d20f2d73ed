"""``.promptship/``: promptship's working folder in a repository (run artifacts, caches)."""

from __future__ import annotations

from pathlib import Path

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
