"""The WebSocket opening handshake (RFC 6455 section 4.2) without I/O.

:func:`negotiate` reads a request's method and headers and either returns the exact bytes of
the ``101 Switching Protocols`` response or raises :class:`HandshakeError` with the HTTP
status and a one-line reason for the client. The server layer writes one or the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUPPORTED_VERSION = "13"


class HandshakeError(Exception):
    """The request cannot be upgraded; answer with ``status`` and ``reason`` as the body."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers: Mapping[str, str] = headers or {}


@dataclass(frozen=True, slots=True)
class Handshake:
    """An accepted handshake: what was agreed and the response that says so."""

    subprotocol: str | None
    response: bytes
    #: The ``Sec-WebSocket-Extensions`` value the server answered with, if any.
    extensions: str | None = None


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value that proves the server read ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # noqa: S324


def header_tokens(value: str | None) -> list[str]:
    """A comma-separated header value as lower-case tokens, blanks dropped."""
    if not value:
        return []
    return [token.strip().lower() for token in value.split(",") if token.strip()]


def negotiate(
    method: str,
    headers: Mapping[str, str],
    *,
    subprotocols: Sequence[str] = (),
    allow_no_subprotocol: bool = True,
    negotiate_extensions: Callable[[str | None], str | None] | None = None,
) -> Handshake:
    """Validate an upgrade request and build the 101 response.

    ``headers`` must look names up case-insensitively (aiohttp's ``CIMultiDictProxy`` does).
    ``negotiate_extensions`` receives the client's ``Sec-WebSocket-Extensions`` and returns
    the value to answer with, or None to use no extension.
    ``subprotocols`` are the server's, in no particular order: the client's first offered one
    that the server speaks wins (section 4.2.2). A client that offers only subprotocols the
    server does not speak is refused with 400 rather than accepted without one, because every
    browser fails such a connection anyway and a clear refusal is easier to debug.
    """
    if method != "GET":
        raise HandshakeError(405, "a WebSocket handshake must be a GET", {"Allow": "GET"})
    upgrade = header_tokens(headers.get("Upgrade"))
    if "websocket" not in upgrade:
        raise HandshakeError(
            426,
            "this URL speaks WebSocket only: send an Upgrade: websocket request",
            {"Upgrade": "websocket", "Sec-WebSocket-Version": SUPPORTED_VERSION},
        )
    if "upgrade" not in header_tokens(headers.get("Connection")):
        raise HandshakeError(400, "the Connection header must include 'upgrade'")
    version = (headers.get("Sec-WebSocket-Version") or "").strip()
    if version != SUPPORTED_VERSION:
        raise HandshakeError(
            426,
            f"unsupported WebSocket version {version!r}; this server speaks 13",
            {"Sec-WebSocket-Version": SUPPORTED_VERSION},
        )
    key = (headers.get("Sec-WebSocket-Key") or "").strip()
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        raise HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes in base64")

    offered = [
        token.strip()
        for token in (headers.get("Sec-WebSocket-Protocol") or "").split(",")
        if token.strip()
    ]
    chosen: str | None = None
    if offered:
        chosen = next((proto for proto in offered if proto in subprotocols), None)
        if chosen is None:
            raise HandshakeError(
                400,
                f"unsupported subprotocol {', '.join(offered)!r}; "
                f"this server speaks {', '.join(subprotocols) or 'none'}",
            )
    elif not allow_no_subprotocol:
        raise HandshakeError(400, f"a subprotocol is required here: {', '.join(subprotocols)}")

    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + accept_key(key).encode(),
    ]
    if chosen is not None:
        lines.append(b"Sec-WebSocket-Protocol: " + chosen.encode())
    extensions = None
    if negotiate_extensions is not None:
        extensions = negotiate_extensions(headers.get("Sec-WebSocket-Extensions"))
        if extensions:
            lines.append(b"Sec-WebSocket-Extensions: " + extensions.encode())
    return Handshake(
        subprotocol=chosen,
        response=b"\r\n".join(lines) + b"\r\n\r\n",
        extensions=extensions,
    )
