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


def test_single_test_streams_the_answer_piece_by_piece_as_ndjson(labs_server: LabsServer) -> None:
    import json

    with httpx.Client(base_url=labs_server.url) as client:
        csrf = client.get("/test").text.split('name="labs-csrf" content="')[1].split('"')[0]
        body = {"prompt": "classify", "variables": {"review": "<b> please"}, "aliases": ["fast"]}
        with client.stream("POST", "/api/test", json=body, headers={"X-Labs-CSRF": csrf}) as response:
            assert response.headers["content-type"].startswith("application/x-ndjson")
            events = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "request" and kinds[-1] == "done" and kinds.count("piece") >= 3
    text = "".join(e["text"] for e in events if e["type"] == "piece")
    assert text == "<b>bold</b><script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
    blocked = {"prompt": "classify", "variables": {"review": "주민번호 900101-1234568"}, "aliases": ["fast"]}
    with httpx.Client(base_url=labs_server.url) as client:
        answer = client.post("/api/test", json=blocked, headers={"X-Labs-CSRF": csrf}).text
    error = json.loads(answer.splitlines()[0])
    assert error["type"] == "error" and error["code"] == "E602" and "900101" not in answer


def test_run_and_compare_pages_show_the_first_rows_of_a_large_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A run page lists the first PAGE_ROWS samples in item order and says how many there are; a
    comparison's statistics still cover every item."""
    from concurrent.futures import ThreadPoolExecutor

    from promptship.eval.evaluation import EvalRequest, evaluate
    from promptship.labs import pages
    from promptship.labs.runstore import run_id

    from ..doubles.fake_llm import FakeLLM
    from .conftest import FAKE_KEY, make_scratch_repo, rules

    root = make_scratch_repo(tmp_path / "repo")
    with FakeLLM(rules()) as llm:
        monkeypatch.setenv("FAKE_LLM_BASE", llm.base_url)
        monkeypatch.setenv("FAKE_LLM_KEY", FAKE_KEY)
        # On a thread of its own, as Labs runs experiments (the browser tests leave an event loop on this one).
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(evaluate, root, EvalRequest(["classify"], cache_mode="off")).result()
            second = pool.submit(evaluate, root, EvalRequest(["classify-terse"], cache_mode="off")).result()
    monkeypatch.setattr(pages, "PAGE_ROWS", 4)
    ids = [run_id(o.saved[0], o.runs[0]) for o in (first, second)]
    page = pages.run_page(root, ids[0])
    samples = first.runs[0].sample_count
    assert samples > 4 and page["rows_total"] == samples
    assert [(r.sample.item_id, r.sample.model) for r in page["rows"]] == [
        (s.item_id, s.model) for s in list(first.runs[0].samples)[:4]
    ]
    compared = pages.compare_page(root, ",".join(ids))["comparison"]
    assert [r.item_id for r in compared.rows] == ["r01", "r02", "r03", "r04"] and compared.items_total == 6
    assert all(m.items == 6 for v in compared.versus_baseline if v for m in v.metrics), "statistics cover every item"
