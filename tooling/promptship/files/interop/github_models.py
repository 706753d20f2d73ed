"""GitHub Models ``.prompt.yml`` / ``.prompt.yaml`` files ⇄ promptship prompt, dataset and suite.

The format (github/gh-models ``pkg/prompt``; GitHub Docs "Storing prompts in GitHub repositories"):
``name``, ``description``, ``model``, ``modelParameters`` (``maxTokens``, ``temperature``, ``topP``),
``responseFormat`` / ``jsonSchema`` (a JSON string), ``messages`` (role, content with ``{{var}}``),
``testData`` (items: variables plus ``expected``) and ``evaluators`` (``string``: equals, contains,
startsWith, endsWith — all but equals case-insensitive; ``llm``: modelId, prompt, choices,
systemPrompt; ``uses: github/similarity`` and the other built-ins, which are LLM-rated).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ...errors import UsageError
from ..repo import Repository
from ..schema import Message
from . import (
    JINJA_BEYOND_NAMES,
    Conversion,
    alias_for,
    dump_yaml,
    litellm_model,
    schema_header,
    slug,
    template_variables,
)
from .aliases import resolve_aliases

SUFFIXES = (".prompt.yml", ".prompt.yaml")
KNOWN_FIELDS = {
    "name",
    "description",
    "model",
    "modelParameters",
    "responseFormat",
    "jsonSchema",
    "messages",
    "testData",
    "evaluators",
}
PARAMS = {"temperature": "temperature", "maxTokens": "max_tokens", "topP": "top_p"}
#: GitHub's LLM-rated built-ins (``uses: github/NAME``) as promptship judge rubrics.
BUILTIN_RUBRICS = {
    "coherence": "Coherence: the answer presents its ideas logically and in order, with clear connections, "
    "and directly addresses the question.",
    "fluency": "Fluency: the answer is grammatical, clear and readable, with appropriate vocabulary.",
    "relevance": "Relevance: the answer addresses the question with relevant information and nothing unrelated.",
    "groundedness": "Groundedness: every claim of the answer is supported by the information given in the input.",
}
JUDGE_MODEL = "openai/gpt-4o"  # what GitHub's built-in evaluators run on


def prompt_name_for(path: Path) -> str:
    """``prompts/summarize.prompt.yml`` → ``summarize``."""
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return slug(name)


def _json_type(value: Any) -> str:
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("list", list), ("object", dict)):
        if isinstance(value, types):
            return kind
    return "string"


def read_prompt_file(path: Path, text: str) -> dict[str, Any]:
    """The parsed file; :class:`UsageError` (E944) when it is not a GitHub Models prompt."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UsageError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            code="E944",
            path=str(path),
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) or not data["messages"]:
        raise UsageError(
            "not a GitHub Models prompt: it needs a `messages` list",
            code="E944",
            path=str(path),
            hint="see https://docs.github.com/github-models/use-github-models/storing-prompts-in-github-repositories",
        )
    for index, message in enumerate(data["messages"]):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise UsageError(f"messages[{index}] needs a `role` and a string `content`", code="E944", path=str(path))
        if message.get("role") not in ("system", "user", "assistant", "developer"):
            raise UsageError(
                f"messages[{index}] has role {message.get('role')!r}",
                code="E944",
                path=str(path),
                hint="roles: system, user, assistant",
            )
    return data


def _params(data: dict[str, Any], lossy: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in (data.get("modelParameters") or {}).items():
        if key in PARAMS:
            params[PARAMS[key]] = value
        else:
            lossy.append(f"modelParameters.{key} has no promptship equivalent: not imported")
    kind = data.get("responseFormat")
    if kind in ("text", "json_object"):
        params["response_format"] = {"type": kind}
    elif kind == "json_schema":
        schema = data.get("jsonSchema")
        try:
            parsed: Any = json.loads(schema) if isinstance(schema, str) else schema
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": parsed["name"],
                    "schema": parsed["schema"],
                    "strict": parsed.get("strict", True),
                },
            }
        except (ValueError, TypeError, KeyError):
            lossy.append("jsonSchema is not a JSON string with `name` and `schema`: response format not imported")
    return params


