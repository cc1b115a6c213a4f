"""What operators' endpoints show to whom: ``/metrics`` only with ``--metrics-token`` when one
is set, ``/healthz`` to anyone but its details (version, node, connections) only with it."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from websockets.asyncio.client import connect

from tests.helpers.chat import _opener, http_json
from tests.helpers.process import ServerProcess

Factory = Callable[..., ServerProcess]
TOKEN = "0123456789abcdef-metrics"


def scrape(server: ServerProcess, authorization: str | None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(server.http_url + "/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    with _opener.open(request, timeout=10) as response:
        return response.status, response.read().decode(), dict(response.headers)


def test_metrics_need_the_token_when_one_is_set(server_factory: Factory) -> None:
    # From the environment, as docs/deployment.md advises (the process list shows flags).
    server = server_factory("serve", env={"PARLEY_METRICS_TOKEN": TOKEN})
    for authorization in (None, "Bearer", "Bearer wrong-token-of-some-length", f"Basic {TOKEN}"):
        status, text, headers = scrape(server, authorization)
        assert status == 401, authorization
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert "parley_" not in text
    status, text, _ = scrape(server, f"Bearer {TOKEN}")
    assert status == 200
    assert "parley_connections" in text
    assert TOKEN not in server.output  # never logged


def test_metrics_without_a_token_are_public_as_before(server_factory: Factory) -> None:
    server = server_factory("serve")
    status, text, _ = scrape(server, None)
    assert status == 200
    assert "parley_connections" in text


async def test_healthz_shows_the_status_to_all_and_details_with_the_token(
    server_factory: Factory,
) -> None:
    server = server_factory("serve", "--metrics-token", TOKEN)
    async with connect(server.ws_url):
        status, public, _ = http_json(server.http_url + "/healthz")
        assert status == 200
        assert public == {"status": "ok", "database": "ok", "broker": "ok", "presence": "ok"}
        for token in (None, "not-the-token-at-all"):
            assert http_json(server.http_url + "/healthz", token=token)[1] == public
        status, details, _ = http_json(server.http_url + "/healthz", token=TOKEN)
    assert status == 200
    assert details.items() >= public.items()
    assert details["connections"] == 1
    assert details["version"]
    assert details["node"]
    # Without a token set, nobody sees the details: there is no secret to show them for.
    open_server = server_factory("serve", "--db", "other.db")
    assert "version" not in http_json(open_server.http_url + "/healthz", token=TOKEN)[1]
