"""Load a promptship repository into typed objects, from the working tree or any git ref.

``load_repo`` never raises for a mistake in a file: every problem becomes a :class:`Diagnostic`
with ``path:line:col``, so ``validate`` can report them all at once. Objects that failed to parse
are left out of the :class:`Repository`; cross-reference checks live in ``validate.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from ..errors import Diagnostic
from .redact import remember
from .schema import (
    BudgetPolicy,
    CredentialsPolicy,
    DatasetMeta,
    Item,
    PiiPolicy,
    Prompt,
    ReleasePolicy,
    RoutingPolicy,
    Suite,
    nfc,
)
from .schema.errors import diagnostics_from_validation
from .sources import FileSource, GitSource, WorktreeSource
from .yamlfile import MAX_DEPTH, Positions, YamlSyntaxError, parse

YAML_SUFFIXES = (".yaml", ".yml")
POLICY_FILES: dict[str, type[BaseModel]] = {
    "routing": RoutingPolicy,
    "release": ReleasePolicy,
    "pii": PiiPolicy,
    "budgets": BudgetPolicy,
    "credentials": CredentialsPolicy,
}

M = TypeVar("M", bound=BaseModel)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal data ⇒ equal text, whatever the YAML layout."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (a pydantic model or plain data)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _split_lines(text: str) -> Iterator[str]:
    """``text.split("\n")``, one line at a time."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


@dataclass(frozen=True)
class SourceText:
    """A file's text plus lazy value positions for diagnostics."""

    path: str
    text: str
    positions: Positions = field(compare=False, repr=False)

    @classmethod
    def of(cls, path: str, text: str) -> SourceText:
        return cls(path, text, Positions(text))


@dataclass(frozen=True)
class PromptEntry:
    name: str
    source: SourceText
    prompt: Prompt

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def hash(self) -> str:
        return content_hash(self.prompt)


