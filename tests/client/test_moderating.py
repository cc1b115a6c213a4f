"""Moderation from the client library and the terminal's commands (``client/moderating.py``),
against a real ``parley serve``; the parsing and wording on their own."""

from __future__ import annotations

import pytest

from parley.client import Client, CommandError, EventMessage, RoomChanged
from parley.client.errors import ClientError
from parley.client.moderating import describe_moderation, end_of, moderate
from parley.protocol import messages as m
from tests.client.test_library import Account, next_event
from tests.helpers.process import ServerProcess


async def test_the_library_moderates_and_the_removed_client_forgets_the_room(
    server: ServerProcess, account: Account
) -> None:
    account("root")  # the first account: a server admin
    (_, owner_token), (_, dave_token) = account("owner"), account("dave")
    async with (
        Client(server.http_url, token=owner_token) as owner,
        Client(server.http_url, token=dave_token) as dave,
    ):
        await owner.create("club")
        await dave.join("club")
        assert await owner.set_role("club", "dave", "moderator") > 0
        role = await next_event(dave, EventMessage, kind="role")
        assert (role.user, role.by, role.text) == ("dave", "owner", "moderator")
        settings = await dave.room_settings("club")
        assert (settings.role, settings.settings["post"]) == ("moderator", "members")
        assert await owner.change_room_settings("club", post="moderators") > 0
        event = await next_event(dave, EventMessage, kind="settings")
        assert event.settings == {
            "post": "moderators",
            "invite": "members",
            "topic": "members",
            "pin": "members",
        }
        with pytest.raises(CommandError) as refused:
            await dave.kick("club", "owner")
        assert refused.value.code == "forbidden"
        assert await owner.set_role("club", "dave", "member") > 0
        assert await owner.kick("club", "dave") > 0
        await next_event(dave, RoomChanged)
        assert "club" not in dave.rooms
        with pytest.raises(CommandError) as muted:
            await owner.mute("club", "dave", until=1)
        assert muted.value.code == "bad_request"


async def test_the_terminal_commands(server: ServerProcess, account: Account) -> None:
    account("root")
    (_, owner_token), (_, carol_token) = account("owner"), account("carol")
    async with (
        Client(server.http_url, token=owner_token) as owner,
        Client(server.http_url, token=carol_token) as carol,
    ):
        await owner.create("club")
        await carol.join("club")
        assert await moderate(owner, "club", "/mod", "@carol") == "* carol is now moderator"
        assert await moderate(owner, "club", "/mod", "carol") == "* carol already was"
        shown = await moderate(owner, "club", "/settings", "")
        assert "you are owner" in shown
        assert "carol (moderator)" in shown
        assert await moderate(owner, "club", "/settings", "topic=moderators") == (
            "* settings changed"
        )
        assert await moderate(owner, "club", "/mute", "carol 10m") == "* you muted carol for 10m"
        assert await moderate(owner, "club", "/unmute", "carol") == "* carol is no longer muted"
        assert await moderate(owner, "club", "/ban", "carol 1d") == "* you banned carol for 1d"
        assert await moderate(owner, "club", "/unban", "carol") == "* carol is no longer banned"
        assert await moderate(owner, "club", "/unban", "carol") == "* carol was not banned"
        for command, rest in [
            ("/mute", "carol"),
            ("/mute", "carol soon"),
            ("/kick", ""),
            ("/settings", "post=everyone"),
            ("/ban", "carol 99999999999d"),
        ]:
            with pytest.raises(ClientError):
                await moderate(owner, "club", command, rest)


def test_durations_and_words() -> None:
    assert end_of("30m", now_ms=1000) == 1000 + 30 * 60_000
    assert end_of("7d", now_ms=0) == 7 * 86_400_000
    for bad in ("", "10", "m", "1.5h", "-1h", "1w", "1" * 12 + "s"):
        with pytest.raises(ClientError):
            end_of(bad)
    ban = m.EventMessage(room="r", seq=3, kind="ban", user="dave", ts=1, by="owner")
    assert describe_moderation(ban) == "owner banned dave for good"
    hidden = m.EventMessage(room="r", seq=4, kind="kick", user="\x1b[2Jx", ts=1, by="o")
    assert "\x1b" not in (describe_moderation(hidden) or "")
    plain = m.EventMessage(room="r", seq=5, kind="message", user="x", ts=1, text="hi")
    assert describe_moderation(plain) is None
