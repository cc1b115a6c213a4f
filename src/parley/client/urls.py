"""One server address, written any way people write it, as both its HTTP and WebSocket URLs.

``parley connect`` accepts ``http(s)://host:port``, ``ws(s)://host:port`` or
``ws(s)://host:port/ws``, with or without a scheme (``localhost:8080``). The account API lives
under the HTTP URL (``/api/login``) and the chat under the WebSocket one (``/ws``), so each is
derived from the other: ``ws`` ⇄ ``http``, ``wss`` ⇄ ``https``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
_TO_WS = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}

#: Where ``parley serve`` speaks parley.v1.
CHAT_PATH = "/ws"


class URLError(ValueError):
    """The text is not a usable server address; the message says why."""


@dataclass(frozen=True, slots=True)
class ServerURL:
    """A parsed server address. ``path`` includes the query string."""

    scheme: str  #: "ws" or "wss"
    host: str
    port: int
    path: str

    @property
    def secure(self) -> bool:
        return self.scheme == "wss"

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the port is left out when it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path}"

    @property
    def http_url(self) -> str:
        """The HTTP origin (no path): where ``/api/...`` lives."""
        return f"{'https' if self.secure else 'http'}://{self.host_header}"

    def with_path(self, path: str) -> ServerURL:
        return ServerURL(self.scheme, self.host, self.port, path)


def parse_url(text: str, *, default_path: str = "/") -> ServerURL:
    """Parse ``text``; a URL without a path (or with ``/``) gets ``default_path``."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise URLError(f"{text!r} is not a valid URL: {exc}") from None
    scheme = _TO_WS.get(parts.scheme.lower())
    if scheme is None:
        raise URLError(f"{text!r}: use an http://, https://, ws:// or wss:// URL")
    if not parts.hostname:
        raise URLError(f"{text!r} has no host name")
    path = parts.path if parts.path not in ("", "/") else default_path
    if parts.query:
        path = f"{path}?{parts.query}"
    return ServerURL(scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], path)
