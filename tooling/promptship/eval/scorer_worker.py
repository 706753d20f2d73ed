"""The process a repository's Python scorers run in (started by :mod:`promptship.eval.scorer_process`).

Run as a script (``python scorer_worker.py``), it imports nothing from promptship. It reads one JSON
request per line — ``{"path", "source", "function", "item", "output", "expected"}`` — from what was
stdin and writes one JSON answer per line — ``{"value": ...}`` or ``{"error": "..."}`` — to what was
stdout. Before serving it moves both away: the scorer's ``print``/``input`` see ``/dev/null``, so they
can neither corrupt promptship's own output nor read its requests. Ctrl-C is ignored here: the parent
handles it and stops this process. ``sys.exit`` inside a scorer is an error on that item.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sys
import traceback
import types
from numbers import Real
from typing import Any


def _plain(value: Any) -> Any:
    """The scorer's result as JSON data (a bool, a number or a dict of numbers), else TypeError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Real):
        return float(value)
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value.values())
    ):
        return {str(k): float(v) for k, v in value.items()}
    raise TypeError(f"returned {type(value).__name__}; expected bool, a number or a dict of numbers")


def _load(modules: dict[str, types.ModuleType], path: str, source: str) -> types.ModuleType:
    key = hashlib.sha256(f"{path}\0{source}".encode()).hexdigest()
    if key not in modules:
        module = types.ModuleType(path.removesuffix(".py").replace("/", "."))
        module.__file__ = path
        exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - the repository's own scorer code
        modules[key] = module
    return modules[key]


def serve(requests: io.TextIOBase, answers: io.TextIOBase) -> None:
    modules: dict[str, types.ModuleType] = {}
    quiet = sys.stdout
    for line in requests:
        request = json.loads(line)
        sys.stdout = io.StringIO()  # print() inside a scorer goes nowhere
        try:
            module = _load(modules, request["path"], request["source"])
            function = getattr(module, request["function"])
            answer: dict[str, Any] = {
                "value": _plain(function(request["item"], request["output"], request["expected"]))
            }
        except SystemExit as exc:
            answer = {"error": f"the scorer called sys.exit({exc.code!r})"}
        except BaseException:  # noqa: BLE001 - every failure of the scorer is reported on its item
            answer = {"error": traceback.format_exc(limit=6)}
        finally:
            sys.stdout = quiet
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    serve(requests, answers)


if __name__ == "__main__":
    main()
