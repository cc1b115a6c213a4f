"""RoomFeed's order rules, driven with plain values: no server, no event loop."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.chat.hub import Arrival, FeedItem, Holding, RoomFeed
from parley.peer import PreparedText


class FakePeer:
    """A subscriber that records what it was sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.frames: list[bytes] = []
        self.open = True
        self.remote = "test"

    def send_prepared(self, message: PreparedText) -> None:
        self.frames.append(message.payload)


def item(seq: int, plain: bool = False) -> FeedItem:
    return (PreparedText(f"e{seq}"), PreparedText(f"p{seq}") if plain else None)


def live_feed(last_seq: int = 0) -> tuple[RoomFeed, FakePeer]:
    feed = RoomFeed(1, "room:1")
    feed.start(last_seq)
    peer = FakePeer("alice")
    token = feed.begin_catch_up(peer)
    assert feed.go_live(peer, token, 7, last_seq)
    return feed, peer


def test_events_are_held_until_the_feed_knows_where_the_room_stands() -> None:
    feed = RoomFeed(1, "room:1")
    assert feed.offer(3, item(3)) == (Arrival.HELD, 0)
    assert feed.offer(4, item(4)) == (Arrival.HELD, 0)
    assert feed.offer(6, item(6)) == (Arrival.HELD, 0)
    assert not feed.gap  # not started: nothing is known to be missing yet
    peer = FakePeer("alice")
    feed.live[peer] = 7
    assert feed.start(2) == 2  # 3 and 4 are next: delivered to the one live peer
    assert peer.frames == [b"e3", b"e4"]
    assert feed.last_seq == 4
    assert feed.gap
    assert feed.gap_end == 6


def test_start_drops_what_the_store_already_had() -> None:
    feed = RoomFeed(1, "room:1")
    feed.offer(2, item(2))
    feed.offer(3, item(3))
    assert feed.start(5) == 0
    assert feed.held == {}
    assert not feed.gap


def test_in_order_events_reach_live_peers_and_guests_get_plain_text_only() -> None:
    feed, peer = live_feed()
    guest = FakePeer("guest")
    feed.guests.add(guest)
    assert feed.offer(1, item(1, plain=True)) == (Arrival.DELIVERED, 2)
    assert feed.offer(2, item(2)) == (Arrival.DELIVERED, 1)  # not a message: guests see nothing
    assert peer.frames == [b"e1", b"e2"]
    assert guest.frames == [b"p1"]


def test_duplicates_and_passed_events_are_dropped() -> None:
    feed, peer = live_feed(last_seq=4)
    assert feed.offer(4, item(4)) == (Arrival.PASSED, 0)
    assert feed.offer(2, item(2)) == (Arrival.PASSED, 0)
    assert feed.offer(5, item(5))[0] is Arrival.DELIVERED
    assert feed.offer(5, item(5)) == (Arrival.PASSED, 0)
    assert peer.frames == [b"e5"]


def test_a_gap_holds_later_events_until_it_is_filled() -> None:
    feed, peer = live_feed()
    feed.offer(1, item(1))
    assert feed.offer(3, item(3)) == (Arrival.HELD, 0)
    assert feed.offer(4, item(4)) == (Arrival.HELD, 0)
    assert feed.gap
    assert feed.gap_end == 4
    assert peer.frames == [b"e1"]
    assert feed.offer(2, item(2)) == (Arrival.DELIVERED, 3)  # 2, then the held 3 and 4
    assert peer.frames == [b"e1", b"e2", b"e3", b"e4"]
    assert not feed.gap


def test_a_peer_goes_live_only_when_its_replay_reached_the_feed() -> None:
    feed = RoomFeed(1, "room:1")
    feed.start(10)
    peer = FakePeer("bob")
    token = feed.begin_catch_up(peer)
    assert not feed.go_live(peer, token, 8, 9)  # one event short
    feed.offer(11, item(11))
    assert peer.frames == []  # catching up: the replay sends it, not the feed
    assert feed.go_live(peer, token, 8, 11)
    feed.offer(12, item(12))
    assert peer.frames == [b"e12"]


def test_a_newer_catch_up_or_a_drop_ends_the_older_one() -> None:
    feed = RoomFeed(1, "room:1")
    feed.start(0)
    peer = FakePeer("bob")
    first = feed.begin_catch_up(peer)
    second = feed.begin_catch_up(peer)
    assert not feed.is_catching_up(peer, first)
    assert not feed.go_live(peer, first, 8, 0)
    feed.end_catch_up(peer, first)  # the stale one cannot end it
    assert feed.is_catching_up(peer, second)
    feed.drop(peer)
    assert not feed.go_live(peer, second, 8, 0)
    assert feed.empty


