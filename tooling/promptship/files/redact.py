"""Credential values kept out of everything promptship emits.

Policies name credentials only as environment variables (``api_key_env``, ``env:``, the ``*_env``
fields of ``credentials.yaml``), but an upstream can echo a key back (a 401 body quoting the
``Authorization`` header, a proxy's error page, a model told to repeat its request). The values of
those variables are therefore replaced wherever promptship's output leaves the process: its output
streams (``cli/main.py``), the files it writes (``write_atomically``, the job summary), the runs it
builds and the answers it caches (which CI caches and artifacts carry), and the PR comment it posts.

One process-wide :class:`Redactor` learns names as policies are loaded (:func:`remember`) and
always knows the variables promptship itself reads (:data:`ALWAYS`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from .repo import Policies

#: Credential variables promptship reads itself, whatever the policies say.
ALWAYS = ("LANGFUSE_SECRET_KEY", "LANGFUSE_PUBLIC_KEY", "GITHUB_TOKEN")

#: Shorter values are not redacted: no real credential is this short, and replacing every occurrence
#: of a short word would garble the output (a test key set to ``x``, a variable set to ``true``).
MIN_LENGTH = 8


def credential_names(policies: Policies) -> list[str]:
    """Names of the variables the policies use for credentials, in a stable order.

    Routing: every deployment's ``api_key_env`` and ``env:`` values (the policy's home for secret
    LiteLLM params). Credentials: every ``*_env`` of ``shared`` and each project except the host.
    Budgets: ``alerts.webhook_url_env`` (a webhook URL is its own credential). ``api_base_env`` and
    ``langfuse_host_env`` name endpoints, not credentials, and are left out.
    """
    names: list[str] = []
    if policies.routing is not None:
        for alias in policies.routing.aliases.values():
            for deployment in alias.deployments:
                names.extend(n for n in (deployment.api_key_env, *deployment.env.values()) if n)
    credentials = policies.credentials
    for project in (credentials.shared, *credentials.projects.values()):
        names.extend(
            n
            for n in (project.gateway_key_sha256_env, project.langfuse_public_key_env, project.langfuse_secret_key_env)
            if n
        )
    if policies.budgets.alerts.webhook_url_env:
        names.append(policies.budgets.alerts.webhook_url_env)
    return list(dict.fromkeys(names))


def _variants(value: str) -> set[str]:
    """The forms a value takes when echoed: raw, JSON-escaped, URL-encoded."""
    return {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value, safe="")}


class Redactor:
    """Replaces the values of named environment variables with ``[redacted NAME]``.

    Values are read from ``env`` when text is redacted, so a variable set after its name was
    learned is still covered. Thread-safe.
    """

    def __init__(self, env: Mapping[str, str] | None = None, names: Iterable[str] = ALWAYS) -> None:
        self._env = os.environ if env is None else env
        self._lock = threading.Lock()
        self._names: tuple[str, ...] = ()
        self._seen: tuple[str, ...] | None = None
        self._replacements: list[tuple[str, str]] = []
        self.learn(names)

    def learn(self, names: Iterable[str]) -> None:
        """Remember ``names`` as credential variables."""
        with self._lock:
            self._names = tuple(sorted({*self._names, *names}))

    def _current(self) -> list[tuple[str, str]]:
        with self._lock:
            values = tuple(self._env.get(name) or "" for name in self._names)
            if values != self._seen:
                found: dict[str, str] = {}
                for name, value in zip(self._names, values, strict=True):
                    if len(value) >= MIN_LENGTH:
                        for variant in _variants(value):
                            found.setdefault(variant, f"[redacted {name}]")
                # Longest first, so a value containing another is replaced whole.
                self._replacements = sorted(found.items(), key=lambda pair: -len(pair[0]))
                self._seen = values
            return self._replacements

    def __call__(self, text: str) -> str:
        """``text`` with every known credential value replaced."""
        for value, replacement in self._current():
            if value in text:
                text = text.replace(value, replacement)
        return text

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` (dicts, lists, strings) with every string redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


_current = Redactor()


def redact(text: str) -> str:
    """``text`` without any credential value promptship knows of (see :func:`remember`)."""
    return _current(text)


def redact_data(value: Any) -> Any:
    """JSON-like ``value`` with every string passed through :func:`redact`."""
    return _current.data(value)


def _redact_attribute(value: Any) -> Any:
    """An OpenTelemetry attribute value (a string, a number, a bool or a sequence of them) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return type(value)(redact(v) if isinstance(v, str) else v for v in value)
    return value


def redact_otel_spans(*, params: Any) -> Any:
    """The Langfuse SDK's export-stage hook (``Langfuse(mask_otel_spans=redact_otel_spans)``): every
    string attribute of every span — input, output, metadata, attempt events, status messages —
    redacted before the batch leaves the process. ``params`` is ``langfuse.types.MaskOtelSpansParams``;
    returns None when nothing changed, else a ``MaskOtelSpansResult`` patching only what changed.

    Every ``Langfuse`` client promptship builds passes it: the SDK keeps one exporter per public key
    per process, configured by whichever client is built first.
    """
    from langfuse.types import MaskOtelSpansResult, OtelSpanPatch

    patches: dict[Any, Any] = {}
    for identifier, span in params.spans.items():
        changed: dict[str, Any] = {}
        for key, value in span.attributes.items():
            redacted = _redact_attribute(value)
            if redacted != value:
                changed[key] = redacted
        if changed:
            patches[identifier] = OtelSpanPatch(set_attributes=changed)
    return MaskOtelSpansResult(span_patches=patches) if patches else None


def remember(policies: Policies) -> None:
    """Learn the credential variables ``policies`` name (called whenever policies are loaded)."""
    _current.learn(credential_names(policies))


def learn(names: Iterable[str]) -> None:
    """Learn further credential variable names (e.g. ``GITHUB_TOKEN`` read by the CLI)."""
    _current.learn(names)


#: What rich writes to a terminal: colour and style codes (CSI ... m), and for its live progress bar
#: cursor up/down, erase line and cursor hide/show. The only escape sequences a terminal gets.
_SGR = re.compile(r"\x1b\[(?:[0-9;]*m|[0-9]*[ABK]|\?25[hl])")
#: Escape sequences (CSI, OSC, DCS ... and single-character ones), C0/C1 controls but tab and line
#: breaks, DEL, and the bidirectional overrides that reorder what a reader sees ("Trojan source").
_CONTROL = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_])"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def terminal_safe(text: str, *, keep_colours: bool) -> str:
    """``text`` without escape sequences and control characters (file names and upstream texts can
    hold them); with ``keep_colours``, the codes rich writes to a terminal (styles, its progress bar) stay."""
    if not keep_colours:
        return _CONTROL.sub("", text)
    kept = _SGR.split(text)
    codes = _SGR.findall(text)
    out = [_CONTROL.sub("", kept[0])]
    for code, rest in zip(codes, kept[1:], strict=True):
        out += [code, _CONTROL.sub("", rest)]
    return "".join(out)


class RedactingStream:
    """A text stream that redacts everything written through it to ``target``, and strips escape
    sequences and control characters (style codes stay when ``target`` is a terminal)."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        try:
            self._terminal = bool(target.isatty())
        except (AttributeError, ValueError):
            self._terminal = False

    def write(self, text: str) -> int:
        self._target.write(terminal_safe(redact(text), keep_colours=self._terminal))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)
