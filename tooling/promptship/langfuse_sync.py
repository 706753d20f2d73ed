"""Publish prompts and datasets from Git to Langfuse: ``plan = make_plan(desired, actual)``, then apply.

- **Content-addressed.** Every version promptship creates records, in its ``config.promptship``, the
  hash of what Langfuse serves (type, prompt, config) and the git sha. Identical content is never
  pushed twice: a label moves to the existing version with that hash (this is how ``git revert``
  rolls back without a new version). A second apply makes zero writes.
- **Newest commit wins, by git ancestry, per branch.** Each branch has its own ledger prompt
  (:func:`ledger_name`, e.g. ``_promptship/sync-ledgers/main``), one version per commit synced from
  it; only that branch's entries count, so a ``release/*`` sync never steers ``main``. A sync targets
  the newest commit it knows of — its own or one in the ledger — *records it in the ledger before
  writing anything* (also when there is nothing to write), applies its plan, and re-reads both
  Langfuse and the ledger until nothing is left to do. Two syncs running at once or out of order
  therefore both end on the newest commit's state, a stale run changes nothing, and labels only
  ever move forward by ancestry, whatever step a crash interrupts.
- **Diverged ledgers** (the branch was force-pushed): ancestry cannot order two lines of history, so
  among the commits that no other known commit descends from, the one recorded in the ledger most
  recently wins (a commit not recorded yet counts as the most recent), with a warning. Nothing
  refuses to sync; a re-run of a commit the branch has since abandoned is the one case this
  cannot tell apart from a new push.
- **Crash-safe.** Each step is idempotent and the plan is computed from what Langfuse holds, so
  rerunning an interrupted apply converges. Labels are set on creation or moved to versions that
  exist. A create whose response is lost is retried only after checking that no version with its
  content hash exists yet (creating a prompt version is not idempotent in Langfuse).
- **Drift.** ``check`` reports labelled versions whose content differs from Git (an edit in the
  Langfuse UI makes a version without promptship's hash, or with content that no longer matches it).

The Langfuse client is the official SDK; 5xx, 429 and timeouts are retried with backoff (by
promptship only: the SDK's own retries are turned off so every retry can be checked first).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
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

LEDGER_PREFIX = "_promptship/sync-ledgers/"
LEDGER_WINDOW = 20
MAX_ROUNDS = 5
#: A full commit id as git prints it (SHA-1, or SHA-256 in repositories that use it).
COMMIT_ID = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
#: Branch names usable as they are in a Langfuse prompt name (folders separated by single slashes).
_PLAIN_BRANCH = re.compile(r"^[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")


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


# -- the ledger (pure) ----------------------------------------------------------------------------------


def ledger_name(branch: str) -> str:
    """The ledger prompt of ``branch``: a valid Langfuse prompt name, one per branch.

    A plain branch name (letters, digits, ``_ . -``, single slashes) is used as it is
    (``main`` → ``_promptship/sync-ledgers/main``); any other gets a readable slug plus a hash of the
    exact name. Entries also carry their branch, so a collision could never mix two branches.
    """
    if _PLAIN_BRANCH.match(branch) and len(branch) <= 200:
        return LEDGER_PREFIX + branch
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", branch).strip("-.")[:100] or "branch"
    return f"{LEDGER_PREFIX}{slug}-h{hashlib.sha256(branch.encode()).hexdigest()[:12]}"


def ledger_entry(branch: str, commit: str) -> str:
    """The text of the ledger version recording that ``branch`` published ``commit``."""
    return json.dumps({"commit": commit, "branch": branch}, sort_keys=True)


def ledger_commits(entries: Iterable[tuple[int, Any]], branch: str, warn: Callable[[str], None]) -> list[str]:
    """The commits of ``branch`` in ledger versions ``entries`` (``(version, text)``), oldest first.

    Only well-formed entries of ``branch`` with a full lowercase hex commit id count; anything else
    (edited by hand, another tool, another branch) is skipped with a warning, never executed or trusted.
    """
    commits = []
    for version, text in entries:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        commit = data.get("commit") if isinstance(data, dict) else None
        if not isinstance(commit, str) or not COMMIT_ID.match(commit):
            warn(f"warning: ignoring malformed sync ledger entry v{version} of branch {branch!r}")
        elif data.get("branch") != branch:  # type: ignore[union-attr]
            warn(f"warning: ignoring sync ledger entry v{version}: it records another branch")
        else:
            commits.append(commit)
    return commits


def newest_commit(
    own: str,
    recorded: Sequence[str],
    ancestor: Callable[[str, str], bool],
    warn: Callable[[str], None],
) -> str:
    """The commit a sync of ``own`` publishes, given the branch's ledger ``recorded`` (oldest first).

    The newest by ancestry: the commit that descends from all others. When the branch was
    force-pushed, several commits may descend from no other (``ancestor(a, b)`` is false both ways);
    then the one recorded most recently wins (``own``, if not recorded yet, counts as the most recent)
    and ``warn`` names the ones set aside. Never refuses, so a rewritten branch cannot block syncs.
    """
    recency = {commit: index for index, commit in enumerate(recorded)}
    recency.setdefault(own, len(recorded))
    frontier: list[str] = []
    for commit in sorted(recency, key=recency.__getitem__):
        if any(ancestor(commit, other) for other in frontier):
            continue
        frontier = [other for other in frontier if not ancestor(other, commit)] + [commit]
    winner = max(frontier, key=recency.__getitem__)
    others = [commit[:12] for commit in frontier if commit != winner]
    if others:
        warn(
            f"warning: the sync ledger holds commits on diverged histories ({', '.join(others)} and "
            f"{winner[:12]}; was the branch force-pushed?): the most recently published, {winner[:12]}, wins"
        )
    return winner


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
        self._content: dict[tuple[str, int], ActualVersion] = {}

    def _call(
        self, what: str, fn: Callable[[], Any], *, write: bool = False, landed: Callable[[], bool] | None = None
    ) -> Any:
        """``fn()``, retried on 5xx, 429 and errors without a status (timeouts, dropped connections).

        A read answered 404 returns None. ``landed`` makes a non-idempotent write safe to retry:
        before each retry it is asked whether the previous attempt took effect after all (its
        response was lost), and if so nothing is sent again. Persistent failure: :class:`SyncError`.
        """
        for attempt in range(self.attempts):
            if attempt and landed is not None and landed():
                self.writes += 1
                return None
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

    def _version_numbers(self, name: str) -> list[int]:
        """Every version number of prompt ``name``, oldest first (one list request)."""
        meta = self._call(f"list {name}", lambda: self.client.api.prompts.list(name=name, limit=100))
        return sorted({v for m in (meta.data if meta else []) if m.name == name for v in m.versions})

    def _get(self, name: str, *, version: int | None = None, label: str | None = None) -> dict[str, Any] | None:
        """One version as a dict, by number or label; None when Langfuse has no such version (any more)."""
        data = self._call(
            f"get {name} {label or f'v{version}'}",
            lambda: self.client.api.prompts.get(self._quoted(name), version=version, label=label),
        )
        if data is None:
            return None
        return data.dict() if hasattr(data, "dict") else dict(data)

    def _actual(self, name: str, *, version: int | None = None, label: str | None = None) -> ActualVersion | None:
        raw = self._get(name, version=version, label=label)
        if raw is None:
            return None
        prompt = raw["prompt"]
        if isinstance(prompt, list):
            prompt = [{"role": m.get("role"), "content": m.get("content")} for m in prompt]
        config = raw.get("config") or {}
        own = config.get("promptship") if isinstance(config, dict) else None
        found = ActualVersion(
            int(raw["version"]),
            tuple(label for label in raw.get("labels", []) if label != "latest"),
            (own or {}).get("content_hash"),
            served_hash(raw.get("type") or "text", prompt, config),
            (own or {}).get("git_sha"),
        )
        self._content[(name, found.version)] = found
        return found

    def find_version(self, name: str, digest: str, skip: Iterable[int] = ()) -> ActualVersion | None:
        """The newest version of ``name`` whose content hash is ``digest``, searching every version.

        Newest first, so a just-created or recently reverted-to version is found after a request or
        two. Version content never changes in Langfuse, so each version is read once per store;
        the labels of a returned version may be stale (read holders by label for those).
        """
        skipped = set(skip)
        for number in reversed(self._version_numbers(name)):
            if number in skipped:
                continue
            version = self._content.get((name, number)) or self._actual(name, version=number)
            if version is not None and _version_with_hash([version], digest) is not None:
                return version
        return None

    def prompt_versions(self, name: str, labels: Sequence[str], digest: str) -> list[ActualVersion]:
        """What a plan for prompt ``name`` needs: the versions holding ``labels`` (read fresh, by
        label) and, when none of them has content hash ``digest``, the newest version that has.

        An unchanged prompt costs one request per label; only new content searches all versions.
        """
        holders: dict[int, ActualVersion] = {}
        for label in labels:
            version = self._actual(name, label=label)
            if version is not None:
                holders[version.version] = version
        if _version_with_hash(list(holders.values()), digest) is not None:
            return list(holders.values())
        match = self.find_version(name, digest, skip=holders)
        if match is None:
            return list(holders.values())
        # It holds none of ``labels`` (their holders were skipped); its cached labels may be stale.
        return [
            *holders.values(),
            ActualVersion(match.version, (), match.recorded_hash, match.served_hash, match.git_sha),
        ]

    def create_version(self, prompt: DesiredPrompt, commit: str) -> None:
        """Create a version of ``prompt`` (labels set atomically); a retry after a lost response
        first checks whether the version exists, so a version is never created twice."""
        from langfuse.api import CreateChatPromptRequest, CreateChatPromptType, CreateTextPromptRequest

        config = {**prompt.config, "promptship": {"content_hash": prompt.hash, "git_sha": commit}}
        fields: dict[str, Any] = {
            "name": prompt.name,
            "prompt": prompt.prompt,
            "labels": list(prompt.labels),
            "tags": list(prompt.tags),
            "config": config,
            "commit_message": f"promptship {commit[:12]} content {prompt.hash[:12]}",
        }
        request = (
            CreateChatPromptRequest(**fields, type=CreateChatPromptType.CHAT)
            if prompt.type == "chat"
            else CreateTextPromptRequest(**fields)
        )
        self._call(
            f"create {prompt.name}",
            lambda: self.client.api.prompts.create(request=request, request_options={"max_retries": 0}),
            write=True,
            landed=lambda: self.find_version(prompt.name, prompt.hash) is not None,
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

    def ledger(self, name: str) -> list[tuple[int, Any]]:
        """(version, text) of the newest :data:`LEDGER_WINDOW` versions of ledger prompt ``name``, oldest first."""
        entries = []
        for number in self._version_numbers(name)[-LEDGER_WINDOW:]:
            raw = self._get(name, version=number)
            if raw is not None:
                entries.append((number, raw.get("prompt")))
        return entries

    def record(self, name: str, branch: str, commit: str) -> None:
        """Append ``commit`` to ``branch``'s ledger prompt ``name`` (a duplicate entry is harmless)."""
        from langfuse.api import CreateTextPromptRequest

        request = CreateTextPromptRequest(
            name=name,
            prompt=ledger_entry(branch, commit),
            labels=[],
            config={},
            commit_message=f"promptship synced {branch[:200]} at {commit[:12]}",
        )
        self._call(
            "write ledger",
            lambda: self.client.api.prompts.create(request=request, request_options={"max_retries": 0}),
            write=True,
        )


