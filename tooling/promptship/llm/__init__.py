"""Model calls: one alias call with retries and fallbacks, over pluggable backends.

- ``routing.ModelRouter``: ``complete(alias, messages, params)`` / ``stream(...)`` → ``Completion``;
  :class:`~promptship.errors.ModelCallFailed` after the last attempt.
- ``retry``: the one pure "retry, fall back or stop" decision (also used by the GitHub and Langfuse
  clients); ``failures``: a vendor error → outcome and error class.
- ``backends``: the :class:`~promptship.llm.backends.Backend` interface and the direct HTTP, local
  model and LiteLLM Router backends, with the one place that chooses between them.
- ``policy``: profiles, reachability, alias identities, prices (pure); ``credentials``: which
  environment variables an alias needs, checked by name.
- ``pricing`` (LiteLLM's bundled price map without importing litellm), ``cache`` (the response
  cache), ``loop_thread`` (the SDK's event-loop thread).

Submodules are imported on use (litellm itself only on the first call that needs the Router).
"""

from __future__ import annotations

__all__ = ["backends", "cache", "credentials", "failures", "loop_thread", "policy", "pricing", "retry", "routing"]
