"""The Langfuse double's trace reads behave as the API document says (a wrong client fails here)."""

from __future__ import annotations

import json

import httpx

from .langfuse_api import LangfuseDouble


def get(double: LangfuseDouble, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{double.host}{path}", params=params, auth=(double.public_key, double.secret_key))


def test_observations_follow_the_documented_parameters(langfuse_double: LangfuseDouble) -> None:
    long = {"review": "x" * 300}
    langfuse_double.traces.add_generation("classify", 2, variables=long, output="positive")
    langfuse_double.traces.add_generation("other", 1, variables={"review": "y"})
    by_prompt = json.dumps([{"type": "string", "column": "promptName", "operator": "=", "value": "classify"}])
    default = get(langfuse_double, "/api/public/v2/observations", filter=by_prompt).json()["data"]
    assert len(default) == 1 and "input" not in default[0] and "name" in default[0], "core and basic by default"
    io = get(langfuse_double, "/api/public/v2/observations", filter=by_prompt, fields="io,metadata,prompt").json()
    row = io["data"][0]
    assert row["output"] == "positive" and row["promptVersion"] == 2 and isinstance(row["input"], str)
    assert row["metadata"]["prompt_variables"].endswith("..."), "metadata values are previews of 200 characters"
    expanded = get(
        langfuse_double,
        "/api/public/v2/observations",
        filter=by_prompt,
        fields="metadata",
        expandMetadata="prompt_variables",
    ).json()["data"][0]
    assert json.loads(expanded["metadata"]["prompt_variables"]) == long
    assert get(langfuse_double, "/api/public/v2/observations", parseIoAsJson="true").status_code == 400
    assert get(langfuse_double, "/api/public/v2/observations", promptName="classify").status_code == 400, (
        "not a documented parameter: the structured filter is"
    )
    paged = get(langfuse_double, "/api/public/v2/observations", limit="1").json()
    rest = get(langfuse_double, "/api/public/v2/observations", limit="1", cursor=paged["meta"]["cursor"]).json()
    assert len(paged["data"]) == len(rest["data"]) == 1 and rest["meta"]["cursor"] is None
    assert paged["data"][0]["id"] != rest["data"][0]["id"]


def test_scores_v3_pages_and_subjects(langfuse_double: LangfuseDouble) -> None:
    row = langfuse_double.traces.add_generation("classify", 1, variables={"review": "z"})
    langfuse_double.traces.add_score("helpfulness", 0.4, trace_id=row["traceId"], observation_id=row["id"])
    langfuse_double.traces.add_score("thumbs", True, trace_id=row["traceId"])
    answer = get(langfuse_double, "/api/public/v3/scores", traceId=row["traceId"], fields="subject").json()
    subjects = {s["name"]: s["subject"] for s in answer["data"]}
    assert subjects == {
        "helpfulness": {"kind": "observation", "id": row["id"], "traceId": row["traceId"]},
        "thumbs": {"kind": "trace", "id": row["traceId"]},
    }
    assert get(langfuse_double, "/api/public/v3/scores", limit="101").status_code == 400
    assert get(langfuse_double, "/api/public/v3/scores", observationId=row["id"]).status_code == 400
    assert get(langfuse_double, "/api/public/v3/scores", fields="everything").status_code == 400
