"""DNS rebinding: a request (HTTP or WebSocket handshake) naming a host the server does not
answer for gets 421; and no response says which Python or aiohttp runs the server."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.helpers.process import ServerProcess
from tests.helpers.rawws import RawClient, http_request

Factory = Callable[..., ServerProcess]

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def handshake(host: str, *, origin: str | None = None, subprotocol: bool = True) -> bytes:
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY}",
        "Sec-WebSocket-Version: 13",
    ]
    if subprotocol:
        lines.append("Sec-WebSocket-Protocol: parley.v1")
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def get(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def login(host: str) -> bytes:
    body = json.dumps({"username": "nobody-here", "password": "whatever it is"})
    return (
        f"POST /api/login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def headers(answer: bytes) -> dict[str, str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}


def test_a_rebound_name_is_refused_for_http_and_websocket(server_factory: Factory) -> None:
    server = server_factory("serve")
    evil = f"evil.example:{server.port}"
    for request in (
        handshake(evil, origin=f"http://{evil}"),  # the rebinding page's own origin
        handshake(evil, subprotocol=False),  # a plain-text guest
        get("/", evil),
        get("/api/me", evil),
        get("/healthz", evil),
        login(evil),
    ):
        answer = http_request(server.port, request)
        assert status(answer) == 421, answer
        assert b"does not answer for that host name" in answer
        assert headers(answer)["connection"] == "close"
    assert server.count("refused a request for another host") == 6


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost", "127.0.0.1", "[::1]:{port}"]
)
def test_addresses_and_localhost_are_answered(server_factory: Factory, host: str) -> None:
    server = server_factory("serve")
    host = host.format(port=server.port)
    assert status(http_request(server.port, get("/healthz", host))) == 200
    answer = http_request(server.port, handshake(host, origin=f"http://{host}"), timeout=1)
    assert status(answer) == 101


def test_names_given_by_the_operator_are_answered(server_factory: Factory) -> None:
    server = server_factory(
        "serve",
        "--public-url",
        "https://Chat.Example.com",
        "--allowed-host",
        "parley.internal",
    )
    for host in ("chat.example.com", "CHAT.example.com:443", "parley.internal:8080"):
        assert status(http_request(server.port, get("/healthz", host))) == 200, host
    assert status(http_request(server.port, get("/healthz", "example.com"))) == 421
    assert status(http_request(server.port, get("/healthz", "chat.example.com.evil.com"))) == 421
    anything = server_factory("serve", "--db", "any.db", "--allowed-host", "*")
    assert status(http_request(anything.port, get("/healthz", "evil.example"))) == 200


def test_listening_everywhere_answers_addresses_and_says_how_to_add_names(
    server_factory: Factory,
) -> None:
    server = server_factory("serve", "--host", "0.0.0.0")
    assert status(http_request(server.port, get("/healthz", f"127.0.0.1:{server.port}"))) == 200
    assert status(http_request(server.port, get("/healthz", "192.0.2.10"))) == 200
    assert status(http_request(server.port, get("/healthz", "chat.example.com"))) == 421
    server.wait_for_line(r"add the name people use with --public-url or --allowed-host")


def test_no_response_names_python_or_aiohttp(server_factory: Factory) -> None:
    server = server_factory("serve")
    host = f"127.0.0.1:{server.port}"
    answers = [
        http_request(server.port, get("/", host)),
        http_request(server.port, get("/no/such/page", host)),
        http_request(server.port, get("/", "evil.example")),
        http_request(server.port, login(host)),
        # Requests that no handler sees: aiohttp answers them itself.
        http_request(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n"),
        http_request(server.port, b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n"),
    ]
    for answer in answers:
        assert status(answer) in (200, 400, 401, 404, 421), answer
        assert headers(answer)["server"] == "Parley", answer
    everything = b"".join(answers).lower()
    assert b"python" not in everything
    assert b"aiohttp" not in everything
    # The 101 is Parley's own, and names no server at all.
    ws = RawClient(server.port, "/ws")
    try:
        assert "server" not in ws.response_headers
    finally:
        ws.close()
    echo = server_factory("echo")
    assert headers(http_request(echo.port, get("/", "127.0.0.1")))["server"] == "Parley"
