"""A feed's removal of a member (a kick or a ban, ``offer(..., removes=)``): the removed user's
peers get that event and nothing after it, in the same step, whatever order events arrive in."""

from __future__ import annotations

from parley.chat.hub import Holding, RoomFeed
from tests.chat.test_hub import FakePeer, item


def feed_with(*users: tuple[str, int]) -> tuple[RoomFeed, dict[str, FakePeer], list[int]]:
    feed = RoomFeed(1, "room:1")
    feed.start(0)
    removed: list[int] = []
    feed.on_removed = removed.append
    peers = {}
    for name, user_id in users:
        peer = FakePeer(name)
        token = feed.begin_catch_up(peer)
        assert feed.go_live(peer, token, user_id, 0)
        peers[name] = peer
    return feed, peers, removed


def test_the_removed_users_peers_get_the_removal_and_nothing_after() -> None:
    feed, peers, removed = feed_with(("dave", 7), ("dave-tab", 7), ("carol", 8))
    feed.offer(1, item(1))
    feed.offer(2, item(2), removes=7)
    feed.offer(3, item(3))
    assert peers["dave"].frames == peers["dave-tab"].frames == [b"e1", b"e2"]
    assert peers["carol"].frames == [b"e1", b"e2", b"e3"]
    assert removed == [7]
    assert list(feed.live.values()) == [8]


def test_a_removal_that_arrives_early_applies_when_its_turn_comes() -> None:
    feed, peers, removed = feed_with(("dave", 7), ("carol", 8))
    feed.offer(2, item(2), removes=7)  # held: 1 is missing
    assert removed == []
    assert peers["dave"].frames == []
    feed.offer(1, item(1))  # 1, then the held removal, then nothing more for dave
    feed.offer(3, item(3))
    assert peers["dave"].frames == [b"e1", b"e2"]
    assert peers["carol"].frames == [b"e1", b"e2", b"e3"]
    assert removed == [7]


def test_a_held_peer_is_let_go_and_a_passed_removal_is_forgotten() -> None:
    feed, _, removed = feed_with(("carol", 8))
    dave = FakePeer("dave")
    holding = Holding(1 << 20)
    token = feed.begin_catch_up(dave)
    assert feed.hold(dave, token, 7, 0, holding)
    feed.offer(1, item(1), removes=7)
    assert dave not in feed.holding
    assert holding.items == []  # what was kept for the room is dropped with it
    assert removed == [7]
    # A removal offered again (a duplicate from the store) is passed, and not remembered.
    feed.offer(1, item(1), removes=7)
    assert removed == [7]
    assert feed._removals == {}
