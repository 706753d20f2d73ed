"""Repository Python scorers run in a separate process with a time limit (async, one per suite run).

A scorer is the repository's code: it may loop, print, read stdin, call ``sys.exit`` or crash the
interpreter. In its own process none of that reaches promptship: a call that takes longer than the
limit is killed and recorded as an error on that item, the process is restarted for the next item,
and Ctrl-C (handled by promptship's event loop, which the scorer no longer blocks) stops it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("scorer_worker.py")
#: A JSON answer line may hold a traceback; asyncio's default 64 KiB line limit is enough, this is safer.
LINE_LIMIT = 1 << 20


class ScorerFailed(Exception):
    """The scorer raised, returned something unusable, timed out or killed its process."""


class ScorerProcess:
    """One worker process, serving one call at a time; started on first use, restarted after a failure."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def call(
        self, path: str, source: str, function: str, item: Any, output: str, expected: Any, timeout_s: float
    ) -> Any:
        """The scorer's JSON-able result (bool, float or dict of floats); :class:`ScorerFailed` otherwise.
        Cancelling the call (Ctrl-C) kills the process."""
        request = json.dumps(
            {
                "path": path,
                "source": source,
                "function": function,
                "item": item,
                "output": output,
                "expected": expected,
            },
            ensure_ascii=False,
        )
        async with self._lock:
            process = await self._started()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(request.encode() + b"\n")
                await process.stdin.drain()
                line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
            except TimeoutError:
                await self._kill()
                raise ScorerFailed(f"the scorer took longer than {timeout_s:g} s and was stopped") from None
            except asyncio.CancelledError:
                await self._kill()
                raise
            except (ConnectionError, OSError):
                line = b""
            if not line:
                code = await self._kill()
                raise ScorerFailed(f"the scorer's process ended (exit code {code}) while scoring this item")
        answer = json.loads(line)
        if "error" in answer:
            raise ScorerFailed(answer["error"])
        return answer["value"]

    async def _started(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-u",
                str(WORKER),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=LINE_LIMIT,
            )
        return self._process

    async def _kill(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        return await asyncio.shield(process.wait())

    async def aclose(self) -> None:
        """Stop the process (its stdin closes, so it would end by itself; kill makes it certain)."""
        await self._kill()
