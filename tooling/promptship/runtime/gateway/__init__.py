"""The OpenAI-compatible gateway: one endpoint, one key per project, the SDK's routing, PII guard and
tracing, budgets and idempotent retries."""
