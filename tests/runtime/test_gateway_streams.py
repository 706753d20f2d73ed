"""Streams through the gateway: a stream cut mid-way is an error, never a finished answer."""

from __future__ import annotations

import openai
import pytest

from ..doubles.fake_llm import FakeLLM, Rule
from .conftest import RunningGateway


@pytest.mark.parametrize(("alias", "how"), [("backup", "reset"), ("backup", "end"), ("pool", "reset"), ("pool", "end")])
def test_a_stream_cut_mid_way_ends_with_an_error_and_is_not_replayed(
    gateway: RunningGateway, fake_llm: FakeLLM, alias: str, how: str
) -> None:
    """On the direct path (backup) and through the LiteLLM Router (pool)."""
    model = f"m-{alias}"
    fake_llm.set_rules([Rule("Review:", "one two three four five")])
    fake_llm.faults(model, cut_stream_after=2, cut_stream_how=how)
    client = gateway.client()

    def stream() -> list[str]:
        pieces, finishes = [], []
        with client.chat.completions.create(
            model=alias,
            messages=[{"role": "user", "content": "Review: good"}],
            stream=True,
            extra_headers={"Idempotency-Key": f"cut-{how}"},
        ) as chunks:
            for chunk in chunks:
                pieces.extend(c.delta.content or "" for c in chunk.choices)
                finishes.extend(c.finish_reason for c in chunk.choices if c.finish_reason)
        assert finishes == ["stop"]
        return pieces

    with pytest.raises(openai.APIError) as info:
        stream()
    assert info.value.code == "stream_interrupted" and "incomplete" in info.value.message
    fake_llm.faults(model)  # the vendor recovers; the client retries with the same key
    assert "".join(stream()) == "one two three four five"
    assert fake_llm.count(model=model) == 2, "the cut stream was not stored as the answer"
