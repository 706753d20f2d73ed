"""promptship Labs: a local web app over the library API (extra ``promptship[labs]``).

PMs browse prompts, try one prompt on several models with streamed answers, run experiments with
live progress, compare stored runs with the same paired statistics as ``diff``, and turn an edit into
a commit on a new branch. Pages are server-rendered (Jinja2, autoescaped) with a little vendored
JavaScript; every page has a stable URL. Modules:

- ``runstore``: stored run artifacts (``.promptship/runs/``) with short, stable ids.
- ``catalog``: prompts with their git history (and Langfuse labels when configured).
- ``comparison``: two or more (run, model) columns → paired statistics and per-item rows (pure).
- ``textdiff``: word-level difference of two outputs (pure).
- ``single``: one prompt on several aliases, PII-guarded, streamed; nothing is written.
- ``experiments``: suite runs in a background thread with progress events.
- ``branch``: validate an edited file over HEAD and commit it to a new branch with git plumbing.
- ``security``: bind address, token, Host and same-origin checks.
- ``app``: the FastAPI routes (thin).
"""
