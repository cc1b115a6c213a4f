"""The opening handshake (RFC 6455 section 4.2), tested with plain values."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from parley.websocket.handshake import HandshakeError, accept_key, negotiate

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def headers(**overrides: str | None) -> CIMultiDict[str]:
    base = {
        "Upgrade": "websocket",
        "Connection": "keep-alive, Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": KEY,
    }
    base.update({k.replace("_", "-"): v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            base.pop(k.replace("_", "-"))
    return CIMultiDict(base)


def test_accept_key_example_from_the_rfc() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_accepted_handshake_response() -> None:
    handshake = negotiate("GET", headers())
    assert handshake.subprotocol is None
    assert handshake.response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in handshake.response
    assert handshake.response.endswith(b"\r\n\r\n")
    assert b"Sec-WebSocket-Protocol" not in handshake.response


def test_header_names_and_tokens_are_case_insensitive() -> None:
    h = CIMultiDict(
        {
            "upgrade": "WebSocket",
            "connection": "UPGRADE",
            "sec-websocket-version": "13",
            "sec-websocket-key": KEY,
        }
    )
    assert negotiate("GET", h).subprotocol is None


@pytest.mark.parametrize(
    ("method", "overrides", "status"),
    [
        ("POST", {}, 405),
        ("GET", {"Upgrade": None}, 426),
        ("GET", {"Upgrade": "h2c"}, 426),
        ("GET", {"Connection": "keep-alive"}, 400),
        ("GET", {"Sec_WebSocket_Version": "8"}, 426),
        ("GET", {"Sec_WebSocket_Version": None}, 426),
        ("GET", {"Sec_WebSocket_Key": None}, 400),
        ("GET", {"Sec_WebSocket_Key": "not base64!"}, 400),
        ("GET", {"Sec_WebSocket_Key": "c2hvcnQ="}, 400),  # 5 bytes
    ],
)
def test_bad_requests_are_refused(
    method: str, overrides: dict[str, str | None], status: int
) -> None:
    with pytest.raises(HandshakeError) as info:
        negotiate(method, headers(**overrides))
    assert info.value.status == status
    assert info.value.reason


def test_version_refusal_names_the_supported_version() -> None:
    with pytest.raises(HandshakeError) as info:
        negotiate("GET", headers(Sec_WebSocket_Version="8"))
    assert info.value.headers["Sec-WebSocket-Version"] == "13"


def test_subprotocol_client_preference_wins() -> None:
    h = headers(Sec_WebSocket_Protocol="other, parley.v1, parley.v2")
    handshake = negotiate("GET", h, subprotocols=["parley.v2", "parley.v1"])
    assert handshake.subprotocol == "parley.v1"
    assert b"Sec-WebSocket-Protocol: parley.v1\r\n" in handshake.response


def test_unknown_subprotocol_is_refused() -> None:
    with pytest.raises(HandshakeError) as info:
        negotiate("GET", headers(Sec_WebSocket_Protocol="mqtt"), subprotocols=["parley.v1"])
    assert info.value.status == 400
    assert "parley.v1" in info.value.reason


def test_subprotocol_can_be_required() -> None:
    with pytest.raises(HandshakeError):
        negotiate("GET", headers(), subprotocols=["parley.v1"], allow_no_subprotocol=False)
