"""Every repository check → a sorted list of :class:`Diagnostic`. Never prints; never imports litellm.

Schema errors come from the loader; this module adds cross-references (variables, prompts, datasets,
aliases, evaluators), template syntax, routing-graph checks and literal secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import jinja2
from pydantic import ValidationError

from ..errors import DIAGNOSTIC_CODES, Diagnostic, RepositoryInvalid
from ..eval.evaluators import registry
from ..llm.pricing import known_model
from .render import known_names, parse_template, template_names, template_variables
from .repo import DatasetEntry, LoadResult, PromptEntry, Repository, SourceText, SuiteEntry, load_repo
from .schema import RoutingPolicy
from .schema.errors import diagnostics_from_validation
from .secrets import find_secrets

#: Every diagnostic code with its short name (the rows of ``errors.CODES`` that validate reports).
CODES = DIAGNOSTIC_CODES


def validate_repo(root: str | Path = ".", ref: str | None = None, paths: Sequence[str] = ()) -> list[Diagnostic]:
    """All diagnostics for the tree (optionally only those in files under ``paths``)."""
    result = load_repo(root, ref)
    found = check(result)
    if paths:
        prefixes = [p.rstrip("/") for p in paths]
        found = [d for d in found if any(d.path == p or d.path.startswith(p + "/") for p in prefixes)]
    return found


def load_valid_repo(root: str | Path = ".", ref: str | None = None, *, only: Sequence[str] | None = None) -> Repository:
    """Load the tree and run every ``validate`` check; :class:`RepositoryInvalid` on any error.

    Commands that call models or publish use this, so a mistake in a file is reported as
    ``validate`` reports it, before any model call, and never surfaces as a crash mid-run.
    ``only`` (path prefixes such as ``("prompts/", "policies/")``) limits which files' errors
    count, for commands that read only part of the tree (``render``, the runtime SDK).
    """
    result = load_repo(root, ref)
    diagnostics = check(result)
    if only is not None:
        diagnostics = [d for d in diagnostics if d.path.startswith(tuple(only))]
    if any(d.severity == "error" for d in diagnostics):
        raise RepositoryInvalid(diagnostics, f"the repository at {ref}" if ref else "the repository")
    return result.repo


def check(result: LoadResult) -> list[Diagnostic]:
    repo = result.repo
    found = list(result.diagnostics)
    for entry in repo.prompts.values():
        found.extend(check_prompt(entry, repo))
    for dataset in repo.datasets.values():
        found.extend(check_dataset(dataset, repo))
    for suite in repo.suites.values():
        found.extend(check_suite(suite, repo))
    found.extend(check_routing(repo))
    found.extend(check_budgets(repo))
    found.extend(check_splits(repo))
    found.extend(check_secrets(repo.texts))
    found.extend(check_pii(repo))
    return sorted(set(found))


def _at(
    src: SourceText,
    path: Sequence[str | int],
    code: str,
    message: str,
    hint: str | None = None,
    severity: str = "error",
) -> Diagnostic:
    line, col = src.positions.key(path)
    return Diagnostic(src.path, line, col, code, message, hint, severity)  # type: ignore[arg-type]


def _loc(location: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in location.split(".")]


def check_prompt(entry: PromptEntry, repo: Repository) -> Iterator[Diagnostic]:
    prompt, src = entry.prompt, entry.source
    used: set[str] = set()
    parsed_all = True
    for location, source in prompt.templates():
        try:
            parse_template(source)
        except jinja2.TemplateSyntaxError as exc:
            line, col = src.positions.template_line(_loc(location), exc.lineno or 1)
            yield Diagnostic(
                src.path,
                line,
                col,
                "E103",
                f"template syntax error: {exc.message}",
                "check that every {{ has a matching }} and every {% if %}/{% for %} is closed",
            )
            parsed_all = False
            continue
        for kind, name, template_line in template_names(source).unknown_filters_and_tests:
            line, col = src.positions.template_line(_loc(location), template_line)
            yield Diagnostic(
                src.path, line, col, "E103", f"unknown Jinja2 {kind} '{name}'", _suggest(name, known_names(kind))
            )
        names = template_variables(source)
        used |= names
        use_lines = template_names(source).loaded
        for name in sorted(names - set(prompt.variables)):
            line, col = src.positions.template_line(_loc(location), use_lines.get(name, 1))
            declared = ", ".join(prompt.variables) or "none"
            yield Diagnostic(
                src.path,
                line,
                col,
                "E101",
                f"variable '{name}' is not declared (declared: {declared})",
                f"add `{name}:` under `variables:` or fix the spelling",
            )
    for name, variable in prompt.variables.items():
        problem = variable.type_error(variable.default) if variable.default is not None else None
        if problem is not None:
            yield _at(
                src,
                ["variables", name, "default"],
                "E004",
                f"variable '{name}': the default does not fit `type: {variable.type}`: {problem}",
                f"give a {variable.type} default, or change the variable's `type:`",
            )
    for index, placeholder in prompt.placeholders():
        used.add(placeholder.name)
        slot = prompt.variables.get(placeholder.name)
        if slot is None:
            yield _at(
                src,
                ["messages", index, "name"],
                "E101",
                f"placeholder '{placeholder.name}' is not a declared variable",
                f"add `{placeholder.name}: {{type: list}}` under `variables:` (its value is the messages to insert)",
            )
        elif slot.type != "list":
            yield _at(
                src,
                ["variables", placeholder.name, "type"],
                "E004",
                f"variable '{placeholder.name}' fills a placeholder, so it holds chat messages: its type must be list",
                "write `type: list`",
            )
    for name, variable in prompt.variables.items():
        if variable.required and name not in used and parsed_all:
            yield _at(
                src,
                ["variables", name],
                "E102",
                f"required variable '{name}' is never used in a template",
                "use it in a message or remove it from `variables:`",
            )
    routing = repo.policies.routing
    if routing is not None and prompt.model not in routing.aliases:
        yield _at(
            src,
            ["model"],
            "E104",
            f"model alias '{prompt.model}' is not in policies/routing.yaml",
            f"known aliases: {', '.join(routing.aliases)}",
        )
    elif routing is not None and routing.aliases[prompt.model].kind != "chat":
        yield _at(src, ["model"], "E407", *_not_chat(routing, prompt.model))


def check_dataset(dataset: DatasetEntry, repo: Repository) -> Iterator[Diagnostic]:
    entry = repo.prompts.get(dataset.meta.prompt)
    if entry is None:
        if _exists_with_errors(repo, "prompts", dataset.meta.prompt):
            return  # the prompt exists but has its own errors
        yield _at(
            dataset.meta_source,
            ["prompt"],
            "E206",
            f"dataset feeds unknown prompt '{dataset.meta.prompt}'",
            _suggest(dataset.meta.prompt, repo.prompts),
        )
        return
    variables = entry.prompt.variables
    required = {n for n, v in variables.items() if v.required}
    typed = not (dataset.items_path or "").endswith(".csv")  # CSV cells are always text
    for item in dataset.items:
        line = dataset.item_lines.get(item.id, 1)
        missing = sorted(required - item.input.keys())
        unknown = sorted(item.input.keys() - variables.keys())
        if missing:
            yield Diagnostic(
                dataset.items_path or "",
                line,
                1,
                "E203",
                f"item '{item.id}' lacks required variable(s) {', '.join(missing)} of prompt '{entry.name}'",
                "add them under `input`",
            )
        if unknown:
            yield Diagnostic(
                dataset.items_path or "",
                line,
                1,
                "E204",
                f"item '{item.id}' has variable(s) {', '.join(unknown)} not declared by prompt '{entry.name}'",
                f"declared: {', '.join(variables) or 'none'}",
            )
        if typed:
            for name, value in item.input.items():
                problem = variables[name].type_error(value) if name in variables else None
                if problem is not None:
                    yield Diagnostic(
                        dataset.items_path or "",
                        line,
                        1,
                        "E208",
                        f"item '{item.id}': variable '{name}' of prompt '{entry.name}': {problem}",
                        f"give `{name}` a {variables[name].type} value (or change its `type:` in the prompt)",
                    )


def check_suite(entry: SuiteEntry, repo: Repository) -> Iterator[Diagnostic]:
    suite, src = entry.suite, entry.source
    prompt = repo.prompts.get(suite.prompt)
    if prompt is None and not _exists_with_errors(repo, "prompts", suite.prompt):
        yield _at(src, ["prompt"], "E301", f"unknown prompt '{suite.prompt}'", _suggest(suite.prompt, repo.prompts))
    dataset = repo.datasets.get(suite.dataset)
    if dataset is None and not _exists_with_errors(repo, "datasets", suite.dataset):
        yield _at(
            src,
            ["dataset"],
            "E302",
            f"unknown dataset '{suite.dataset}'",
            _suggest(suite.dataset, repo.datasets),
        )
    if prompt is not None and dataset is not None and dataset.meta.prompt != suite.prompt:
        yield _at(
            src,
            ["dataset"],
            "E307",
            f"dataset '{suite.dataset}' feeds prompt '{dataset.meta.prompt}', not '{suite.prompt}'",
            "use a dataset made for this prompt",
            severity="warning",
        )
    routing = repo.policies.routing
    if routing is not None:
        for index, alias in enumerate(suite.models):
            if alias not in routing.aliases:
                yield _at(
                    src,
                    ["models", index],
                    "E303",
                    f"unknown model alias '{alias}'",
                    f"known aliases: {', '.join(routing.aliases)}",
                )
            elif routing.aliases[alias].kind != "chat":
                yield _at(src, ["models", index], "E407", *_not_chat(routing, alias))
    evaluators = registry()
    for index, spec in enumerate(suite.evaluators):
        definition = evaluators.get(spec.type)
        if definition is None:
            yield _at(
                src,
                ["evaluators", index, "type"],
                "E304",
                f"unknown evaluator '{spec.type}'",
                f"available: {', '.join(sorted(evaluators))}",
            )
            continue
        try:
            params = definition.params.model_validate(spec.params)
        except ValidationError as exc:
            for d in diagnostics_from_validation(
                exc,
                src.path,
                _params_locator(src, index),
                definition.params,
                _params_written(src, index),
            ):
                yield Diagnostic(d.path, d.line, d.col, "E305", f"evaluator '{spec.score_name}': {d.message}", d.hint)
            continue
        yield from _check_evaluator_refs(src, index, params, repo)
        if dataset is not None and "expected" in definition.reads_of(params):
            yield from _items_without_expected(entry, spec.score_name, spec.type, dataset)
    metrics = {e.score_name for e in suite.evaluators} | {"pass_rate"}
    for gate in ("min", "max_regression"):
        for metric in getattr(suite.gates, gate):
            if metric not in metrics:
                yield _at(
                    src,
                    ["gates", gate, metric],
                    "E306",
                    f"gate on unknown metric '{metric}'",
                    f"metrics of this suite: {', '.join(sorted(metrics))}",
                )


def _items_without_expected(
    entry: SuiteEntry, score_name: str, evaluator_type: str, dataset: DatasetEntry
) -> Iterator[Diagnostic]:
    """E308 at each item of ``dataset`` that has no ``expected`` although the evaluator compares with it
    (it would score 0 on every run, silently)."""
    for item in dataset.items:
        if item.expected is None:
            yield Diagnostic(
                dataset.items_path or "",
                dataset.item_lines.get(item.id, 1),
                1,
                "E308",
                f"item '{item.id}' has no `expected`, which evaluator '{score_name}' ({evaluator_type}) "
                f"of suite {entry.source.path} compares the answer with",
                "add `expected` to the item, or give the evaluator its own values "
                "(e.g. `contains` with `params: {values: [...]}`)",
            )


def _params_locator(src: SourceText, index: int) -> Callable[[Sequence[str | int]], tuple[int, int]]:
    return lambda loc: src.positions.key(["evaluators", index, "params", *loc])


def _params_written(src: SourceText, index: int) -> Callable[[Sequence[str | int]], str | None]:
    return lambda loc: src.positions.written(["evaluators", index, "params", *loc])


def _check_evaluator_refs(src: SourceText, index: int, params: object, repo: Repository) -> Iterator[Diagnostic]:
    routing = repo.policies.routing
    judge = getattr(params, "judge", None)
    if judge is not None and routing is not None and judge not in routing.aliases:
        yield _at(
            src,
            ["evaluators", index, "params", "judge"],
            "E303",
            f"unknown judge alias '{judge}'",
            f"known aliases: {', '.join(routing.aliases)}",
        )
    elif judge is not None and routing is not None and routing.aliases[judge].kind != "chat":
        yield _at(src, ["evaluators", index, "params", "judge"], "E407", *_not_chat(routing, judge))
    module_path = getattr(params, "module_path", None)
    if module_path is not None:
        problem = _scorer_problem(repo.scorer_source(module_path), module_path, params.function_name)  # type: ignore[attr-defined]
        if problem is not None:
            yield _at(src, ["evaluators", index, "params", "function"], "E305", *problem)


def _scorer_problem(source: str | None, module_path: str, name: str) -> tuple[str, str] | None:
    """(message, hint) when ``module_path`` does not define a scorer function ``name``."""
    if source is None:
        return f"scorer module {module_path} does not exist", "create it or fix the path"
    try:
        defined = _module_level_names(source, module_path)
    except SyntaxError as exc:
        return (
            f"{module_path} has a syntax error at line {exc.lineno}: {exc.msg}",
            "fix the module; `python -m py_compile` shows the same error",
        )
    if name not in defined:
        return (
            f"{module_path} defines no function '{name}'",
            f"define `def {name}(item, output, expected):` at the top level of the module",
        )
    return None


def _module_level_names(source: str, path: str) -> set[str]:
    """Names a module binds at its top level (functions, assignments, imports); async functions are
    left out, since scorers are called synchronously. Raises SyntaxError."""
    import ast

    names: set[str] = set()
    for node in ast.parse(source, filename=path).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def check_budgets(repo: Repository) -> Iterator[Diagnostic]:
    """Warn about gateway keys whose project has no budget (own or ``default``)."""
    credentials, budgets = repo.policies.credentials, repo.policies.budgets
    src = repo.policies.sources.get("credentials")
    if src is None:
        return
    keyed = {name: c for name, c in credentials.projects.items() if c.gateway_key_sha256_env}
    if credentials.mode == "poc" and credentials.shared.gateway_key_sha256_env:
        keyed = {"shared": credentials.shared, **keyed}
    for project in keyed:
        if budgets.budget_of(project) is None:
            consequence = (
                "the gateway refuses the PoC shared key (403 budget_missing)"
                if project == "shared"
                else "its spend at the gateway is not limited"
            )
            yield _at(
                src,
                ["shared"] if project == "shared" else ["projects", project],
                "E406",
                f"project '{project}' has a gateway key but no budget: {consequence}",
                f"add `{project}:` under `projects:` or a `default:` budget in policies/budgets.yaml",
                severity="warning",
            )


def check_splits(repo: Repository) -> Iterator[Diagnostic]:
    """Every split of ``policies/release.yaml`` names a published prompt (E408), and each of its labels
    is one a release rule of that prompt publishes, or ``latest`` (E409): a label no sync ever sets
    would make its share of the calls fail."""
    src = repo.policies.sources.get("release")
    if src is None:
        return
    for name, split in repo.policies.release.splits.items():
        entry = repo.prompts.get(name)
        if entry is None:
            if not _exists_with_errors(repo, "prompts", name):
                yield _at(
                    src, ["splits", name], "E408", f"split of unknown prompt '{name}'", _suggest(name, repo.prompts)
                )
            continue
        release = entry.prompt.release
        if release is not None and not release.publish:
            yield _at(
                src,
                ["splits", name],
                "E408",
                f"split of prompt '{name}', which is never published (`release: {{publish: false}}`)",
                "a split chooses between versions in Langfuse: publish the prompt or remove the split",
            )
            continue
        own = release is not None and release.rules is not None
        rules = release.rules if release is not None and release.rules is not None else repo.policies.release.rules
        published = {label: rule.ref for rule in reversed(rules) for label in rule.labels}
        for label in split:
            if label != "latest" and label not in published:
                where = f"the rules of {entry.source.path}" if own else "the rules of policies/release.yaml"
                shown = ", ".join(f"{label} ({ref})" for label, ref in sorted(published.items())) or "none"
                yield _at(
                    src,
                    ["splits", name, label],
                    "E409",
                    f"split label '{label}' of '{name}' is published by no release rule, so it would hold no version",
                    f"add a rule that publishes it to {where}, e.g. `- {{ref: candidate/*, labels: [{label}]}}` "
                    f"(labels published now: {shown})",
                )


def check_routing(repo: Repository) -> Iterator[Diagnostic]:
    routing = repo.policies.routing
    src = repo.policies.sources.get("routing")
    if routing is None or src is None:
        if src is None and "policies/routing.yaml" not in repo.texts and (repo.prompts or repo.suites):
            yield Diagnostic(
                "policies/routing.yaml",
                1,
                1,
                "E405",
                "no routing policy",
                "create policies/routing.yaml mapping each model alias to deployments",
            )
        return
    for alias, policy in routing.aliases.items():
        for field in ("fallbacks", "content_policy_fallbacks"):
            for index, target in enumerate(getattr(policy, field)):
                if target not in routing.aliases:
                    yield _at(
                        src,
                        ["aliases", alias, field, index],
                        "E402",
                        f"alias '{alias}' falls back to unknown alias '{target}'",
                        f"known aliases: {', '.join(routing.aliases)}",
                    )
                elif routing.aliases[target].kind != policy.kind:
                    yield _at(
                        src,
                        ["aliases", alias, field, index],
                        "E407",
                        f"{policy.kind} alias '{alias}' falls back to {routing.aliases[target].kind} alias '{target}'",
                        f"fall back to another {policy.kind} alias",
                    )
        for index, deployment in enumerate(policy.deployments):
            if deployment.pricing is None and not known_model(deployment.model):
                yield _at(
                    src,
                    ["aliases", alias, "deployments", index, "model"],
                    "E403",
                    f"LiteLLM has no price for '{deployment.model}'; its cost would count as 0 and budgets never trip",
                    "add `pricing: {input_per_million: ..., output_per_million: ...}`",
                )
    cycle = find_fallback_cycle({a: p.fallbacks for a, p in routing.aliases.items()})
    if cycle:
        yield _at(
            src,
            ["aliases", cycle[0], "fallbacks"],
            "E401",
            f"fallback cycle: {' → '.join(cycle)}",
            "fallbacks must form a chain that ends; remove one of the links",
        )
    for name, profile in routing.profiles.items():
        for alias in profile.aliases:
            if alias not in routing.aliases:
                yield _at(
                    src,
                    ["profiles", name, "aliases", alias],
                    "E404",
                    f"profile '{name}' remaps unknown alias '{alias}'",
                    f"known aliases: {', '.join(routing.aliases)}",
                )


def _not_chat(routing: RoutingPolicy, alias: str) -> tuple[str, str]:
    """Message and hint for a chat use of an embedding alias."""
    chat = [name for name, policy in routing.aliases.items() if policy.kind == "chat"]
    hint = f"chat aliases: {', '.join(chat)}" if chat else "add a chat alias to policies/routing.yaml"
    return f"model alias '{alias}' is an embedding alias (kind: embedding)", hint


def find_fallback_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``alias → fallbacks`` as a path ``[a, b, ..., a]``, or None (pure, deterministic)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt in graph and state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (found := visit(start)):
            return found
    return None


def check_secrets(texts: dict[str, str]) -> Iterator[Diagnostic]:
    for path, text in texts.items():
        for finding in find_secrets(text):
            yield Diagnostic(
                path,
                finding.line,
                finding.col,
                "E501",
                f"literal secret ({finding.kind})",
                "remove it, rotate the key, and reference an environment variable name (`*_env`) instead",
            )


def check_pii(repo: Repository) -> Iterable[Diagnostic]:
    from ..pii.files import pii_diagnostics

    return pii_diagnostics(repo)


def _exists_with_errors(repo: Repository, top: str, name: str) -> bool:
    return any(p.startswith(f"{top}/{name}.") for p in repo.paths)


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(names)) or 'none'}"
