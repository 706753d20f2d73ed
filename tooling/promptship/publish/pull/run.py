"""``promptship dataset pull``: read, select, guard, deduplicate, write once (the library API)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import PromptNotFound, UsageError
from ...files.repo import Repository
from .filters import ANY_SCORE, Filter
from .items import Selection, Tally, consider
from .reader import TraceReader
from .target import check_inside, csv_cells, known, render_additions, resolve, write


@dataclass(frozen=True)
class PullRequest:
    """What to pull: ``prompt``'s generations (``version``, or those served under ``label``) that
    started in [``since``, ``until``) and pass every filter, at most ``limit`` new items, into
    dataset path ``to`` (``datasets/NAME``)."""

    prompt: str
    to: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    label: str | None = None
    version: int | None = None
    filters: tuple[Filter, ...] = ()
    limit: int | None = None
    dry_run: bool = False


@dataclass
class PullResult:
    """The summary: counts (:class:`Tally`), the dataset, the files written (none when nothing new)."""

    dataset: str
    tally: Tally
    written_paths: list[str] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            **self.tally.as_dict(),
            "files": self.written_paths,
            "items": self.item_ids,
            "notes": self.notes,
        }


def pull_dataset(root: Path, repo: Repository, reader: TraceReader, request: PullRequest) -> PullResult:
    """Pull ``request`` into ``root``'s dataset. ``repo`` is the loaded repository (prompts, PII
    policy, the target dataset); ``reader`` reads Langfuse.

    Nothing is written until every page was read and every item decided; then the items file (and a
    new dataset's sidecar) is replaced atomically. Pulling again writes nothing new: ids come from
    the trace and observation ids, and an input equal to an item's already there is a duplicate.
    Raises :class:`PromptNotFound` (E830) for a prompt the repository lacks, :class:`UsageError`
    (E971) for an unusable target (a folder linking out of the repository included),
    :class:`SyncError` (E820) when Langfuse keeps failing.
    """
    entry = repo.prompts.get(request.prompt)
    if entry is None:
        raise PromptNotFound(
            f"no prompt {request.prompt!r} in this repository",
            code="E830",
            hint=f"prompts: {', '.join(sorted(repo.prompts)) or 'none'}",
        )
    if request.since is not None and request.until is not None and request.until <= request.since:
        raise UsageError(
            "--until is not after --since", code="E962", hint="the window is [--since, --until): give a later --until"
        )
    if request.limit is not None and request.limit < 1:
        raise UsageError("--limit must be at least 1", hint="give the most new items to write, e.g. --limit 50")
    target = resolve(request.to, request.prompt, repo.datasets)
    check_inside(root, target)
    label_version = None
    if request.label is not None:
        label_version = reader.label_version(request.prompt, request.label)
    selection = Selection(request.label, label_version, request.filters)
    score_names = sorted({f.subject for f in request.filters if f.is_score})
    asked_names = [] if ANY_SCORE in score_names else score_names  # `score`: every score counts
    dataset = known(target)
    tally = Tally()
    items: list[dict[str, Any]] = []
    notes: list[str] = []
    csv_mapping = target.existing.meta.csv if target.is_csv and target.existing is not None else None
    pages = reader.generations(request.prompt, version=request.version, since=request.since, until=request.until)
    for page in pages:
        scores = reader.scores([g.trace_id for g in page], asked_names) if score_names else None
        for generation in page:
            item = consider(
                generation,
                scores=scores.of(generation) if scores is not None else {},
                selection=selection,
                policy=repo.policies.pii,
                variables=entry.prompt.variables,
                typed=not target.is_csv,
                dataset=dataset,
                tally=tally,
            )
            if item is not None and csv_mapping is not None and csv_cells(item, csv_mapping) is None:
                tally.written -= 1
                tally.mismatched += 1
                continue
            if item is not None:
                items.append(item)
            if request.limit is not None and len(items) >= request.limit:
                break
        if request.limit is not None and len(items) >= request.limit:
            notes.append(f"stopped at --limit {request.limit}: later generations were not read")
            break
    if tally.no_variables:
        notes.append(
            f"{tally.no_variables} generation(s) recorded no prompt_variables (traced by another client, or by "
            "promptship before it recorded them): their inputs cannot be rebuilt"
        )
    if tally.mismatched:
        notes.append(
            f"{tally.mismatched} generation(s) did not fit the variables of prompts/{request.prompt} as it is "
            "now (another version's variables" + (", or values a CSV cell cannot hold" if target.is_csv else "") + ")"
        )
    # Oldest first, as they happened (the API answers newest first): the PR diff reads like a log.
    items.sort(key=lambda item: (str(item["metadata"]["observed_at"]), str(item["id"])))
    result = PullResult(target.name, tally, item_ids=[str(i["id"]) for i in items], notes=notes)
    if not items or request.dry_run:
        return result
    items_text, sidecar = render_additions(target, root, items, request.prompt)
    result.written_paths = write(target, root, items_text, sidecar)
    return result
