"""Usage rows: one per model call served by the gateway or made through the SDK, and where they are kept.

A :class:`UsageRow` holds what a call consumed and how it ended — never message text, never a key
(``key_id`` is a short one-way hash of the gateway key, ``request_hash`` a sha256 of the normalised
request for repeat detection). Rows go to a :class:`UsageStore`: a SQLite file by default
(``.promptship/usage.sqlite``, ``ops/usage_sqlite.py``), Redis when ``REDIS_URL`` is set
(``ops/usage_redis.py``); ``PROMPTSHIP_USAGE_URL`` overrides both (``sqlite:///path``, ``redis://…``,
``off``). ``ops/stores.py`` picks and opens the store; recording is
:class:`~promptship.ops.recording.UsageRecorder`'s job (batched, off the request path); reading and
aggregating is ``ops/usage_report.py``'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import ModelCallFailed, PiiBlockedError, PromptshipError

#: ``gateway`` and ``sdk`` record rows; ``langfuse`` marks rows read back from Langfuse's traces.
Source = Literal["gateway", "sdk", "langfuse"]

#: Outcomes that are not errors of the model call itself (``ok`` is the only success).
OK, REFUSED, BUDGET, BLOCKED = "ok", "refused", "budget", "blocked"


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One model call as recorded (the agreed fields; units in the names).

    ``ts``: UTC epoch seconds when the call ended. ``source``: ``gateway`` or ``sdk`` (``langfuse``
    for rows built from Langfuse's observations). ``key_id``:
    :func:`key_id` of the gateway key (``None`` for the SDK). ``alias``: the model alias asked for
    (for a managed prompt through the gateway, its alias). ``deployment``: the deployment that
    answered (``None`` when none did). ``prompt``/``prompt_version``/``prompt_label``: the managed
    prompt served (``None`` for raw chat calls and for bundled files, which have no version).
    ``attempts``: upstream requests made (retries and fallbacks included; ``0`` when nothing was
    sent: a budget refusal, a PII block, an idempotent replay). ``outcome``: ``ok``, ``refused``
    (the model refused: ``message.refusal``), ``budget`` (the project's budget refused it),
    ``blocked`` (the PII policy blocked it), or an error code (see docs/formats.md "Usage rows").
    """

    ts: float
    source: Source
    project: str
    key_id: str | None
    alias: str
    deployment: str | None
    prompt: str | None
    prompt_version: int | None
    prompt_label: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    attempts: int
    outcome: str
    request_hash: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRow:
        """A row from :meth:`to_dict`'s shape; fields missing from ``data`` (rows written by an older
        version) are ``None``/``0``. Raises ``KeyError``/``TypeError``/``ValueError`` on garbage."""
        values: dict[str, Any] = {name: data.get(name) for name in FIELDS}
        for name in ("input_tokens", "output_tokens", "attempts"):
            values[name] = int(values[name] or 0)
        for name in ("cost_usd", "latency_ms"):
            values[name] = float(values[name] or 0.0)
        values["ts"] = float(data["ts"])
        if values["prompt_version"] is not None:
            values["prompt_version"] = int(values["prompt_version"])
        return cls(**values)

    @property
    def failed(self) -> bool:
        return self.outcome != OK


#: The field names, in order (the SQLite columns, the JSON keys).
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(UsageRow))


def key_id(key: str) -> str:
    """A short, non-reversible id of a gateway key (12 hex digits of a domain-separated sha256):
    the same key always gives the same id, and the id says nothing usable about the key."""
    return hashlib.sha256(b"promptship-usage-key-id\x00" + key.encode()).hexdigest()[:12]


def request_hash(kind: str, payload: Any) -> str:
    """sha256 of ``kind`` (a path or ``alias``) and the canonical JSON of ``payload`` (key order does
    not matter): equal requests give equal hashes; the text cannot be recovered from it."""
    canonical = json.dumps({"kind": kind, "body": payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def outcome_of(error: BaseException) -> str:
    """The ``outcome`` of a call that raised ``error``: ``blocked`` for a PII block, the last
    attempt's outcome for a failed model call (``rate_limited``, ``timeout``, ``server_error``…),
    else the error's code (``E830``…) or ``error``."""
    if isinstance(error, PiiBlockedError):
        return BLOCKED
    if isinstance(error, ModelCallFailed):
        return "refused" if error.kind == "refusal" else error.kind
    if isinstance(error, PromptshipError):
        return error.code
    return "error"


@dataclass(frozen=True)
class UsageQuery:
    """Which rows to read: ``since`` ≤ ts < ``until`` (epoch seconds; ``None`` = open), and when
    given, only this ``project``/``source``."""

    since: float | None = None
    until: float | None = None
    project: str | None = None
    source: Source | None = None

    def matches(self, row: UsageRow) -> bool:
        return (
            (self.since is None or row.ts >= self.since)
            and (self.until is None or row.ts < self.until)
            and (self.project is None or row.project == self.project)
            and (self.source is None or row.source == self.source)
        )

    def sql_where(self, placeholder: str) -> tuple[str, list[Any]]:
        """The same filter as a SQL ``WHERE`` clause (``""`` when open) and its arguments, with
        ``placeholder`` as the driver's parameter mark (``?`` for sqlite3, ``%s`` for psycopg)."""
        clauses, arguments = [], []
        for column, operator, value in (
            ("ts", ">=", self.since),
            ("ts", "<", self.until),
            ("project", "=", self.project),
            ("source", "=", self.source),
        ):
            if value is not None:
                clauses.append(f"{column} {operator} {placeholder}")
                arguments.append(value)
        return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), arguments


class UsageStore(Protocol):
    """Where usage rows are kept. Implementations are safe to use from one thread at a time; several
    processes may append to the same store at once without losing rows."""

    #: Where the rows are, for messages (never a password).
    location: str

    def append(self, rows: Sequence[UsageRow]) -> None:
        """Add ``rows`` (all or none). Raises on a storage failure (the recorder counts and logs it)."""
        ...

    def query(self, query: UsageQuery) -> Iterator[UsageRow]:
        """The rows ``query`` matches, oldest first (approximately, across writers). Raises
        :class:`~promptship.errors.UsageStoreError` (E960) when the store cannot be read."""
        ...

    def close(self) -> None: ...


def redacted_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs): everything between the
    user name's colon and the last ``@`` of the address, or the whole userinfo when it has no colon."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    address, question, query = rest.partition("?")
    userinfo, at, host = address.rpartition("@")  # the last @: a password may hold @ and /
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"  # a lone userinfo may be a token: hidden too
    return f"{scheme}://{shown}@{host}{question}{query}"
