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


def test_an_experiment_on_an_invalid_tree_reports_validates_located_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from promptship.labs.app import LabsConfig, create_app
    from promptship.labs.security import access_for

    from .conftest import make_scratch_repo, serving

    root = make_scratch_repo(tmp_path / "repo")
    prompt = root / "prompts/classify.yaml"
    prompt.write_text(prompt.read_text().replace("{{ review }}", "{{ reviw }}"))
    with (
        serving(create_app(LabsConfig(root, access_for("127.0.0.1", None)))) as url,
        httpx.Client(base_url=url) as client,
    ):
        csrf = client.get("/runs").text.split('name="labs-csrf" content="')[1].split('"')[0]
        headers = {"X-Labs-CSRF": csrf}
        unknown = client.post("/api/experiments", json={"suite": "nope"}, headers=headers)
        assert unknown.status_code == 400 and "unknown suite 'nope'" in unknown.json()["error"]["message"]
        job = client.post("/api/experiments", json={"suite": "classify"}, headers=headers).json()
        with client.stream("GET", f"/api/experiments/{job['id']}/events") as events:
            last = [json.loads(line[5:]) for line in events.iter_lines() if line.startswith("data:")][-1]
    assert last["status"] == "failed"
    assert (
        "prompts/classify.yaml:13:" in last["error"]
        and "error[E101]" in last["error"]
        and "error[E900]" in last["error"]
    )
    assert not (root / ".promptship/runs").exists() or not list((root / ".promptship/runs").rglob("*.json"))
