"""docs/getting-started.md, executed: every bash and python block runs, in order, in one shell.

Only what leaves the machine is stood in for: `pip` (recorded, promptship is already installed),
`git push` (to a bare repository on disk), Langfuse (the loopback double) and the gateway's port (a
free one). The edit the page asks a reader to make by hand is applied from the page's own YAML, and
the workflows it shows must be the ones `promptship init` writes.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT

GUIDE = PROJECT / "docs" / "getting-started.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
DOCS_EXAMPLE = PROJECT / "tests" / "files" / "interop" / "text-summarizer.prompt.yml"


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_workflows_shown_are_the_ones_init_writes() -> None:
    from promptship.files.scaffold import starter_files

    starter = {f.path: f.text for f in starter_files("promptship/promptship@v0.1.0")}
    shown = {
        text.splitlines()[0].removeprefix("# "): "\n".join(text.splitlines()[1:]) + "\n"
        for kind, text in blocks()
        if kind == "yaml" and text.startswith("# .github/workflows/")
    }
    assert set(shown) == {".github/workflows/pr.yml", ".github/workflows/comment.yml", ".github/workflows/main.yml"}
    for path, text in shown.items():
        assert text == starter[path], path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(port: int) -> str:
    """The page's commands as one bash script (the hand edit and the fixture copy inserted where the
    page asks for them)."""
    parts = []
    for kind, text in blocks():
        if kind == "bash":
            if "import github-models summarizer.prompt.yml" in text:
                parts.append(f'cp "{DOCS_EXAMPLE}" summarizer.prompt.yml')
            parts.append(text.replace("8080", str(port)))
        elif kind == "python":
            parts.append(f"\"$PYTHON\" - <<'PY'\n{text}PY")
        elif kind == "yaml" and text.startswith("messages:"):
            edit = (
                "import sys, yaml\n"
                "path = 'prompts/feedback/sentiment.yaml'\n"
                "data = yaml.safe_load(open(path))\n"
                "data['messages'] = yaml.safe_load(sys.stdin.read())['messages']\n"
                "yaml.safe_dump(data, open(path, 'w'), sort_keys=False)\n"
            )
            parts.append(f'"$PYTHON" -c "{edit}" <<\'YAML\'\n{text}YAML')
    return "set -euo pipefail\n" + "\n".join(parts) + "\n"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_command_of_the_guide_runs(tmp_path: Path, langfuse_double) -> None:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        f"[user]\n\tname = Reader\n\temail = reader@example.com\n[init]\n\tdefaultBranch = main\n"
        f'[remote "origin"]\n\turl = {bare}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
    )
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "pip").write_text('#!/bin/bash\necho "$@" >> "$HOME/pip-calls"\n')
    (shims / "pip").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{shims}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "PYTHON": sys.executable,
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MODE": "PRODUCTION",
        **{k: os.environ[k] for k in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST")},
    }
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        ["bash", "-c", script(_free_port())], cwd=work, env=env, capture_output=True, text=True, timeout=880
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert (home / "pip-calls").read_text().split() == ["install", "promptship[local]"]
    assert "✓ 0 error(s), 0 warning(s)" in out
    assert "Feedback: The driver was lovely" in out  # render
    assert "feedback-sentiment" in out and "0/3" in out  # eval: three samples, no errors
    assert "verdict" in out.lower() or "gate" in out.lower()  # diff's verdict
    pushed = subprocess.run(["git", "--git-dir", str(bare), "branch"], capture_output=True, text=True).stdout
    assert "clearer-sentiment" in pushed
    assert langfuse_double.labels("feedback/sentiment") == {"production": 1, "latest": 1}
    assert "no drift" in out
    assert "wrote prompts/summarizer.yaml" in out and "wrote prompts/feedback/sentiment.yaml" in out
    sdk_line = next(line for line in done.stdout.splitlines() if "local-smollm2" in line and " 1 " in f" {line} ")
    assert sdk_line
    answer = next(line for line in done.stdout.splitlines() if line.startswith("{") and '"choices"' in line)
    body = yaml.safe_load(answer)
    assert body["choices"][0]["message"]["content"] and body["promptship"]["prompt_version"] == 1
