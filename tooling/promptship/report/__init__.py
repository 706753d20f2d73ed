"""Runs and comparisons as text, and where the text goes: ``markdown.py`` builds the PR comment (always
within GitHub's limit), ``html.py`` a self-contained page, ``jsonout.py`` JSON, ``console.py`` terminal
tables, ``versions.py`` the live comparison of prompt versions (``usage --by version``); ``github.py``
posts the sticky PR comment and the job summary."""

from __future__ import annotations

__all__ = ["console", "github", "html", "jsonout", "markdown", "versions"]