def test_when_reached_calls_back_once_the_feed_gets_there() -> None:
    feed, _ = live_feed()
    calls: list[str] = []
    feed.when_reached(0, lambda: calls.append("now"))
    feed.when_reached(2, lambda: calls.append("two"))
    feed.when_reached(3, lambda: calls.append("three"))
    assert calls == ["now"]
    feed.offer(1, item(1))
    feed.offer(2, item(2))
    assert calls == ["now", "two"]
    feed.offer(3, item(3))
    feed.offer(4, item(4))
    assert calls == ["now", "two", "three"]


def test_transient_frames_skip_the_sender_and_catching_peers() -> None:
    feed, alice = live_feed()
    bob = FakePeer("bob")
    feed.live[bob] = 8
    carol = FakePeer("carol")
    feed.begin_catch_up(carol)
    feed.deliver_transient(PreparedText("typing"), skip_user=7)
    assert (alice.frames, bob.frames, carol.frames) == ([], [b"typing"], [])


@given(
    order=st.permutations(list(range(1, 21))),
    repeats=st.lists(st.integers(1, 20), max_size=20),
    start=st.integers(0, 5),
)
def test_any_arrival_order_is_delivered_once_in_order(
    order: list[int], repeats: list[int], start: int
) -> None:
    # Whatever order and however often the broker and the store bring events 1..20, a live
    # peer gets each event after the start exactly once, in seq order.
    feed = RoomFeed(1, "room:1")
    arrivals = order + repeats
    half = len(arrivals) // 2
    for seq in arrivals[:half]:  # some arrive before the feed knows where the room stands
        feed.offer(seq, item(seq))
    peer = FakePeer("alice")
    feed.live[peer] = 7
    feed.start(start)
    for seq in arrivals[half:]:
        feed.offer(seq, item(seq))
    assert peer.frames == [f"e{seq}".encode() for seq in range(start + 1, 21)]
    assert not feed.gap


def test_a_held_peer_gets_nothing_until_released_then_everything_in_order() -> None:
    first, second = RoomFeed(1, "room:1"), RoomFeed(2, "room:2")
    first.start(3)
    second.start(0)
    peer = FakePeer("bob")
    holding = Holding(limit=100)
    token = first.begin_catch_up(peer)
    assert not first.hold(peer, token, 7, 2, holding)  # not at the end of its replay yet
    assert first.hold(peer, token, 7, 3, holding)
    first.offer(4, item(4))
    first.deliver_transient(PreparedText("typing"), skip_user=0)  # as for a catching peer
    assert peer.frames == []
    assert [message.payload for _, message in holding.items] == [b"e4"]
    token2 = second.begin_catch_up(peer)
    assert second.hold(peer, token2, 7, 0, holding)
    second.offer(1, item(1))
    first.offer(5, item(5))
    assert peer.frames == []
    # The resume sends what was kept, in arrival order, then the rooms are live.
    for _, message in holding.items:
        peer.send_prepared(message)
    assert first.release(peer)
    assert second.release(peer)
    first.offer(6, item(6))
    assert peer.frames == [b"e4", b"e1", b"e5", b"e6"]
    assert not first.release(peer)  # already live


def test_a_room_whose_held_events_pass_the_limit_is_let_go() -> None:
    feed, other = RoomFeed(1, "room:1"), RoomFeed(2, "room:2")
    feed.start(0)
    other.start(0)
    peer = FakePeer("bob")
    holding = Holding(limit=6)  # three events of two bytes
    assert feed.hold(peer, feed.begin_catch_up(peer), 7, 0, holding)
    assert other.hold(peer, other.begin_catch_up(peer), 7, 0, holding)
    other.offer(1, item(1))
    feed.offer(1, item(1))
    feed.offer(2, item(2))
    assert holding.size == 6
    feed.offer(3, item(3))  # over the limit: the room is let go, with what it kept
    assert holding.overflowed == {1}
    assert [(room, message.payload) for room, message in holding.items] == [(2, b"e1")]
    assert holding.size == 2
    assert peer not in feed.holding
    assert feed.empty  # (the resume replays it from the store)
    assert not feed.release(peer)
    # Dropping a held peer (it left the room) forgets what was kept for that room.
    other.drop(peer)
    assert holding.items == []
    assert other.empty
