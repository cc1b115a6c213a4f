"""The client's half of the opening handshake, and server addresses."""

from __future__ import annotations

import pytest

from parley.client.errors import HandshakeRefused
from parley.client.handshake import (
    Response,
    build_request,
    check_response,
    new_key,
    parse_response,
    refusal_reason,
)
from parley.client.urls import URLError, parse_url
from parley.websocket.handshake import accept_key, negotiate


def test_request_is_accepted_by_the_servers_negotiation() -> None:
    key = new_key()
    raw = build_request("example.org:8080", "/ws", key, subprotocols=["parley.v1"])
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert rest == b""
    request_line, *lines = head.decode().split("\r\n")
    assert request_line == "GET /ws HTTP/1.1"
    headers = {k.strip().title(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    agreed = negotiate("GET", _CaseInsensitive(headers), subprotocols=["parley.v1"])
    assert agreed.subprotocol == "parley.v1"
    # And our check accepts the server's own 101.
    response = parse_response(agreed.response.rstrip(b"\r\n"))
    assert check_response(response, key, ["parley.v1"]) == "parley.v1"


class _CaseInsensitive(dict[str, str]):
    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        for name, value in self.items():
            if name.lower() == key.lower():
                return value
        return default


def _response(**headers: str) -> Response:
    base = {"upgrade": "websocket", "connection": "Upgrade"}
    return Response(101, "Switching Protocols", {**base, **headers})


def test_wrong_accept_is_refused() -> None:
    key = new_key()
    with pytest.raises(HandshakeRefused, match="Sec-WebSocket-Accept"):
        check_response(_response(**{"sec-websocket-accept": accept_key(new_key())}), key, [])


def test_unoffered_subprotocol_and_extension_are_refused() -> None:
    key = new_key()
    good = {"sec-websocket-accept": accept_key(key)}
    with pytest.raises(HandshakeRefused, match="never offered"):
        check_response(_response(**good, **{"sec-websocket-protocol": "chat"}), key, ["x"])
    with pytest.raises(HandshakeRefused, match="extension"):
        check_response(
            _response(**good, **{"sec-websocket-extensions": "permessage-deflate"}), key, []
        )


def test_parse_response_and_reasons() -> None:
    response = parse_response(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 9"
    )
    assert (response.status, response.phrase, response.content_length) == (401, "Unauthorized", 9)
    body = b'{"error": "unauthorized", "message": "invalid or expired session token"}'
    assert refusal_reason(response, body) == "invalid or expired session token"
    text = parse_response(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain")
    assert refusal_reason(text, b"guests are switched off\nmore") == "guests are switched off"
    assert refusal_reason(text, b"") == "Forbidden"
    with pytest.raises(HandshakeRefused, match="did not answer in HTTP"):
        parse_response(b"SSH-2.0-OpenSSH_9.2")


@pytest.mark.parametrize(
    ("text", "default", "ws", "http"),
    [
        ("http://127.0.0.1:8080", "/ws", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"),
        ("ws://127.0.0.1:8080/ws", "/ws", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"),
        ("ws://127.0.0.1:8080/", "/", "ws://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (
            "https://chat.example.org",
            "/ws",
            "wss://chat.example.org/ws",
            "https://chat.example.org",
        ),
        ("localhost:9000", "/", "ws://localhost:9000/", "http://localhost:9000"),
        ("ws://[::1]:8080/x?y=1", "/", "ws://[::1]:8080/x?y=1", "http://[::1]:8080"),
    ],
)
def test_urls(text: str, default: str, ws: str, http: str) -> None:
    url = parse_url(text, default_path=default)
    assert (url.ws_url, url.http_url) == (ws, http)


@pytest.mark.parametrize("text", ["ftp://host", "http://", "http://host:99999", "ws://:80"])
def test_bad_urls(text: str) -> None:
    with pytest.raises(URLError):
        parse_url(text)
