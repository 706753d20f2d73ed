"""Operations: what production calls consumed and how they ended.

- ``usage``: :class:`~promptship.ops.usage.UsageRow` (one model call, never message text or keys),
  :class:`~promptship.ops.usage.UsageQuery`, the :class:`~promptship.ops.usage.UsageStore` interface
  and the choice of store (``open_usage_store``, ``usage_store_url``).
- ``usage_sqlite`` (default, one file per host, several writers), ``usage_redis`` (shared by replicas).
- ``recording``: :class:`~promptship.ops.recording.UsageRecorder`, batched writes off the request path.

Sits above ``llm/`` and below ``runtime/`` (the SDK and the gateway record into it); it never imports
``runtime/``.
"""

from __future__ import annotations

__all__ = ["langfuse_usage", "recording", "stores", "usage", "usage_redis", "usage_report", "usage_sqlite"]
