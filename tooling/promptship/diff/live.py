"""The library API of ``promptship usage --by version``: usage rows + the release policy's splits +
Langfuse scores → :class:`~promptship.diff.versions.PromptVersions` per prompt (the I/O edge of
:mod:`promptship.diff.versions`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import PromptshipError
from ..files.repo import Repository, load_repo
from ..files.schema.policy import default_label
from ..ops.usage import UsageRow
from .versions import PromptVersions, VersionScores, compare_versions


def compare_live_versions(
    root: Path,
    rows: Sequence[UsageRow],
    env: Mapping[str, str],
    *,
    since: float | None,
    until: float | None,
    warn: Callable[[str], None] = lambda line: None,
) -> list[PromptVersions]:
    """Each prompt's versions in ``rows`` compared (see :func:`~promptship.diff.versions.compare_versions`).

    The base of a prompt with a split in ``policies/release.yaml`` (read from the working tree at
    ``root``) is its default label's version. When the Langfuse credentials the policies name are set,
    the scores of the compared prompts' generations between ``since`` and ``until`` (epoch seconds) are
    read too; a Langfuse that cannot be read is a ``warn`` line, never a failed report.
    """
    repo = load_repo(root).repo
    splits = {name: dict(split) for name, split in repo.policies.release.splits.items()}
    versions: dict[str, set[int]] = {}
    for row in rows:
        if row.prompt is not None and row.prompt_version is not None:
            versions.setdefault(row.prompt, set()).add(row.prompt_version)
    compared = sorted(name for name, seen in versions.items() if len(seen) > 1)
    scores: VersionScores = {}
    if compared:
        scores = _scores(repo, env, compared, since, until, warn)
    return compare_versions(
        rows,
        splits=splits,
        scores=scores,
        default_labels={name: default_label(split) for name, split in splits.items()},
    )


def _scores(
    repo: Repository,
    env: Mapping[str, str],
    prompts: Sequence[str],
    since: float | None,
    until: float | None,
    warn: Callable[[str], None],
) -> VersionScores:
    from ..publish.pull.reader import TraceReader
    from ..publish.scores import version_scores
    from ..publish.sync import LangfuseSettings, LangfuseStore

    try:
        settings = LangfuseSettings.from_policy(repo, env)
    except PromptshipError:
        return {}  # Langfuse is not configured: no scores, as documented
    try:
        return version_scores(TraceReader(LangfuseStore(settings)), prompts, since=_moment(since), until=_moment(until))
    except PromptshipError as exc:
        warn(f"warning: scores not read from Langfuse ({exc.code}: {exc}); the comparison has no scores")
        return {}


def _moment(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)
