"""Labs' safety rules over real HTTP: loopback by default, a token elsewhere, same-origin writes only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from promptship.labs.app import LabsConfig, create_app
from promptship.labs.security import access_for

from .conftest import FAKE_KEY, LabsServer, make_scratch_repo, serving

TOKEN = "labs-token-for-tests-0123456789"


def test_a_public_host_without_a_token_is_refused_before_serving(run_cli) -> None:
    result = run_cli("labs", "--host", "0.0.0.0")
    assert result.code == 2
    assert "error[E950]" in result.err and "PROMPTSHIP_LABS_TOKEN" in result.err
    assert "Traceback" not in result.err
    short = run_cli("labs", "--host", "0.0.0.0", "--token", "short")
    assert short.code == 2 and "error[E950]" in short.err


def test_with_a_token_every_request_needs_it_and_the_link_sets_a_cookie(tmp_path: Path) -> None:
    root = make_scratch_repo(tmp_path / "repo")
    with serving(create_app(LabsConfig(root, access_for("0.0.0.0", TOKEN)))) as url:
        assert httpx.get(f"{url}/prompts").status_code == 401
        assert httpx.get(f"{url}/prompts", cookies={"labs_token": "wrong-token-0123456789"}).status_code == 401
        assert httpx.get(f"{url}/prompts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        first = httpx.get(f"{url}/runs?token={TOKEN}&x=1")
        assert first.status_code == 303 and first.headers["location"] == "/runs?x=1"  # the token leaves the URL
        assert "HttpOnly" in first.headers["set-cookie"] and "samesite=strict" in first.headers["set-cookie"].lower()
        with httpx.Client(base_url=url, cookies=first.cookies) as browser:
            page = browser.get("/prompts")
            assert page.status_code == 200 and TOKEN not in page.text


def test_loopback_labs_refuses_foreign_host_headers_and_cross_site_writes(labs_server: LabsServer) -> None:
    url = labs_server.url
    rebinding = httpx.get(f"{url}/prompts", headers={"Host": "attacker.example:8787"})
    assert rebinding.status_code == 421
    page = httpx.get(f"{url}/prompts")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    body = {"files": {"prompts/classify.yaml": "x"}}
    assert httpx.post(f"{url}/api/validate", json=body).status_code == 403  # no CSRF value
    csrf = page.text.split('name="labs-csrf" content="')[1].split('"')[0]
    cross = httpx.post(
        f"{url}/api/validate", json=body, headers={"X-Labs-CSRF": csrf, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    same = httpx.post(f"{url}/api/validate", json=body, headers={"X-Labs-CSRF": csrf, "Origin": url})
    assert same.status_code == 200 and same.json()["diagnostics"]


@pytest.mark.parametrize(
    "path", ["/prompts", "/prompts/classify", "/test?prompt=classify", "/runs", "/edit?prompt=classify"]
)
def test_pages_never_show_a_credential_value(labs_server: LabsServer, path: str) -> None:
    text = httpx.get(f"{labs_server.url}{path}").text
    assert FAKE_KEY not in text
