"""Where a request comes from and how it reached us: its scheme, the server's own origin, and
whether the page that sent it may act with the user's cookie.

One policy for every request that uses the session cookie: the WebSocket handshake of a
signed-in connection and the account API's state-changing requests (register, log in, log
out). A browser always sends ``Origin`` with them and scripts cannot change it, so a request
whose ``Origin`` is neither the server's own (the scheme, host and port it was addressed to)
nor one the operator allowed (``--allowed-origin``, the origin of ``--public-url``) comes from
someone else's page, including a page on another port or subdomain of the same site, which
``SameSite=Strict`` does not stop. A request without ``Origin`` is not a browser's: it
authenticates with a token it holds (``Authorization: Bearer``), and is allowed.

**HTTPS.** With ``--certfile`` every request is. Behind a proxy (``--behind-proxy``, whose
premise is that the proxy terminates TLS), the proxy's ``X-Forwarded-Proto`` says, and a
missing one means https. This decides the origin's scheme and the session cookie's name and
``Secure`` flag (``server/cookies.py``).
"""

from __future__ import annotations

from aiohttp import web

from parley.config import ServeSettings, public_origin


def forwarded_proto(request: web.BaseRequest) -> str | None:
    """The last ``X-Forwarded-Proto`` entry (the one our proxy set), lower-cased, if any."""
    value = request.headers.get("X-Forwarded-Proto", "").rsplit(",", 1)[-1].strip().lower()
    return value or None


class Origins:
    """The origin policy of one server (see the module docstring)."""

    def __init__(self, settings: ServeSettings) -> None:
        self.tls = settings.tls
        self.behind_proxy = settings.behind_proxy
        allowed = {origin.lower().rstrip("/") for origin in settings.allowed_origins}
        if settings.public_url:
            allowed.add(public_origin(settings.public_url))
        self.allowed = frozenset(allowed)

    def https(self, request: web.BaseRequest) -> bool:
        """Whether the browser reached us over HTTPS (directly, or through our TLS proxy)."""
        if self.tls:
            return True
        if self.behind_proxy:
            return forwarded_proto(request) in (None, "https", "wss")
        return False

    def own(self, request: web.BaseRequest) -> str:
        """``scheme://host[:port]`` of this server as the client addressed it."""
        return f"{'https' if self.https(request) else 'http'}://{request.host}".lower()

    def allows(self, request: web.BaseRequest) -> bool:
        """Whether the request's page may use the session: no ``Origin`` (not a browser), the
        server's own origin, or an allowed one. ``Origin: null`` (a sandboxed frame, a file)
        is never allowed."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        origin = origin.strip().lower()
        return origin == self.own(request) or origin in self.allowed
