"""Sandboxed Jinja2 rendering of prompts.

Templates are compiled in a :class:`SandboxedEnvironment` with :class:`StrictUndefined`. Variable
values are data: they are inserted as text and never compiled, so a dataset value such as
``{{ 7*7 }}`` stays literal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import RenderError, UsageError
from .schema import Message, Prompt, Variable


def _absent_is_nothing(value: Any) -> Any:
    """``{{ x }}`` of an absent optional variable (``None``) prints nothing, never the text ``None``."""
    return "" if value is None else value


#: Loop iterations one render of a prompt may run, all its templates and nested loops together.
MAX_LOOP_ITERATIONS = 100_000
#: Characters one rendered template may have, and one ``*`` in it may make.
MAX_RENDERED_CHARS = 2_000_000
#: Bits of an integer ``**`` may make.
MAX_POWER_BITS = 100_000
_BUDGET_NAME = "__promptship_loop_budget"
_loops_left: ContextVar[list[int]] = ContextVar("loops_left")


class BudgetExceeded(SecurityError):
    """A template ran past its execution budget (loops, output size, arithmetic size)."""


def _budgeted(iterable: Any) -> Iterator[Any]:
    """``iterable``, charging every item to the current render's loop budget."""
    left = _loops_left.get(None)
    for item in iterable:
        if left is not None:
            left[0] -= 1
            if left[0] < 0:
                raise BudgetExceeded(
                    f"the template ran more than {MAX_LOOP_ITERATIONS:,} loop iterations (nested loops?)"
                )
        yield item


