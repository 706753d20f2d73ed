"""Files and formats: ``schema/`` (pydantic models, JSON Schemas), ``yamlfile`` (parsing with positions),
``sources`` (working tree or any git ref), ``repo`` (``load_repo`` → ``LoadResult``, content hashes),
``render`` (sandboxed Jinja2), ``validate`` (every check → diagnostics; ``load_valid_repo``),
``secrets``, ``textpos``, ``workdir`` (``.promptship/``)."""

from __future__ import annotations

__all__ = ["render", "repo", "schema", "secrets", "sources", "textpos", "validate", "workdir", "yamlfile"]
