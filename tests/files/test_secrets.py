"""The literal-secret scan of `validate`: detect-secrets' curated detectors plus promptship's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptship.files.secrets import find_secrets

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
LEAKS = {
    "GitHub fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
    "Slack Token": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "Stripe Access Key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "JSON Web Token": JWT,
    "AWS secret access key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Basic Auth Credentials": "postgres://admin:hunter2pass@db.internal:5432/app",
}


@pytest.mark.parametrize(("kind", "value"), LEAKS.items())
def test_each_kind_of_leak_is_found_where_it_is(kind: str, value: str) -> None:
    text = f"description: fine\nnotes: |\n  see {value} for access\n"
    assert [(f.line, f.kind) for f in find_secrets(text)] == [(3, kind)]


def test_ordinary_text_hashes_and_variable_names_are_not_secrets() -> None:
    text = (
        "commit 0123456789abcdef0123456789abcdef01234567 fixed it\n"
        "api_key_env: AZURE_OPENAI_KRC_API_KEY\nurl: https://example.com/a/b?c=d\n"
        "prompt: Summarize the review of order 12345 in one sentence, politely and briefly.\n"
        "uuid: 123e4567-e89b-12d3-a456-426614174000\n"
    )
    assert find_secrets(text) == []


def test_validate_finds_secrets_in_dotfiles_too(example_repo: Path, run_cli) -> None:
    (example_repo / "prompts/.env").write_text(f"STRIPE_KEY={LEAKS['Stripe Access Key']}\n")
    (example_repo / "datasets/.notes").write_text(f"token {LEAKS['GitHub fine-grained token']}\n")
    result = run_cli("--root", str(example_repo), "validate")
    assert result.code == 1 and "Traceback" not in result.err
    assert "prompts/.env:1:12: error[E501] literal secret (Stripe Access Key)" in result.out
    assert "datasets/.notes:1:7: error[E501] literal secret (GitHub fine-grained token)" in result.out
    assert LEAKS["Stripe Access Key"] not in result.out + result.err
    assert "E005" not in result.out, "a dotfile is scanned, not treated as a misplaced format file"
