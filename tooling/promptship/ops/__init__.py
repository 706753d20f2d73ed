"""Operations: what production calls consumed and how they ended.

- ``usage``: :class:`~promptship.ops.usage.UsageRow` (one model call, never message text or keys),
  :class:`~promptship.ops.usage.UsageQuery`, the :class:`~promptship.ops.usage.UsageStore` interface
  ``outcome_of``, ``key_id``, ``request_hash``.
- ``stores``: which store and opening it; ``usage_sqlite`` (default, one file per host, several
  writers), ``usage_redis`` (shared by replicas), ``usage_postgres`` (optional, extra ``postgres``).
- ``recording``: :class:`~promptship.ops.recording.UsageRecorder`, batched writes off the request path.
- ``usage_report``: rows → per-group figures (``build_report``, ``load_usage_report``, ``load_usage_rows``);
  ``langfuse_usage``: the same rows from Langfuse's observations.
- ``alerts``: :class:`~promptship.ops.alerts.GatewayAlerts`, budget-threshold and retry-storm alerts,
  once across workers; ``webhook``: :class:`~promptship.ops.webhook.WebhookSender`, background delivery.

Sits above ``llm/`` and below ``runtime/`` (the SDK and the gateway record into it); it never imports
``runtime/``.
"""

from __future__ import annotations

__all__ = [
    "alerts",
    "langfuse_usage",
    "recording",
    "stores",
    "usage",
    "usage_postgres",
    "usage_redis",
    "usage_report",
    "usage_sqlite",
    "webhook",
]
