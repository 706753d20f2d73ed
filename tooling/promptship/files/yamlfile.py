"""YAML parsing with duplicate-key detection and lazy ``line:col`` lookup for any value path.

Parsing uses libyaml (fast); positions are recovered only when a diagnostic needs one, by composing
the node tree once per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlSyntaxError(ValueError):
    """Raised with a 1-based position for malformed YAML or a duplicated key."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


class _StrictLoader(_Loader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and not key_node.style and key_node.tag in _NOT_TEXT:
                # Every key in promptship's formats is a name: `on:` or `1:` is the text written,
                # never true or the number 1.
                key_node.tag = "tag:yaml.org,2002:str"
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                mark = key_node.start_mark
                raise YamlSyntaxError(f"duplicate key {key!r}", mark.line + 1, mark.column + 1)
            seen.add(key)  # type: ignore[arg-type]
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),
)
# No promptship field holds a date, while API versions (`api_version: 2024-06-01`) and dates in texts
# do: a date-like plain scalar stays the text written instead of becoming a ``datetime.date``.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}

#: YAML 1.1 reads these plain scalars as something other than text (booleans, null, numbers).
_NOT_TEXT = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


#: At most this many values once aliases are expanded: a 1.3 KB "billion laughs" file expands to
#: billions, and every consumer (validation, hashing, JSON) would expand it.
MAX_EXPANDED_VALUES = 100_000
#: Deeper nesting is refused (Python's recursion would fail on it later anyway).
MAX_DEPTH = 200


def parse(text: str) -> Any:
    """Parse one YAML document; raise :class:`YamlSyntaxError` on malformed YAML, duplicate keys,
    aliases that expand past :data:`MAX_EXPANDED_VALUES` values or refer to themselves, and nesting
    deeper than :data:`MAX_DEPTH`."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(f"{exc.problem or exc.context or 'invalid YAML'}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 1, 1) from None
    except RecursionError:
        raise YamlSyntaxError(f"values are nested more than {MAX_DEPTH} levels deep", 1, 1) from None
    problem = _expansion_problem(data)
    if problem is not None:
        line, col = _first_alias(text)
        raise YamlSyntaxError(problem, line, col)
    return data


def _expansion_problem(data: Any) -> str | None:
    """Why ``data``'s shared values (YAML aliases) are refused, or None. Linear in distinct values."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(value: Any, depth: int) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in open_:
            raise _Refused("an alias refers to a value that contains it (a recursive structure)")
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise _Refused(f"values are nested more than {MAX_DEPTH} levels deep")
        open_.add(key)
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1 + sum(size(child, depth + 1) for child in children)
        open_.discard(key)
        if total > MAX_EXPANDED_VALUES:
            raise _Refused(
                f"aliases expand to more than {MAX_EXPANDED_VALUES:,} values (an alias bomb?)",
            )
        sizes[key] = total
        return total

    try:
        size(data, 0)
    except _Refused as exc:
        return str(exc)
    return None


class _Refused(Exception):
    pass


def _first_alias(text: str) -> tuple[int, int]:
    """1-based position of the first alias (``*name``) in ``text``, else 1:1."""
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, yaml.AliasToken):
                return token.start_mark.line + 1, token.start_mark.column + 1
    except yaml.YAMLError:
        pass
    return 1, 1


class Positions:
    """``line:col`` of values inside one YAML text, addressed by a path of keys and indexes."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: yaml.Node | None | bool = False

    def _tree(self) -> yaml.Node | None:
        if self._root is False:
            try:
                self._root = yaml.compose(self._text, Loader=_StrictLoader)
            except yaml.YAMLError:
                self._root = None
        return self._root  # type: ignore[return-value]

    def node(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, bool]:
        """The deepest node along ``path`` and whether the whole path was found."""
        node = self._tree()
        if node is None:
            return None, False
        for step in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(step):
                        child = value_node
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                child = node.value[step]
            if child is None:
                return node, False
            node = child
        return node, True

    def written(self, path: Sequence[str | int]) -> str | None:
        """The source text of the value at ``path`` when it is a plain (unquoted) scalar that YAML 1.1
        reads as a boolean, null or number (``no``, ``~``, ``012``); ``None`` for anything else."""
        node, found = self.node(path)
        if not found or not isinstance(node, yaml.ScalarNode) or node.style:
            return None
        return node.value if node.tag in _NOT_TEXT else None

    def key(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Position of the key of ``path``'s last step (or of the value for list items)."""
        if not path:
            return 1, 1
        parent, found = self.node(path[:-1])
        if parent is not None and found and isinstance(parent, yaml.MappingNode):
            for key_node, _ in parent.value:
                if key_node.value == str(path[-1]):
                    return key_node.start_mark.line + 1, key_node.start_mark.column + 1
        return self.value(path)

    def value(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Position of the value at ``path``, or of its nearest existing ancestor."""
        node, _ = self.node(path)
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def template_line(self, path: Sequence[str | int], template_lineno: int) -> tuple[int, int]:
        """File position of line ``template_lineno`` (1-based) of the string scalar at ``path``.

        Exact for literal blocks (``|``), whose lines are the template's lines. Folded (``>``),
        quoted and plain scalars rewrite line breaks, so a later template line is reported at the
        scalar's first line rather than at a guessed one.
        """
        node, found = self.node(path)
        if node is None or not found or not isinstance(node, yaml.ScalarNode):
            return self.value(path)
        first = node.start_mark.line + 1
        if node.style not in ("|", ">"):
            return first, node.start_mark.column + 1
        # Block content starts on the line after the indicator.
        line = min(first + (template_lineno if node.style == "|" else 1), node.end_mark.line + 1)
        lines = self._text.splitlines()
        text = lines[line - 1] if line - 1 < len(lines) else ""
        return line, len(text) - len(text.lstrip(" ")) + 1