def read_actual(
    store: LangfuseStore, prompts: Iterable[DesiredPrompt], datasets: Iterable[str]
) -> tuple[dict[str, list[ActualVersion]], dict[str, dict[str, ActualItem]]]:
    actual_prompts = {p.name: store.prompt_versions(p.name, p.labels, p.hash) for p in prompts}
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


def _ensure_present(root: Path, commit: str) -> None:
    """Fetch ``commit`` (a validated full id, see :data:`COMMIT_ID`) if this clone lacks it."""
    try:
        resolve_commit(root, commit)
    except PromptshipError:
        subprocess.run(["git", "fetch", "--quiet", "origin", "--", commit], cwd=root, capture_output=True, check=False)
        try:
            resolve_commit(root, commit)
        except PromptshipError:
            raise SyncError(
                f"the sync ledger names commit {commit[:12]}, which this clone does not have",
                code="E822",
                hint="fetch the full history (actions/checkout fetch-depth: 0)",
            ) from None


def branch_of(root: Path, ref: str) -> str | None:
    """The branch ``ref`` names: the checked-out branch for ``HEAD``, ``ref`` itself when it is a local
    or ``origin`` branch, else None (a sha or tag says nothing about which branch it publishes for)."""
    if ref == "HEAD":
        done = subprocess.run(
            ["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=root, capture_output=True, text=True
        )
        return done.stdout.strip() or None
    for prefix in ("refs/heads/", "refs/remotes/origin/"):
        found = subprocess.run(["git", "show-ref", "--verify", "--quiet", "--", prefix + ref], cwd=root, check=False)
        if found.returncode == 0:
            return ref
    return None


def _once(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log``, saying each distinct line only once (sync re-reads the ledger every round)."""
    said: set[str] = set()

    def say(line: str) -> None:
        if line not in said:
            said.add(line)
            log(line)

    return say


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
    warn: Callable[[str], None] | None = None,
) -> SyncOutcome:
    """Plan (and with ``apply``, execute) publishing ``ref`` under ``branch``'s release labels.

    ``log`` receives progress lines, ``warn`` (default: ``log``) each distinct warning once.

    Invariant: a label only ever moves forward along ``branch``'s history, even after a crash at any
    step, because the target commit is in the branch's ledger before any write is made for it.
    Applying a commit that is already recorded and already served makes zero writes.
    """
    own = resolve_commit(root, ref)
    ledger = ledger_name(branch)
    warn = _once(warn or log)
    outcome: SyncOutcome | None = None
    for round_number in range(1, MAX_ROUNDS + 1):
        recorded = ledger_commits(store.ledger(ledger), branch, warn)
        for commit in dict.fromkeys(recorded):
            _ensure_present(root, commit)
        target = newest_commit(own, recorded, lambda a, b: is_ancestor(root, a, b), warn)
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
        if target not in recorded:
            # Intent first: from here on every sync of this branch targets this commit or a newer one.
            store.record(ledger, branch, target)
        if plan.empty:
            outcome.writes = store.writes
            return outcome
        if superseded:
            log(f"newer commit {target[:12]} is in the sync ledger: applying its state instead of {own[:12]}")
        apply_plan(store, plan, log)
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
        versions = {v.version: v for v in store.prompt_versions(prompt.name, prompt.labels, prompt.hash)}
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