def _escape(text: str) -> str:
    """``text`` as a regex matching it literally, escaping only what regex syntax needs."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def _string_evaluator(spec: dict[str, Any], name: str, lossy: list[str]) -> dict[str, Any] | None:
    # gh-models checks equals, contains, startsWith, endsWith in this order; the first one set counts.
    given = [(k, v) for k in ("equals", "contains", "startsWith", "endsWith") if (v := spec.get(k))]
    if not given:
        lossy.append(f"evaluator {name!r}: `string` names no check: not imported")
        return None
    for key, _ in given[1:]:
        lossy.append(f"evaluator {name!r}: string.{key} is ignored by GitHub Models too (only {given[0][0]} counts)")
    key, value = given[0]
    value = str(value)
    if key == "equals":
        lossy.append(f"evaluator {name!r}: `equals` becomes a full-match regex, which ignores surrounding whitespace")
        return {"type": "regex", "params": {"pattern": _escape(value), "full_match": True}}
    if key == "contains":
        return {"type": "contains", "params": {"values": [value]}}
    pattern = "^" + _escape(value) if key == "startsWith" else _escape(value) + r"\Z"
    return {"type": "regex", "params": {"pattern": pattern, "flags": ["IGNORECASE"]}}


def _evaluators(data: dict[str, Any], judge_alias: str, lossy: list[str]) -> tuple[list[dict[str, Any]], bool]:
    """promptship evaluator specs for the file's evaluators; whether a judge model is needed."""
    specs: list[dict[str, Any]] = []
    needs_judge = False
    used: set[str] = set()
    for index, evaluator in enumerate(data.get("evaluators") or []):
        if not isinstance(evaluator, dict):
            lossy.append(f"evaluators[{index}] is not a mapping: not imported")
            continue
        title = str(evaluator.get("name") or f"evaluator-{index + 1}")
        spec: dict[str, Any] | None = None
        if isinstance(evaluator.get("string"), dict):
            spec = _string_evaluator(evaluator["string"], title, lossy)
        elif isinstance(evaluator.get("llm"), dict):
            llm = evaluator["llm"]
            positive = [float(c["score"]) for c in llm.get("choices") or [] if float(c.get("score", 0)) > 0]
            rubric = "\n\n".join(part for part in (llm.get("systemPrompt"), llm.get("prompt")) if part)
            spec = {
                "type": "llm_judge",
                "params": {
                    "rubric": rubric or title,
                    "judge": judge_alias,
                    "pass_threshold": min(positive) if positive else 0.5,
                },
            }
            needs_judge = True
            lossy.append(
                f"evaluator {title!r}: the judge scores 0..1 against the rubric instead of picking one of its "
                f"choices; {{{{input}}}}/{{{{completion}}}} in the prompt are not filled in (the judge gets the "
                f"item's input and the answer); judge model {llm.get('modelId') or '?'} → alias {judge_alias}"
            )
        elif evaluator.get("uses") == "github/similarity":
            spec = {"type": "similarity", "params": {"threshold": 0.8}}
            lossy.append(
                f"evaluator {title!r}: github/similarity is an LLM rating of equivalence with `expected`; "
                "imported as promptship's lexical `similarity` (difflib ratio >= 0.8)"
            )
        elif str(evaluator.get("uses", "")).removeprefix("github/") in BUILTIN_RUBRICS:
            builtin = str(evaluator["uses"]).removeprefix("github/")
            spec = {"type": "llm_judge", "params": {"rubric": BUILTIN_RUBRICS[builtin], "judge": judge_alias}}
            needs_judge = True
            lossy.append(
                f"evaluator {title!r}: {evaluator['uses']} (a 1-5 rating with GitHub's rubric) imported as "
                "llm_judge with a one-sentence rubric, scored 0..1"
            )
        else:
            lossy.append(
                f"evaluator {title!r}: {evaluator.get('uses') or 'unknown kind'} is not supported: not imported"
            )
        if spec is None:
            continue
        name = slug(title, fallback=spec["type"])
        while name in used:
            name += "-2"
        used.add(name)
        if name != title:
            lossy.append(f"evaluator {title!r} is named {name!r} (promptship score names are identifiers)")
        specs.append({"type": spec["type"], "name": name, "params": spec["params"]})
    return specs, needs_judge


