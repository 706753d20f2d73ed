"""One error tree and one code table (tooling/promptship/errors.py): every code defined once with its
category, raised by one class of that category; the CLI and the gateway map categories in one place."""

from __future__ import annotations

import re

import pytest

import promptship
from promptship.errors import (
    CODES,
    ERROR_CLASSES,
    EXIT_STATUS,
    Category,
    ConfigurationError,
    InternalError,
    PromptshipError,
    ProviderError,
    PublishingError,
    UserInputError,
)

from .conftest import PROJECT

PACKAGE = PROJECT / "tooling" / "promptship"
CATEGORY_CLASSES = {
    Category.USER_INPUT: UserInputError,
    Category.CONFIGURATION: ConfigurationError,
    Category.PROVIDER: ProviderError,
    Category.PUBLISHING: PublishingError,
    Category.INTERNAL: InternalError,
}
#: ``SomeError(`` … ``code="E123"`` within one call (the nearest class name before the code).
RAISE = re.compile(
    r"\b([A-Z]\w*(?:Error|Failed|Unavailable|Invalid|NotFound))\((?:(?!\b[A-Z]\w*\().)*?code=\"(E\d{3})\"", re.S
)


def _raised_in_source() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "errors.py":
            found |= {(m.group(1), m.group(2)) for m in RAISE.finditer(path.read_text(encoding="utf-8"))}
    return found


def test_every_code_written_in_the_package_is_in_the_table() -> None:
    written = set()
    for path in PACKAGE.rglob("*.py"):
        written |= set(re.findall(r'"(E\d{3})"', path.read_text(encoding="utf-8")))
    assert written - set(CODES) == set()


def test_each_code_is_raised_by_the_one_class_its_row_names() -> None:
    sites = _raised_in_source()
    assert len(sites) > 20, "the scan should see the raise sites"
    for cls, code in sites:
        assert CODES[code].raised_by == cls, f"{cls} raises {code}, whose row names {CODES[code].raised_by}"


def test_each_class_raises_only_codes_of_its_category() -> None:
    for code, row in CODES.items():
        if row.raised_by is None:
            assert row.diagnostic, f"{code} is neither raised nor a diagnostic"
            continue
        cls = ERROR_CLASSES[row.raised_by]
        assert issubclass(cls, CATEGORY_CLASSES[row.category]), f"{cls.__name__} raises {code} ({row.category})"
    for name, cls in ERROR_CLASSES.items():
        assert CODES[cls.default_code].raised_by == name, f"{name}'s default code {cls.default_code}"


def test_category_decides_exit_status() -> None:
    from promptship.errors import CredentialError, GitHubUnavailable, RepositoryInvalid, SyncError, UsageError

    assert UsageError("x").exit_code == CredentialError("x").exit_code == 2
    invalid = RepositoryInvalid([])
    assert invalid.exit_code == 1, "the verdict of validate"
    invalid.verdict = False
    assert invalid.exit_code == 2
    assert SyncError("x").exit_code == GitHubUnavailable("x", hint="", retry_after=0).exit_code == 1
    assert set(EXIT_STATUS) == set(Category)
    assert PromptshipError("x", code="E123").category is Category.INTERNAL


def test_errors_and_result_types_are_exported() -> None:
    for name in promptship.__all__:
        assert getattr(promptship, name) is not None, name
    assert issubclass(promptship.CredentialError, promptship.ConfigurationError)
    assert promptship.Client.__module__ == "promptship.runtime.sdk"


def test_every_public_function_is_documented_in_the_python_api_page() -> None:
    """The library API of each command is importable from `promptship` and described in docs/python-api.md."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs/python-api.md").read_text()
    functions = [name for name in promptship.__all__ if name[0].islower()]
    assert "pull_dataset" in functions and promptship.pull_dataset.__module__ == "promptship.publish.pull.run"
    assert [name for name in functions if f"{name}(" not in page] == []


def test_an_unknown_export_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = promptship.no_such_name  # type: ignore[attr-defined]


def test_the_public_api_is_visible_to_type_checkers(tmp_path) -> None:
    """`from promptship import Client` is the real class for mypy, not Any from the lazy __getattr__."""
    import subprocess
    import sys
    from pathlib import Path

    probe = tmp_path / "probe.py"
    probe.write_text(
        "from promptship import Client, Usage\n"
        "def cost(client: Client) -> float:\n"
        "    return client.complete('x', {}).usage.cost_usd\n"
        "def wrong(client: Client) -> int:\n"
        "    return client.no_such_method()\n"
    )
    mypy = Path(sys.executable).parent / "mypy"
    done = subprocess.run([mypy, "--strict", str(probe)], capture_output=True, text=True, cwd=PROJECT)
    assert '"Client" has no attribute "no_such_method"' in done.stdout, done.stdout
    lines = [line for line in done.stdout.splitlines() if "error:" in line]
    assert lines and all("probe.py:5:" in line for line in lines), "only the wrong use is an error"
