"""Who may use Labs: loopback by default, a token for any other address, same-origin writes only.

- Binding anything but a loopback address needs a token (``--token`` or ``PROMPTSHIP_LABS_TOKEN``):
  every request must then carry it, as the ``labs_token`` cookie (set by visiting any page once with
  ``?token=...``, which redirects to the same URL without it) or as ``Authorization: Bearer ...``.
- On loopback, the ``Host`` header must name a loopback host, so a web page on another site cannot
  reach Labs through DNS rebinding.
- Requests that change something (POST) must come from Labs' own pages: same-origin ``Origin`` (when
  sent) and the per-process CSRF value from the page's ``<meta name="labs-csrf">``.
- Every response forbids inline scripts, framing and sniffing (Content-Security-Policy).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import UsageError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_COOKIE = "labs_token"
CSRF_HEADER = "x-labs-csrf"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class Access:
    host: str
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def token_ok(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    def host_ok(self, host_header: str | None) -> bool:
        """On loopback the Host header must name a loopback host (DNS-rebinding defence)."""
        if not self.loopback:
            return True
        if not host_header:
            return False
        name = urlsplit(f"//{host_header}").hostname or ""
        return is_loopback(name) or is_loopback(f"[{name}]")

    def write_ok(self, origin: str | None, host_header: str | None, csrf: str | None) -> bool:
        """A POST from Labs' own page: same-origin (when the browser says) and the page's CSRF value."""
        if origin is not None and urlsplit(origin).netloc != (host_header or ""):
            return False
        return csrf is not None and hmac.compare_digest(csrf.encode(), self.csrf.encode())


def access_for(host: str, token: str | None) -> Access:
    """The access rules for binding ``host``. :class:`UsageError` E950 when a non-loopback host has no token."""
    token = token or None
    if not is_loopback(host) and token is None:
        raise UsageError(
            f"Labs would be reachable from other machines on {host} without a token",
            code="E950",
            hint="bind 127.0.0.1 (the default), or set PROMPTSHIP_LABS_TOKEN (or --token) to a long random value",
        )
    if token is not None and len(token) < 16:
        raise UsageError("the Labs token is shorter than 16 characters", code="E950", hint="use a long random value")
    return Access(host, token)
