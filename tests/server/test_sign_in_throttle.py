"""Password guessing against a real server: the limits cannot be raced, a guesser cannot lock
the owner out, and guesses from many addresses slow every answer down (boundedly) instead of
refusing the owner.

The client addresses are set with ``X-Forwarded-For`` on a ``--behind-proxy`` server: to
Parley they are as real as a proxy's (the last entry is the address it trusts).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from parley.config import sign_in_limit
from parley.server.throttle import ACCOUNT_CEILING, FIRST_DELAY, MAX_DELAY, PAIR_LIMIT
from tests.helpers.chat import PASSWORD, _opener, register
from tests.helpers.process import ServerProcess

Factory = Callable[..., ServerProcess]


def sign_in(
    server: ServerProcess, password: str, address: str = "192.0.2.1", name: str = "owner"
) -> tuple[int, dict[str, Any], dict[str, str], float]:
    """One login from ``address``: (status, body, headers, seconds it took)."""
    request = urllib.request.Request(
        f"{server.http_url}/api/login",
        data=json.dumps({"username": name, "password": password}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": address},
    )
    started = time.monotonic()
    with _opener.open(request, timeout=60) as response:
        body = json.loads(response.read() or b"{}")
        return response.status, body, dict(response.headers), time.monotonic() - started


def test_concurrent_guesses_cannot_race_past_the_limit(server_factory: Factory) -> None:
    server = server_factory("serve", "--behind-proxy")
    register(server.http_url, "owner")
    guesses = 3 * PAIR_LIMIT.burst
    with ThreadPoolExecutor(guesses) as pool:
        results = list(pool.map(lambda n: sign_in(server, f"guess number {n}"), range(guesses)))
    statuses = sorted(status for status, *_ in results)
    # Each guess is charged before its password is checked: exactly the burst gets through.
    assert statuses == [401] * PAIR_LIMIT.burst + [429] * (guesses - PAIR_LIMIT.burst)
    refused = next(headers for status, _, headers, _ in results if status == 429)
    assert 1 <= int(refused["Retry-After"]) <= 10


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(server_factory: Factory) -> None:
    server = server_factory("serve", "--behind-proxy")
    register(server.http_url, "owner")
    attacker, owner = "198.51.100.66", "192.0.2.7"
    statuses = [sign_in(server, f"guess {n}", attacker)[0] for n in range(PAIR_LIMIT.burst + 2)]
    assert statuses == [401] * PAIR_LIMIT.burst + [429] * 2
    # The right password from the attacker's address is refused too: no free check there ...
    status, body, headers, _ = sign_in(server, PASSWORD, attacker)
    assert (status, body["error"]) == (429, "rate_limited")
    assert headers["Retry-After"]
    # ... but the owner, at their own address, signs in, and keeps signing in.
    for _ in range(PAIR_LIMIT.burst + 2):
        status, body, _, _ = sign_in(server, PASSWORD, owner)
        assert status == 200, body
    # A mistyped password now and then does not add up for the owner either: each success
    # starts their count afresh.
    for _ in range(3):
        assert [sign_in(server, "a typo here", owner)[0] for _ in range(2)] == [401, 401]
        assert sign_in(server, PASSWORD, owner)[0] == 200
    # Unknown names are throttled exactly like real ones (nothing tells them apart).
    statuses = [sign_in(server, "x", attacker, name="nobody")[0] for _ in range(6)]
    assert statuses == [401] * PAIR_LIMIT.burst + [429]


def test_guesses_from_many_addresses_slow_answers_down_but_never_lock_the_owner_out(
    server_factory: Factory,
) -> None:
    server = server_factory("serve", "--behind-proxy")
    register(server.http_url, "owner")
    # Up to the ceiling, answers are not held back (test_throttle.py: no delay there).
    for n in range(ACCOUNT_CEILING):
        assert sign_in(server, f"guess {n}", f"203.0.113.{n + 1}")[0] == 401
    # Past it, each answer waits, twice as long as the one before ...
    status, _, _, took = sign_in(server, "one more", "203.0.113.100")
    assert status == 401
    assert took >= FIRST_DELAY
    # ... up to a bound, however many come at once: slowed, never refused.
    burst = 8
    with ThreadPoolExecutor(burst) as pool:
        results = list(
            pool.map(lambda n: sign_in(server, f"burst {n}", f"203.0.113.{150 + n}"), range(burst))
        )
    assert [status for status, *_ in results] == [401] * burst
    times = sorted(took for *_, took in results)
    assert times[-1] >= MAX_DELAY * 0.99  # the exponential reached the bound ...
    assert times[-1] < MAX_DELAY + 15  # ... and stopped there (generous: a shared machine)
    # The owner, from their own address, is answered: late, but signed in.
    status, body, _, took = sign_in(server, PASSWORD, "192.0.2.7")
    assert status == 200, body
    assert FIRST_DELAY <= took < MAX_DELAY + 15


def post_from(
    server: ServerProcess, path: str, body: dict[str, Any], address: str, token: str = ""
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One JSON POST from ``address`` (and signed in with ``token``, if given)."""
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{server.http_url}{path}", data=json.dumps(body).encode(), headers=headers
    )
    with _opener.open(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"{}"), dict(response.headers)


def test_guessing_invitation_tokens_is_throttled_per_address(server_factory: Factory) -> None:
    """``/api/invites/check`` (and ``accept``) are charged to the address like sign-ins: past
    the burst a guesser gets 429 with ``Retry-After``, its right token included; another
    address is not touched, and checks a real token."""
    rate = 0.05  # nothing refills while the test runs
    server = server_factory("serve", "--behind-proxy", "--auth-rate", str(rate))
    admin = register(server.http_url, "owner")
    status, created, _ = post_from(server, "/api/invites", {}, "192.0.2.1", admin)
    assert status == 201, created
    token, burst = created["token"], sign_in_limit(rate).burst
    guesser, other = "198.51.100.66", "192.0.2.7"
    for n in range(burst):
        status, body, _ = post_from(server, "/api/invites/check", {"token": f"guess{n}"}, guesser)
        assert (status, body["error"]) == (410, "invite_invalid")
    for body in ({"token": "one more"}, {"token": token}, {"token": 5}):
        status, answer, headers = post_from(server, "/api/invites/check", body, guesser)
        assert (status, answer["error"]) == (429, "rate_limited")
        assert 1 <= int(headers["Retry-After"]) <= 60 / rate
    status, answer, _ = post_from(server, "/api/invites/accept", {"token": token}, guesser, admin)
    assert (status, answer["error"]) == (429, "rate_limited")
    # Signing in from there is refused too: one budget per address for every kind of guess.
    wrong = {"username": "owner", "password": "not it"}
    assert post_from(server, "/api/login", wrong, guesser)[0] == 429
    # Another address, under the limit: a wrong token is invalid, the right one works.
    status, answer, _ = post_from(server, "/api/invites/check", {"token": "nope"}, other)
    assert (status, answer["error"]) == (410, "invite_invalid")
    status, answer, _ = post_from(server, "/api/invites/check", {"token": token}, other)
    assert (status, answer["kind"]) == (200, "account")
