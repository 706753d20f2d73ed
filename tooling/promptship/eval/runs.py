"""Run artifacts on disk (format 3): samples streamed to a JSON Lines file, a manifest written atomically.

A complete run's manifest is ``.promptship/runs/<suite>/<fingerprint>.<selection key>.json``: it is
reused only for the same fingerprint *and* the same selection (items, models, repeats), so a run of
two items never stands in for the whole suite. Its samples are in the file the manifest names,
``<fingerprint>.<selection key>.<token>.samples.jsonl`` beside it, appended one line per sample as
the run goes (:class:`RunWriter`), so memory does not grow with the number of items. An interrupted
run's manifest is ``….interrupted.json``, kept for inspection and never read back, so it cannot replace
a complete one; a samples file that no manifest names is a run that was killed, and is never read.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from ..errors import UsageError
from ..files.atomic import write_atomically
from ..files.redact import redact
from ..files.repo import content_hash
from ..files.schema.run import RUN_FORMAT_VERSION, Run, SampleResult, Samples, Selection, Shard
from ..files.workdir import workdir
from .summary import RunAggregates


def runs_dir(root: Path) -> Path:
    return workdir(root) / "runs"


def make_selection(
    item_ids: list[str],
    models: list[str],
    repeats: int,
    *,
    all_items: list[str],
    all_models: list[str],
    sample: int | None = None,
    requested_items: list[str] | None = None,
    shard: Shard | None = None,
) -> Selection:
    """The :class:`Selection` of a run of ``item_ids`` × ``models`` × ``repeats`` of a suite whose
    dataset holds ``all_items`` and which evaluates ``all_models``.

    A shard run's key also hashes ``K/N``, so it never equals a whole run's key (not even when its
    shard happens to hold every item) and is never found as one; it is never ``full`` either.
    """
    items = sorted(item_ids)
    return Selection(
        items=items,
        models=list(models),
        repeats=repeats,
        sample=sample,
        requested_items=requested_items,
        full=shard is None and items == sorted(all_items) and sorted(models) == sorted(all_models),
        key=selection_key(items, models, repeats, shard),
        shard=shard,
    )


def selection_key(items: list[str], models: Sequence[str], repeats: int, shard: Shard | None = None) -> str:
    """The stored-run key of ``items`` (sorted ids) × ``models`` × ``repeats``, and of shard K/N if given."""
    keyed: dict[str, object] = {"items": items, "models": sorted(models), "repeats": repeats}
    if shard is not None:
        keyed["shard"] = f"{shard.index}/{shard.count}"
    return content_hash(keyed)


def run_path(directory: Path, suite: str, fingerprint: str, selection_key: str, *, complete: bool = True) -> Path:
    name = f"{fingerprint}.{selection_key[:16]}" + ("" if complete else ".interrupted")
    return directory / suite.replace("/", "__") / f"{name}.json"


class RunWriter:
    """Streams one run's samples to its samples file and aggregates them as they come.

    ``add`` appends one redacted JSON line per sample (flushed, so the file grows while the run goes
    and a killed run leaves every finished sample readable); :meth:`finish` writes the manifest
    atomically, naming the samples file with its count and sha256, and removes the samples file of
    the manifest it replaces. Memory: the aggregates' counters and one float per answered sample.
    """

    def __init__(self, directory: Path, suite: str, fingerprint: str, selection_key: str, models: list[str]) -> None:
        self.directory = directory
        self.stem = run_path(directory, suite, fingerprint, selection_key).name.removesuffix(".json")
        self.folder = run_path(directory, suite, fingerprint, selection_key).parent
        self.name = f"{self.stem}.{secrets.token_hex(4)}.samples.jsonl"
        self.path = self.folder / self.name
        self.aggregates = RunAggregates(models)
        self.count = 0
        self._sha = hashlib.sha256()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._handle: IO[bytes] | None = self.path.open("xb")
        except OSError as exc:
            raise UsageError(
                f"cannot write {self.path}: {exc.strerror or exc}",
                hint="make .promptship/runs writable (or free some disk space)",
            ) from None

    def add(self, sample: SampleResult) -> None:
        """Append ``sample`` (redacted) and count it in the aggregates."""
        assert self._handle is not None, "add after finish"
        line = (redact(sample.model_dump_json()) + "\n").encode("utf-8")
        self._handle.write(line)
        self._handle.flush()
        self._sha.update(line)
        self.count += 1
        self.aggregates.add(sample)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(self, manifest: Run) -> tuple[Run, Path]:
        """Write ``manifest`` (its aggregates and sample fields filled in here) and return the stored
        run with its samples read from disk, and the manifest's path."""
        self.close()
        run = manifest.model_copy(
            update={
                "samples_file": self.name,
                "sample_count": self.count,
                "samples_sha256": self._sha.hexdigest(),
                "aggregates": self.aggregates.result(),
            }
        )
        path = self.folder / (self.stem + ("" if run.complete else ".interrupted") + ".json")
        previous = load_run(path)
        write_atomically(path, run.model_dump_json(indent=1))
        if previous is not None and previous.samples_file and previous.samples_file != self.name:
            (self.folder / previous.samples_file).unlink(missing_ok=True)
        stored = load_run(path)
        assert stored is not None, f"{path} was just written"
        return stored, path

    def discard(self) -> None:
        """Remove the samples file (the run failed before any manifest could name it)."""
        self.close()
        self.path.unlink(missing_ok=True)


