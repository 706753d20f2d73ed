"""The Labs web app (FastAPI): server-rendered pages with stable URLs and a small JSON/stream API.

Pages: ``/prompts``, ``/prompts/<name>``, ``/test?prompt=<name>``, ``/runs``, ``/runs/<id>``,
``/compare?runs=<id>,<id>``, ``/edit?prompt=<name>``. API: ``POST /api/test`` (NDJSON stream of a
single test), ``POST /api/experiments`` + ``GET /api/experiments/<job>/events`` (server-sent progress),
``POST /api/validate`` and ``POST /api/save`` (edit → new branch). Every page is rendered with
autoescaping, so model outputs and file contents are text, never markup.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from starlette.exceptions import HTTPException

from ..errors import EditRejected, PromptshipError, UsageError
from ..files.schema import Prompt
from . import pages
from .branch import head_text, save_to_branch, validate_edit
from .catalog import load_tree
from .experiments import Experiments
from .rows import append_items, guess_mapping, items_from, mapping_from, read_upload
from .runstore import NotFound, list_runs
from .security import CSRF_HEADER, HEADERS, TOKEN_COOKIE, Access
from .single import TestRequest, stream_test

HERE = Path(__file__).parent


@dataclass(frozen=True)
class LabsConfig:
    root: Path
    access: Access
    profile: str | None = None
    concurrency: int = 8


def _templates() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short"] = lambda sha: (sha or "")[:12]
    env.filters["money"] = lambda v: f"{v:.6f}" if isinstance(v, int | float) else "–"
    env.filters["num"] = lambda v, fmt="{:.3f}": fmt.format(v) if isinstance(v, int | float) else "–"
    env.filters["pct"] = lambda v: f"{v:.0%}" if isinstance(v, int | float) else "–"
    env.filters["signed"] = lambda v, fmt="{:+.3f}": fmt.format(v) if isinstance(v, int | float) else "–"
    env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1)
    return env


def create_app(config: LabsConfig) -> FastAPI:
    """The Labs app for the repository at ``config.root``."""
    app = FastAPI(title="promptship labs", docs_url=None, redoc_url=None, openapi_url=None)
    templates = _templates()
    experiments = Experiments(config.root, config.profile, config.concurrency)
    access = config.access
    root = config.root

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        shared = {"csrf": access.csrf, "here": request.url.path, "branch": pages.current_branch(root)}
        body = templates.get_template(template).render({**shared, **context})
        return HTMLResponse(body, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await _guarded(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not access.host_ok(request.headers.get("host")):
            return Response("Labs answers only to localhost", status_code=421, media_type="text/plain")
        if access.token is not None:
            offered = request.query_params.get("token")
            if offered is not None and access.token_ok(offered):
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                redirect = RedirectResponse(target, status_code=303)
                redirect.set_cookie(TOKEN_COOKIE, offered, httponly=True, samesite="strict")
                return redirect
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or None
            if not (access.token_ok(request.cookies.get(TOKEN_COOKIE)) or access.token_ok(bearer)):
                return Response(
                    "Labs needs its token: open the link printed by `promptship labs` (…?token=...)",
                    status_code=401,
                    media_type="text/plain",
                )
        if request.method not in ("GET", "HEAD", "OPTIONS") and not access.write_ok(
            request.headers.get("origin"), request.headers.get("host"), request.headers.get(CSRF_HEADER)
        ):
            return JSONResponse({"error": {"message": "refused: not sent by a Labs page"}}, status_code=403)
        return await call_next(request)

    @app.exception_handler(PromptshipError)
    async def library_error(request: Request, exc: PromptshipError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 400
        if request.url.path.startswith("/api/"):
            body: dict[str, Any] = {"message": exc.message, "code": exc.code, "hint": exc.hint}
            if isinstance(exc, EditRejected):
                body["diagnostics"] = pages.diagnostics_json(exc.diagnostics)
            return JSONResponse({"error": body}, status_code=status)
        return page(request, "error.html", status, error=exc)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        error = UsageError("no such page" if exc.status_code == 404 else str(exc.detail), hint="start at /prompts")
        return page(request, "error.html", exc.status_code, error=error)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/prompts", status_code=303)

    @app.get("/prompts", response_class=HTMLResponse)
    def prompts(request: Request) -> HTMLResponse:
        return page(request, "prompts.html", **pages.prompts_page(root))

    @app.get("/prompts/{name:path}", response_class=HTMLResponse)
    def prompt(request: Request, name: str) -> HTMLResponse:
        return page(request, "prompt.html", **pages.prompt_page(root, name))

    @app.get("/test", response_class=HTMLResponse)
    def test(request: Request, prompt: str | None = None) -> HTMLResponse:
        return page(request, "test.html", **pages.test_page(root, prompt))

    @app.post("/api/test")
    async def run_test(request: Request) -> StreamingResponse:
        body = await _json(request)
        test_request = TestRequest(
            prompt=str(body.get("prompt", "")),
            variables={str(k): str(v) for k, v in (body.get("variables") or {}).items()},
            item=str(body["item"]) if body.get("item") else None,
            aliases=[str(a) for a in body.get("aliases") or []],
            params={str(k): str(v) for k, v in (body.get("params") or {}).items()},
            images=[str(i) for i in body.get("images") or []],
        )

        async def lines() -> AsyncIterator[bytes]:
            async for event in stream_test(root, test_request, config.profile):
                yield (json.dumps(event, ensure_ascii=False) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/runs", response_class=HTMLResponse)
    def runs(request: Request) -> HTMLResponse:
        return page(request, "runs.html", **pages.runs_page(root))

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: str) -> HTMLResponse:
        return page(request, "run.html", **pages.run_page(root, run_id))

    @app.post("/api/experiments")
    async def start_experiment(request: Request) -> JSONResponse:
        body = await _json(request)
        suite = str(body.get("suite", ""))
        repo = load_tree(root).repo
        if suite not in repo.suites:
            raise UsageError(f"unknown suite {suite!r}", hint=f"suites: {', '.join(sorted(repo.suites))}")
        sample, prompt = body.get("sample"), str(body.get("prompt") or "") or None
        if prompt is not None and prompt not in repo.prompts:
            raise UsageError(f"unknown prompt {prompt!r}", hint="pick one of the list")
        try:
            size = int(sample) if sample not in (None, "") else None
        except ValueError:
            raise UsageError(f"sample {sample!r} is not a number of items") from None
        job = experiments.start(suite, [str(m) for m in body.get("models") or []], size, prompt)
        return JSONResponse(job.snapshot())

    @app.get("/api/experiments/{job_id}/events")
    async def experiment_events(job_id: str) -> StreamingResponse:
        job = experiments.get(job_id)
        if job is None:
            raise NotFound(f"no experiment {job_id!r}")

        async def events() -> AsyncIterator[bytes]:
            last: dict[str, object] | None = None
            while True:
                snapshot = job.snapshot()
                if snapshot != last:
                    yield f"event: {snapshot['status']}\ndata: {json.dumps(snapshot)}\n\n".encode()
                    last = snapshot
                if snapshot["status"] != "running":
                    return
                await asyncio.sleep(0.15)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/compare", response_class=HTMLResponse)
    def compare(request: Request, runs: str = "", models: str = "") -> HTMLResponse:
        if not runs.strip():
            return page(request, "compare.html", pick=True, runs=list_runs(root))
        return page(request, "compare.html", **pages.compare_page(root, runs, models))

    @app.get("/edit", response_class=HTMLResponse)
    def edit(request: Request, prompt: str = "", dataset: str = "") -> HTMLResponse:
        if dataset:
            return page(request, "dataset.html", **pages.dataset_page(root, dataset))
        return page(request, "edit.html", **pages.edit_page(root, prompt))

    @app.post("/api/rows/columns")
    async def upload_columns(request: Request) -> JSONResponse:
        body = await _json(request)
        upload = read_upload(str(body.get("filename", "")), str(body.get("content", "")))
        prompt = _dataset_prompt(str(body.get("dataset", "")))
        guess = guess_mapping(upload.columns, prompt)
        return JSONResponse({"columns": upload.columns, "rows": len(upload.records), "guess": asdict(guess)})

    @app.post("/api/rows/apply")
    async def upload_apply(request: Request) -> JSONResponse:
        body = await _json(request)
        name = str(body.get("dataset", ""))
        details = pages.dataset_page(root, name)
        upload = read_upload(str(body.get("filename", "")), str(body.get("content", "")))
        mapping = mapping_from(body.get("mapping") or {})
        items = items_from(upload, mapping, _dataset_prompt(name))
        text = append_items(head_text(root, details["path"]) or "", items)
        diagnostics = await asyncio.to_thread(validate_edit, root, {details["path"]: text})
        return JSONResponse(
            {
                "path": details["path"],
                "text": text,
                "added": items[:50],
                "count": len(items),
                "diagnostics": pages.diagnostics_json(diagnostics),
            }
        )

    def _dataset_prompt(name: str) -> Prompt:
        repo = load_tree(root).repo
        dataset = repo.datasets.get(name)
        if dataset is None or dataset.meta.prompt not in repo.prompts:
            raise NotFound(f"no dataset {name!r} with a known prompt")
        return repo.prompts[dataset.meta.prompt].prompt

    @app.post("/api/validate")
    async def validate(request: Request) -> JSONResponse:
        body = await _json(request)
        changes = _changes(body)
        diagnostics = await asyncio.to_thread(validate_edit, root, changes)
        return JSONResponse({"diagnostics": pages.diagnostics_json(diagnostics)})

    @app.post("/api/save")
    async def save(request: Request) -> JSONResponse:
        body = await _json(request)
        push = str(body.get("push") or "") or None
        if push is not None and push not in pages.remotes(root):
            raise UsageError(f"no git remote {push!r}", hint=f"remotes: {', '.join(pages.remotes(root)) or '(none)'}")
        saved = await asyncio.to_thread(
            save_to_branch,
            root,
            _changes(body),
            str(body.get("branch", "")),
            str(body.get("message", "")),
            push_remote=push,
        )
        base = pages.current_branch(root) or saved.base[:12]
        return JSONResponse(
            {
                "branch": saved.branch,
                "commit": saved.commit,
                "base": saved.base,
                "files": saved.files,
                "pushed_to": saved.pushed_to,
                "diff_command": f"promptship diff --base {base} --head {saved.branch}",
            }
        )

    return app


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    return body


def _changes(body: dict[str, Any]) -> dict[str, str]:
    files = body.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise UsageError('send {"files": {"PATH": "TEXT", ...}}')
    return {str(k): v for k, v in files.items()}
