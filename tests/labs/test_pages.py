"""Prompt pages read Langfuse (when configured) to say which version and commit serves each label."""

from __future__ import annotations

import httpx

from ..conftest import git
from .conftest import LabsServer


def test_prompt_page_shows_which_commit_each_langfuse_label_serves(
    labs_server: LabsServer, langfuse_double, run_cli
) -> None:
    root = labs_server.root
    main_sha = git(root, "rev-parse", "main").strip()
    assert run_cli("--root", str(root), "sync", "--ref", "main", "--apply").code == 0
    page = httpx.get(f"{labs_server.url}/prompts/classify").text
    table = page.split('id="labels"')[1].split("</table>")[0]
    assert "<td>production</td><td>1</td>" in table and main_sha[:12] in table
    assert langfuse_double.secret_key not in page
