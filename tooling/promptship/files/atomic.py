"""Files written so a reader sees the old one or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import UsageError
from .redact import redact

__all__ = ["atomic_writer", "write_atomically"]


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle whose content replaces ``path`` only when the ``with`` block ends without error,
    so readers see the old file or the new one, never half of it.

    Every write is redacted (credential values): every run, report and ``--out`` file is written
    here. Missing folders are created; a path that cannot be written (a file where a folder should
    be, no permission, a full disk) is a :class:`UsageError` naming it, and nothing is left half-written.
    A replaced file keeps its permissions; a new one gets the usual ones (0666 less the umask).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="choose a path whose folder can be created and written",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield _Redacting(handle)  # type: ignore[misc]
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Redacting:
    """A text handle that redacts credential values from everything written through it."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def write(self, text: str) -> int:
        return self._handle.write(redact(text))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`atomic_writer` (redacted, all or nothing)."""
    with atomic_writer(path) as handle:
        handle.write(text)


def _mode(path: Path) -> int:
    """The permission bits ``path`` has, or a new file would get from ``open()``."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread): Linux
    reports it in /proc/self/status; elsewhere the common 022."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
