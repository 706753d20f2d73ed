"""README's two commands are the ones CI and users run."""

from __future__ import annotations

import re

from .conftest import PROJECT


def readme_commands() -> list[str]:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = readme_commands()
    test_command = next(c for c in commands if "pytest" in c)
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_main_job_runs_the_offline_eval() -> None:
    main_job = readme_commands()[0]
    assert "pip install" in main_job and "promptship eval --profile offline" in main_job