class JsonlItems(Sequence[Item]):
    """The valid items of a JSONL dataset, parsed from the file's text each time one is read.

    Holds the text (kept anyway for the secret scan), where each valid item's line starts and ends,
    and the ids: about 24 bytes an item instead of a parsed :class:`Item` (~1 KB), so a dataset of a
    million items is loaded, validated and evaluated without ever holding its items.
    """

    def __init__(self, text: str, starts: array[int], ends: array[int], ids: list[str]) -> None:
        self._text, self._starts, self._ends, self._ids = text, starts, ends, ids

    def ids(self) -> list[str]:
        """The item ids, in file order (no parsing)."""
        return self._ids

    def _parse(self, position: int) -> Item:
        return Item.model_validate(json.loads(self._text[self._starts[position] : self._ends[position]]))

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self._parse(p) for p in range(len(self._ids))[index]]
        return self._parse(range(len(self._ids))[index])

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Item]:
        return (self._parse(p) for p in range(len(self._ids)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


def item_ids(items: Sequence[Item]) -> list[str]:
    """The ids of ``items`` in order (without parsing them when they are :class:`JsonlItems`)."""
    if isinstance(items, JsonlItems | ItemSubset):
        return items.ids()
    return [i.id for i in items]


class ItemSubset(Sequence[Item]):
    """``items[p]`` for each position ``p`` of ``positions``, read when asked for (a run's selection)."""

    def __init__(self, items: Sequence[Item], positions: Sequence[int]) -> None:
        self._items, self._positions = items, positions

    def ids(self) -> list[str]:
        """The ids of the subset, in its order (without parsing the items)."""
        every = item_ids(self._items)
        return [every[p] for p in self._positions]

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self._items[p] for p in self._positions[index]]
        return self._items[self._positions[index]]

    def __len__(self) -> int:
        return len(self._positions)

    def __iter__(self) -> Iterator[Item]:
        return (self._items[p] for p in self._positions)


class ItemsById(Mapping[str, Item]):
    """Items by id, read when looked up (the id → position index is built on first use)."""

    def __init__(self, items: Sequence[Item]) -> None:
        self._items = items
        self._positions: dict[str, int] | None = None

    def _index(self) -> dict[str, int]:
        if self._positions is None:
            self._positions = {item_id: n for n, item_id in enumerate(item_ids(self._items))}
        return self._positions

    def __getitem__(self, item_id: str) -> Item:
        return self._items[self._index()[item_id]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._items)


def items_hash(items: Sequence[Item], extra: dict[str, Any] | None = None) -> str:
    """``content_hash(items sorted by id)`` — or, with ``extra``, of ``{"items": those, **extra}`` —
    computed one item at a time: the same digest as hashing the whole list at once, without holding it."""
    placeholder = "\x00items\x00"
    around = canonical_json(placeholder if extra is None else {**extra, "items": placeholder})
    head, tail = around.split(canonical_json(placeholder))
    ids = item_ids(items)
    digest = hashlib.sha256(head.encode() + b"[")
    for n, position in enumerate(sorted(range(len(ids)), key=ids.__getitem__)):
        digest.update((b"," if n else b"") + canonical_json(items[position].model_dump(mode="json")).encode())
    digest.update(b"]" + tail.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    meta_source: SourceText
    meta: DatasetMeta
    items_path: str | None
    #: :class:`JsonlItems` (parsed when read) for JSONL, a tuple for CSV.
    items: Sequence[Item]
    item_lines: dict[str, int] = field(compare=False, repr=False)

    @property
    def hash(self) -> str:
        """Changes with any item or metadata change; item order does not matter."""
        return items_hash(self.items, {"meta": self.meta.model_dump(mode="json", exclude_none=True)})

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    source: SourceText
    suite: Suite

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def hash(self) -> str:
        return content_hash(self.suite)


@dataclass(frozen=True)
class Policies:
    routing: RoutingPolicy | None = None
    release: ReleasePolicy = field(default_factory=ReleasePolicy)
    pii: PiiPolicy = field(default_factory=PiiPolicy)
    budgets: BudgetPolicy = field(default_factory=BudgetPolicy)
    credentials: CredentialsPolicy = field(default_factory=CredentialsPolicy)
    sources: dict[str, SourceText] = field(default_factory=dict, compare=False, repr=False)

    def hash(self, name: str) -> str:
        """Content hash of policy ``name`` (``routing``, ``release``, ``pii``, ``budgets``,
        ``credentials``): layout, comments and key order do not change it; a missing file hashes
        as its defaults."""
        return content_hash(getattr(self, name))


@dataclass(frozen=True)
class Repository:
    """Everything promptship reads from one tree. ``commit`` is ``None`` for the working tree."""

    root: Path
    commit: str | None
    prompts: dict[str, PromptEntry]
    datasets: dict[str, DatasetEntry]
    suites: dict[str, SuiteEntry]
    policies: Policies
    #: Every text file read (path → text), for checks that scan raw content such as secrets.
    texts: dict[str, str] = field(compare=False, repr=False)
    #: Every file path found, including ones that could not be read or parsed.
    paths: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def scorer_source(self, module_path: str) -> str | None:
        return self.texts.get(module_path)


@dataclass
class LoadResult:
    repo: Repository
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def load_repo(root: str | Path = ".", ref: str | None = None) -> LoadResult:
    """Load the tree at ``root`` (working tree) or at git ``ref`` (read from objects, no checkout).

    Only the files under :data:`~.sources.ROOTS` are read: nothing in ``.promptship/`` (which a
    branch can commit with ``git add -f``) can change what is validated, rendered or published.
    """
    root = Path(root).resolve()
    source: FileSource = GitSource(root, ref) if ref else WorktreeSource(root)
    return load_source(root, source)


def load_source(root: Path, source: FileSource) -> LoadResult:
    """Load the tree ``source`` reads (e.g. a commit with edited files laid over it, as Labs validates)."""
    return _Loader(root, source).load()


def without_extensions(data: dict[Any, Any]) -> dict[Any, Any]:
    """``data`` without its top-level ``x-*`` keys: docker-compose style extension keys, where
    anchors shared across a file are defined (``x-system: &system ...``). They are not content."""
    return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}


def written_defaults(src: SourceText, prompt: Prompt) -> tuple[Prompt, list[Diagnostic]]:
    """``prompt`` with every text variable's default as the author wrote it.

    YAML 1.1 reads an unquoted ``no``/``on`` as a boolean and ``012`` as the number 10; for a variable
    declared ``type: string`` (or ``image_url``) the text written is what the model must receive. An
    unquoted ``~`` is YAML's null, which no reader takes for text: it is an error with the quoted fix
    (``null`` or an empty value means "no default").
    """
    variables = dict(prompt.variables)
    problems: list[Diagnostic] = []
    for name, variable in prompt.variables.items():
        if variable.type not in ("string", "image_url") or isinstance(variable.default, str):
            continue
        if variable.default is None and "~" not in src.text:
            continue  # the common case: no default at all (no need to compose the node tree)
        path = ["variables", name, "default"]
        written = src.positions.written(path)
        if written is None or written.lower() in ("", "null"):
            continue
        if written == "~":
            line, col = src.positions.value(path)
            problems.append(
                Diagnostic(
                    src.path,
                    line,
                    col,
                    "E004",
                    f"variable '{name}': `default: ~` is YAML's null, not the text '~'",
                    'write `default: "~"` for the text, or leave `default` out for no default',
                )
            )
            continue
        variables[name] = variable.model_copy(update={"default": written})
    if variables == prompt.variables:
        return prompt, problems
    return prompt.model_copy(update={"variables": variables}), problems


def _at_line(line: int) -> Callable[[Sequence[str | int]], tuple[int, int]]:
    """A locator for JSONL/CSV rows: every error of a row is reported at the row's line."""
    return lambda _loc: (line, 1)


def name_of(path: str, top: str) -> str:
    """``prompts/catalog/menu.yaml`` → ``catalog/menu``, in Unicode NFC whatever the path's own form
    (macOS creates NFD paths): names are NFC everywhere, so a name typed anywhere finds the file."""
    return nfc(PurePosixPath(path).relative_to(top).with_suffix("").as_posix())


_CSV_HINT = (
    'quote a whole cell holding a quote, delimiter or line break; double inner quotes: "a ""b""" '
    f"(cells hold at most {csv.field_size_limit():,} characters: keep longer texts in a JSONL dataset)"
)


def _csv_problem(exc: csv.Error) -> str:
    """The csv module's message, in words for the one that names no cause."""
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return str(exc)


class _JsonRefused(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (JSON would silently keep the last)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _JsonRefused(f"duplicate key {key!r}")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise _JsonRefused(f"{name} is not JSON (write a number, or null)")


def _too_deep(value: Any) -> str | None:
    """Why ``value`` is nested too deeply to be an item, or None (iterative: any depth is safe)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"values are nested more than {MAX_DEPTH} levels deep"
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current)
    return None


class _Loader:
    def __init__(self, root: Path, source: FileSource) -> None:
        self.root = root
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.texts: dict[str, str] = {}

    def error(self, path: str, line: int, col: int, code: str, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(path, line, col, code, message, hint))

    def warn(self, path: str, code: str, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(path, 1, 1, code, message, hint, severity="warning"))

    # -- reading ---------------------------------------------------------------------------------
    def read_text(self, path: str, *, required: bool = True) -> str | None:
        """The file's text, kept for the secret scan; a file that is not UTF-8 is an E006 error when
        ``required`` (a format file), else skipped."""
        try:
            text = self.source.read(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            if required:
                self.error(path, 1, 1, "E006", f"file is not UTF-8 ({exc.reason})", "save the file as UTF-8")
            return None
        text = text.removeprefix("\ufeff")
        self.texts[path] = text
        return text

    def read_the_rest(self, paths: Sequence[str]) -> None:
        """Keep the text of every file not loaded as a format (stray files, orphaned items files),
        so the secret scan sees every file, whatever else is wrong with it."""
        for path in paths:
            if path not in self.texts:
                self.read_text(path, required=False)

    def read_model(self, path: str, model: type[M]) -> tuple[SourceText, M] | None:
        text = self.read_text(path)
        if text is None:
            return None
        src = SourceText.of(path, text)
        try:
            data = parse(text)
        except YamlSyntaxError as exc:
            self.error(
                path,
                exc.line,
                exc.col,
                "E001",
                f"invalid YAML: {exc.message}",
                "check indentation and quoting; a value containing ': ' or '#' needs quotes",
            )
            return None
        if data is None:
            data = {}
        if isinstance(data, dict):
            data = without_extensions(data)
        else:
            self.error(
                path,
                1,
                1,
                "E004",
                f"expected a mapping at the top of the file, got {type(data).__name__}",
                "the file must be `key: value` lines (see docs/formats.md), not a list or a bare value",
            )
            return None
        try:
            return src, model.model_validate(data)
        except ValidationError as exc:
            self.diagnostics.extend(
                diagnostics_from_validation(exc, src.path, src.positions.key, model, src.positions.written)
            )
            return None

    # -- loading ---------------------------------------------------------------------------------
    def load(self) -> LoadResult:
        paths = self.source.paths()
        by_top: dict[str, list[str]] = {}
        for path in paths:
            by_top.setdefault(path.split("/", 1)[0], []).append(path)
        prompts = self.load_prompts(by_top.get("prompts", []))
        datasets = self.load_datasets(by_top.get("datasets", []), prompts)
        suites = self.load_suites(by_top.get("evals", []))
        policies = self.load_policies(by_top.get("policies", []))
        remember(policies)  # whatever is printed or written from here on never shows their values
        self.read_the_rest(paths)
        # Dotfiles (prompts/.env) are no format, but a key pasted into one is still a leak.
        self.read_the_rest(getattr(self.source, "hidden_paths", list)())
        for link in getattr(self.source, "outside", ()):
            self.error(
                link,
                1,
                1,
                "E005",
                "symbolic link to a file outside the repository (or to no file): it is not read",
                "copy the file into the repository: a link's target is not reviewed with the link",
            )
        repo = Repository(
            self.root, self.source.commit, prompts, datasets, suites, policies, self.texts, frozenset(paths)
        )
        self.diagnostics.sort()
        return LoadResult(repo, self.diagnostics)

    def load_prompts(self, paths: Sequence[str]) -> dict[str, PromptEntry]:
        prompts: dict[str, PromptEntry] = {}
        seen: dict[str, str] = {}
        for path in paths:
            if not path.endswith(YAML_SUFFIXES):
                self.unexpected(path, "prompts/ holds only .yaml prompt files")
                continue
            name = name_of(path, "prompts")
            if name in seen:
                self.twice(path, f"prompt {name!r}", seen[name])
                continue
            seen[name] = path
            if "|" in name:
                self.error(path, 1, 1, "E005", f"prompt name {name!r} contains '|'", "rename the file")
                continue
            loaded = self.read_model(path, Prompt)
            if loaded:
                prompt, problems = written_defaults(loaded[0], loaded[1])
                self.diagnostics.extend(problems)
                prompts[name] = PromptEntry(name, loaded[0], prompt)
        return prompts

    def load_suites(self, paths: Sequence[str]) -> dict[str, SuiteEntry]:
        suites: dict[str, SuiteEntry] = {}
        seen: dict[str, str] = {}
        for path in paths:
            if path.endswith(".py"):
                self.read_text(path)  # custom scorers: part of suite fingerprints
                continue
            if not path.endswith(YAML_SUFFIXES):
                self.unexpected(path, "evals/ holds suite .yaml files and Python scorer modules")
                continue
            name = name_of(path, "evals")
            if name in seen:
                self.twice(path, f"suite {name!r}", seen[name])
                continue
            seen[name] = path
            loaded = self.read_model(path, Suite)
            if loaded:
                suites[name] = SuiteEntry(name, loaded[0], loaded[1])
        return suites

    def load_policies(self, paths: Sequence[str]) -> Policies:
        loaded: dict[str, Any] = {}
        sources: dict[str, SourceText] = {}
        seen: dict[str, str] = {}
        for path in paths:
            stem = name_of(path, "policies")
            if not path.endswith(YAML_SUFFIXES) or stem not in POLICY_FILES:
                self.unexpected(path, f"policies/ holds {', '.join(f'{n}.yaml' for n in POLICY_FILES)}")
                continue
            if stem in seen:
                self.twice(path, f"policy {stem!r}", seen[stem])
                continue
            seen[stem] = path
            result = self.read_model(path, POLICY_FILES[stem])
            if result:
                sources[stem], loaded[stem] = result
        return Policies(**loaded, sources=sources)

    def unexpected(self, path: str, why: str) -> None:
        self.error(path, 1, 1, "E005", f"unexpected file: {why}", "move or delete the file")

    def twice(self, path: str, what: str, other: str) -> None:
        """``path`` names the same thing as ``other``: .yaml and .yml, or the same name in NFC and NFD."""
        if PurePosixPath(path).suffix == PurePosixPath(other).suffix:
            self.error(
                path,
                1,
                1,
                "E005",
                f"{what} is defined twice: {other!r} and {path!r} differ only in Unicode normalisation (NFC/NFD)",
                f"keep one of the two files (`git rm '{path}'`); names are compared in NFC, so both are the same name",
            )
            return
        self.error(path, 1, 1, "E005", f"{what} is defined twice (.yaml and .yml)", "keep one of the two files")

    def load_datasets(self, paths: Sequence[str], prompts: dict[str, PromptEntry]) -> dict[str, DatasetEntry]:
        groups: dict[str, dict[str, str]] = {}
        for path in paths:
            pure = PurePosixPath(path)
            suffix = ".yaml" if pure.suffix == ".yml" else pure.suffix
            if suffix not in (".yaml", ".jsonl", ".csv"):
                self.unexpected(path, "datasets/ holds NAME.yaml sidecars with NAME.jsonl or NAME.csv items")
                continue
            group = groups.setdefault(name_of(path, "datasets"), {})
            if suffix in group:
                self.twice(path, f"dataset sidecar {name_of(path, 'datasets')!r}", group[suffix])
                continue
            group[suffix] = path
        datasets: dict[str, DatasetEntry] = {}
        for name, files in sorted(groups.items()):
            meta_path = files.get(".yaml")
            data_paths = [files[s] for s in (".jsonl", ".csv") if s in files]
            if meta_path is None:
                self.error(
                    data_paths[0],
                    1,
                    1,
                    "E201",
                    f"dataset {name!r} has no sidecar datasets/{name}.yaml",
                    "add the sidecar with at least `kind`, `synthetic` and `prompt`",
                )
                continue
            loaded = self.read_model(meta_path, DatasetMeta)
            if len(data_paths) != 1:
                found = "both .jsonl and .csv" if data_paths else "no .jsonl or .csv items file"
                self.error(
                    meta_path,
                    1,
                    1,
                    "E201",
                    f"dataset {name!r} has {found}",
                    f"keep exactly one of datasets/{name}.jsonl or datasets/{name}.csv",
                )
                continue
            if loaded is None:
                continue
            source, meta = loaded
            fed = prompts.get(meta.prompt)
            defaults = {n: v.default for n, v in fed.prompt.variables.items() if v.default is not None} if fed else {}
            items, lines = self.load_items(data_paths[0], meta, source, defaults)
            datasets[name] = DatasetEntry(name, source, meta, data_paths[0], items, lines)
        return datasets

    def load_items(
        self, path: str, meta: DatasetMeta, meta_source: SourceText, defaults: dict[str, Any]
    ) -> tuple[Sequence[Item], dict[str, int]]:
        """Items of ``path`` with their line numbers; ``defaults`` (variable → default of the prompt the
        dataset feeds) fill empty CSV cells. JSONL items are validated one at a time and kept as
        :class:`JsonlItems` (positions in the text), never all parsed at once."""
        text = self.read_text(path)
        if text is None:
            return (), {}
        rows: Iterator[tuple[int, Any, int, int]] | list[tuple[int, Any, int, int]]
        if path.endswith(".jsonl"):
            rows = self.jsonl_rows(path, text)
            if meta.csv is not None:
                line, col = meta_source.positions.key(["csv"])
                self.diagnostics.append(
                    Diagnostic(
                        meta_source.path,
                        line,
                        col,
                        "E207",
                        f"the `csv:` mapping is ignored: the items are in {path}",
                        "remove `csv:` or convert the items to CSV",
                        "warning",
                    )
                )
        else:
            rows = [(line, row, 0, 0) for line, row in self.csv_rows(path, text, meta, meta_source, defaults)]
        header_lines = 1 if path.endswith(".csv") else 0
        if sum(1 for line in text.splitlines() if line.strip()) <= header_lines:
            self.error(path, 1, 1, "E209", "the dataset has no items", "add at least one item, or delete the dataset")
        items: list[Item] = []
        starts, ends = array("q"), array("q")
        lines: dict[str, int] = {}
        for line, row, start, end in rows:
            try:
                item = Item.model_validate(row)
            except ValidationError as exc:
                self.diagnostics.extend(diagnostics_from_validation(exc, path, _at_line(line), Item))
                continue
            if item.id in lines:
                self.error(
                    path,
                    line,
                    1,
                    "E202",
                    f"duplicate item id {item.id!r} (first on line {lines[item.id]})",
                    "ids must be unique and stable; give this item a new id",
                )
                continue
            lines[item.id] = line
            if path.endswith(".jsonl"):
                starts.append(start)
                ends.append(end)
            else:
                items.append(item)
        if path.endswith(".jsonl"):
            return JsonlItems(text, starts, ends, list(lines)), lines
        return tuple(items), lines

    def jsonl_rows(self, path: str, text: str) -> Iterator[tuple[int, Any, int, int]]:
        """(line, value, start, end) per JSONL line, one at a time (``text[start:end]`` is the line).
        Lines end at ``\n`` only (U+2028, U+0085 and the other characters ``str.splitlines`` splits
        on may sit inside a JSON string); a duplicate key, a ``NaN``/``Infinity`` literal or nesting
        deeper than :data:`~.yamlfile.MAX_DEPTH` is an E205 error at its line, like malformed JSON."""
        position = 0
        for number, raw in enumerate(_split_lines(text), start=1):
            start, position = position, position + len(raw) + 1
            raw = raw.removesuffix("\r")
            if not raw.strip():
                continue
            try:
                value = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
                problem = _too_deep(value)
            except json.JSONDecodeError as exc:
                col, problem = exc.colno, f"invalid JSON: {exc.msg}"
            except _JsonRefused as exc:
                col, problem = 1, str(exc)
            except RecursionError:
                col, problem = 1, f"values are nested more than {MAX_DEPTH} levels deep"
            else:
                if problem is None:
                    yield number, value, start, start + len(raw)
                    continue
                col = 1
            self.error(
                path, number, col, "E205", problem, 'each line must be one JSON object: {"id": ..., "input": {...}}'
            )

    def csv_rows(
        self, path: str, text: str, meta: DatasetMeta, meta_source: SourceText, defaults: dict[str, Any]
    ) -> list[tuple[int, Any]]:
        """(line, item data) per CSV record. A malformed record (a quote inside an unquoted cell, text
        after a closing quote, an unclosed quote) is an E207 error at its line, never rewritten; an
        empty cell of a variable with a default takes the default (else it is the empty text)."""
        mapping = meta.csv
        if mapping is None:
            self.error(
                meta_source.path,
                1,
                1,
                "E207",
                f"items are in {path} but the sidecar has no `csv:` mapping",
                "add `csv: {id: COLUMN, input: {variable: COLUMN}, expected: COLUMN}`",
            )
            return []
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
        try:
            header = reader.fieldnames or []
        except csv.Error as exc:
            self.error(path, 1, 1, "E207", f"malformed CSV header: {_csv_problem(exc)}", _CSV_HINT)
            return []
        wanted = [
            mapping.id,
            *mapping.input.values(),
            *([mapping.expected] if mapping.expected else []),
            *mapping.metadata,
        ]
        missing = [c for c in wanted if c not in header]
        if missing:
            line, col = meta_source.positions.key(["csv"])
            self.error(
                meta_source.path,
                line,
                col,
                "E207",
                f"csv column(s) {', '.join(map(repr, missing))} not in the header of {path}",
                f"the header has: {', '.join(header) or '(nothing)'}",
            )
            return []
        rows = []
        end_of_previous = reader.line_num  # records may span lines: a record starts after the previous one
        while True:
            start = end_of_previous + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                end_of_previous = start  # the reader goes on with the next line
                self.error(path, start, 1, "E207", f"malformed CSV record: {_csv_problem(exc)}", _CSV_HINT)
                continue
            end_of_previous = reader.line_num
            extra = record.get(None)  # DictReader's key for surplus cells
            if extra or None in record.values():
                self.error(
                    path,
                    start,
                    1,
                    "E207",
                    f"row has {'more' if extra else 'fewer'} cells than the header's {len(header)} columns",
                    "give every row exactly one cell per header column (quote cells that contain the delimiter)",
                )
                continue
            rows.append(
                (
                    start,
                    {
                        "id": record[mapping.id],
                        "input": {
                            var: defaults[var] if record[col] == "" and var in defaults else record[col]
                            for var, col in mapping.input.items()
                        },
                        "expected": record[mapping.expected] if mapping.expected else None,
                        "metadata": {col: record[col] for col in mapping.metadata},
                    },
                )
            )
        return rows
