"""The embedded model under load: a call's time limit counts service time, not time spent queued, and
work the caller gave up on stops (real SmolLM2 through the real router)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from promptship.files.schema import RoutingPolicy
from promptship.llm.backends.local import LocalCallCancelled, LocalModel, LocalServiceTimeout
from promptship.llm.routing import Completion, ModelRouter

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "Write a long story about a cat who travels the world."}]


def test_a_long_generation_stops_at_its_service_time_limit() -> None:
    with pytest.raises(LocalServiceTimeout, match="service time"):
        LocalModel.shared().chat(MESSAGES, {"max_tokens": 1000}, timeout_s=0.01)


def test_a_cancelled_call_never_starts_and_a_running_one_stops() -> None:
    model = LocalModel.shared()
    given_up = threading.Event()
    given_up.set()
    with pytest.raises(LocalCallCancelled, match="before"):
        model.chat(MESSAGES, {"max_tokens": 1000}, cancel=given_up)
    running = threading.Event()
    threading.Timer(0.2, running.set).start()
    with pytest.raises(LocalCallCancelled, match="while"):
        model.chat(MESSAGES, {"max_tokens": 100_000, "temperature": 0.0}, cancel=running)


def test_a_queued_local_call_does_not_time_out_while_it_waits() -> None:
    """The model is busy (another call) for longer than the alias's timeout_s: a call waits its turn, then
    answers. timeout_s is several times this machine's own service time, so CPU load does not decide it."""
    model = LocalModel.shared()
    started = time.perf_counter()
    model.chat([{"role": "user", "content": "Say hi"}], {"max_tokens": 1})
    timeout_s = max(3.0, 6 * (time.perf_counter() - started))  # one sample: room for load swings
    policy = RoutingPolicy.model_validate(
        {"aliases": {"fast": {"deployments": [{"id": "local", "model": "local/smollm2"}], "timeout_s": timeout_s}}}
    )
    router = ModelRouter(policy)
    router.prepare(["fast"])  # import litellm now, not while the model is busy
    busy = model._thread.submit(time.sleep, timeout_s + 1.5)  # noqa: SLF001 - occupy the model's one thread

    async def main() -> Completion:
        try:
            return await router.complete("fast", [{"role": "user", "content": "Say hi"}], {"max_tokens": 1})
        finally:
            await router.aclose()

    answer = asyncio.run(main())
    busy.result()
    assert answer.text and [a.outcome for a in answer.attempts] == ["ok"], "the wait in the queue did not count"
