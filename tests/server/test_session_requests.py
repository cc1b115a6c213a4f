"""The requests that use the session cookie: only JSON, only from the server's own pages (or
allowed ones), and a cookie that another page of the same site cannot plant or replace.

The browser's side (plain HTTP and TLS, and an attacker's page on another port) is in
``tests/browser/test_session_cookie.py``.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.chat import PASSWORD, _opener, http_json, register
from tests.helpers.process import ServerProcess
from tests.helpers.tls import Certificate, issue_certificate

Factory = Callable[..., ServerProcess]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return issue_certificate(tmp_path_factory.mktemp("tls"))


def post(
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = _opener
    if context is not None:
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=10) as response:
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return response.status, parsed, dict(response.headers)


def me(base: str, cookie: str, context: ssl.SSLContext | None = None) -> Any:
    request = urllib.request.Request(f"{base}/api/me", headers={"Cookie": cookie})
    opener = _opener
    if context is not None:
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())["user"]


def set_cookie(headers: dict[str, str]) -> tuple[str, str, str]:
    """(name, value, the whole Set-Cookie line) of a response's one cookie."""
    line = headers["Set-Cookie"]
    [(name, morsel)] = SimpleCookie(line).items()
    return name, morsel.value, line


def test_a_logout_that_is_not_json_ends_nothing(server_factory: Factory) -> None:
    server = server_factory("serve")
    base = server.http_url
    headers = http_json(f"{base}/api/register", {"username": "vic", "password": PASSWORD})[2]
    name, token, _ = set_cookie(headers)
    cookie = f"{name}={token}"
    # What a page on another port of the same site can send without a CORS preflight: a
    # "simple" request, text/plain, with the cookie (SameSite=Strict does not stop it).
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, answer, _ = post(
            f"{base}/api/logout", b"{}", {"Content-Type": content_type, "Cookie": cookie}
        )
        assert (status, answer["error"]) == (415, "unsupported_media_type")
    status, _, _ = post(f"{base}/api/logout", None, {"Cookie": cookie})
    assert status == 415
    assert me(base, cookie)["name"] == "vic"  # still signed in
    # JSON from the server's own page ends it.
    own = {"Content-Type": "application/json", "Cookie": cookie, "Origin": base}
    assert post(f"{base}/api/logout", b"{}", own)[0] == 204
    assert me(base, cookie) is None


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:1", "http://localhost:{port}", "https://127.0.0.1:{port}", "null"]
)
def test_state_changing_requests_from_another_origin_are_refused(
    server_factory: Factory, origin: str
) -> None:
    server = server_factory("serve")
    base = server.http_url
    origin = origin.format(port=server.port)
    token = register(base, "vic")
    cookie = f"parley_session={token}"
    foreign = {"Content-Type": "application/json", "Origin": origin, "Cookie": cookie}
    status, body, _ = post(f"{base}/api/logout", b"{}", foreign)
    assert (status, body["error"]) == (403, "forbidden_origin")
    assert me(base, cookie)["name"] == "vic"
    # Signing someone in (to the attacker's account) or up is refused just the same.
    credentials = json.dumps({"username": "vic", "password": PASSWORD}).encode()
    status, body, headers = post(f"{base}/api/login", credentials, foreign)
    assert (status, body["error"]) == (403, "forbidden_origin")
    assert "Set-Cookie" not in headers
    signup = json.dumps({"username": "mallory", "password": PASSWORD}).encode()
    assert post(f"{base}/api/register", signup, foreign)[0] == 403
    assert http_json(f"{base}/api/login", {"username": "mallory", "password": PASSWORD})[0] == 401


def test_non_browser_clients_and_allowed_origins_are_served(server_factory: Factory) -> None:
    server = server_factory(
        "serve",
        "--allowed-origin",
        "https://app.example.com",
        "--public-url",
        "https://chat.example.com",
    )
    base = server.http_url
    # No Origin: not a browser; it holds its token.
    token = register(base, "cli")
    assert http_json(f"{base}/api/logout", {}, token=token)[0] == 204
    credentials = json.dumps({"username": "cli", "password": PASSWORD}).encode()
    for origin in ("https://app.example.com", "https://chat.example.com", base):
        headers = {"Content-Type": "application/json", "Origin": origin}
        status, body, _ = post(f"{base}/api/login", credentials, headers)
        assert status == 200, (origin, body)


def test_over_tls_the_cookie_is_host_only_and_a_planted_one_is_ignored(
    server_factory: Factory, certificate: Certificate
) -> None:
    server = server_factory(
        "serve", "--certfile", str(certificate.certfile), "--keyfile", str(certificate.keyfile)
    )
    base = f"https://127.0.0.1:{server.port}"
    credentials = json.dumps({"username": "tess", "password": PASSWORD}).encode()
    json_headers = {"Content-Type": "application/json"}
    status, _, headers = post(f"{base}/api/register", credentials, json_headers, certificate.client)
    assert status == 201
    name, token, line = set_cookie(headers)
    assert name == "__Host-parley_session"
    attributes = {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "domain" not in attributes  # __Host-: this host only
    assert "Path=/" in line
    assert me(base, f"__Host-parley_session={token}", certificate.client)["name"] == "tess"
    # A cookie without the prefix could have been set by a sibling subdomain or a plain-HTTP
    # page of the same name: over HTTPS it is not read, even holding a live token.
    assert me(base, f"parley_session={token}", certificate.client) is None
    # Signing out clears the same cookie, with the attributes a __Host- cookie needs.
    headers = {**json_headers, "Cookie": f"__Host-parley_session={token}"}
    status, _, answer = post(f"{base}/api/logout", b"{}", headers, certificate.client)
    assert status == 204
    name, value, line = set_cookie(answer)
    assert (name, value) == ("__Host-parley_session", "")
    assert "Secure" in line
    assert "Max-Age=0" in line


@pytest.mark.parametrize(
    ("proto", "cookie", "secure"),
    [
        ("https", "__Host-parley_session", True),
        (None, "__Host-parley_session", True),
        ("http", "parley_session", False),
    ],
)
def test_behind_a_proxy_the_forwarded_scheme_decides_the_cookie(
    server_factory: Factory, tmp_path: Path, proto: str | None, cookie: str, secure: bool
) -> None:
    server = server_factory("serve", "--behind-proxy")
    headers = {"Content-Type": "application/json"}
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    credentials = json.dumps({"username": "pia", "password": PASSWORD}).encode()
    status, _, answer = post(f"{server.http_url}/api/register", credentials, headers)
    assert status == 201
    name, _, line = set_cookie(answer)
    assert name == cookie
    assert ("Secure" in line) is secure
