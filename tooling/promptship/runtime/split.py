"""Which label of a traffic split serves a call (pure; the SDK and the gateway both ask here).

A split (``policies/release.yaml`` ``splits:``) maps labels to percents. A call's *split key* (a user
or session id the caller supplies) is hashed with the prompt's name into a point of [0, 100); the
labels, in name order, own consecutive ranges as wide as their weights, and the point's owner
serves the call. So:

- the same key always gets the same label for a prompt: in every process, SDK or gateway, before
  and after restarts (sha256, never Python's per-process ``hash``);
- two prompts split independently (the name is part of the hash), so a user is not in the
  candidate arm of every experiment at once;
- raising a two-label split from 10 to 20 percent keeps everyone already on the candidate there
  (ranges grow from a fixed end) and reordering the YAML moves nobody (name order, not file order).

A call without a key gets :func:`default_label`: the label unsplit calls get (``production``) when
the split has it, else the largest weight. Handing keyless calls to a random arm would flip one user
between versions call by call; they count in the default label's numbers, recorded as such.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping

from ..files.schema.policy import UNSPLIT_LABEL, default_label

__all__ = ["UNSPLIT_LABEL", "choose_label", "default_label", "split_point"]


def split_point(prompt: str, key: str) -> float:
    """Where ``key`` falls for ``prompt``: a number in [0, 100) from the first 8 bytes of
    sha256(``prompt`` + NUL + ``key`` in NFC), uniform for any keys, identical everywhere (a user id
    typed composed on one client and decomposed on another is one user)."""
    digest = hashlib.sha256(f"{prompt}\0{unicodedata.normalize('NFC', key)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def header_text(value: str) -> str:
    """An HTTP header value as the server read it (each byte a Latin-1 character, as ASGI servers
    decode headers) → the text the client sent: its bytes read as UTF-8 when they are, else as they
    came. So ``x-promptship-split-key: 김도현`` sent as UTF-8 is the SDK's ``split_key="김도현"``."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def choose_label(split: Mapping[str, int], prompt: str, key: str | None) -> str:
    """The label serving ``prompt`` for split key ``key`` (None or empty: :func:`default_label`).

    ``split``: label → whole percent, adding up to 100 (as ``validate`` checks). Deterministic: the same
    arguments give the same label in any process.
    """
    if not key:
        return default_label(split)
    point = split_point(prompt, key)
    edge = 0.0
    owners = [label for label in sorted(split) if split[label] > 0]
    for label in owners:
        edge += split[label]
        if point < edge:
            return label
    return owners[-1] if owners else default_label(split)  # weights short of 100: the last range takes the rest
