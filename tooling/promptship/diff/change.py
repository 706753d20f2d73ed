"""The library API behind ``promptship diff``: base vs head of a change, affected suites only.

Base is the merge-base of ``--base`` and head (what a PR is compared against), read straight from git
objects. For each affected suite, a stored run with the same fingerprint is reused (from
``.promptship/runs/`` or ``--results-dir``); otherwise the suite is evaluated at that tree. With the
response cache a rerun makes zero model calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import EXIT_FAILED, EXIT_NOT_EVALUATED, EXIT_OK, RepositoryInvalid, UsageError
from ..eval.costs import PriceChange, PriceTable, changed_prices, price_table, reachable_deployments, reprice
from ..eval.gates import NOT_EVALUATED_ADVICE, error_rate_results
from ..eval.progress import Mode, Progress
from ..eval.runner import RunOptions, plan_jobs, run_suites
from ..eval.runs import find_run, runs_dir
from ..files.repo import ItemsById, Repository
from ..files.schema import RoutingPolicy
from ..files.schema.run import Run
from ..files.sources import merge_base, resolve_commit
from ..files.validate import load_valid_repo
from ..files.workdir import refuse_tracked_results
from ..llm.cache import ResponseCache
from ..llm.policy import apply_profile
from ..llm.routing import ModelRouter
from .affected import SuiteChange, affected_suites
from .compare import GateResult, ModelComparison, check_gates, compare_model
from .prompt_diff import PromptDiff, diff_prompts


@dataclass
class SuiteReport:
    change: SuiteChange
    prompt: str
    prompt_diff: PromptDiff | None = None
    base_run: Run | None = None
    head_run: Run | None = None
    base_source: str = ""  # "stored" | "evaluated"
    head_source: str = ""
    comparisons: list[ModelComparison] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]


@dataclass
class DiffReport:
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str | None
    profile: str | None
    suites: list[SuiteReport]
    unaffected: list[str]
    model_calls: int = 0
    #: Deployments of affected suites whose prices differ between base and head (see
    #: :func:`~promptship.eval.costs.changed_prices`).
    price_changes: list[PriceChange] = field(default_factory=list)

    @property
    def local_model(self) -> bool:
        """Some answers of this report came from the embedded local model."""
        return any(
            run.environment.local_model for s in self.suites for run in (s.base_run, s.head_run) if run is not None
        )

    def warnings(self) -> list[str]:
        """Headline warnings that hold even where no gate checks them: cost per call up more than 20 %."""
        notes = []
        for suite in self.suites:
            for c in suite.comparisons:
                if c.cost_change_pct is not None and c.cost_change_pct > COST_WARNING_PCT:
                    cause = (
                        "prices changed, usage did not"
                        if c.usage_change_pct is not None and abs(c.usage_change_pct) < 0.5
                        else "usage changed, prices did not"
                        if not c.price_change_pct
                        else f"prices {c.price_change_pct:+.1f}%, usage {c.usage_change_pct or 0.0:+.1f}%"
                    )
                    notes.append(
                        f"⚠️ cost per call {c.cost_change_pct:+.1f}% on {suite.change.suite} / {c.model} ({cause})"
                    )
        return notes

    @property
    def failed_gates(self) -> list[GateResult]:
        """Quality gates that failed: the prompt's answers fall short."""
        return [g for s in self.suites for g in s.failed_gates if g.kind == "quality"]

    @property
    def not_evaluated(self) -> list[GateResult]:
        """Runs whose calls failed too often to judge quality (timeouts, model errors)."""
        return [g for s in self.suites for g in s.failed_gates if g.kind == "evaluation"]

    @property
    def interrupted(self) -> list[str]:
        """``"suite (head)"`` / ``"suite (base)"`` for each run that stopped before all its samples finished."""
        return [
            f"{s.change.suite} ({which})"
            for s in self.suites
            for which, run in (("base", s.base_run), ("head", s.head_run))
            if run is not None and not run.complete
        ]

    @property
    def passed(self) -> bool:
        """Every gate passed and every run finished (an interrupted run proves nothing either way)."""
        return not self.failed_gates and not self.not_evaluated and not self.interrupted

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a quality gate failed, 3 could not evaluate (and no quality gate failed)."""
        if self.failed_gates:
            return EXIT_FAILED
        if self.not_evaluated or self.interrupted:
            return EXIT_NOT_EVALUATED
        return EXIT_OK

    def verdict(self) -> str:
        """One line that agrees with :attr:`exit_code`: ✅ passed, ❌ quality failed, ⚠️ could not evaluate."""
        affected = [s for s in self.suites if s.change.affected]
        if not self.suites or not affected and not any(s.change.status == "removed" for s in self.suites):
            return "✅ no eval suite is affected by this change"
        failed, missing, interrupted = self.failed_gates, self.not_evaluated, self.interrupted
        unknown = []
        if missing:
            first = missing[0]
            more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
            unknown.append(f"{first.suite} / {first.model}: {first.message}{more}")
        if interrupted:
            unknown.append(f"interrupted before every sample finished: {', '.join(interrupted)}")
        could_not = f"could not evaluate: {'; '.join(unknown)}; {NOT_EVALUATED_ADVICE}" if unknown else ""
        if failed:
            first = failed[0]
            more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
            cause = ""
            if first.gate == "max_cost_increase_pct" and self.price_changes:
                cause = f" — caused by price changes ({describe_price_changes(self.price_changes)})"
            line = f"❌ gate failed: {first.suite} / {first.model}: {first.gate}: {first.message}{cause}{more}"
            return line + (f"; ⚠️ also {could_not}" if could_not else "")
        if could_not:
            return "⚠️ " + could_not
        return f"✅ all gates passed on {len(affected)} affected suite(s)"


COST_WARNING_PCT = 20.0
#: Said wherever answers of the embedded model are shown.
SMOKE_TEST_NOTE = (
    "ℹ️ Smoke test: answers came from the embedded local model (SmolLM2-135M); the scores show that the "
    "suite runs end to end, they do not predict production quality."
)


def describe_price_changes(changes: list[PriceChange]) -> str:
    """``fake-fast input $1.00 → $50.00 per 1M tokens`` for each changed deployment, joined by ``; ``."""

    def money(value: float | None) -> str:
        return "none" if value is None else f"${value:,.2f}"

    parts = []
    for change in changes:
        sides = [
            f"{kind} {money(before)} → {money(after)}"
            for kind, (before, after) in (("input", change.input_per_million), ("output", change.output_per_million))
            if before != after
        ]
        parts.append(f"{change.deployment} {', '.join(sides)} per 1M tokens")
    return "; ".join(parts)


@dataclass(frozen=True)
class DiffRequest:
    base: str
    head: str | None = None
    profile: str | None = None
    results_dirs: Sequence[Path] = ()
    concurrency: int = 8
    cache_mode: str = "use"
    progress: Mode = "off"


def _valid(root: Path, ref: str | None, label: str) -> Repository:
    try:
        repo = load_valid_repo(root, ref)
    except RepositoryInvalid as exc:
        if ref is None:
            raise
        hint = f"the errors above are in the {label} ({ref[:12]}), not in the working tree; fix them there"
        raise RepositoryInvalid(exc.diagnostics, f"the {label}", hint) from None
    if repo.policies.routing is None:
        raise UsageError(f"{label} has no policies/routing.yaml")
    return repo


class RoutersByPolicy:
    """``routers(repo)`` → the :class:`ModelRouter` for ``repo``'s routing policy under ``profile``,
    built on first use and shared by every repository with the same policy (base and head usually)."""

    def __init__(self, profile: str | None) -> None:
        self.profile = profile
        self._routers: dict[str, ModelRouter] = {}

    def __call__(self, repo: Repository) -> ModelRouter:
        assert repo.policies.routing is not None
        key = repo.policies.routing.model_dump_json()
        if key not in self._routers:
            self._routers[key] = ModelRouter(repo.policies.routing, profile=self.profile)
        return self._routers[key]


def _routing(repo: Repository, profile: str | None) -> RoutingPolicy:
    assert repo.policies.routing is not None
    return apply_profile(repo.policies.routing, profile)


def run_diff(root: Path, request: DiffRequest) -> DiffReport:
    """Compare the affected suites at head and at base's merge-base with head.

    Raises :class:`UsageError` (tracked results, missing routing), :class:`GitError` (unknown ref) and
    :class:`RepositoryInvalid` (a side that does not validate); never prints.
    """
    refuse_tracked_results(root, request.results_dirs)
    head_sha = resolve_commit(root, request.head) if request.head else None
    base_sha = merge_base(root, resolve_commit(root, request.base), head_sha or "HEAD")
    base = _valid(root, base_sha, f"base {request.base}")
    head = _valid(root, request.head, f"head {request.head or 'working tree'}")
    base_routing, head_routing = _routing(base, request.profile), _routing(head, request.profile)
    changes = affected_suites(base, base_routing, head, head_routing, os.environ)
    base_prices, head_prices = price_table(base_routing), price_table(head_routing)
    directories = [*request.results_dirs, runs_dir(root)]
    report = DiffReport(
        request.base,
        base_sha,
        request.head or "working tree",
        head_sha,
        request.profile,
        [],
        [c.suite for c in changes if c.status == "unchanged"],
    )
    cache = ResponseCache(None) if request.cache_mode == "off" else ResponseCache.at(root)
    progress = Progress(request.progress)
    options = RunOptions(
        concurrency=request.concurrency,
        cache_mode=request.cache_mode,  # type: ignore[arg-type]
        on_progress=progress.__enter__(),
    )
    router_for = RoutersByPolicy(request.profile)

    def obtain(repo: Repository, change: SuiteChange, which: str) -> tuple[Run, str]:
        fingerprint = change.head if which == "head" else change.base
        assert fingerprint is not None
        # The whole suite: every item, every model, every repeat (a partial run never stands in for it).
        selection = plan_jobs(repo, change.suite, RunOptions())[2]
        stored = find_run(directories, change.suite, fingerprint.suite, selection)
        prices = head_prices if which == "head" else base_prices
        if stored is not None:
            return reprice(stored, prices), "stored"
        run = run_suites(repo, [change.suite], router_for(repo), options, cache, runs_dir(root))[0]
        report.model_calls += sum(a.attempts for a in run.aggregates.values())
        return reprice(run, prices), "evaluated"

    try:
        for change in changes:
            if change.status == "unchanged":
                continue
            prompt_name = (head.suites.get(change.suite) or base.suites[change.suite]).suite.prompt
            suite_report = SuiteReport(change, prompt_name)
            base_prompt = base.prompts.get(prompt_name)
            head_prompt = head.prompts.get(prompt_name)
            suite_report.prompt_diff = diff_prompts(
                prompt_name,
                base_prompt.prompt if base_prompt else None,
                head_prompt.prompt if head_prompt else None,
            )
            if change.status in ("changed", "added"):
                suite_report.head_run, suite_report.head_source = obtain(head, change, "head")
            if change.status == "changed":
                suite_report.base_run, suite_report.base_source = obtain(base, change, "base")
                _compare(suite_report, head, head_prices)
                if "pricing" in change.reasons:
                    runs = [r for r in (suite_report.base_run, suite_report.head_run) if r is not None]
                    used = {d for run in runs for d in _deployments(run)}
                    used |= set(reachable_deployments(head_routing, [m for run in runs for m in run.models]))
                    for price in changed_prices(base_prices, head_prices, used):
                        if price not in report.price_changes:
                            report.price_changes.append(price)
            elif change.status == "added" and suite_report.head_run is not None:
                gates = head.suites[change.suite].suite.gates
                suite_report.gates = check_gates(change.suite, gates, suite_report.head_run, [])
            report.suites.append(suite_report)
    finally:
        progress.__exit__(None, None, None)
        cache.close()
    return report


class _Field(Mapping[str, Any]):
    """``item id → one field of the item``, read only for the items looked up (the listed changes)."""

    def __init__(self, items: ItemsById, name: str) -> None:
        self._items, self._name = items, name

    def __getitem__(self, item_id: str) -> Any:
        return getattr(self._items[item_id], self._name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _deployments(run: Run) -> set[str]:
    return {s.deployment for s in run.samples if s.deployment}


def _compare(suite_report: SuiteReport, head: Repository, head_prices: PriceTable) -> None:
    base_run, head_run = suite_report.base_run, suite_report.head_run
    assert base_run is not None and head_run is not None
    base_at_head_prices = reprice(base_run, head_prices)
    suite = head.suites[suite_report.change.suite].suite
    prompt = head.prompts[suite.prompt].prompt
    calls_per_day = prompt.traffic.calls_per_day if prompt.traffic else None
    items = ItemsById(head.datasets[suite.dataset].items)
    inputs = _Field(items, "input")
    expected = _Field(items, "expected")
    for model in head_run.models:
        if model in base_run.aggregates:
            suite_report.comparisons.append(
                compare_model(
                    base_run,
                    head_run,
                    model,
                    calls_per_day=calls_per_day,
                    inputs=inputs,
                    base_at_head_prices=base_at_head_prices,
                    expected=expected,
                )
            )
    suite_report.gates = check_gates(suite_report.change.suite, suite.gates, head_run, suite_report.comparisons)
    # A base whose calls mostly failed cannot be compared with either.
    for model, summary in base_run.aggregates.items():
        for result in error_rate_results(base_run, model, summary, suite.gates.max_error_rate):
            if result.kind == "evaluation":
                suite_report.gates.append(replace(result, gate="max_error_rate (base)"))
