"""The presence conformance suite: the rules of ``parley.presence.base``, for every backend.

Only the ``Presence`` interface is used, so the same tests run against each backend of
``conftest.BACKENDS``. Several nodes, expiry and outages are Redis matters
(``test_redis_presence.py``).
"""

from __future__ import annotations

import asyncio

import pytest

from parley.presence.base import Presence, PresenceChanges

pytestmark = pytest.mark.timeout(30)


async def test_the_first_connection_brings_a_user_online(presence: Presence) -> None:
    assert await presence.online([1]) == set()
    assert await presence.connect(1, "tab-a") is True
    assert await presence.online([1]) == {1}


async def test_several_connections_of_one_user_count_once(presence: Presence) -> None:
    assert await presence.connect(1, "tab-a") is True
    assert await presence.connect(1, "tab-b") is False
    assert await presence.connect(1, "phone") is False
    assert await presence.disconnect(1, "tab-a") is False
    assert await presence.disconnect(1, "phone") is False
    assert await presence.online([1]) == {1}
    assert await presence.disconnect(1, "tab-b") is True
    assert await presence.online([1]) == set()


async def test_a_user_comes_online_again_after_going_offline(presence: Presence) -> None:
    assert await presence.connect(1, "a") is True
    assert await presence.disconnect(1, "a") is True
    assert await presence.connect(1, "b") is True


async def test_unknown_connections_are_not_disconnected(presence: Presence) -> None:
    assert await presence.disconnect(1, "never") is False
    await presence.connect(1, "a")
    assert await presence.disconnect(1, "other") is False
    assert await presence.disconnect(2, "a") is False  # same connection id, other user
    assert await presence.online([1, 2]) == {1}
    assert await presence.disconnect(1, "a") is True
    assert await presence.disconnect(1, "a") is False  # only once


async def test_users_are_independent(presence: Presence) -> None:
    assert await presence.connect(1, "a") is True
    assert await presence.connect(2, "b") is True
    assert await presence.disconnect(1, "a") is True
    assert await presence.online([1, 2]) == {2}


async def test_online_for_many_users(presence: Presence) -> None:
    await asyncio.gather(*(presence.connect(uid, f"c{uid}") for uid in range(0, 1_200, 2)))
    assert await presence.online(range(1_200)) == set(range(0, 1_200, 2))
    assert await presence.online([4, 4, 5, 4]) == {4}  # duplicates are fine
    assert await presence.online([]) == set()
    assert await presence.online(iter([6, 7])) == {6}  # any iterable, once


async def test_concurrent_connects_and_disconnects_report_one_transition(
    presence: Presence,
) -> None:
    came = await asyncio.gather(*(presence.connect(9, f"c{i}") for i in range(20)))
    assert came.count(True) == 1
    went = await asyncio.gather(*(presence.disconnect(9, f"c{i}") for i in range(20)))
    assert went.count(True) == 1
    assert await presence.online([9]) == set()


async def test_nothing_expires_while_nothing_died(presence: Presence) -> None:
    await presence.connect(1, "a")
    assert await presence.sweep() == PresenceChanges()
    assert await presence.online([1]) == {1}