def import_github_models(
    path: Path, text: str, root: Path, *, name: str | None = None, default_model: str | None = None
) -> Conversion:
    """One ``.prompt.yml`` file → prompt ``name`` (default: the file name), its dataset (``testData``)
    and suite (``evaluators``), plus the aliases its models need. Pure apart from reading the routing
    policy under ``root`` (to reuse an alias already routed to the same model)."""
    data = read_prompt_file(path, text)
    conversion = Conversion()
    lossy = conversion.lossy
    name = name or prompt_name_for(path)
    source = f"imported by `promptship import github-models` from {path.name}"
    for key in sorted(set(data) - KNOWN_FIELDS):
        lossy.append(f"field {key!r} is not part of the GitHub Models format: not imported")
    model = data.get("model") or default_model
    if not model:
        raise UsageError("the file names no `model`", code="E945", path=str(path), hint="pass --model MODEL_ID")
    wanted = {alias_for(str(model)): litellm_model(str(model))}
    evaluators, needs_judge = _evaluators(data, alias_for(JUDGE_MODEL), lossy)
    if needs_judge:
        wanted[alias_for(JUDGE_MODEL)] = litellm_model(JUDGE_MODEL)
    resolved = resolve_aliases(root, wanted)
    conversion.aliases = {resolved[a]: m for a, m in wanted.items()}
    for evaluator in evaluators:
        if evaluator["type"] == "llm_judge":
            evaluator["params"]["judge"] = resolved[alias_for(JUDGE_MODEL)]
    messages = [{"role": m["role"], "content": m["content"]} for m in data["messages"]]
    for index, message in enumerate(messages):
        if JINJA_BEYOND_NAMES.search(message["content"]):
            lossy.append(
                f"messages[{index}] holds `{{%`, `{{#` or an expression in `{{{{ }}}}`: GitHub Models prints "
                "them literally, promptship's Jinja2 evaluates them"
            )
    test_data = [t for t in data.get("testData") or [] if isinstance(t, dict)]
    variables: dict[str, Any] = {}
    for variable in template_variables(*(m["content"] for m in messages)):
        values = [t[variable] for t in test_data if variable in t]
        spec: dict[str, Any] = {"type": _json_type(values[0]) if values else "string"}
        if len(values) < len(test_data):
            spec |= {"required": False, "default": ""}
            lossy.append(f"variable {variable!r} is missing from some testData items: optional, default ''")
        variables[variable] = spec
    prompt: dict[str, Any] = {"type": "chat"}
    if data.get("description") or data.get("name"):
        prompt["description"] = str(data.get("description") or data.get("name"))
    if data.get("name") and str(data["name"]) != name:
        lossy.append(f"name {data['name']!r}: the prompt is named {name!r} (by its file; export writes that name)")
    prompt |= {"model": resolved[alias_for(str(model))]}
    params = _params(data, lossy)
    if params:
        prompt["params"] = params
    if variables:
        prompt["variables"] = variables
    prompt["messages"] = messages
    depth = name.count("/") + 1
    conversion.files[f"prompts/{name}.yaml"] = dump_yaml(prompt, schema_header("prompt", depth, source))
    if not test_data:
        if evaluators:
            lossy.append("evaluators need testData to run on: no suite written")
        return conversion
    items = []
    for index, entry in enumerate(test_data):
        item: dict[str, Any] = {
            "id": f"{slug(name.replace('/', '-'))}-{index + 1:03d}",
            "input": {k: v for k, v in entry.items() if k != "expected"},
        }
        if "expected" in entry:
            item["expected"] = entry["expected"]
        items.append(json.dumps(item, ensure_ascii=False))
    dataset = f"{name}-testdata"
    meta = {
        "description": f"testData of {path.name}",
        "kind": "golden",
        "synthetic": True,
        "prompt": name,
    }
    conversion.files[f"datasets/{dataset}.yaml"] = dump_yaml(meta, schema_header("dataset", depth, source))
    conversion.files[f"datasets/{dataset}.jsonl"] = "\n".join(items) + "\n"
    lossy.append(f"datasets/{dataset}.yaml says `synthetic: true` (hand-written testData); correct it if not")
    if evaluators:
        suite = {"description": f"evaluators of {path.name}", "prompt": name, "dataset": dataset}
        suite["evaluators"] = evaluators  # type: ignore[assignment]
        conversion.files[f"evals/{slug(name.replace('/', '-'))}.yaml"] = dump_yaml(
            suite, schema_header("suite", 1, source)
        )
    return conversion


# -- export ---------------------------------------------------------------------------------------------


def _unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern, flags=re.DOTALL)


