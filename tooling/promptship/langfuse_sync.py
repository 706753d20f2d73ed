"""Publish prompts and datasets from Git to Langfuse: ``plan = make_plan(desired, actual)``, then apply.

- **Content-addressed.** Every version promptship creates records, in its ``config.promptship``, the
  hash of what Langfuse serves (type, prompt, config) and the git sha. Identical content is never
  pushed twice: a label moves to the existing version with that hash (this is how ``git revert``
  rolls back without a new version). A second apply makes zero writes.
- **Newest commit wins, by git ancestry.** Every apply is recorded in a ledger prompt
  (``_promptship/sync-ledger``, one version per applied commit). A sync applies the plan of the
  newest commit it knows of — its own or one in the ledger — then records it and re-reads both
  Langfuse and the ledger until nothing is left to do. Two syncs running at once or out of order
  therefore both end on the newest commit's state, and a stale run changes nothing.
- **Crash-safe.** Each step is idempotent and the plan is computed from what Langfuse holds, so
  rerunning an interrupted apply converges. Labels are set on creation or moved to versions that exist.
- **Drift.** ``check`` reports labelled versions whose content differs from Git (an edit in the
  Langfuse UI makes a version without promptship's hash, or with content that no longer matches it).

The Langfuse client is the official SDK; 5xx, 429 and timeouts are retried with backoff.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EXIT_FAILED, CredentialError, PromptshipError
from .repo import Repository, content_hash
from .schema import ReleaseRule
from .sources import is_ancestor, resolve_commit
from .validate import load_valid_repo

LEDGER = "_promptship/sync-ledger"
LEDGER_WINDOW = 20
MAX_ROUNDS = 5


class SyncError(PromptshipError):
    exit_code = EXIT_FAILED


# -- desired state (pure) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredPrompt:
    name: str
    type: str
    prompt: Any
    config: dict[str, Any]
    labels: tuple[str, ...]
    tags: tuple[str, ...]
    hash: str


@dataclass(frozen=True)
class DesiredItem:
    id: str
    input: Any
    expected_output: Any
    metadata: Any

    @property
    def hash(self) -> str:
        return content_hash({"input": self.input, "expected": self.expected_output, "metadata": self.metadata})


def served_hash(kind: str, prompt: Any, config: Mapping[str, Any]) -> str:
    """Hash of what Langfuse serves for a version (promptship's own bookkeeping excluded)."""
    core = {k: v for k, v in config.items() if k != "promptship"}
    return content_hash({"type": kind, "prompt": prompt, "config": core})


def labels_for(rules: Sequence[ReleaseRule], branch: str) -> tuple[str, ...]:
    labels: list[str] = []
    for rule in rules:
        if fnmatch.fnmatchcase(branch, rule.ref):
            labels += [label for label in rule.labels if label not in labels]
    return tuple(labels)


def desired_prompts(repo: Repository, branch: str) -> list[DesiredPrompt]:
    wanted = []
    for name, entry in sorted(repo.prompts.items()):
        prompt = entry.prompt
        release = prompt.release
        if release is not None and not release.publish:
            continue
        rules = release.rules if release is not None and release.rules is not None else repo.policies.release.rules
        body: Any = (
            [{"role": m.role, "content": m.content} for m in prompt.messages]
            if prompt.messages is not None
            else prompt.template
        )
        config = {
            "model": prompt.model,
            "params": prompt.params.model_dump(mode="json", by_alias=True, exclude_none=True),
            "variables": {k: v.model_dump(mode="json", exclude_none=True) for k, v in prompt.variables.items()},
        }
        wanted.append(
            DesiredPrompt(
                name,
                prompt.type,
                body,
                config,
                labels_for(rules, branch),
                tuple(prompt.tags),
                served_hash(prompt.type, body, config),
            )
        )
    return wanted


def langfuse_item_id(dataset: str, item_id: str) -> str:
    """Langfuse item ids are unique per project, so they are qualified by the dataset name."""
    return f"{dataset.replace('/', '__')}:{item_id}"


def desired_datasets(repo: Repository) -> dict[str, list[DesiredItem]]:
    return {
        name: [
            DesiredItem(langfuse_item_id(name, i.id), i.input, i.expected, {**i.metadata, "promptship_id": i.id})
            for i in entry.items
        ]
        for name, entry in sorted(repo.datasets.items())
    }


# -- actual state ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualVersion:
    version: int
    labels: tuple[str, ...]
    recorded_hash: str | None
    served_hash: str
    git_sha: str | None


@dataclass(frozen=True)
class ActualItem:
    id: str
    status: str
    hash: str


# -- the plan (pure) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # create_version | move_label | create_dataset | upsert_item | archive_item
    target: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        return f"{self.kind:15} {self.target}: {self.detail}"


@dataclass
class Plan:
    commit: str
    actions: list[Action]
    unchanged: list[str]

    @property
    def empty(self) -> bool:
        return not self.actions


def _version_with_hash(versions: Sequence[ActualVersion], digest: str) -> ActualVersion | None:
    matching = [v for v in versions if v.recorded_hash == digest and v.served_hash == digest]
    return max(matching, key=lambda v: v.version) if matching else None


def make_plan(
    commit: str,
    prompts: Sequence[DesiredPrompt],
    actual: Mapping[str, Sequence[ActualVersion]],
    datasets: Mapping[str, Sequence[DesiredItem]] | None = None,
    actual_items: Mapping[str, Mapping[str, ActualItem]] | None = None,
) -> Plan:
    """What to write so Langfuse matches Git at ``commit`` (pure; no I/O)."""
    actions: list[Action] = []
    unchanged: list[str] = []
    for prompt in prompts:
        versions = actual.get(prompt.name, [])
        holder = {label: v.version for v in versions for label in v.labels}
        existing = _version_with_hash(versions, prompt.hash)
        if existing is None:
            actions.append(
                Action(
                    "create_version",
                    prompt.name,
                    f"new version with labels {', '.join(prompt.labels) or '(none)'}",
                    {"prompt": prompt},
                )
            )
            continue
        moves = [label for label in prompt.labels if holder.get(label) != existing.version]
        for label in moves:
            before = f"v{holder[label]}" if label in holder else "nowhere"
            actions.append(
                Action(
                    "move_label",
                    prompt.name,
                    f"{label}: {before} → v{existing.version}",
                    {"label": label, "version": existing.version},
                )
            )
        if not moves:
            unchanged.append(prompt.name)
    for name, items in (datasets or {}).items():
        current = (actual_items or {}).get(name)
        if current is None:
            actions.append(Action("create_dataset", name, f"{len(items)} item(s)", {}))
            current = {}
        wanted = {item.id: item for item in items}
        for item in items:
            have = current.get(item.id)
            if have is None or have.hash != item.hash or have.status != "ACTIVE":
                actions.append(
                    Action("upsert_item", name, f"{'update' if have else 'create'} {item.id}", {"item": item})
                )
        for item_id, have in sorted(current.items()):
            if item_id not in wanted and have.status == "ACTIVE":
                actions.append(Action("archive_item", name, f"archive {item_id}", {"id": item_id}))
    return Plan(commit, actions, unchanged)


# -- Langfuse I/O -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LangfuseSettings:
    public_key: str
    secret_key: str
    host: str

    @classmethod
    def from_policy(cls, repo: Repository, env: Mapping[str, str]) -> LangfuseSettings:
        """Credentials from the variables policies/credentials.yaml names (shared keys)."""
        credentials = repo.policies.credentials
        names = (
            credentials.shared.langfuse_public_key_env or "LANGFUSE_PUBLIC_KEY",
            credentials.shared.langfuse_secret_key_env or "LANGFUSE_SECRET_KEY",
            credentials.langfuse_host_env,
        )
        return cls.from_env(env, names)

    @classmethod
    def from_env(cls, env: Mapping[str, str], names: tuple[str, str, str]) -> LangfuseSettings:
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise CredentialError(
                f"missing environment variable(s) {', '.join(missing)} for Langfuse",
                code="E801",
                hint="set them from your secrets store; policies/credentials.yaml names them",
            )
        return cls(env[names[0]], env[names[1]], env[names[2]])


class LangfuseStore:
    """Reads and writes through the official SDK, retrying transient failures."""

    def __init__(
        self,
        settings: LangfuseSettings,
        *,
        attempts: int = 4,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        tracing: bool = False,
    ) -> None:
        from langfuse import Langfuse

        self._secret = settings.secret_key
        self.client = Langfuse(
            public_key=settings.public_key,
            secret_key=settings.secret_key,
            host=settings.host,
            tracing_enabled=tracing,
            timeout=10,
        )
        self.attempts, self.backoff_s, self.sleep = attempts, backoff_s, sleep
        self.writes = 0

    def _call(self, what: str, fn: Callable[[], Any], *, write: bool = False) -> Any:
        for attempt in range(self.attempts):
            try:
                result = fn()
                if write:
                    self.writes += 1
                return result
            except Exception as exc:  # noqa: BLE001 - classified below
                status = getattr(exc, "status_code", None)
                transient = status is None or status >= 500 or status == 429
                if status == 404 and not write:
                    return None
                if not transient or attempt + 1 == self.attempts:
                    message = str(getattr(exc, "body", "") or exc).replace(self._secret, "***")[:300]
                    raise SyncError(
                        f"Langfuse {what} failed ({status or type(exc).__name__}): {message}",
                        code="E820",
                        hint="check LANGFUSE_HOST and keys; rerun: sync converges",
                    ) from None
                self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _quoted(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def prompt_versions(self, name: str) -> list[ActualVersion]:
        meta = self._call(f"list {name}", lambda: self.client.api.prompts.list(name=name, limit=100))
        numbers = sorted({v for m in (meta.data if meta else []) if m.name == name for v in m.versions})
        return [self._version(name, number) for number in numbers[-50:]]

    def _version(self, name: str, number: int) -> ActualVersion:
        data = self._call(
            f"get {name} v{number}", lambda: self.client.api.prompts.get(self._quoted(name), version=number)
        )
        raw = data.dict() if hasattr(data, "dict") else dict(data)
        prompt = raw["prompt"]
        if isinstance(prompt, list):
            prompt = [{"role": m["role"], "content": m["content"]} for m in prompt]
        config = raw.get("config") or {}
        own = config.get("promptship") if isinstance(config, dict) else None
        return ActualVersion(
            number,
            tuple(label for label in raw.get("labels", []) if label != "latest"),
            (own or {}).get("content_hash"),
            served_hash(raw.get("type") or "text", prompt, config),
            (own or {}).get("git_sha"),
        )

    def create_version(self, prompt: DesiredPrompt, commit: str) -> None:
        config = {**prompt.config, "promptship": {"content_hash": prompt.hash, "git_sha": commit}}
        self._call(
            f"create {prompt.name}",
            lambda: self.client.create_prompt(  # type: ignore[call-overload]
                name=prompt.name,
                prompt=prompt.prompt,
                type=prompt.type,
                labels=list(prompt.labels),  # type: ignore[arg-type]
                tags=list(prompt.tags),
                config=config,
                commit_message=f"promptship {commit[:12]} content {prompt.hash[:12]}",
            ),
            write=True,
        )

    def move_label(self, name: str, label: str, version: int) -> None:
        self._call(
            f"label {name} v{version}",
            lambda: self.client.update_prompt(name=name, version=version, new_labels=[label]),
            write=True,
        )

    def dataset_items(self, name: str) -> dict[str, ActualItem] | None:
        if self._call(f"get dataset {name}", lambda: self.client.api.datasets.get(self._quoted(name))) is None:
            return None
        found: dict[str, ActualItem] = {}
        page = 1
        while True:
            chunk = self._call(
                f"list items of {name}",
                lambda page=page: self.client.api.dataset_items.list(  # type: ignore[misc]
                    dataset_name=name, page=page, limit=100
                ),
            )
            for item in chunk.data:
                found[item.id] = ActualItem(
                    item.id,
                    str(getattr(item.status, "value", item.status)),
                    DesiredItem(item.id, item.input, item.expected_output, item.metadata).hash,
                )
            if page >= chunk.meta.total_pages:
                return found
            page += 1

    def create_dataset(self, name: str) -> None:
        self._call(
            f"create dataset {name}",
            lambda: self.client.create_dataset(
                name=name, description="synced by promptship", metadata={"promptship": True}
            ),
            write=True,
        )

    def upsert_item(self, dataset: str, item: DesiredItem, status: str = "ACTIVE") -> None:
        from langfuse.api import DatasetStatus

        self._call(
            f"upsert item {item.id}",
            lambda: self.client.create_dataset_item(
                dataset_name=dataset,
                id=item.id,
                input=item.input,
                expected_output=item.expected_output,
                metadata=item.metadata,
                status=DatasetStatus(status),
            ),
            write=True,
        )

    def ledger(self) -> list[tuple[int, str]]:
        """(ledger version, commit) of the most recent applies, oldest first."""
        meta = self._call("read ledger", lambda: self.client.api.prompts.list(name=LEDGER, limit=1))
        numbers = sorted({v for m in (meta.data if meta else []) if m.name == LEDGER for v in m.versions})
        entries = []
        for number in numbers[-LEDGER_WINDOW:]:
            data = self._call(
                "read ledger",
                lambda number=number: self.client.api.prompts.get(  # type: ignore[misc]
                    self._quoted(LEDGER), version=number
                ),
            )
            entries.append((number, json.loads(data.dict()["prompt"])["commit"]))
        return entries

    def record(self, commit: str) -> None:
        self._call(
            "write ledger",
            lambda: self.client.create_prompt(
                name=LEDGER,
                prompt=json.dumps({"commit": commit}),
                type="text",
                commit_message=f"promptship applied {commit[:12]}",
            ),
            write=True,
        )


def read_actual(
    store: LangfuseStore, prompts: Iterable[DesiredPrompt], datasets: Iterable[str]
) -> tuple[dict[str, list[ActualVersion]], dict[str, dict[str, ActualItem]]]:
    actual_prompts = {p.name: store.prompt_versions(p.name) for p in prompts}
    actual_items = {}
    for name in datasets:
        items = store.dataset_items(name)
        if items is not None:
            actual_items[name] = items
    return actual_prompts, actual_items


def apply_plan(store: LangfuseStore, plan: Plan, log: Callable[[str], None]) -> None:
    for action in plan.actions:
        if action.kind == "create_version":
            store.create_version(action.data["prompt"], plan.commit)
        elif action.kind == "move_label":
            store.move_label(action.target, action.data["label"], action.data["version"])
        elif action.kind == "create_dataset":
            store.create_dataset(action.target)
        elif action.kind == "upsert_item":
            store.upsert_item(action.target, action.data["item"])
        elif action.kind == "archive_item":
            store.upsert_item(action.target, DesiredItem(action.data["id"], None, None, None), status="ARCHIVED")
        log(f"done  {action.describe()}")


# -- orchestration ----------------------------------------------------------------------------------------


def newest_commit(root: Path, commits: Iterable[str]) -> str:
    """The commit that descends from all the others; :class:`SyncError` if histories diverged."""
    unique = list(dict.fromkeys(commits))
    for commit in unique:
        _ensure_present(root, commit)
    newest = unique[0]
    for commit in unique[1:]:
        if is_ancestor(root, newest, commit):
            newest = commit
        elif not is_ancestor(root, commit, newest):
            raise SyncError(
                f"commits {newest[:12]} and {commit[:12]} are on diverged histories",
                code="E821",
                hint="sync only from the release branch (main)",
            )
    return newest


def _ensure_present(root: Path, commit: str) -> None:
    try:
        resolve_commit(root, commit)
    except PromptshipError:
        subprocess.run(["git", "fetch", "--quiet", "origin", commit], cwd=root, capture_output=True, check=False)
        try:
            resolve_commit(root, commit)
        except PromptshipError:
            raise SyncError(
                f"the sync ledger names commit {commit[:12]}, which this clone does not have",
                code="E822",
                hint="fetch the full history (actions/checkout fetch-depth: 0)",
            ) from None


@dataclass
class SyncOutcome:
    plan: Plan
    applied: bool
    writes: int
    superseded_by: str | None = None
    rounds: int = 0


def sync(
    root: Path,
    store: LangfuseStore,
    *,
    ref: str,
    branch: str,
    apply: bool,
    log: Callable[[str], None] = lambda line: None,
) -> SyncOutcome:
    """Plan (and with ``apply``, execute) publishing ``ref`` under ``branch``'s release labels."""
    own = resolve_commit(root, ref)
    outcome: SyncOutcome | None = None
    for round_number in range(1, MAX_ROUNDS + 1):
        ledger = [commit for _, commit in store.ledger()]
        target = newest_commit(root, [own, *ledger])
        repo = load_valid_repo(root, target)
        prompts = desired_prompts(repo, branch)
        datasets = desired_datasets(repo)
        actual, items = read_actual(store, prompts, datasets)
        plan = make_plan(target, prompts, actual, datasets, items)
        superseded = target if target != own else None
        if not apply:
            return SyncOutcome(plan, False, 0, superseded)
        if outcome is None:
            outcome = SyncOutcome(plan, True, 0, superseded)
        outcome.rounds = round_number
        if plan.empty:
            # Nothing to write: Langfuse already serves this state, so the ledger needs no entry either
            # (its newest commit serves the same state).
            outcome.writes = store.writes
            return outcome
        if superseded:
            log(f"newer commit {target[:12]} is in the sync ledger: applying its state instead of {own[:12]}")
        apply_plan(store, plan, log)
        if target not in ledger:
            store.record(target)
    raise SyncError(
        f"Langfuse did not converge after {MAX_ROUNDS} rounds",
        code="E823",
        hint="another sync may be running in a loop; rerun when it finished",
    )


@dataclass(frozen=True)
class Drift:
    prompt: str
    label: str
    version: int
    reason: str


def check_drift(root: Path, store: LangfuseStore, *, ref: str, branch: str) -> list[Drift]:
    """Labels whose version in Langfuse does not serve what Git says (e.g. edited in the UI)."""
    repo = load_valid_repo(root, resolve_commit(root, ref))
    drift = []
    for prompt in desired_prompts(repo, branch):
        versions = {v.version: v for v in store.prompt_versions(prompt.name)}
        holder = {label: number for number, v in versions.items() for label in v.labels}
        for label in prompt.labels:
            number = holder.get(label)
            if number is None:
                drift.append(Drift(prompt.name, label, 0, "label missing in Langfuse"))
                continue
            version = versions[number]
            if version.served_hash != prompt.hash:
                reason = (
                    "edited outside promptship"
                    if version.recorded_hash != version.served_hash
                    else "published from another commit"
                )
                drift.append(Drift(prompt.name, label, number, reason))
    return drift
