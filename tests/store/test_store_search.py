"""``Store.search`` on every backend: the query language against real indexes, who may see
what, edits, deletes and the cursor (migration 0005, ``store/sql/search.py``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from parley.model import Event, Room, RoomKind, User
from parley.search.query import parse
from parley.store.base import Store


async def post(store: Store, room: Room, user: User, text: str) -> Event:
    return (await store.post_message(room.id, user.id, user.name, text)).event


async def found(store: Store, user: User, query: str, **scope: Any) -> list[Event]:
    """What ``query`` finds once every stored message is searchable (SQLite indexes new
    messages a moment after their commit: ``pending`` counts them; within 10 s)."""
    for _ in range(200):
        page = await store.search(user.id, parse(query), **scope)
        if page.pending == 0:
            return page.events
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {page.pending} messages pending")


async def texts(store: Store, user: User, query: str, **scope: Any) -> list[str]:
    return [event.text or "" for event in await found(store, user, query, **scope)]


async def test_words_all_match_newest_first(store: Store, alice: User, room: Room) -> None:
    for text in ("deploy failed", "the deploy worked", "failed again", "Deploy FAILED twice"):
        await post(store, room, alice, text)
    assert await texts(store, alice, "deploy failed ") == ["Deploy FAILED twice", "deploy failed"]
    twice = await found(store, alice, "twice ")
    assert [(e.room, e.seq, e.user, e.kind.value) for e in twice] == [
        ("room", 5, "Alice", "message")
    ]


async def test_phrase_prefix_accents_and_urls(store: Store, alice: User, room: Room) -> None:
    await post(store, room, alice, "Le café est fermé")
    await post(store, room, alice, "cafe, le est")
    await post(store, room, alice, "see https://docs.example.com/deploy?x=1 for it")
    await post(store, room, alice, "deployment tomorrow")
    assert await texts(store, alice, '"le cafe"') == ["Le café est fermé"]
    assert await texts(store, alice, "FERME ") == ["Le café est fermé"]
    assert await texts(store, alice, "example ") == [
        "see https://docs.example.com/deploy?x=1 for it"
    ]
    assert await texts(store, alice, "docs.example.com ") == [
        "see https://docs.example.com/deploy?x=1 for it"
    ]
    assert await texts(store, alice, "depl") == [
        "deployment tomorrow",
        "see https://docs.example.com/deploy?x=1 for it",
    ]
    assert await texts(store, alice, "depl ") == []  # a whole word now, not a prefix


async def test_syntax_characters_are_only_words(store: Store, alice: User, room: Room) -> None:
    await post(store, room, alice, "NEAR(a b) * ^x -y \"quoted\" 'single' a&b|!c :*")
    for query in ("NEAR(a", "^x", "a&b|!c", "'single'", "^x :*", "*y"):
        assert len(await texts(store, alice, query)) == 1, query


async def test_filters(store: Store, alice: User, bob: User, room: Room) -> None:
    await store.join(room.id, bob.id, bob.name)
    other = await store.create_room("other", RoomKind.PUBLIC, creator_id=alice.id)
    await post(store, room, alice, "release notes by alice")
    await post(store, room, bob, "release notes by bob, https://example.com")
    await post(store, other[0], alice, "release notes elsewhere")
    assert await texts(store, bob, "release from:Alice ", public=True) == [
        "release notes elsewhere",
        "release notes by alice",
    ]
    assert await texts(store, bob, "release from:nobody-here ") == []
    assert await texts(store, bob, "release", room_ids=[room.id]) == [
        "release notes by bob, https://example.com",
        "release notes by alice",
    ]
    assert await texts(store, bob, "has:link") == ["release notes by bob, https://example.com"]
    today = dt.datetime.now(dt.UTC).date()
    assert len(await texts(store, bob, f"release after:{today - dt.timedelta(days=1)}")) == 2
    assert await texts(store, bob, f"release after:{today}") == []
    assert await texts(store, bob, f"release before:{today}") == []
    assert len(await texts(store, bob, f"release before:{today + dt.timedelta(days=1)}")) == 2


async def test_only_rooms_one_may_read(
    store: Store, alice: User, bob: User, carol: User, room: Room
) -> None:
    secret, _ = await store.create_room("secret", RoomKind.PRIVATE, creator_id=alice.id)
    direct, _ = await store.open_direct(alice.id, carol.id)
    public, _ = await store.create_room("open", RoomKind.PUBLIC, creator_id=alice.id)
    await post(store, secret, alice, "password in the secret room")
    await post(store, direct, alice, "password in a direct room")
    await post(store, public, alice, "password in a public room")
    await post(store, room, alice, "password in a room bob joined")
    await store.join(room.id, bob.id, bob.name)
    # Bob: his rooms only; with public, every public room too; never the private or direct.
    assert await texts(store, bob, "password") == ["password in a room bob joined"]
    assert await texts(store, bob, "password", public=True) == [
        "password in a room bob joined",
        "password in a public room",
    ]
    # Naming a room does not open it.
    for ids in ([secret.id], [direct.id], [secret.id, direct.id, room.id]):
        found = await texts(store, bob, "password", public=True, room_ids=ids)
        assert found == (["password in a room bob joined"] if room.id in ids else [])
    assert len(await texts(store, carol, "password", public=True)) == 3  # direct + 2 public
    assert len(await texts(store, alice, "password")) == 4
    # Leaving a private room ends reading it.
    await store.leave(secret.id, alice.id, alice.name)
    assert len(await texts(store, alice, "password")) == 3


async def test_edits_reindex_and_deletes_remove(store: Store, alice: User, room: Room) -> None:
    first = await post(store, room, alice, "original wording")
    second = await post(store, room, alice, "doomed words")
    assert first.mid is not None
    assert second.mid is not None
    await store.edit_message(
        room.id, alice.id, alice.name, first.mid, "better text", any_author=False
    )
    assert await texts(store, alice, "original") == []  # neither the message nor the edit row
    [edited] = await found(store, alice, "better")
    assert (edited.mid, edited.text, edited.edited) == (first.mid, "better text", True)
    await store.edit_message(room.id, alice.id, alice.name, first.mid, "third", any_author=False)
    assert await texts(store, alice, "better") == []
    await store.delete_message(room.id, alice.id, alice.name, second.mid, any_author=False)
    assert await texts(store, alice, "doomed") == []
    assert await texts(store, alice, "words") == []
    # Deleting an edited message: none of its versions is found.
    await store.delete_message(room.id, alice.id, alice.name, first.mid, any_author=False)
    for word in ("original", "better", "third"):
        assert await texts(store, alice, word) == [], word


async def test_a_deleted_room_is_not_found(store: Store, alice: User) -> None:
    doomed, _ = await store.create_room("doomed", RoomKind.PUBLIC, creator_id=alice.id)
    await post(store, doomed, alice, "gone with the room")
    await store.delete_room(doomed.id)
    assert await texts(store, alice, "gone", public=True) == []


async def test_the_cursor_pages_without_gaps_or_repeats(
    store: Store, alice: User, room: Room
) -> None:
    posted = [await post(store, room, alice, f"page item {n}") for n in range(25)]
    await post(store, room, alice, "not one of them")
    seen: list[int] = []
    before = None
    while True:
        page = await found(store, alice, "item ", before=before, limit=10)
        if not page:
            break
        assert len(page) <= 10
        seen += [event.mid or 0 for event in page]
        before = page[-1].mid
    assert seen == sorted((event.mid or 0 for event in posted), reverse=True)
    assert (await store.search(alice.id, parse("item"), limit=0)).events == []


@pytest.mark.parametrize("query", ["x", "zzz ", '"a b"', "has:link", "de"])
async def test_nothing_found_is_an_empty_list(store: Store, alice: User, query: str) -> None:
    assert await found(store, alice, query, public=True) == []


async def test_from_follows_renames_and_names_with_punctuation(
    store: Store, alice: User, room: Room
) -> None:
    dotted = await store.create_user("bob.smith", "h")
    dashed = await store.create_user("bob-smith", "h")
    for user in (dotted, dashed):
        await store.join(room.id, user.id, user.name)
        await post(store, room, user, f"status from {user.name}")
    await post(store, room, alice, "status from alice, naming bob.smith")
    assert await texts(store, alice, "status from:bob.smith ") == ["status from bob.smith"]
    assert await texts(store, alice, "status from:BOB-SMITH ") == ["status from bob-smith"]
    both = await texts(store, alice, "status from:bob.smith from:bob-smith ")
    assert sorted(both) == ["status from bob-smith", "status from bob.smith"]
    # A query word never matches an author's name: only the text.
    assert await texts(store, alice, "alice ") == ["status from alice, naming bob.smith"]
    await store.rename_user(dotted.id, "robert")
    assert await texts(store, alice, "status from:robert ") == ["status from bob.smith"]
    assert await texts(store, alice, "status from:bob.smith ") == []
    assert await texts(store, alice, "robert ") == []  # a name is not a word of the text