def save_run(directory: Path, run: Run) -> Path:
    """Store ``run`` (samples and manifest); an incomplete run goes to its own ``.interrupted.json``
    and never replaces a complete one."""
    writer = RunWriter(directory, run.suite, run.fingerprint.suite, run.selection.key, run.models)
    try:
        for sample in run.samples:
            writer.add(sample)
        return writer.finish(run)[1]
    except BaseException:
        writer.discard()
        raise


def load_run(path: Path) -> Run | None:
    """The run whose manifest is at ``path`` (its samples streamed from the samples file it names), or
    None if absent, unreadable or of another format version (a stale format is not an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format_version") != RUN_FORMAT_VERSION:
            return None
        run = Run.model_validate(data)
    except (OSError, ValidationError, ValueError):
        return None
    if run.samples_file is None or "/" in run.samples_file or "\\" in run.samples_file:
        return None
    samples = path.parent / run.samples_file
    if not samples.is_file():
        return None
    return run.with_samples(Samples(samples, run.sample_count))


def samples_intact(run: Run) -> bool:
    """True when the run's samples file holds exactly the bytes (sha256) and line count its manifest
    says: a truncated, edited or swapped samples file is never reused."""
    path = run.samples.path
    if path is None or run.samples_sha256 is None:
        return False
    digest, lines = hashlib.sha256(), 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                lines += chunk.count(b"\n")
    except OSError:
        return False
    return digest.hexdigest() == run.samples_sha256 and lines == run.sample_count


def read_run(path: Path) -> Run:
    """The run at ``path``, for files a user names (unlike :func:`load_run`, every problem is an error):
    a stored manifest (its samples file beside it, checked against its sha256 and count) or a
    ``--out`` document (samples inline). Raises :class:`UsageError` naming the file and what is wrong."""
    hint = "name a run manifest under .promptship/runs/ (with its .samples.jsonl beside it) or an eval --out file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", hint=hint) from None
    except ValueError:
        raise UsageError(f"{path} is not JSON", hint=hint) from None
    if not isinstance(data, dict) or data.get("format_version") != RUN_FORMAT_VERSION:
        version = data.get("format_version") if isinstance(data, dict) else None
        raise UsageError(
            f"{path} is not a run artifact of format {RUN_FORMAT_VERSION} (format_version: {version})",
            hint=f"{hint}, made by this promptship version",
        )
    inline = data.pop("samples", None)
    try:
        run = Run.model_validate(data)
        if inline is not None:
            if not isinstance(inline, list):
                raise ValueError("samples is not a list")
            return run.with_samples([SampleResult.model_validate(sample) for sample in inline])
    except (ValidationError, ValueError) as exc:
        first = " ".join(str(exc).strip().splitlines()[:3])
        raise UsageError(f"{path} is not a valid run artifact: {first}"[:400], hint=hint) from None
    loaded = load_run(path)
    if loaded is None or not samples_intact(loaded):
        raise UsageError(
            f"{path}: its samples file ({run.samples_file}) is missing, truncated or edited",
            hint="copy the manifest together with the .samples.jsonl file it names",
        )
    return loaded


def stored_runs(directory: Path) -> list[Path]:
    """Every run artifact under ``directory`` (recursively), sorted; an interrupted run is left out when
    the complete run of the same fingerprint and selection is there too."""
    found = sorted(directory.rglob("*.json"))
    names = set(found)
    suffix = ".interrupted.json"
    return [
        p for p in found if not (p.name.endswith(suffix) and p.with_name(p.name[: -len(suffix)] + ".json") in names)
    ]


def covers_exactly(run: Run, selection: Selection) -> bool:
    """True when ``run`` holds one sample for each item × model × repeat of ``selection``, and no other.

    Streams the samples and compares them with the order the runner writes them in (the selection's
    sorted item ids × its models × repeats); holds nothing but the current position.
    """
    if run.sample_count != len(selection.items) * len(selection.models) * selection.repeats:
        return False
    held = ((s["item_id"], s["model"], s["repeat"]) for s in map(json.loads, run.samples.raw_lines()))
    try:
        return all(a == b for a, b in zip(held, job_keys(selection), strict=True))
    except (ValueError, KeyError, TypeError):
        return False


def job_keys(selection: Selection) -> Iterator[tuple[str, str, int]]:
    """(item, model, repeat) of every job of ``selection``, in the order samples are stored."""
    return ((i, m, r) for i in selection.items for m in selection.models for r in range(selection.repeats))


def find_run(directories: list[Path], suite: str, fingerprint: str, selection: Selection) -> Run | None:
    """A complete stored run of ``suite`` with exactly this fingerprint and selection, from the first
    directory that has one (a manifest whose content disagrees with its name, or whose samples file
    is not the one it names, is ignored)."""
    for directory in directories:
        run = load_run(run_path(directory, suite, fingerprint, selection.key))
        if (
            run is not None
            and run.complete
            and run.fingerprint.suite == fingerprint
            and run.selection.key == selection.key
            and samples_intact(run)
            and covers_exactly(run, selection)
        ):
            return run
    return None


def run_document_chunks(run: Run) -> Iterator[str]:
    """``run`` as one JSON document (the manifest's fields with ``samples`` inline), in chunks, so a
    large run is written without building the whole text (``--out``, ``eval --format json``)."""
    head = run.model_dump_json(indent=1, exclude={"samples_file", "samples_sha256"})
    yield head[: head.rstrip().rfind("}")].rstrip() + ',\n "samples": ['
    for index, line in enumerate(run.samples.raw_lines()):
        yield ("\n  " if index == 0 else ",\n  ") + line
    yield "\n ]\n}"
