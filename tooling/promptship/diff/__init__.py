"""Base vs head: ``change.run_diff(root, DiffRequest)`` → ``DiffReport`` (the library behind
``promptship diff``); ``fingerprint`` and ``affected`` (which suites a change touches), ``stats``
(paired bootstrap, McNemar), ``compare`` (two runs → comparison and gates), ``prompt_diff``
(semantic prompt diff); ``unpaired`` (two-sample statistics of unpaired arms: Wilson, Newcombe,
Fisher, Mann–Whitney, bootstrap) and ``versions`` (prompt versions compared on live traffic from usage
rows: ``promptship usage --by version``). All but ``change`` are pure."""

from __future__ import annotations

__all__ = ["affected", "change", "compare", "fingerprint", "prompt_diff", "stats", "unpaired", "versions"]
