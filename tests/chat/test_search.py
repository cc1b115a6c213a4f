"""``search`` and ``history`` around a seq against a real ``parley serve``: results, highlights,
membership, edits, deletes, the cursor, the reply budget and bad requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from parley.protocol.budget import REPLY_BUDGET
from tests.helpers.chat import Chat, register
from tests.helpers.files import upload
from tests.helpers.process import ServerProcess
from tests.store.conftest import postgres_database

Connect = Callable[..., Awaitable[Chat]]


async def search(chat: Chat, query: str, want: int, **fields: Any) -> dict[str, Any]:
    """Search until ``want`` results are found (the index may trail the acks by a moment:
    the reply's ``pending`` says how many; see docs/protocol.md), within 10 s."""
    for _ in range(200):
        reply = await chat.command("search", query=query, **fields)
        assert reply["type"] == "search", reply
        if len(reply["results"]) >= want and "pending" not in reply:
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query!r}: {reply}")


async def test_search_finds_with_highlights_newest_first(connect: Connect) -> None:
    alice = await connect("alice")
    text = "Déploiement de https://docs.example.com"
    first = await alice.command("send", room="lobby", text=text)
    second = await alice.command("send", room="lobby", text="deploy again, deployed")
    reply = await search(alice, "depl", 2)
    assert [r["mid"] for r in reply["results"]] == [second["mid"], first["mid"]]
    newest = reply["results"][0]
    assert (newest["room"], newest["seq"], newest["user"]) == ("lobby", second["seq"], "alice")
    assert newest["ts"] == second["ts"]
    assert newest["text"] == "deploy again, deployed"
    assert newest["highlight"] == [[0, 6], [14, 22]]
    assert reply["more"] is False
    assert "before" not in reply
    found = await search(alice, "example ", 1)
    [result] = found["results"]
    at = result["text"].index("example")
    assert result["highlight"] == [[at, at + 7]]  # "example" inside the URL, marked by range


async def test_a_result_carries_the_messages_files(server: ServerProcess, connect: Connect) -> None:
    """As its ``message`` event does: a client shows the file without asking for history."""
    alice = await connect("alice")
    status, body = await upload(server.http_url, alice.token, b"minutes\n", "notes.txt")
    assert status == 201, body
    info = body["upload"]
    sent = await alice.command("send", room="lobby", text="the quarterly notes", files=[info["id"]])
    await alice.command("send", room="lobby", text="quarterly, no file")
    reply = await search(alice, "quarterly", 2)
    plain, with_file = reply["results"]
    assert with_file["mid"] == sent["mid"]
    assert with_file["files"] == [info]
    assert info["type"] == "text/plain; charset=utf-8"
    assert "files" not in plain  # left out when none
    await alice.command("delete", room="lobby", mid=sent["mid"])
    assert [r["mid"] for r in (await search(alice, "quarterly", 1))["results"]] == [plain["mid"]]


async def test_others_private_rooms_and_direct_rooms_stay_hidden(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    await alice.command("create", room="secret", private=True)
    await alice.command("dm", user="carol")
    await alice.command("send", room="secret", text="launch codes private")
    await alice.command("send", room="dm:alice:carol", text="launch codes direct")
    await alice.command("create", room="open")
    await alice.command("send", room="open", text="launch codes public")
    await search(alice, "launch codes ", 3)
    mine = await bob.command("search", query="launch codes ", public=True)
    assert [r["room"] for r in mine["results"]] == ["open"]
    assert (await bob.command("search", query="launch codes "))["results"] == []
    for named in ({"room": "secret"}, {"room": "dm:alice:carol"}, {"query": "x in:secret"}):
        fields = {"query": "launch codes ", **named}
        refused = await bob.command("search", **fields)
        assert refused["type"] == "error", refused
        assert refused["code"] == "forbidden"
        nowhere = await bob.command("search", **{**fields, "room": "no-such-room"})
        assert nowhere["code"] == "forbidden"  # the same answer: private rooms stay secret
    in_open = await bob.command("search", query="launch in:open ")
    assert [r["text"] for r in in_open["results"]] == ["launch codes public"]
    theirs = await carol.command("search", query="launch codes ")
    assert [r["room"] for r in theirs["results"]] == ["dm:alice:carol"]


async def test_edits_and_deletes(connect: Connect) -> None:
    alice = await connect("alice")
    sent = await alice.command("send", room="lobby", text="first draft wording")
    await search(alice, "draft ", 1)
    await alice.command("edit", room="lobby", mid=sent["mid"], text="final wording")
    assert (await alice.command("search", query="draft "))["results"] == []
    [edited] = (await search(alice, "final ", 1))["results"]
    assert (edited["text"], edited["edited"]) == ("final wording", True)
    await alice.command("delete", room="lobby", mid=sent["mid"])
    assert (await alice.command("search", query="wording "))["results"] == []


async def test_the_cursor_and_the_reply_budget(connect: Connect) -> None:
    alice = await connect("alice")
    long_text = "needle " + "x" * 3900
    for _ in range(80):  # 80 * ~4 KB: over the 256 KiB budget at limit 100
        await alice.command("send", room="lobby", text=long_text)
    seen: list[int] = []
    reply = await search(alice, "needle ", 1, limit=100)
    for _ in range(80):
        page = reply["results"]
        assert len(str(page)) < REPLY_BUDGET + 4096
        seen += [r["mid"] for r in page]
        if not reply["more"]:
            break
        assert reply["before"] == page[-1]["mid"]
        reply = await alice.command("search", query="needle ", limit=100, before=reply["before"])
    assert len(seen) == 80
    assert seen == sorted(set(seen), reverse=True)
    assert len((await alice.command("search", query="needle ", limit=100))["results"]) < 80


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"query": ""}, "empty"),
        ({"query": '"open'}, "not closed"),
        ({"query": "when:today"}, "unknown operator"),
        ({"query": "x before:2026-02-31"}, "not a date"),
        ({"query": "x" * 257}, "over 256 characters"),
        ({"query": "*"}, "nothing to search for"),
        ({"query": "-x"}, "excluding"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "limit": 101}, "limit"),
        ({"query": "x", "before": 0}, "before"),
        ({"query": 5}, "query"),
        ({}, "query"),
    ],
)
async def test_bad_searches_are_bad_requests(
    connect: Connect, fields: dict[str, Any], says: str
) -> None:
    alice = await connect("alice")
    refused = await alice.command("search", **fields)
    assert refused["type"] == "error", refused
    assert refused["code"] == "bad_request"
    assert says in refused["message"]
    assert (await alice.command("ping"))["type"] == "pong"  # the connection goes on