def _export_evaluator(spec: Any, judge_models: dict[str, str], lossy: list[str]) -> dict[str, Any] | None:
    params = spec.params
    name = spec.score_name
    pattern = str(params.get("pattern", ""))
    literal = _escape(_unescape(pattern)) == pattern
    if spec.type == "regex" and params.get("full_match") and not params.get("flags") and literal:
        return {"name": name, "string": {"equals": _unescape(pattern)}}
    if spec.type == "contains" and len(params.get("values") or []) == 1 and params.get("mode", "any") == "any":
        if params.get("case_sensitive"):
            lossy.append(f"evaluator {name!r}: GitHub's `contains` ignores case")
        return {"name": name, "string": {"contains": params["values"][0]}}
    if spec.type == "regex" and params.get("flags") == ["IGNORECASE"] and not params.get("full_match"):
        body = pattern[1:] if pattern.startswith("^") else pattern[: -len(r"\Z")] if pattern.endswith(r"\Z") else None
        if body is not None and _escape(_unescape(body)) == body:
            key = "startsWith" if pattern.startswith("^") else "endsWith"
            return {"name": name, "string": {key: _unescape(body)}}
    if spec.type == "llm_judge":
        return {
            "name": name,
            "llm": {
                "modelId": judge_models.get(params.get("judge"), params.get("judge")),
                "prompt": params.get("rubric", ""),
                "choices": [{"choice": "yes", "score": 1.0}, {"choice": "no", "score": 0.0}],
            },
        }
    if spec.type == "similarity":
        lossy.append(f"evaluator {name!r}: lexical similarity exported as github/similarity (an LLM rating)")
        return {"name": name, "uses": "github/similarity"}
    lossy.append(f"evaluator {name!r} ({spec.type}) has no GitHub Models equivalent: not exported")
    return None


def export_github_models(repo: Repository, name: str) -> tuple[str, list[str]]:
    """Prompt ``name`` (with the dataset and evaluators of its first suite) as a ``.prompt.yml`` text,
    and what could not be exported."""
    lossy: list[str] = []
    prompt = repo.prompts[name].prompt
    routing = repo.policies.routing
    aliases = routing.aliases if routing else {}

    def model_id(alias: str) -> str:
        deployments = aliases[alias].deployments if alias in aliases else []
        if not deployments:
            return alias
        model = deployments[0].model
        vendor, _, rest = model.partition("/")
        if len(deployments) > 1 or (alias in aliases and aliases[alias].fallbacks):
            lossy.append(f"alias {alias}: only its first deployment ({model}) is exported, not its routing")
        return f"openai/{rest}" if vendor in ("openai", "azure") else rest if vendor == "github" else model

    data: dict[str, Any] = {"name": name}
    if prompt.description:
        data["description"] = prompt.description
    data["model"] = model_id(prompt.model)
    parameters = {g: getattr(prompt.params, p) for g, p in PARAMS.items() if getattr(prompt.params, p) is not None}
    if parameters:
        data["modelParameters"] = parameters
    for field in ("stop", "seed"):
        if getattr(prompt.params, field) is not None:
            lossy.append(f"params.{field} has no GitHub Models equivalent: not exported")
    if prompt.params.response_format is not None:
        data["responseFormat"] = prompt.params.response_format.type
        if prompt.params.response_format.json_schema is not None:
            schema = prompt.params.response_format.json_schema
            data["jsonSchema"] = json.dumps({"name": schema.name, "schema": schema.schema_, "strict": schema.strict})
    if prompt.messages is None:
        lossy.append("a text prompt is exported as one user message")
        messages = [{"role": "user", "content": prompt.template or ""}]
    else:
        lossy += [
            f"chat placeholder '{p.name}' has no GitHub Models equivalent: not exported"
            for _, p in prompt.placeholders()
        ]
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages if isinstance(m, Message)]
    for message in messages:
        if JINJA_BEYOND_NAMES.search(message["content"]):
            lossy.append(
                f"a {message['role']} message uses Jinja2 beyond {{{{name}}}}: GitHub Models prints it literally"
            )
    data["messages"] = messages
    suite = next((s.suite for _, s in sorted(repo.suites.items()) if s.suite.prompt == name), None)
    dataset = repo.datasets.get(suite.dataset) if suite else None
    if dataset is None:
        dataset = next((d for _, d in sorted(repo.datasets.items()) if d.meta.prompt == name), None)
    if dataset is not None:
        test_data = []
        for item in dataset.items:
            entry = dict(item.input)
            if item.expected is not None:
                entry["expected"] = item.expected
            if item.metadata:
                lossy.append(f"item {item.id}: metadata is not exported")
            test_data.append(entry)
        data["testData"] = test_data
    if suite is not None:
        judges = {
            str(s.params.get("judge")): model_id(str(s.params.get("judge")))
            for s in suite.evaluators
            if s.type == "llm_judge"
        }
        exported = [e for s in suite.evaluators if (e := _export_evaluator(s, judges, lossy)) is not None]
        if exported:
            data["evaluators"] = exported
        if suite.gates.model_dump(exclude_defaults=True):
            lossy.append("the suite's gates have no GitHub Models equivalent: not exported")
    return dump_yaml(data), lossy
