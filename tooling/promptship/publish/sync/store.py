"""Langfuse I/O through the official SDK: reads, idempotency-checked writes, retries with backoff."""

from __future__ import annotations

import math
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import CredentialError, SyncError
from ...files.redact import redact_otel_spans
from ...files.repo import Repository
from ...llm.retry import Action, ErrorClass, RetryPolicy, decide
from .desired import (
    DesiredItem,
    DesiredPrompt,
    served_hash,
    served_messages,
)
from .ledger import LEDGER_WINDOW, State, ledger_entry
from .plan import ActualItem, ActualVersion, Plan, version_with_hash

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


def _retry_after(exc: BaseException) -> float | None:
    """The seconds an error response's ``Retry-After`` asks for (the SDK's ``ApiError.headers``), else None."""
    headers = getattr(exc, "headers", None)
    value = headers.get("retry-after") or headers.get("Retry-After") if isinstance(headers, Mapping) else None
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


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
            mask_otel_spans=redact_otel_spans,  # `eval --publish` traces answers an upstream may have filled with a key
        )
        self.attempts, self.backoff_s, self.sleep = attempts, backoff_s, sleep
        self.writes = 0
        self._content: dict[tuple[str, int], ActualVersion] = {}
        self._ledger_texts: dict[tuple[str, int], Any] = {}

    def _call(
        self, what: str, fn: Callable[[], Any], *, write: bool = False, landed: Callable[[], bool] | None = None
    ) -> Any:
        """``fn()``, retried on 5xx, 429 and errors without a status (timeouts, dropped connections).

        A read answered 404 returns None. ``landed`` makes a non-idempotent write safe to retry:
        before each retry it is asked whether the previous attempt took effect after all (its
        response was lost), and if so nothing is sent again. Persistent failure: :class:`SyncError`.
        """
        policy = RetryPolicy(attempts=self.attempts, backoff_base_s=self.backoff_s)
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and landed is not None and landed():
                self.writes += 1
                return None
            try:
                result = fn()
                if write:
                    self.writes += 1
                return result
            except Exception as exc:  # noqa: BLE001 - classified below
                status = getattr(exc, "status_code", None)
                if status == 404 and not write:
                    return None
                transient = status is None or status >= 500 or status == 429
                error = ErrorClass.TRANSIENT if transient else ErrorClass.INVALID
                decision = decide(policy, attempt=attempt, error=error, retry_after_s=_retry_after(exc))
                if decision.action is not Action.RETRY:
                    message = str(getattr(exc, "body", "") or exc).replace(self._secret, "***")[:300]
                    raise SyncError(
                        f"Langfuse {what} failed ({status or type(exc).__name__}): {message}",
                        code="E820",
                        hint="check LANGFUSE_HOST and keys; rerun: sync converges",
                    ) from None
                self.sleep(decision.wait_s)

    def read(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` (one read request), retried like every Langfuse call; None when answered 404;
        :class:`SyncError` (E820) when it keeps failing."""
        return self._call(what, fn)

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
            prompt = served_messages(prompt)
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
            if version is not None and version_with_hash([version], digest) is not None:
                return version
        return None

    def label_holders(self, name: str, labels: Sequence[str]) -> list[ActualVersion]:
        """The versions of ``name`` holding ``labels`` now (one request per label; a label no version
        holds is left out). Labs shows them on a prompt's page."""
        holders: dict[int, ActualVersion] = {}
        for label in labels:
            version = self._actual(name, label=label)
            if version is not None:
                holders[version.version] = version
        return list(holders.values())

    def prompt_versions(self, name: str, labels: Sequence[str], digest: str) -> list[ActualVersion]:
        """What a plan for prompt ``name`` needs: the versions holding ``labels`` (read fresh, by
        label) and, when none of them has content hash ``digest``, the newest version that has.

        An unchanged prompt costs one request per label; only new content searches all versions.
        """
        holders = {version.version: version for version in self.label_holders(name, labels)}
        if version_with_hash(list(holders.values()), digest) is not None:
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
            CreateChatPromptRequest(**fields, type=CreateChatPromptType.CHAT)  # type: ignore[arg-type]  # Fern's enum
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
        """(version, text) of the newest :data:`LEDGER_WINDOW` versions of ledger prompt ``name``, oldest first.

        Versions are immutable, so each is fetched once per store: a re-read costs one list request
        plus one request per version added since (the check before every write relies on this).
        """
        entries = []
        for number in self._version_numbers(name)[-LEDGER_WINDOW:]:
            if (name, number) not in self._ledger_texts:
                raw = self._get(name, version=number)
                if raw is None:
                    continue
                self._ledger_texts[(name, number)] = raw.get("prompt")
            entries.append((number, self._ledger_texts[(name, number)]))
        return entries

    def record(self, name: str, branch: str, commit: str, sync: str | None = None, state: State = "done") -> None:
        """Append an entry to ``branch``'s ledger prompt ``name``: sync ``sync`` claims (``claim``) or
        has published (``done``) ``commit`` (a duplicate entry is harmless)."""
        from langfuse.api import CreateTextPromptRequest

        request = CreateTextPromptRequest(
            name=name,
            prompt=ledger_entry(branch, commit, sync, state, time.time()),
            labels=[],
            config={},
            commit_message=f"promptship {'claimed' if state == 'claim' else 'synced'} {branch[:200]} at {commit[:12]}",
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


def apply_plan(
    store: LangfuseStore, plan: Plan, log: Callable[[str], None], before_write: Callable[[], None] = lambda: None
) -> None:
    """Execute ``plan`` in order; ``before_write`` runs before each action (and may raise to stop)."""
    for action in plan.actions:
        before_write()
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