async def test_fts_syntax_never_reaches_the_database(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.command("send", room="lobby", text='NEAR(a b) "q" ^c -d a* OR AND NOT')
    for query in ("NEAR(a", "^c", "a* ", "OR", "NOT AND", "'q'", "a&b|c", ":*", "d:*x"):
        reply = await alice.command("search", query=query)
        assert reply["type"] in ("search", "error"), reply
        if reply["type"] == "error":
            assert reply["code"] == "bad_request", reply


async def test_history_around_a_seq(connect: Connect) -> None:
    alice = await connect("alice")
    acks = [await alice.command("send", room="lobby", text=f"m{n}") for n in range(30)]
    middle = acks[15]["seq"]
    reply = await alice.command("history", room="lobby", around=middle, limit=10)
    seqs = [e["seq"] for e in reply["events"]]
    assert seqs == list(range(middle - 5, middle + 5))
    assert (reply["more"], reply["newer"]) == (True, True)
    newest = acks[-1]["seq"]
    end = await alice.command("history", room="lobby", around=newest, limit=10)
    assert [e["seq"] for e in end["events"]][-1] == newest
    assert end["more"] is True
    assert "newer" not in end  # false: left out
    start = await alice.command("history", room="lobby", around=1, limit=10)
    assert start["events"][0]["seq"] == 1
    assert start["more"] is False
    both = await alice.command("history", room="lobby", around=3, before=5)
    assert (both["type"], both["code"]) == ("error", "bad_request")
    zero = await alice.command("history", room="lobby", around=0)
    assert (zero["type"], zero["code"]) == ("error", "bad_request")


async def test_search_on_postgresql(server_factory: Callable[..., ServerProcess]) -> None:
    """The command against a server on PostgreSQL: found at once (indexed in the transaction),
    accents folded, an edit re-indexed, a delete gone, a bad query a ``bad_request``."""
    async with postgres_database() as db:
        server = server_factory("serve", "--db", db)
        token = register(server.http_url, "alice")
        alice = await Chat.connect(server.ws_url, token)
        try:
            text = "Réunion à https://meet.example.org"
            status, body = await upload(server.http_url, token, b"agenda", "agenda.txt")
            assert status == 201, body
            files = [body["upload"]["id"]]
            sent = await alice.command("send", room="lobby", text=text, files=files)
            reply = await alice.command("search", query="reunion example")
            assert [r["mid"] for r in reply["results"]] == [sent["mid"]]
            assert reply["results"][0]["files"] == [body["upload"]]
            assert "pending" not in reply
            ranges = reply["results"][0]["highlight"]
            assert [text[a:b] for a, b in ranges] == ["Réunion", "example"]
            await alice.command("edit", room="lobby", mid=sent["mid"], text="moved to friday")
            assert (await alice.command("search", query="reunion "))["results"] == []
            assert len((await alice.command("search", query="fri"))["results"]) == 1
            await alice.command("delete", room="lobby", mid=sent["mid"])
            assert (await alice.command("search", query="friday "))["results"] == []
            refused = await alice.command("search", query="NEAR(x) -y")
            assert (refused["type"], refused["code"]) == ("error", "bad_request")
        finally:
            await alice.close()
