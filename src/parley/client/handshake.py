"""The WebSocket opening handshake from the client's side (RFC 6455 section 4.1), without I/O.

:func:`build_request` writes the upgrade request; :func:`check_response` reads the server's
answer and either returns what was agreed or raises :class:`~parley.client.errors.HandshakeRefused`
with the status and the server's one-line reason. The proof that the server read our key is
checked with the same :func:`~parley.websocket.handshake.accept_key` the server computes it with.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from parley.client.errors import HandshakeRefused
from parley.websocket.handshake import accept_key, header_tokens

#: Largest response head we read; a real one is a few hundred bytes.
MAX_HEAD = 16 * 1024


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes in base64."""
    return base64.b64encode(os.urandom(16)).decode()


def build_request(
    host_header: str,
    path: str,
    key: str,
    *,
    subprotocols: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The bytes of the upgrade request (``headers`` are added last, as given)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host_header}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if subprotocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True, slots=True)
class Response:
    """A parsed response head. Header names are lower-cased; repeated headers are joined."""

    status: int
    phrase: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_length(self) -> int | None:
        try:
            return int(self.headers["content-length"])
        except (KeyError, ValueError):
            return None


def parse_response(head: bytes) -> Response:
    """Parse ``HTTP/1.1 STATUS PHRASE`` and the header lines (``head`` without the blank line).

    Raises :class:`HandshakeRefused` with status 0 when it is not an HTTP response at all.
    """
    text = head.decode("latin-1")
    status_line, *lines = text.split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, phrase = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        shown = status_line[:60]
        raise HandshakeRefused(0, "", f"the server did not answer in HTTP ({shown!r})")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Response(int(code), phrase.strip(), headers)


def refusal_reason(response: Response, body: bytes) -> str:
    """The server's one-line reason for refusing: Parley's JSON ``message``, the first line of
    a text body, or the status phrase."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
    if text and "html" not in response.headers.get("content-type", "").lower():
        return text.splitlines()[0][:200]
    return response.phrase


def check_response(response: Response, key: str, subprotocols: Sequence[str]) -> str | None:
    """Check a ``101`` response against our request; return the agreed subprotocol.

    Any other status is a refusal (the caller reads the body for the reason first). The
    checks are the ones section 4.1 requires of a client; failing any of them means the server
    is not speaking WebSocket correctly, so the connection must not be used.
    """
    if response.status != 101:
        raise HandshakeRefused(response.status, response.phrase, response.phrase)
    headers = response.headers
    if "websocket" not in header_tokens(headers.get("upgrade")):
        raise HandshakeRefused(101, response.phrase, "the 101 response lacks Upgrade: websocket")
    if "upgrade" not in header_tokens(headers.get("connection")):
        raise HandshakeRefused(101, response.phrase, "the 101 response lacks Connection: Upgrade")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise HandshakeRefused(
            101, response.phrase, "wrong Sec-WebSocket-Accept: the server did not read our key"
        )
    if headers.get("sec-websocket-extensions"):
        raise HandshakeRefused(
            101, response.phrase, "the server chose an extension the client did not offer"
        )
    chosen = headers.get("sec-websocket-protocol") or None
    if chosen is not None and chosen not in subprotocols:
        raise HandshakeRefused(
            101, response.phrase, f"the server chose subprotocol {chosen!r}, never offered"
        )
    return chosen