class _BudgetedSandbox(SandboxedEnvironment):
    """The sandbox, plus an execution budget: every ``for`` loop draws on one count of iterations
    per render, and ``*`` / ``**`` may not build values past :data:`MAX_RENDERED_CHARS` characters or
    :data:`MAX_POWER_BITS` bits (the sandbox already caps a single ``range()`` at 100,000)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        problem = _binop_problem(operator, left, right)
        if problem:
            raise BudgetExceeded(problem)
        return super().call_binop(context, operator, left, right)

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.Name(_BUDGET_NAME, "load", lineno=loop.lineno), [loop.iter], [], None, None, lineno=loop.lineno
            )
        return super()._generate(source, name, filename, defer_init)


def _binop_problem(operator: str, left: Any, right: Any) -> str | None:
    """Why ``left operator right`` would build a value past the budget, or None."""
    if operator == "*":
        for sized, times in ((left, right), (right, left)):
            size = len(sized) * times if isinstance(sized, str | list | tuple) and isinstance(times, int) else 0
            if size > MAX_RENDERED_CHARS:
                return f"`*` would make a value of {size:,} items"
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        bits = abs(left).bit_length() * right
        if bits > MAX_POWER_BITS:
            return f"`**` would make an integer of about {bits:,} bits"
    return None


_ENV = _BudgetedSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    # Prompt files indent tags to show structure; a tag alone on its line must leave nothing behind,
    # neither its newline (trim_blocks) nor its indentation (lstrip_blocks). docs/formats.md says so.
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_absent_is_nothing,
)
_ENV.globals[_BUDGET_NAME] = _budgeted


def _render(source: str, context: Mapping[str, Any]) -> str:
    """One template rendered within :data:`MAX_RENDERED_CHARS` (loops are charged by the caller's budget)."""
    pieces, size = [], 0
    for piece in _compiled(source).generate(context):
        size += len(piece)
        if size > MAX_RENDERED_CHARS:
            raise BudgetExceeded(f"the rendered text is longer than {MAX_RENDERED_CHARS:,} characters")
        pieces.append(piece)
    return "".join(pieces)


@lru_cache(maxsize=4096)
def parse_template(source: str) -> jinja2.nodes.Template:
    """The Jinja2 AST; raises :class:`jinja2.TemplateSyntaxError`."""
    return _ENV.parse(source)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@dataclass(frozen=True)
class TemplateNames:
    """What one walk over a template's AST finds."""

    #: Names read, with the template line (1-based) of their first use.
    loaded: dict[str, int]
    #: Names the template assigns (``for`` targets, ``set``, macro arguments).
    stored: frozenset[str]
    #: ``(kind, name, line)`` of filters and tests the sandbox does not have.
    unknown_filters_and_tests: tuple[tuple[str, str, int], ...]


@lru_cache(maxsize=4096)
def template_names(source: str) -> TemplateNames:
    """One walk over the AST of ``source`` (``validate`` reads a thousand prompts: walks add up)."""
    loaded: dict[str, int] = {}
    stored: set[str] = set()
    unknown: list[tuple[str, str, int]] = []
    for node in parse_template(source).find_all((nodes.Name, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                loaded[node.name] = min(loaded.get(node.name, node.lineno), node.lineno)
            elif node.ctx in ("store", "param"):
                stored.add(node.name)
        elif isinstance(node, nodes.Filter) and node.name not in _ENV.filters:
            unknown.append(("filter", node.name, node.lineno))
        elif isinstance(node, nodes.Test) and node.name not in _ENV.tests:
            unknown.append(("test", node.name, node.lineno))
    return TemplateNames(loaded, frozenset(stored), tuple(sorted(unknown, key=lambda found: found[2])))


@lru_cache(maxsize=4096)
def template_variables(source: str) -> frozenset[str]:
    """Names a template reads from its context: loaded names minus names the template assigns
    and the environment's globals such as ``range``.

    A direct AST walk; ``jinja2.meta.find_undeclared_variables`` runs the code generator and costs
    several times more, which matters when validating a thousand prompts.
    """
    names = template_names(source)
    if names.loaded.keys() & names.stored:
        # A name both assigned and read (``{% set review = review|trim %}``) may still come from the
        # context; only Jinja's own scoping analysis can tell, and this case is rare enough to pay for it.
        return frozenset(meta.find_undeclared_variables(parse_template(source)))
    return frozenset(names.loaded.keys() - names.stored - set(_ENV.globals) - {"loop", "caller", "varargs", "kwargs"})


def known_names(kind: str) -> list[str]:
    """The sandbox's ``filter`` or ``test`` names."""
    return sorted(_ENV.filters if kind == "filter" else _ENV.tests)


@dataclass(frozen=True)
class RenderedPrompt:
    """What would be sent: chat ``messages`` (a text prompt becomes one user message) and params."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"messages": self.messages, "params": self.params}
        if self.text is not None:
            data["text"] = self.text
        return data


def resolve_variables(prompt: Prompt, values: Mapping[str, Any]) -> dict[str, Any]:
    """Declared variables with defaults applied; :class:`RenderError` for missing or unknown ones."""
    unknown = sorted(set(values) - set(prompt.variables))
    if unknown:
        raise RenderError(
            f"unknown variable(s): {', '.join(unknown)}",
            code="E204",
            hint=f"declared variables: {', '.join(prompt.variables) or '(none)'}",
        )
    resolved = {}
    for name, variable in prompt.variables.items():
        if name in values:
            problem = variable.type_error(values[name])
            if problem is not None:
                raise RenderError(
                    f"variable {name!r}: {problem}",
                    code="E208",
                    hint=f"pass a {variable.type} (lists and objects as JSON, e.g. --var {name}='[\"a\"]')",
                )
            resolved[name] = values[name]
        elif variable.required:
            raise RenderError(
                f"missing required variable {name!r}", code="E203", hint=f"pass it, e.g. --var {name}=..."
            )
        else:
            resolved[name] = variable.default
    return resolved


def placeholder_messages(name: str, value: Any) -> list[dict[str, Any]]:
    """The chat messages a placeholder's variable holds, inserted as given (data, never rendered);
    nothing for an absent optional variable. :class:`RenderError` (E208) for any other shape."""
    if value is None or isinstance(value, jinja2.Undefined):
        return []
    if isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and m.get("content") is not None for m in value
    ):
        return [dict(m) for m in value]
    raise RenderError(
        f"variable {name!r} fills a placeholder: expected a list of chat messages",
        code="E208",
        hint=f'give {name} a list like [{{"role": "user", "content": "..."}}, {{"role": "assistant", ...}}]',
    )


def render_prompt(prompt: Prompt, values: Mapping[str, Any]) -> RenderedPrompt:
    """Render every template of ``prompt`` with ``values`` (defaults applied)."""
    # An absent optional value (not supplied, no default, or null) is Jinja2's plain Undefined: it
    # prints nothing, is false in {% if %}, is not `defined`, and `default(...)` replaces it.
    context = {
        name: jinja2.Undefined(name=name) if value is None else value
        for name, value in resolve_variables(prompt, values).items()
    }
    params = prompt.params.model_dump(mode="json", by_alias=True, exclude_none=True)
    budget = _loops_left.set([MAX_LOOP_ITERATIONS])
    where = "template"
    try:
        if prompt.messages is not None:
            messages: list[dict[str, Any]] = []
            for index, m in enumerate(prompt.messages):
                if isinstance(m, Message):
                    where = f"messages[{index}] ({m.role})"
                    messages.append({"role": m.role, "content": _render(m.content, context)})
                else:
                    messages.extend(placeholder_messages(m.name, context.get(m.name)))
            return RenderedPrompt(messages, params)
        text = _render(prompt.template or "", context)
    except BudgetExceeded as exc:
        raise RenderError(
            f"{where}: rendering stopped: {exc}",
            code="E103",
            hint="templates are for layout: loop over the data once, and keep repetition out of the template",
        ) from None
    except RenderError:
        raise
    except jinja2.TemplateError as exc:
        raise RenderError(
            f"rendering failed: {exc}",
            code="E103",
            hint="run `promptship validate` to locate template errors",
        ) from None
    except Exception as exc:  # noqa: BLE001 - the template did something its data does not allow
        raise RenderError(
            f"rendering failed: {type(exc).__name__}: {exc}",
            code="E103",
            hint="the template's expression does not work with these values (e.g. adding a number to a text)",
        ) from None
    finally:
        _loops_left.reset(budget)
    return RenderedPrompt([{"role": "user", "content": text}], params, text=text)


#: How ``show_whitespace`` marks what a terminal hides.
VISIBLE = {" ": "·", "\t": "→", "\r": "␍", "\u00a0": "⍽", "\u200b": "[ZWSP]", "\ufeff": "[BOM]"}
LINE_END = "⏎"


def show_whitespace(text: str) -> str:
    """``text`` with its invisible parts made visible, one output line per line of ``text``.

    Every line break is shown as ``⏎``; trailing spaces and tabs as ``·`` and ``→``; carriage
    returns, no-break spaces and zero-width characters anywhere as ``␍``, ``⍽``, ``[ZWSP]``, ``[BOM]``.
    Text that does not end with a line break ends without ``⏎``: the last line shows exactly where
    the text stops.
    """
    shown = []
    for line in text.split("\n"):
        body = line.rstrip(" \t")
        tail = "".join(VISIBLE[c] for c in line[len(body) :])
        body = "".join(VISIBLE[c] if c in VISIBLE and c not in " \t" else c for c in body)
        shown.append(body + tail)
    return f"{LINE_END}\n".join(shown)


def coerce_value(name: str, variable: Variable | None, raw: str) -> Any:
    """Turn a ``--var name=raw`` string into the declared type."""
    kind = variable.type if variable else "string"
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
            raise ValueError(raw)
        if kind in ("list", "object"):
            return json.loads(raw)
    except ValueError:
        raise UsageError(
            f"--var {name}={raw!r} is not a valid {kind}",
            hint='lists and objects are JSON, e.g. --var tags=\'["a","b"]\'',
        ) from None
    return raw
